"""Hypothesis state machine: whatever the sequence of calls, the plotted data equals what was recorded."""
import math

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from livetrain import LinePlotsCallback
from livetrain.frames.base import plotted

PHASES = ("train", "test")
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000))


def same(drawn, recorded):
    """Whether ``drawn`` is ``recorded`` as the view draws it (huge values as NaN gaps)."""
    expected = [plotted(v) for v in recorded]
    return len(drawn) == len(expected) and all(x == y or (math.isnan(x) and math.isnan(y))
                                               for x, y in zip(drawn, expected))


class LinePlotsMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.cb = LinePlotsCallback(phases=PHASES, batch_phases=PHASES, interval=60)  # only explicit flushes
        self.history = {p: {"loss": [], "acc": []} for p in PHASES}
        self.batches = {p: [] for p in PHASES}

    @rule(phase=st.sampled_from(PHASES), loss=values, acc=values, skip=st.booleans())
    def epoch_end(self, phase, loss, acc, skip):
        self.history[phase]["loss"].append(float(loss))
        self.history[phase]["acc"].append(float(acc))
        if not skip:  # a loop may call the callback only every few epochs
            self.cb.on_epoch_end(len(self.history[phase]["loss"]) - 1, phase, self.history)

    @rule(phase=st.sampled_from(PHASES), loss=values)
    def batch_end(self, phase, loss):
        self.cb.on_batch_end(len(self.batches[phase]), phase, {"loss": loss})
        self.batches[phase].append(float(loss))

    @rule()
    def flush(self):
        self.cb.flush()
        for p in PHASES:
            sent = self.cb._rows[p]
            data = self.cb.sources[p].data
            assert data["epoch"] == list(range(1, sent + 1))
            assert same(data[self.cb.columns["loss"]], self.history[p]["loss"][:sent])
            assert same(data[self.cb.columns["acc"]], self.history[p]["acc"][:sent])
            assert same(self.cb.batch_sources[p].data[self.cb.columns["loss"]], self.batches[p])

    @invariant()
    def best_is_the_lowest_finite_test_loss_sent(self):
        self.cb.flush()
        sent = self.history["test"]["loss"][: self.cb._rows["test"]]
        finite = [v for v in map(plotted, sent) if math.isfinite(v)]
        assert (self.cb.best[1] if self.cb.best else None) == (min(finite) if finite else None)


TestLinePlotsMachine = LinePlotsMachine.TestCase
TestLinePlotsMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
