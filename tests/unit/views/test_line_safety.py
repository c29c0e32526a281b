"""LinePlotsCallback under hostile input: phases without data, keys named like its own columns, user text in
tooltips, an interrupt at any point of an update, huge values, and a resumed run longer than ``epochs``."""
import math
import sys
import warnings

import pytest
from bokeh.core.property.wrappers import PropertyValueColumnData
from bokeh.models import ColumnDataSource, HoverTool

import livetrain.views.base
import livetrain.views.line
from livetrain import History, LinePlotsCallback, train_loop

HOSTILE = ("$x", "@epoch", "${name}", "@{y0}", "a}b{c", "</script><img src=x onerror=alert(1)>")


def column(cb, phase, key, source="sources"):
    return getattr(cb, source)[phase].data[cb.columns[key] if hasattr(cb, "columns") else key]


def lengths(cb):
    """The length of every column of every source of ``cb``, by source name."""
    return {s.name: {len(c) for c in s.data.values()} for s in (*cb.sources.values(), *cb.batch_sources.values())}


def test_a_phase_without_data_is_skipped_and_the_other_lines_go_on():
    cb = LinePlotsCallback(interval=0)
    h = History()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty loader is no reason to warn here
        for e in range(3):
            h.append("train", {"loss": 1 / (e + 1), "acc": 0.5})
            cb.on_epoch_end(e, "train", h)
            h.append("test", {})  # what train_loop records for a loader without batches
            cb.on_epoch_end(e, "test", h)
    assert cb.sources["train"].data["epoch"] == [1, 2, 3]
    assert column(cb, "train", "loss") == [1.0, 0.5, 1 / 3]
    assert cb.sources["test"].data["epoch"] == []


def test_a_phase_holding_none_of_the_keys_warns_once_and_the_other_lines_go_on():
    cb = LinePlotsCallback(interval=0)
    h = {"train": {"loss": [], "acc": []}, "sheet": {"samples": []}}
    with pytest.warns(RuntimeWarning) as caught:
        for e in range(3):
            h["train"]["loss"].append(1.0), h["train"]["acc"].append(0.5)
            cb.on_epoch_end(e, "train", h)
            h["sheet"]["samples"].append([0.0])
            cb.on_epoch_end(e, "test" if e else "train", {**h, "test": h["sheet"]})
    messages = [str(w.message) for w in caught if "plotted keys" in str(w.message)]
    assert messages == ["livetrain: history['test'] has none of the plotted keys ['loss', 'acc']; it has ['samples']. "
                        "Its lines stay empty; pass keys=(...) or phases=(...) to LinePlotsCallback"]
    assert cb.sources["train"].data["epoch"] == [1, 2, 3]


@pytest.mark.parametrize("keys", [("epoch", "loss"), ("x", "loss"), ("loss", "epoch", "x")])
def test_metrics_named_like_the_views_own_columns_are_drawn(keys):
    cb = LinePlotsCallback(keys=keys)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a switched-off view warns
        train_loop(lambda b, p: {k: float(b) + i for i, k in enumerate(keys)}, {"train": [1, 2], "test": [3]},
                   epochs=2, callbacks=[cb], progress=False)
    assert cb.sources["test"].data["epoch"] == [1, 2]
    assert cb.batch_sources["train"].data["x"] == [0.5, 1.0, 1.5, 2.0]
    for i, key in enumerate(keys):
        assert column(cb, "train", key) == [1.5 + i] * 2  # the mean of batches 1 and 2
        assert column(cb, "test", key) == [3.0 + i] * 2
        assert column(cb, "train", key, "batch_sources") == [1.0 + i, 2.0 + i] * 2


def test_names_reach_tooltips_as_labels_never_as_templates():
    cb = LinePlotsCallback(keys=HOSTILE, phases=("tr$ain", "@{te}st"), monitor=HOSTILE[0])
    hovers = [t for fig in cb.figures for t in fig.select(HoverTool)]
    assert len(hovers) == 2 * len(HOSTILE)
    for hover in hovers:  # "@epoch" and "@{y0}" are both the view's own templates and hostile keys
        assert not [t for _, t in hover.tooltips for n in ("$x", "${name}", "a}b{c", HOSTILE[-1], "tr$ain") if n in t]
    internal = {"$name", "@epoch", "epoch @epoch", *(f"@{{{c}}}{{%.6g}}" for c in cb.columns.values())}
    for hover in hovers:
        assert {template for _, template in hover.tooltips} <= internal
        for spec in hover.formatters:
            assert spec in {f"@{{{c}}}" for c in cb.columns.values()}
    labels = [sorted(tuple(label for label, _ in hover.tooltips) for hover in fig.select(HoverTool))
              for fig in cb.figures]
    assert labels == [sorted([("phase", "epoch", key), ("best @{te}st $x", key)]) for key in HOSTILE]


def view_code():
    """The code that records and applies the line view's updates: ``line.py``, ``stream_rows`` and Bokeh's
    ``stream``, which it calls."""
    line, base = livetrain.views.line.__file__, livetrain.views.base.__file__
    streams = {ColumnDataSource._stream.__code__, PropertyValueColumnData._stream.__code__}
    return lambda code: code in streams or code.co_filename == line or (code.co_filename, code.co_name) == (
        base, "stream_rows")


def interrupted(run, at, traced):
    """Run ``run()``, raising ``KeyboardInterrupt`` (as Ctrl-C does, between two bytecodes) before the ``at``-th
    bytecode run in code that ``traced`` selects; whether it was raised."""
    count, fired = 0, False

    def opcodes(frame, event, arg):
        nonlocal count, fired
        if event == "opcode":
            count += 1
            if count == at:
                fired = True
                raise KeyboardInterrupt
        return opcodes

    def calls(frame, event, arg):
        if not traced(frame.f_code):
            return None
        frame.f_trace_opcodes = True
        return opcodes

    sys.settrace(calls)
    try:
        run()
    except KeyboardInterrupt:
        assert fired
    finally:
        sys.settrace(None)
    return fired


