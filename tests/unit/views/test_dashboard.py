import warnings

import numpy as np
import pytest
from bokeh.document import Document

from livetrain import Dashboard, LinePlotsCallback, VBarPlotsCallback, train_loop


def step(batch, phase):
    y = np.asarray(batch)
    return {"loss": 1.0 / (1 + y.sum()), "acc": 0.5, "corrects": np.bincount(y, minlength=3),
            "counts": np.bincount(y, minlength=3)}


def test_views_share_one_layout_throttle_and_display():
    line, bars = LinePlotsCallback(epochs=3), VBarPlotsCallback(categories=3)
    board = Dashboard([line, bars])
    assert board.graph.children == [line.graph, bars.graph]
    assert line.throttle is bars.throttle is board.throttle
    train_loop(step, {"train": [[0, 1]], "test": [[2]]}, epochs=3, callbacks=[board],
               reduce={"corrects": "sum", "counts": "sum"}, progress=False)
    assert line.sources["test"].data["epoch"] == [1, 2, 3]
    assert bars.sources["train"].data[bars.columns["counts"]] == [1.0, 1.0, 0.0]
    assert board.displayed and line.displayed


def test_one_flush_applies_every_view_in_one_batch_of_events():
    line, bars = LinePlotsCallback(epochs=10, phases=("train",)), VBarPlotsCallback(categories=2, phases=("train",))
    board = Dashboard([line, bars], interval=60)
    doc = Document()
    doc.add_root(board.graph)
    events = []
    doc.on_change(lambda e: events.append(type(e).__name__))
    h = {"train": {"loss": [1.0], "acc": [0.1], "corrects": [[1, 2]], "counts": [[3, 4]]}}
    board.on_epoch_end(0, "train", h)
    events.clear()
    h["train"]["loss"].append(0.5); h["train"]["acc"].append(0.2)
    h["train"]["corrects"].append([2, 2]); h["train"]["counts"].append([3, 4])
    board.on_epoch_end(1, "train", h)
    assert events == []  # within the throttle window: nothing applied yet
    board.flush()
    assert sorted(events) == ["ColumnsPatchedEvent", "ColumnsStreamedEvent"]


def test_a_failing_view_is_switched_off_alone():
    line, bars = LinePlotsCallback(phases=("train",)), VBarPlotsCallback(categories=5, phases=("train",))
    board = Dashboard([line, bars])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_loop(step, {"train": [[0, 1]]}, epochs=2, callbacks=[board],
                   reduce={"corrects": "sum", "counts": "sum"}, progress=False)  # 3 classes, not 5
    assert line.sources["train"].data["epoch"] == [1, 2]
    warned = [str(w.message).split(" raised")[0] for w in caught]
    assert warned == ["livetrain: callback VBarPlotsCallback.on_epoch_end"]


def test_bad_dashboards_are_refused():
    with pytest.raises(TypeError, match="non-empty list of livetrain views"):
        Dashboard([])
    with pytest.raises(TypeError, match=r"got \['int'\]"):
        Dashboard([1])
    line = LinePlotsCallback()
    with pytest.raises(ValueError, match="one dashboard once"):
        Dashboard([line, line])


def test_step_level_values_reach_the_views_inside_a_dashboard():
    from livetrain import History
    from livetrain.views.scalars import ScalarsView

    scalars = ScalarsView()
    dash = Dashboard([LinePlotsCallback(), scalars])
    history = History()
    for step in range(5):
        history.log({"train/loss": 1.0 / (step + 1)}, step)
        dash.on_log(step, {"train/loss": 1.0 / (step + 1)}, history)
    dash.flush()
    assert list(scalars.panels) == ["train/loss"]
    assert scalars.panels["train/loss"].update(history) is False  # all 5 points drawn


def test_ncols_lays_the_views_out_in_rows_and_the_picture_follows(tmp_path):
    from livetrain.frames import open_renderer

    def size(graph):
        drawer, _ = open_renderer(graph, "matplotlib")
        try:
            frame = drawer.capture()
        finally:
            drawer.close()
        return frame.size

    views = [VBarPlotsCallback(categories=3) for _ in range(3)]
    board = Dashboard(views, ncols=2)
    assert [[c is v.graph for c in r.children] for r, v in zip(board.graph.children, views[::2])] == [[True, False],
                                                                                                    [True]]
    train_loop(step, {"train": [[0, 1]], "test": [[2]]}, epochs=1, callbacks=[board],
               reduce={"corrects": "sum", "counts": "sum"}, progress=False)
    wide, tall = size(board.replica().graph), size(Dashboard([VBarPlotsCallback(categories=3) for _ in range(3)]).graph)
    assert wide[0] > tall[0] and wide[1] < tall[1]
    with pytest.raises(ValueError, match="ncols must be an int >= 1 .*got 0"):
        Dashboard([LinePlotsCallback()], ncols=0)
