"""Board: a panel per tag in sections by prefix, added as tags arrive, updated in place; user strings shown as text."""
import time

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div

from livetrain import FrameExporter, History, train_loop
from livetrain.display.base import final_output
from livetrain.views.board import Board, ImagePanel, PlaceholderPanel, TextPanel
from livetrain.views.histograms import HistogramPanel
from livetrain.writer import SummaryWriter

HOSTILE = "</script><img src=x onerror=alert(1)>"


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def writer(**options) -> SummaryWriter:
    return SummaryWriter(write_to_disk=False, interval=60, **options)


def section_names(board: Board) -> list[str]:
    return [s.children[0].text for s in board.graph.children[1:]]


def test_panels_are_grouped_by_the_tag_prefix_in_arrival_order():
    w = writer()
    w.add_scalar("train/loss", 1.0, 0)
    w.add_scalar("test/acc", 0.5, 0)
    w.add_scalar("train/acc", 0.6, 0)
    w.add_scalar("Loss", 0.9, 0)  # no "/": its own section, as in TensorBoard
    w.flush()
    board = w.board
    assert list(board.sections) == ["train", "test", "Loss"]
    assert ["train" in n for n in section_names(board)] == [True, False, False]
    train = board.sections["train"]
    assert [p.title.text for p in train.children[1].children] == ["train/loss", "train/acc"]
    assert list(board.panels) == ["train/loss", "test/acc", "train/acc", "Loss"]


def test_new_tags_add_panels_to_the_shown_layout_and_old_ones_update_in_place():
    w = writer()
    doc = Document()
    doc.add_root(w.board.graph)
    w.add_scalar("train/loss", 1.0, 0)
    w.flush()
    models = {m.id for m in doc.models}
    events = []
    doc.on_change(events.append)
    for step in range(1, 5):
        w.add_scalar("train/loss", 1 / (step + 1), step)
    w.flush()
    assert {m.id for m in doc.models} == models  # in place: no new model
    assert {type(e).__name__ for e in events} <= {"ColumnsStreamedEvent", "ColumnsPatchedEvent",
                                                  "ColumnDataChangedEvent", "ModelChangedEvent"}
    w.add_image("samples/grid", np.zeros((3, 8, 8)), 5)
    w.flush()
    assert len({m.id for m in doc.models} - models) > 3  # the image panel joined the document
    assert list(w.board.sections) == ["train", "samples"]


def test_add_scalars_is_one_panel_with_a_line_per_key():
    w = writer()
    for step in range(3):
        w.add_scalars("loss", {"train": 1.0 / (step + 1), "test": 1.2 / (step + 1)}, step)
    w.flush()
    assert list(w.board.panels) == ["loss"]
    assert w.board.panels["loss"].panel.tags == ("loss/train", "loss/test")


def test_image_panel_shows_the_latest_picture_titled_with_its_step():
    w = writer()
    w.add_image("digits", np.zeros((3, 4, 5)), 1)
    w.add_image("digits", np.ones((3, 4, 5)), 2)
    w.flush()
    panel = w.board.panels["digits"]
    assert isinstance(panel, ImagePanel) and panel.root.title.text == "digits (step 2)"
    picture = panel.source.data["image"][0]
    assert picture.shape == (4, 5) and picture.view(np.uint8).reshape(4, 5, 4).min() == 255  # white, opaque


def test_a_large_figure_is_shrunk_for_the_page_and_kept_whole_in_the_history():
    w = writer()
    w.add_image("big", np.zeros((4800, 1200, 3), np.uint8), 0, dataformats="HWC")
    w.flush()
    assert max(w.board.panels["big"].source.data["image"][0].shape) <= 600
    assert w.history.records["big"].entries[-1][2].shape == (4800, 1200, 3)


def test_other_kinds_are_placeholders_saying_what_was_recorded():
    w = writer()
    for step in range(3):
        w.add_hparams({"lr": 0.1 * step}, {"acc": 0.5})
    w.flush()
    panel = w.board.panels["hparams"]
    assert isinstance(panel, PlaceholderPanel)
    assert "hyperparameters: 3 recorded" in panel.root.text
    assert "later version" in panel.root.text


def test_histograms_are_heatmaps_a_column_per_step():
    w = writer()
    for step in range(3):
        w.add_histogram("weights/fc1", np.arange(10.0) * (step + 1), step)
    w.add_histogram_raw("weights/fc2", 0.0, 2.0, 3, 3.0, 5.0, [1.0, 2.0], [1, 2], 7)
    w.flush()
    panel = w.board.panels["weights/fc1"]
    assert isinstance(panel, HistogramPanel) and sorted(set(panel.source.data["x"].tolist())) == [0.0, 1.0, 2.0]
    assert panel.source.data["top"].max() == pytest.approx(27.0)
    assert w.board.panels["weights/fc2"].source.data["x"].tolist()[0] == 7.0


