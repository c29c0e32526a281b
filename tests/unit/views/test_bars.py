import math

import numpy as np
import pytest
import torch
from bokeh.document import Document
from bokeh.models import FactorRange, GlyphRenderer, Legend, Range1d

from livetrain import HBarPlotsCallback, VBarPlotsCallback, train_loop


def history(epochs, phase="train", n=10):
    return {phase: {"corrects": [list(range(e, e + n)) for e in range(epochs)],
                    "counts": [[100] * n for _ in range(epochs)]}}


@pytest.mark.parametrize("cls, bar_axis", [(VBarPlotsCallback, "x"), (HBarPlotsCallback, "y")])
def test_bars_show_the_latest_epoch_per_category(cls, bar_axis):
    cb = cls()
    cb.on_epoch_end(2, "train", history(3))
    cb.flush()
    assert cb.sources["train"].data[cb.columns["corrects"]] == [float(v) for v in range(2, 12)]
    assert cb.sources["train"].data[cb.columns["counts"]] == [100.0] * 10
    assert cb.sources["test"].data[cb.columns["corrects"]] == [0.0] * 10
    fig = cb.figures[0]
    assert isinstance(getattr(fig, f"{bar_axis}_range"), FactorRange)
    assert [i.label.value for i in fig.select_one(Legend).items] == ["corrects", "counts"]
    assert fig.title.text == "Category-wise correctness (train)"


def test_an_update_patches_only_the_bar_lengths_whatever_the_epoch():
    cb = VBarPlotsCallback(categories=3, phases=("train",))
    events = []
    doc = Document()
    doc.add_root(cb.graph)
    doc.on_change(lambda event: events.append(type(event).__name__))
    for epochs in (1, 500):
        events.clear()
        cb.on_epoch_end(epochs - 1, "train", history(epochs, n=3))
        cb.flush()
        assert events == ["ColumnsPatchedEvent"]
    renderers = [r for f in cb.figures for r in f.renderers if isinstance(r, GlyphRenderer)]
    assert len(renderers) == 2


def test_labels_fixed_range_tensors_and_nan():
    cb = HBarPlotsCallback(categories=["cat", "dog"], value_range=(0, 50), phases=("test",))
    assert isinstance(cb.figures[0].x_range, Range1d) and cb.figures[0].x_range.end == 50
    cb.on_epoch_end(0, "test", {"test": {"corrects": [torch.tensor([3, 4])], "counts": [np.array([5.0, math.inf])]}})
    cb.flush()
    assert cb.sources["test"].data["category"] == ["cat", "dog"]
    assert cb.sources["test"].data[cb.columns["corrects"]] == [3.0, 4.0]
    counts = cb.sources["test"].data[cb.columns["counts"]]
    assert counts[0] == 5.0 and math.isnan(counts[1])


@pytest.mark.parametrize("make, call, error, match", [
    (lambda: VBarPlotsCallback(categories=3), lambda cb: cb.on_epoch_end(0, "train", history(1, n=4)),
     ValueError, r"'corrects': expected 3 numbers, one per category, got int64 values of shape \(4,\)"),
    (lambda: VBarPlotsCallback(categories=2), lambda cb: cb.on_epoch_end(0, "train", {"train": {
        "corrects": [["a", "b"]], "counts": [[1, 1]]}}), ValueError, "expected 2 numbers"),
    (lambda: VBarPlotsCallback(), lambda cb: cb.on_epoch_end(0, "train", {"train": {"counts": [[1] * 10]}}),
     KeyError, r"no values for \['corrects'\]"),
    (lambda: None, lambda cb: VBarPlotsCallback(categories=0), ValueError, "categories must be a count"),
    (lambda: None, lambda cb: VBarPlotsCallback(categories=["a", "a"]), ValueError, "must be unique"),
    (lambda: None, lambda cb: HBarPlotsCallback(value_range=(5, 1)), ValueError, "value_range must be"),
])
def test_bad_input_gets_a_clear_error(make, call, error, match):
    with pytest.raises(error, match=match):
        call(make())


def test_a_phase_it_does_not_show_is_ignored_with_a_warning():
    cb = VBarPlotsCallback()
    with pytest.warns(RuntimeWarning, match="got phase 'val'; it is ignored"):
        cb.on_epoch_end(0, "val", history(1, "val"))


def test_train_loop_feeds_summed_per_class_counts():
    def step(batch, phase):
        y = np.asarray(batch)
        pred = np.zeros_like(y)
        return {"loss": 1.0, "corrects": np.bincount(y[pred == y], minlength=3), "counts": np.bincount(y, minlength=3)}

    cb = VBarPlotsCallback(categories=3)
    train_loop(step, {"train": [[0, 1], [2, 0]], "val": [[1]]}, epochs=2, callbacks=[cb],
               reduce={"corrects": "sum", "counts": "sum"}, progress=False)
    assert cb.phases == ("train", "val")
    assert cb.sources["train"].data[cb.columns["counts"]] == [2.0, 1.0, 1.0]
    assert cb.sources["train"].data[cb.columns["corrects"]] == [2.0, 0.0, 0.0]
    assert cb.sources["val"].data[cb.columns["counts"]] == [0.0, 1.0, 0.0]