def test_an_interrupt_at_any_bytecode_of_an_update_leaves_whole_rows_and_later_updates_work():
    cb = LinePlotsCallback(phases=("train",), interval=0)  # interval 0: every update is applied in the call
    history = {"train": {"loss": [], "acc": []}}

    def one_epoch():
        epoch = len(history["train"]["loss"])
        cb.on_batch_end(0, "train", {"loss": 1.0, "acc": 0.5})
        history["train"]["loss"].append(1 / (epoch + 1))
        history["train"]["acc"].append(0.5)
        cb.on_epoch_end(epoch, "train", history)

    at, traced = 1, view_code()
    while interrupted(one_epoch, at, traced):
        one_epoch()  # the next update, uninterrupted, goes through
        cb.flush()
        assert all(len(n) == 1 for n in lengths(cb).values()), (at, lengths(cb))
        assert cb.sources["train"].data["epoch"][-1] == len(history["train"]["loss"]), at
        at += 1
    assert at > 200  # every bytecode of an update was tried, not just a few
    epochs = cb.sources["train"].data["epoch"]
    assert epochs == sorted(set(epochs))  # no row twice
    assert column(cb, "train", "loss") == [1 / e for e in epochs]


class Interrupting:  # a 0-d tensor whose value is pressed out of the GPU when Ctrl-C comes
    ndim = 0

    def __init__(self, times=math.inf, value=0.75):
        self.times, self.value = times, value  # interrupted ``times`` reads, then ``value``

    def item(self):
        self.times -= 1
        if self.times >= 0:
            raise KeyboardInterrupt
        return self.value


def test_an_interrupt_while_an_epoch_value_converts_changes_nothing():
    cb = LinePlotsCallback(phases=("train",), interval=0)
    h = {"train": {"loss": [0.5], "acc": [Interrupting()]}}
    with pytest.raises(KeyboardInterrupt):
        cb.on_epoch_end(0, "train", h)
    h["train"]["acc"][0] = 0.25
    cb.on_epoch_end(0, "train", h)
    cb.flush()
    assert cb.sources["train"].data["epoch"] == [1] and column(cb, "train", "acc") == [0.25]


@pytest.mark.parametrize("then", ["next batch", "on_exception"])
def test_an_interrupt_while_batch_values_are_read_keeps_them_whole_for_the_next_push(then):
    cb = LinePlotsCallback(phases=("train",), interval=0)
    cb.on_batch_end(0, "train", {"loss": 1.0, "acc": 0.5})
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while the push waits for the device: nothing is streamed
        cb.on_batch_end(1, "train", {"loss": 2.0, "acc": Interrupting(times=1, value=0.75)})
    assert lengths(cb)["livetrain:batch:train"] == {1}
    if then == "next batch":
        cb.on_batch_end(2, "train", {"loss": 3.0, "acc": 0.25})
    else:  # the loop ends on the interrupt: its final push reads what was left
        cb.on_exception(KeyboardInterrupt(), History())
    assert column(cb, "train", "acc", "batch_sources") == [0.5, 0.75, 0.25][:3 if then == "next batch" else 2]
    assert column(cb, "train", "loss", "batch_sources") == [1.0, 2.0, 3.0][:3 if then == "next batch" else 2]


def test_huge_values_are_gaps_and_the_view_goes_on():
    cb = LinePlotsCallback(phases=("train",), interval=0)
    h = {"train": {"loss": [0.5, 1e308, -1.7e308, math.inf, 0.25], "acc": [0.5] * 5}}
    cb.on_epoch_end(4, "train", h)
    cb.on_batch_end(0, "train", {"loss": 1e301, "acc": 0.5})
    cb.flush()
    loss = column(cb, "train", "loss")
    assert loss[0] == 0.5 and math.isnan(loss[1]) and math.isnan(loss[2]) and loss[3:] == [math.inf, 0.25]
    assert math.isnan(column(cb, "train", "loss", "batch_sources")[0])
    assert h["train"]["loss"][1] == 1e308  # the history keeps the true value
    assert cb.best == (5, 0.25)


def test_a_resumed_run_longer_than_epochs_stays_inside_the_x_range():
    history = train_loop(lambda b, p: {"loss": 1.0 / b, "acc": 0.5}, {"train": [1, 2], "test": [3]}, epochs=20,
                         progress=False)
    cb = LinePlotsCallback(epochs=20)
    train_loop(lambda b, p: {"loss": 1.0 / b, "acc": 0.5}, {"train": [1, 2], "test": [3]}, epochs=20,
               callbacks=[cb], history=history, progress=False)
    for phase in ("train", "test"):
        assert cb.sources[phase].data["epoch"] == list(range(1, 41))
    x = cb.figures[0].x_range
    assert x.start <= min(cb.batch_sources["train"].data["x"]) and max(cb.sources["train"].data["epoch"]) <= x.end
    assert max(cb.batch_sources["train"].data["x"]) <= x.end
    assert cb.replica().figures[0].x_range.end == x.end  # and so do the frames


def test_a_fixed_range_grows_when_a_users_loop_goes_past_it_and_not_before():
    cb = LinePlotsCallback(epochs=4, phases=("train",), interval=0)
    h = {"train": {"loss": [], "acc": []}}
    ends = []
    for e in range(6):
        h["train"]["loss"].append(1.0), h["train"]["acc"].append(0.5)
        cb.on_epoch_end(e, "train", h)
        ends.append(cb.figures[0].x_range.end)
    assert ends == [4, 4, 4, 4, 8, 8]