def test_hostile_tags_and_texts_are_shown_as_text():
    w = writer()
    w.add_text(HOSTILE, HOSTILE, 0)
    w.add_scalar(f"{HOSTILE}/x", 1.0, 0)
    w.add_histogram(HOSTILE + "h", np.arange(3.0), 0)
    w.flush()
    divs = [m for m in w.board.graph.references() if isinstance(m, Div)]
    assert sum("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in d.text for d in divs) == 1  # the text
    assert w.board.panels[HOSTILE + "h"].root.title.text == HOSTILE + "h"  # a histogram's title: drawn as text
    assert list(w.board.sections) == ["<"]  # the part before the first "/", escaped in its header
    assert any(">&lt;</h3>" in d.text for d in divs)
    assert not any("<img" in d.text or "</script>" in d.text for d in divs)
    assert isinstance(w.board.panels[HOSTILE], TextPanel)
    div, script = final_output(w.board.graph)
    assert "<img src=x" not in div + script and HOSTILE not in script


def test_long_texts_are_cut_on_the_page_only():
    w = writer()
    w.add_text("log", "x" * 20_000, 0)
    w.flush()
    assert "10000 more characters" in w.board.panels["log"].root.text
    assert len(w.history.records["log"].entries[-1][2]) == 20_000


def test_tags_limits_the_panels():
    board = Board(tags=["train/loss"])
    board.log({"train/loss": 1.0, "train/acc": 0.5}, step=0)
    board.flush()
    assert list(board.panels) == ["train/loss"]


def test_in_train_loop_each_phase_is_a_section_and_a_gif_is_made(tmp_path):
    board = Board()
    exporter = FrameExporter(board, renderer="matplotlib", gif=tmp_path / "board.gif")
    demo = Board.demo_history(3)

    def step(batch, phase):
        return {k: v[batch] for k, v in demo[phase].items()}

    history = train_loop(step, {"train": [0], "test": [0]}, epochs=3, callbacks=[board, exporter],
                         reduce={"recon": "last"}, progress=False)
    assert history.epochs("test") == 3
    assert list(board.sections) == ["train", "test"]
    assert set(board.panels) == {"train/loss", "train/acc", "train/recon", "test/loss", "test/acc", "test/recon"}
    assert history.steps["test/acc"].step.tolist() == [1, 2, 3]  # the panels draw train_loop's own traces
    assert "test/acc" not in board.history.steps
    assert (tmp_path / "board.gif").stat().st_size > 1000


def test_a_replica_fed_the_same_epochs_ends_in_the_same_state():
    live = Board()
    copy = live.replica()
    history = Board.demo_history(4)
    grown = History({p: {k: [] for k in s} for p, s in history.items()})
    for epoch in range(4):
        for phase, series in history.items():
            for key, values in series.items():
                grown[phase][key].append(values[epoch])
            live.on_epoch_end(epoch, phase, grown)
            copy.on_epoch_end(epoch, phase, grown)
    live.flush()
    ours = {s.name: dict(s.data) for s in live.graph.references() if isinstance(s, ColumnDataSource)}
    theirs = {s.name: dict(s.data) for s in copy.graph.references() if isinstance(s, ColumnDataSource)}
    assert ours.keys() == theirs.keys()
    for name in ours:
        for column in ours[name]:
            a, b = np.asarray(ours[name][column]), np.asarray(theirs[name][column])  # smoothing batched differently:
            assert a.shape == b.shape and np.allclose(a, b, rtol=1e-12, equal_nan=True), (name, column)  # last bits


def test_from_history_shows_the_chosen_keys():
    board = Board.from_history(Board.demo_history(), keys=["loss"])
    assert board.only == {"train/loss", "test/loss"} and board.phases == ("train", "test")


def test_in_train_loop_the_board_draws_the_per_batch_traces_once_not_the_epoch_means_over_them():
    from livetrain import train_loop

    board = Board()
    history = train_loop(lambda batch, phase: {"loss": 1.0 / (batch + 1)}, {"train": [0, 1, 2, 3]}, epochs=3,
                         callbacks=[board], progress=False)
    board.flush()
    panel = board.panels["train/loss"].panel
    assert panel.tags == ("train/loss",)
    assert "train/loss" not in board.history.steps  # the epoch means were not logged over the per-batch trace
    assert history.steps["train/loss"].step.tolist() == list(range(1, 13))


def test_values_logged_while_a_push_holds_the_lock_are_staged_by_that_push():
    import threading

    board = Board(interval=0.05)
    board.log({"loss": 1.0}, step=0)  # pushed at once
    entered, release, push = threading.Event(), threading.Event(), board.throttle.action

    def slow_push():
        entered.set()
        release.wait(5)
        push()

    board.throttle.action = slow_push
    board.log({"loss": 0.9}, step=1)  # within the interval: the throttle's helper pushes it, slowly
    assert entered.wait(5)
    t0 = time.monotonic()
    board.log({"loss": 0.5, "acc": 0.9}, step=2)  # the training loop, during that push
    waited = time.monotonic() - t0
    assert "acc" not in board.panels  # not staged yet: the lock is the push's
    release.set()
    board.flush()
    board.throttle.action = push
    assert waited < 1, f"log() waited {waited:.2f} s for a push"
    assert set(board.panels) == {"loss", "acc"}
    assert board.panels["loss"].panel.update(board.history) is False  # every point is drawn already


def test_epoch_values_that_are_not_numbers_nor_images_are_left_to_their_views():
    import warnings

    board = Board()
    histogram = {"counts": np.ones(4), "edges": np.arange(5.0)}  # what HistogramsCallback reads, in a Dashboard
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        board.on_epoch_end(0, "train", {"train": {"loss": [0.5], "fc.weight": [histogram]}})
    board.flush()
    assert list(board.panels) == ["train/loss"]


def test_epoch_rows_of_scores_or_features_are_not_drawn_as_pictures_but_image_batches_are():
    import warnings

    board = Board()
    rng = np.random.default_rng(0)
    epoch = {"loss": [0.5], "y_score": [rng.random((50, 10))], "features": [rng.normal(size=(50, 84))],
             "images": [rng.random((16, 1, 8, 8))]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rows of floats outside 0..1 would warn, as pictures, that they are clipped
        board.on_epoch_end(0, "test", {"test": epoch})
    board.flush()
    assert sorted(board.panels) == ["test/images", "test/loss"]


def layered_model(hostile: str = "act"):
    """A small CNN whose layers have names, one of them ``hostile``."""
    from collections import OrderedDict

    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 4, 3)), (hostile, nn.ReLU()), ("flat", nn.Flatten()),
                                      ("head", nn.Linear(4 * 6 * 6, 10))]))


