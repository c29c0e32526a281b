"""LinePlotsCallback(x=...): the axis label, the hover and the epoch and per-batch points agree on one x axis, and a
global step passed as the epoch (seed 004's ``epoch * len(loader) + i``) is never drawn off screen."""
import time
import warnings

import pytest
from bokeh.models import DatetimeAxis, HoverTool

from livetrain import LinePlotsCallback, train_loop


def seed_004_loop(cb, reports=3, every=20, loader=50):
    """Seed 004's loop, ported: a point per batch, and every ``every`` batches the running loss reported with the
    global step ``epoch * len(loader) + i`` as the epoch. Returns the warnings it raised."""
    history = {"train": {"loss": [], "acc": []}}
    step = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(reports):
            for i in range(loader):
                cb.on_batch_end(i, "train", {"loss": 1 / (step + 1), "acc": 0.5})
                step += 1
                if i % every == every - 1 and len(history["train"]["loss"]) < reports:
                    history["train"]["loss"].append(1 / step), history["train"]["acc"].append(0.5)
                    cb.on_epoch_end(epoch * loader + i, "train", history)
    cb.flush()
    return [str(w.message) for w in caught]


def hovers(cb):
    return [[tuple(t) for t in h.tooltips] for fig in cb.figures[:1] for h in fig.select(HoverTool)]


def on_screen(cb):
    """Whether every epoch and batch point of the train phase lies inside the x range."""
    x = cb.figures[0].x_range
    points = [*cb.sources["train"].data[cb.x], *cb.batch_sources["train"].data["x"]]
    return x.start <= min(points) and max(points) <= x.end


def test_by_default_a_global_step_passed_as_epoch_warns_once_with_what_to_pass_and_stays_on_screen():
    cb = LinePlotsCallback(phases=("train",), interval=0)
    messages = [m for m in seed_004_loop(cb, reports=3) if "global step" in m]
    assert messages == ["livetrain: LinePlotsCallback.on_epoch_end got epoch=19 after 20 batches of 'train': that "
                        "looks like a global step, not an epoch, and the per-batch points are drawn by epoch. Pass "
                        "x='step' to draw against the global step, or pass the epoch (0, 1, 2, ...)"]
    assert cb.sources["train"].data["epoch"] == [20, 40, 70]  # as given, + 1: the epoch API is unchanged
    assert on_screen(cb)  # was: the x range followed the row count (0..4), the epoch points far off it
    assert cb.figures[0].xaxis.axis_label == "epoch"


def test_x_step_puts_epoch_and_batch_points_on_one_step_axis_named_in_axis_and_hover():
    cb = LinePlotsCallback(phases=("train",), x="step", interval=0)
    assert not [m for m in seed_004_loop(cb, reports=3) if "global step" in m]
    assert cb.sources["train"].data["step"] == [20, 40, 70]  # the batches counted when each report came
    assert cb.batch_sources["train"].data["x"] == list(range(1, 151))  # 3 epochs of 50
    assert cb.batch_sources["train"].data[cb.columns["loss"]][19] == 1 / 20  # the batch at step 20 is the 20th
    assert on_screen(cb)
    assert [fig.xaxis.axis_label for fig in cb.figures] == ["step", "step"]
    assert sorted(hovers(cb)) == [[("best train loss", "step @step{0,0}"), ("loss", "@{y0}{%.6g}")],
                                  [("phase", "$name"), ("step", "@step{0,0}"), ("loss", "@{y0}{%.6g}")]]
    assert [r.glyph.x for r in cb.figures[0].renderers if r.name == "train"] == ["step"]


def test_x_step_in_a_loop_that_reports_only_epoch_ends_takes_the_global_step_given():
    cb = LinePlotsCallback(phases=("train",), x="step", interval=0)
    history = {"train": {"loss": [], "acc": []}}
    for report, step in enumerate((999, 1999, 2999)):
        history["train"]["loss"].append(1 / (report + 1)), history["train"]["acc"].append(0.5)
        cb.on_epoch_end(step, "train", history)
    assert cb.sources["train"].data["step"] == [999, 1999, 2999]
    assert on_screen(cb) and cb.figures[0].x_range.end == 4096


def test_x_step_in_train_loop_draws_batches_at_the_steps_train_loop_logs_and_epochs_where_they_end():
    cb = LinePlotsCallback(x="step")
    loaders = {"train": [1, 2, 3, 4], "test": [5, 6]}
    history = train_loop(lambda b, p: {"loss": 1 / b, "acc": 0.5}, loaders, epochs=3, callbacks=[cb], progress=False)
    assert cb.batch_sources["train"].data["x"] == history.steps["train/loss"].step.tolist() == list(range(1, 13))
    assert cb.sources["train"].data["step"] == cb.sources["test"].data["step"] == [4, 8, 12]
    assert cb.figures[0].x_range.end == 12  # known from the start: epochs x batches

    resumed = LinePlotsCallback(x="step")  # a resumed run goes on from the steps its history holds
    history = train_loop(lambda b, p: {"loss": 1 / b, "acc": 0.5}, loaders, epochs=1, callbacks=[resumed],
                         history=history, progress=False)
    assert resumed.sources["train"].data["step"] == [4, 8, 12, 16]
    batches = resumed.batch_sources["train"].data["x"]
    assert batches == history.steps["train/loss"].step[-4:].tolist() == [13, 14, 15, 16]


@pytest.mark.parametrize("x", ["wall", "relative"])
def test_time_axes_place_each_point_when_it_came(x):
    cb = LinePlotsCallback(phases=("train",), x=x, interval=0)
    history = {"train": {"loss": [], "acc": []}}
    before = time.time()
    for epoch in range(3):
        for batch in range(2):
            cb.on_batch_end(batch, "train", {"loss": 1.0})
        history["train"]["loss"].append(1.0), history["train"]["acc"].append(0.5)
        cb.on_epoch_end(epoch, "train", history)
    cb.flush()
    rows, batches = cb.sources["train"].data[x], cb.batch_sources["train"].data["x"]
    assert rows == sorted(rows) and batches == sorted(batches) and batches[1] <= rows[0] <= batches[2]
    assert cb.figures[0].xaxis.axis_label == {"wall": "wall time", "relative": "time since start (s)"}[x]
    if x == "wall":  # Bokeh's datetime axis: milliseconds
        assert before * 1000 <= rows[0] <= time.time() * 1000 and isinstance(cb.figures[0].xaxis[0], DatetimeAxis)
        tips = sorted(hovers(cb))
        assert tips[0][0] == ("best train loss", "at @wall{%F %T}") and tips[1][1] == ("wall time", "@wall{%F %T}")
        assert all(h.formatters["@wall"] == "datetime" for h in cb.figures[0].select(HoverTool))
    else:
        assert 0 == batches[0] <= rows[-1] < time.time() - before + 1


def test_a_bad_x_says_what_was_expected():
    with pytest.raises(ValueError, match="x must be one of 'step', 'epoch', 'wall', 'relative', got 'time'"):
        LinePlotsCallback(x="time")
