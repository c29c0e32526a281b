"""ConfusionMatrixCallback: scikit-learn's counts, in place, binary, hover and colours, drawn by matplotlib."""
import numpy as np
import pytest
import torch
from bokeh.document import Document
from bokeh.models import HoverTool, Rect, Text
from sklearn import metrics

from livetrain import History
from livetrain.core.images import colormap
from livetrain.frames import open_renderer
from livetrain.frames.png import to_image
from livetrain.views.confusion import BLUES, ConfusionMatrixCallback, packed
from livetrain.wire import patch_message


def predictions(seed, n=300, k=10, skill=1.5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    return labels, rng.normal(size=(n, k)) + skill * np.eye(k)[labels]


def test_cells_hold_scikit_learns_counts_row_by_row_with_hover_and_names():
    labels, scores = predictions(0, k=3)
    cb = ConfusionMatrixCallback(classes=["cat", "dog", "emu"], phases=("test",))
    cb.on_epoch_end(0, "test", {"test": {"y_true": [labels], "y_score": [scores]}})
    cb.flush()
    expected = metrics.confusion_matrix(labels, scores.argmax(1), labels=range(3))
    data = cb.sources["test"].data
    np.testing.assert_array_equal(data["count"].reshape(3, 3), expected)
    assert data["true"][:4] == ["cat", "cat", "cat", "dog"] and data["pred"][:4] == ["cat", "dog", "emu", "cat"]
    np.testing.assert_allclose(data["share"].reshape(3, 3), expected / expected.sum(1, keepdims=True))
    fig = cb.figures[0]
    assert list(fig.y_range.factors) == ["emu", "dog", "cat"]  # the first true class at the top
    accuracy = metrics.accuracy_score(labels, scores.argmax(1))
    assert fig.title.text == f"Confusion matrix (test) · accuracy {accuracy:.3f}"
    text = next(r.glyph for r in fig.renderers if isinstance(r.glyph, Text))
    assert text.text.field == "count"
    hover = fig.select_one(HoverTool)
    assert [t[0] for t in hover.tooltips] == ["true", "predicted", "count", "of the true class"]
    assert isinstance(hover.renderers[0].glyph, Rect)


def test_row_normalisation_colours_and_writes_the_shares():
    cb = ConfusionMatrixCallback(classes=2, keys=("cm",), phases=("train",), normalize="row")
    cb.on_epoch_end(0, "train", {"train": {"cm": [torch.tensor([[3, 1], [0, 0]])]}})
    cb.flush()
    data = cb.sources["train"].data
    assert data["label"].tolist() == [0.75, 0.25, 0.0, 0.0] and data["count"].tolist() == [3, 1, 0, 0]
    lut = packed(colormap(BLUES))
    assert data["fill"].dtype == np.uint32 and data["fill"].tolist() == [lut[192], lut[64], lut[0], lut[0]]
    assert data["ink"][0] != data["ink"][2]  # light text on the dark cell, dark text on the white ones
    assert next(r.glyph for r in cb.figures[0].renderers if isinstance(r.glyph, Text)).text.field == "label"


def test_counts_colour_from_zero_to_the_largest_and_predicted_indices_are_read():
    cb = ConfusionMatrixCallback(classes=2, phases=("train",))
    cb.on_epoch_end(0, "train", {"train": {"y_true": [[0, 0, 0, 1]], "y_score": [[0, 0, 1, 1]]}})
    cb.flush()
    data = cb.sources["train"].data
    lut = packed(colormap(BLUES))
    assert data["count"].tolist() == [2, 1, 0, 1] and data["fill"].tolist() == [lut[255], lut[128], lut[0], lut[128]]


def test_updates_replace_the_cells_in_place_as_binary_buffers_of_constant_size():
    cb = ConfusionMatrixCallback(phases=("test",))
    doc = Document()
    doc.add_root(cb.graph)
    events = []
    doc.on_change(events.append)
    ids = {m.id for m in doc.models}
    h = {"test": {"y_true": [], "y_score": []}}
    sizes = []
    for epoch in range(300):
        labels, scores = predictions(epoch % 7)
        h["test"]["y_true"].append(labels)
        h["test"]["y_score"].append(scores)
        events.clear()
        cb.on_epoch_end(epoch, "test", h)
        cb.flush()
        assert {type(e).__name__ for e in events} == {"ColumnDataChangedEvent", "ModelChangedEvent"}
        assert {m.id for m in doc.models} == ids
        content, _, buffers = patch_message(events)
        assert len(buffers) == 4 and len(content) < 2000  # counts, shares, fill and text colours
        sizes.append(len(content) + sum(map(len, buffers)))
    assert max(sizes[-7:]) <= max(sizes[:7]) + 16


@pytest.mark.parametrize("value, match", [
    (np.ones((3, 3)), r"history\['test'\]\['cm'\]\[-1\]: expected a \(2, 2\) matrix of counts >= 0, got float64 "
                      r"values of shape \(3, 3\); pass classes="),
    (-np.ones((2, 2)), r"expected a \(2, 2\) matrix of counts >= 0"),
])
def test_bad_matrices_are_named(value, match):
    cb = ConfusionMatrixCallback(classes=2, keys=("cm",), phases=("test",))
    with pytest.raises(ValueError, match=match):
        cb.on_epoch_end(0, "test", {"test": {"cm": [value]}})


def test_bad_predictions_and_settings_are_named():
    cb = ConfusionMatrixCallback(classes=2, phases=("test",))
    with pytest.raises(ValueError, match=r"history\['test'\]\['y_true'\] and \['y_score'\]\[-1\]: labels and "
                                         r"predictions must have one entry per sample; got 3 and 2"):
        cb.on_epoch_end(0, "test", {"test": {"y_true": [[0, 1, 1]], "y_score": [[0, 1]]}})
    with pytest.raises(ValueError, match="normalize must be None or 'row'"):
        ConfusionMatrixCallback(normalize="all")
    with pytest.raises(ValueError, match="keys must name one history key"):
        ConfusionMatrixCallback(keys=("a", "b", "c"))


def test_from_history_finds_the_classes_in_scores_matrices_or_indices():
    assert len(ConfusionMatrixCallback.from_history(History(
        {"val": {"y_true": [[0, 1]], "y_score": [np.ones((2, 4))]}})).classes) == 4
    assert len(ConfusionMatrixCallback.from_history(History({"val": {"cm": [np.eye(5)]}}), keys=["cm"]).classes) == 5
    assert len(ConfusionMatrixCallback.from_history(History(
        {"val": {"y_true": [[0, 6]], "y_pred": [[2, 1]]}}), keys=["y_true", "y_pred"]).classes) == 7


def test_the_matplotlib_renderer_draws_the_cells_and_their_counts():
    cb = ConfusionMatrixCallback(classes=2, keys=("cm",), phases=("test",))
    cb.on_epoch_end(0, "test", {"test": {"cm": [np.array([[90, 0], [0, 10]])]}})
    cb.flush()
    renderer, _ = open_renderer(cb.graph, "matplotlib")
    try:
        pixels = np.asarray(to_image(renderer.capture())).astype(int)
    finally:
        renderer.close()
    darkest = colormap(BLUES)[255, :3]
    dark = (np.abs(pixels - darkest).max(axis=2) <= 10)
    assert dark.sum() > 0.15 * 300 * 300  # the top-left cell, a quarter of the 300 x 300 frame, in dark blue
    rows, cols = np.flatnonzero(dark.any(1)), np.flatnonzero(dark.any(0))
    cell = pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert (cell.min(axis=2) > 150).sum() > 30  # the count "90" written in white on it