def test_add_graph_draws_the_models_layer_table_and_diagram_with_layer_names_as_text():
    import torch

    from livetrain.views.model import ModelPanel

    board = Board()
    w = SummaryWriter(write_to_disk=False, show=False, callbacks=[board])
    w.add_graph(layered_model(HOSTILE), torch.zeros(2, 1, 8, 8))
    board.flush()
    panel = board.panels["graph"]
    assert isinstance(panel, ModelPanel) and list(board.sections) == ["graph"]
    assert panel.cells.data["text"] == ["conv", "Conv2d", "2×4×6×6", HOSTILE, "ReLU", "2×4×6×6",
                                        "flat", "Flatten", "2×144", "head", "Linear", "2×10"]
    assert panel.numbers.data["text"] == ["40", "40", "0", "0", "0", "0", "1,450", "1,450"]
    assert panel.boxes.data["shape"] == ["2×4×6×6", "2×4×6×6", "2×144", "2×10"]
    assert panel.caption.data["text"] == ["1,490 parameters, 1,490 trainable"]
    assert panel.figures[0].title.text == "Sequential summary"
    assert not any(HOSTILE in d.text or "<img" in d.text for d in board.graph.references() if isinstance(d, Div))
    div, script = final_output(board.graph)
    assert "<img src=x" not in div + script and HOSTILE not in script  # a glyph's text, escaped in the page's JSON


def test_a_graph_without_a_layer_table_keeps_the_placeholder_and_a_shown_table_stays():
    import torch

    board = Board()
    w = SummaryWriter(write_to_disk=False, show=False, callbacks=[board])
    w.add_graph(layered_model())  # no input: no layer table
    saved = History()  # a history saved before add_graph recorded the layer table
    saved.record("old", "graph", {"model": "Net", "repr": "Net()", "parameters": 10}, 0)
    board.on_log(0, {"old": saved.records["old"].entries[-1][2]}, saved)
    board.flush()
    assert [type(p) for p in board.panels.values()] == [PlaceholderPanel, PlaceholderPanel]
    text = board.panels["graph"].root.text
    assert "model graph: 1 recorded" in text and "No layer table" in text
    shown = Board()
    w = SummaryWriter(write_to_disk=False, show=False, callbacks=[shown])
    w.add_graph(layered_model(), torch.zeros(1, 1, 8, 8))
    w.add_graph(layered_model())  # a later graph without a table leaves the last table shown
    shown.flush()
    assert shown.panels["graph"].cells.data["text"][:3] == ["conv", "Conv2d", "1×4×6×6"]


def test_frame_exporter_draws_the_board_with_the_model_panel():
    import io

    import torch
    from PIL import Image

    w = writer()
    exporter = FrameExporter(w, renderer="matplotlib")
    w.add_graph(layered_model(), torch.zeros(1, 1, 8, 8))
    for step in range(3):
        w.add_scalar("train/loss", 1 / (step + 1), step)
    frames = exporter.frames()
    assert frames
    replica = exporter._replica.panels["graph"]
    assert replica.cells.data["text"][:3] == ["conv", "Conv2d", "1×4×6×6"]
    w.close()
    pixels = np.asarray(Image.open(io.BytesIO(frames[-1])).convert("RGB"), dtype=int)
    conv_box = np.array([31, 119, 180]) * 0.25 + 255 * 0.75  # the diagram's first box: Category10's first, 25 %
    assert (np.abs(pixels - conv_box).max(axis=2) <= 3).sum() > 500
