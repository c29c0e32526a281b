"""Layout and readability of the line view and the board: figure grids (``ncols``), markers on lines, titles."""
import numpy as np
import pytest
from bokeh.models import Legend, Scatter

from livetrain import Board, LinePlotsCallback
from livetrain.frames.mpl import MatplotlibRenderer
from livetrain.views.line import line_title

SEED_003 = ("accuracy", "precision", "recall", "f1_score")


def places(cb):
    return {fig.title.text: (row, col) for fig, row, col in cb.graph.children}


def feed(cb, epochs=3, keys=SEED_003):
    history = {p: {k: [] for k in keys} for p in cb.phases}
    for e in range(epochs):
        for i, phase in enumerate(cb.phases):
            for k in keys:
                history[phase][k].append(0.5 + 0.1 * e - 0.05 * i)
            cb.on_epoch_end(e, phase, history)
    cb.flush()


def test_seed_003s_four_metrics_make_a_two_by_two_grid_titled_as_read():
    cb = LinePlotsCallback(keys=SEED_003)
    assert places(cb) == {"Accuracy": (0, 0), "Precision": (0, 1), "Recall": (1, 0), "F1 score": (1, 1)}


@pytest.mark.parametrize(("keys", "ncols", "shape"), [
    (("loss",), None, (1, 1)), (("loss", "acc"), None, (1, 2)), (("loss", "acc", "lr"), None, (1, 3)),
    (tuple("abcde"), None, (2, 3)), (tuple("abcdefghij"), None, (3, 4)), (SEED_003, 4, (1, 4)),
    (SEED_003, 1, (4, 1)), (("loss", "acc", "lr"), 2, (2, 2)),
])
def test_ncols_sets_the_figures_per_row_and_by_default_up_to_three_share_one_row(keys, ncols, shape):
    cb = LinePlotsCallback(keys=keys, ncols=ncols)
    rows = {row for _, row, _ in cb.graph.children}
    cols = {col for _, _, col in cb.graph.children}
    assert (len(rows), len(cols)) == shape
    assert [fig for fig, _, _ in cb.graph.children] == cb.figures  # in the keys' order, row by row


def test_ncols_survives_the_loops_phases_and_the_replica():
    cb = LinePlotsCallback(keys=SEED_003, ncols=4)
    cb.set_params({"phases": ["train", "val"]})
    assert {row for _, row, _ in cb.graph.children} == {0}
    assert {row for _, row, _ in cb.replica().graph.children} == {0}


@pytest.mark.parametrize("ncols", [0, 1.5, True, "2"])
def test_a_bad_ncols_is_a_clear_error(ncols):
    with pytest.raises(ValueError, match=f"ncols must be an int >= 1, got {ncols!r}"):
        LinePlotsCallback(ncols=ncols)


def test_markers_draw_a_scatter_per_phase_on_the_lines_source_hidden_with_its_line():
    cb = LinePlotsCallback(epochs=3, markers="square")
    for fig in cb.figures:
        [legend] = [m for m in fig.center if isinstance(m, Legend)]
        for item, phase in zip(legend.items, cb.phases):
            dots = [r for r in item.renderers if isinstance(r.glyph, Scatter)]
            assert [d.data_source for d in dots] == [cb.sources[phase]]
            assert dots[0].glyph.marker == "square"
    feed(cb, keys=("loss", "acc"))
    assert len(cb.sources["train"].data["epoch"]) == 3  # the markers cost no data of their own
    circles = LinePlotsCallback(markers=True)
    assert {r.glyph.marker for f in circles.figures for r in f.renderers if isinstance(r.glyph, Scatter)} == {
        "circle", "star"}  # the best-epoch star stays
    plain = LinePlotsCallback()
    assert {r.glyph.marker for f in plain.figures for r in f.renderers if isinstance(r.glyph, Scatter)} == {"star"}


def test_markers_show_in_matplotlib_frames():
    def frame(markers):
        cb = LinePlotsCallback(epochs=3, keys=("loss",), phases=("train",), markers=markers, mode="min")
        feed(cb, keys=("loss",))
        with MatplotlibRenderer(cb.graph) as renderer:
            return np.asarray(renderer.capture())

    plain, marked = frame(False), frame("square")
    red = lambda f: ((f[..., 0] > 180) & (f[..., 1] < 80) & (f[..., 2] < 80)).sum()  # noqa: E731
    assert red(marked) > red(plain) + 3 * 20  # three squares of about 7 px a side, over the line


@pytest.mark.parametrize("markers", ["blob", 3, ["circle"]])
def test_an_unknown_marker_is_a_clear_error(markers):
    with pytest.raises(ValueError, match="markers must be True, False or a Bokeh marker name .*circle"):
        LinePlotsCallback(markers=markers)


@pytest.mark.parametrize(("key", "title"), [
    ("loss", "Loss"), ("acc", "Accuracy"), ("accuracy", "Accuracy"), ("lr", "Learning rate"),
    ("learning_rate", "Learning rate"), ("f1", "F1 score"), ("f1_score", "F1 score"), ("precision", "Precision"),
    ("recall", "Recall"), ("top5", "Top-5 accuracy"), ("top1", "Top-1 accuracy"), ("val_auc", "Val AUC"),
    ("test_mAP", "Test mAP"), ("mean_iou", "Mean IoU"), ("kl_divergence", "KL divergence"), ("mse", "MSE"),
    ("top3_err", "Top-3 err"), ("recon-loss", "Recon loss"), ("f1_score/cat", "F1 score (cat)"),
    ("precision/Persian cat", "Precision (Persian cat)"), ("Loss", "Loss"), ("_", "_"),
])
def test_titles_read_as_words(key, title):
    assert line_title(key) == title


def test_titles_mapping_wins_and_the_figures_use_it():
    cb = LinePlotsCallback(keys=("f1_score", "loss"), titles={"f1_score": "F1 (macro)"})
    assert [f.title.text for f in cb.figures] == ["F1 (macro)", "Loss"]
    assert cb.replica().figures[0].title.text == "F1 (macro)"


def test_board_panels_come_in_rows_of_ncols():
    board = Board(ncols=2)
    board.log({f"train/m{i}": 0.5 for i in range(5)}, step=1)
    board.flush()
    section = board.sections["train"]
    assert [len(line.children) for line in section.children[1:]] == [2, 2, 1]
    with pytest.raises(ValueError, match="ncols must be an int >= 1, got 0"):
        Board(ncols=0)


def test_monitor_false_draws_no_best_epoch_star_for_a_schedule():
    view = LinePlotsCallback(keys=["lr"], phases=["train"], monitor=False)
    view.on_epoch_end(0, "train", {"train": {"lr": [0.1]}})
    view.on_epoch_end(1, "train", {"train": {"lr": [0.1, 0.05]}})
    view.flush()
    (fig,) = view.figures
    assert not [r for r in fig.renderers if isinstance(r.glyph, Scatter) and r.glyph.marker == "star"]
    assert [item.label.value for item in fig.legend[0].items] == ["train"]
    assert view.best is None
    with pytest.raises(ValueError, match=r"one of keys \['lr'\] or False, got 'loss'"):
        LinePlotsCallback(keys=["lr"], monitor="loss")
