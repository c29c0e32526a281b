"""HistogramsCallback and HistogramPanel: the columns they stream, their bytes, the writer's records, and frames."""
import numpy as np
import pytest
from bokeh.document import Document

from livetrain import SummaryWriter
from livetrain.frames import open_renderer
from livetrain.views.histograms import HistogramPanel, HistogramsCallback
from livetrain.wire import patch_message

pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def weights(epoch, size=4000):
    return np.random.default_rng(epoch).normal(0.1 * epoch, 1 + epoch, size)


def feed(view, epochs, key="fc.weight"):
    history = {"train": {key: []}}
    for epoch in range(epochs):
        history["train"][key].append(weights(epoch))
        view.on_epoch_end(epoch, "train", history)
        view.flush()


def columns(panel):
    return {name: np.asarray(values) for name, values in panel.source.data.items()}


def test_each_epoch_adds_one_column_of_the_values_bins():
    view = HistogramsCallback(keys=("fc.weight",), phases=("train",), bins=16)
    feed(view, 3)
    data = columns(view.panels["train", "fc.weight"])
    assert sorted(set(data["x"].tolist())) == [1.0, 2.0, 3.0] and set(data["width"].tolist()) == {1.0}
    last = data["x"] == 3  # epochs count from 1
    values = weights(2)
    counts, edges = np.histogram(values, bins=16)
    keep = counts > 0
    np.testing.assert_allclose(data["bottom"][last], edges[:-1][keep], rtol=1e-6)
    np.testing.assert_allclose(data["top"][last], edges[1:][keep], rtol=1e-6)
    np.testing.assert_allclose(data["alpha"][last], np.sqrt(counts[keep] / counts.max()), rtol=1e-6)
    assert data["alpha"].dtype == np.float32


def test_an_update_streams_only_its_column_as_binary_buffers_whatever_the_epoch():
    view = HistogramsCallback(keys=("fc.weight",), phases=("train",))
    doc = Document()
    doc.add_root(view.graph)
    events = []
    doc.on_change(events.append)
    sizes = []
    history = {"train": {"fc.weight": []}}
    for epoch in range(300):
        history["train"]["fc.weight"].append({"counts": np.arange(64) + 1.0, "edges": np.linspace(-1, 1, 65)})
        view.on_epoch_end(epoch, "train", history)
        view.flush()
        content, ids, buffers = patch_message(events)
        assert {type(e).__name__ for e in events} == {"ColumnsStreamedEvent"} and len(buffers) == 5
        sizes.append(len(content) + sum(map(len, buffers)))
        events.clear()
    assert sum(map(len, buffers)) == 5 * 64 * 4  # five float32 columns of 64 bars
    assert max(sizes[-10:]) <= max(sizes[:10]) + 16 and max(sizes) < 3000


def test_summary_writer_histograms_reach_the_view_at_their_steps():
    view = HistogramsCallback(keys=(), tags=("fc1.weight",), bins=8)
    writer = SummaryWriter(write_to_disk=False, show=False, callbacks=[view])
    for step in (0, 100, 200):
        writer.add_histogram("fc1.weight", weights(step), step)
        writer.add_histogram("other", weights(step), step)
    writer.close()
    view.flush()
    data = columns(view.panels["", "fc1.weight"])
    assert sorted(set(data["x"].tolist())) == [0.0, 100.0, 200.0]
    assert data["width"][data["x"] == 200].tolist()[0] == 100.0  # a column reaches the previous one
    low, high = min(weights(s).min() for s in (0, 100, 200)), max(weights(s).max() for s in (0, 100, 200))
    assert data["bottom"].min() == pytest.approx(low) and data["top"].max() == pytest.approx(high)
    assert view.panels.keys() == {("", "fc1.weight")}


def test_a_panel_draws_a_writer_record_as_the_board_hands_it():
    writer = SummaryWriter(write_to_disk=False, show=False)
    values = weights(1)
    writer.add_histogram("w", values, 7)
    step, _, summary = writer.history.records["w"].entries[-1]
    panel = HistogramPanel("w", bins=30)
    panel.stage("w", step, summary, writer.history)
    panel.apply()
    data = columns(panel)
    assert set(data["x"].tolist()) == {7.0}
    assert data["bottom"].min() == pytest.approx(values.min()) and data["top"].max() == pytest.approx(values.max())
    assert panel.root.title.text == "w"


def test_bad_values_say_where_and_what_was_expected():
    view = HistogramsCallback(keys=("fc.weight",), phases=("train",))
    with pytest.raises(ValueError, match=r"history\['train'\]\['fc.weight'\]\[-1\]: expected a histogram"):
        view.on_epoch_end(0, "train", {"train": {"fc.weight": [{"oops": 1}]}})
    with pytest.raises(KeyError, match="no histograms for"):
        HistogramsCallback(keys=("a", "b"), phases=("train",)).on_epoch_end(0, "train", {"train": {"a": [[1.0]]}})
    with pytest.raises(ValueError, match="needs keys"):
        HistogramsCallback(keys=(), tags=())


def test_the_matplotlib_renderer_shades_each_bar_by_its_share():
    view = HistogramsCallback(keys=("fc.weight",), phases=("train",), bins=16).replica()
    view.on_epoch_end(0, "train", {"train": {"fc.weight": [{"counts": [1.0] + [0.0] * 14 + [100.0],
                                                             "edges": np.linspace(0, 16, 17)}]}})
    drawer, _ = open_renderer(view.graph, "matplotlib")
    try:
        frame = np.asarray(drawer.capture().convert("RGB"), dtype=int)
    finally:
        drawer.close()
    profile = (frame[..., 2] - frame[..., 0]).max(axis=1)  # per row, the bars' blue over white
    assert profile.max() > 100  # the full bin, opaque (#1f77b4: blue - red = 149)
    assert ((profile > 5) & (profile < 40)).sum() >= 5  # the 1 % bin, at 10 % opacity: blue - red = 15
