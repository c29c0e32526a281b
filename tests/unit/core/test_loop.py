import math
import warnings

import numpy as np
import pytest
import torch

from livetrain import Callback, History, train_loop


class Events(Callback):
    def __init__(self):
        self.log = []

    def set_params(self, params):
        self.log.append(("set_params", params["epochs"], params["phases"], params["steps"]))

    def on_train_begin(self, history):
        self.log.append(("train_begin",))

    def on_epoch_begin(self, epoch, phase):
        self.log.append(("epoch_begin", epoch, phase))

    def on_batch_end(self, batch, phase, logs):
        self.log.append(("batch_end", batch, phase, logs["loss"]))

    def on_epoch_end(self, epoch, phase, history):
        self.log.append(("epoch_end", epoch, phase, history[phase]["loss"][-1]))

    def on_train_end(self, history):
        self.log.append(("train_end",))

    def on_exception(self, exception, history):
        self.log.append(("exception", type(exception).__name__))


def mean_step(batch, phase):
    x = np.asarray(batch)
    return {"loss": x.mean()}


def test_event_order_and_arguments():
    ev = Events()
    train_loop(mean_step, {"train": [[1.0, 3.0], [5.0]], "test": [[0.0]]}, epochs=2, callbacks=[ev], progress=False)
    assert ev.log == [
        ("set_params", 2, ["train", "test"], {"train": 2, "test": 1}), ("train_begin",),
        ("epoch_begin", 0, "train"), ("batch_end", 0, "train", 2.0), ("batch_end", 1, "train", 5.0),
        ("epoch_end", 0, "train", 3.0), ("epoch_begin", 0, "test"), ("batch_end", 0, "test", 0.0),
        ("epoch_end", 0, "test", 0.0),
        ("epoch_begin", 1, "train"), ("batch_end", 0, "train", 2.0), ("batch_end", 1, "train", 5.0),
        ("epoch_end", 1, "train", 3.0), ("epoch_begin", 1, "test"), ("batch_end", 0, "test", 0.0),
        ("epoch_end", 1, "test", 0.0), ("train_end",)]


def test_epoch_values_are_batch_size_weighted_means_of_any_scalar_kind():
    batches = [(torch.zeros(30, 2), torch.zeros(30)), (torch.zeros(10, 2), torch.zeros(10))]
    values = iter([{"loss": torch.tensor(1.0), "acc": np.float32(1.0)}, {"loss": 5, "acc": 0.0}])
    h = train_loop(lambda b, p: next(values), {"train": batches}, epochs=1, progress=False)
    assert h["train"]["loss"] == [pytest.approx(2.0)]
    assert h["train"]["acc"] == [pytest.approx(0.75)]
    assert all(type(v) is float for v in h["train"]["loss"])


def test_an_explicit_batch_size_overrides_the_inferred_one():
    out = iter([{"loss": 1.0, "batch_size": 1}, {"loss": 4.0, "batch_size": 2}])
    h = train_loop(lambda b, p: next(out), {"train": ["a", "b"]}, epochs=1, progress=False)
    assert h["train"] == {"loss": [3.0]}


def test_keyboard_interrupt_ends_cleanly_and_returns_the_history(capsys):
    ev = Events()

    def step(batch, phase):
        if batch == "stop":
            raise KeyboardInterrupt
        return {"loss": 1.0}

    h = train_loop(step, {"train": ["a"], "test": ["b", "stop"]}, epochs=3, callbacks=[ev], progress=False)
    assert h == {"train": {"loss": [1.0]}}
    assert ev.log[-1] == ("exception", "KeyboardInterrupt")
    assert "interrupted" in capsys.readouterr().err


def test_an_error_in_step_is_raised_with_the_history_attached(tmp_path):
    ev = Events()
    calls = iter(range(100))

    def step(batch, phase):
        if next(calls) == 3:
            raise RuntimeError("CUDA out of memory")
        return {"loss": 2.0}

    with pytest.raises(RuntimeError, match="CUDA out of memory") as info:
        train_loop(step, {"train": ["a", "b"]}, epochs=5, callbacks=[ev], history_path=tmp_path / "h.json",
                   progress=False)
    assert info.value.history == {"train": {"loss": [2.0]}}
    assert any("exc.history" in n for n in info.value.__notes__)
    assert History.load(tmp_path / "h.json") == {"train": {"loss": [2.0]}}
    assert ev.log[-1] == ("exception", "RuntimeError")


def test_a_broken_callback_never_stops_training():
    class Broken(Callback):
        def on_batch_end(self, batch, phase, logs):
            raise ValueError("bad plot")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = train_loop(mean_step, {"train": [[1.0], [2.0]]}, epochs=3, callbacks=[Broken()], progress=False)
    assert h["train"]["loss"] == [1.5, 1.5, 1.5]
    assert len(caught) == 1


def test_resume_continues_epoch_numbers_and_history():
    ev = Events()
    h = train_loop(mean_step, {"train": [[1.0]]}, epochs=2, progress=False)
    h = train_loop(mean_step, {"train": [[3.0]]}, epochs=1, history=h, callbacks=[ev], progress=False)
    assert h["train"]["loss"] == [1.0, 1.0, 3.0]
    assert ("epoch_end", 2, "train", 3.0) in ev.log and ev.log[0][1] == 3


def test_nan_metrics_are_kept():
    h = train_loop(lambda b, p: {"loss": math.nan}, {"train": [[1]]}, epochs=1, progress=False)
    assert math.isnan(h["train"]["loss"][0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(step=None), TypeError, "step must be a callable"),
    (dict(loaders=[[1]]), TypeError, "loaders must be a non-empty dict"),
    (dict(loaders={}), TypeError, "loaders must be a non-empty dict"),
    (dict(epochs=-1), ValueError, "epochs must be an int >= 0, got -1"),
    (dict(epochs=2.5), ValueError, "epochs must be an int >= 0, got 2.5"),
    (dict(step=lambda b, p: 1.0), TypeError, "must return a dict of metrics, got float"),
    (dict(step=lambda b, p: {"loss": "high"}), TypeError, "metric 'loss'"),
    (dict(callbacks=[object()]), TypeError, "callbacks must be livetrain.Callback"),
])
def test_bad_input_gets_a_clear_error(kwargs, error, match):
    args = dict(step=mean_step, loaders={"train": [[1.0]]}, epochs=1, progress=False) | kwargs
    with pytest.raises(error, match=match):
        train_loop(**args)


def test_progress_bars_show_epochs_batches_and_metrics(capsys):
    train_loop(mean_step, {"train": [[1.0]] * 3}, epochs=2)
    err = capsys.readouterr().err
    assert "epoch" in err and "2/2" in err and "train_loss=1" in err


def test_per_class_counts_are_summed_and_images_kept_with_reduce():
    def step(batch, phase):
        x = np.asarray(batch)
        return {"loss": x.mean(), "counts": np.bincount(x.astype(int), minlength=3), "sample": x[:1]}

    h = train_loop(step, {"train": [[0.0, 1.0], [1.0, 2.0]]}, epochs=2, reduce={"counts": "sum", "sample": "first"},
                   progress=False)
    assert [c.tolist() for c in h["train"]["counts"]] == [[1, 2, 1]] * 2
    assert [s.tolist() for s in h["train"]["sample"]] == [[0.0]] * 2
    with pytest.raises(ValueError, match="reduce must map"):
        train_loop(step, {"train": [[0.0]]}, epochs=1, reduce={"counts": "median"}, progress=False)
