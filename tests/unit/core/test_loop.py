import math
import os
import signal
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


def test_batches_are_logged_as_traces_at_the_global_step_and_reach_on_log():
    seen = []

    class Logs(Callback):
        def on_log(self, step, logs, history):
            seen.append((step, dict(logs), len(history.steps[next(iter(logs))])))

    loaders = {"train": [[1.0], [2.0]], "test": [[5.0]]}
    h = train_loop(mean_step, loaders, epochs=2, callbacks=[Logs()], progress=False)
    assert seen == [(1, {"train/loss": 1.0}, 1), (2, {"train/loss": 2.0}, 2), (2, {"test/loss": 5.0}, 1),
                    (3, {"train/loss": 1.0}, 3), (4, {"train/loss": 2.0}, 4), (4, {"test/loss": 5.0}, 2)]
    train, test = h.steps["train/loss"], h.steps["test/loss"]
    assert train.step.tolist() == [1, 2, 3, 4] and train.epoch.tolist() == [0.5, 1.0, 1.5, 2.0]
    assert test.step.tolist() == [2, 4] and test.epoch.tolist() == [1.0, 2.0]
    h = train_loop(mean_step, loaders, epochs=1, history=h, progress=False)  # a resumed run goes on
    assert h.steps["train/loss"].step.tolist() == [1, 2, 3, 4, 5, 6] and h.steps["test/loss"].step[-1] == 6


def test_batches_of_a_loader_without_length_have_no_epoch():
    class Loader:
        def __iter__(self):
            return iter([[1.0], [2.0]])

    h = train_loop(mean_step, {"train": Loader()}, epochs=1, progress=False)
    assert h.steps["train/loss"].step.tolist() == [1, 2] and np.isnan(h.steps["train/loss"].epoch).all()


def test_a_metric_missing_some_epochs_stays_aligned():
    epochs = iter(range(100))
    state = {}

    class Epoch(Callback):
        def on_epoch_begin(self, epoch, phase):
            state["epoch"] = next(epochs)

    def step(batch, phase):
        return {"loss": 1.0, **({"extra": float(state["epoch"])} if state["epoch"] % 2 else {})}

    h = train_loop(step, {"train": [[1.0]]}, epochs=4, callbacks=[Epoch()], progress=False)
    assert h["train"]["loss"] == [1.0] * 4
    assert [math.isnan(v) for v in h["train"]["extra"]] == [True, False, True, False]
    assert h["train"]["extra"][1::2] == [1.0, 3.0]


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX, if loaded, warns; the child runs no JAX
def test_a_run_killed_between_its_phases_resumes_with_its_epochs_aligned(tmp_path):
    path = tmp_path / "h.json"
    state = {}

    class Epoch(Callback):
        def on_epoch_begin(self, epoch, phase):
            state["epoch"] = epoch
            if state.get("kill") == (epoch, phase):
                os.kill(os.getpid(), signal.SIGKILL)  # a real kill: no cleanup, no final save

    def step(batch, phase):
        return {"epoch": float(state["epoch"])}

    loaders = {"train": [[1.0], [2.0]], "test": [[3.0]]}
    pid = os.fork()
    if pid == 0:
        try:
            state["kill"] = (2, "test")
            train_loop(step, loaders, epochs=5, callbacks=[Epoch()], history_path=path, progress=False)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    h = History.load(path)
    assert h["train"]["epoch"] == [0.0, 1.0, 2.0] and h["test"]["epoch"] == [0.0, 1.0]
    h = train_loop(step, loaders, epochs=2, callbacks=[Epoch()], history=h, history_path=path, progress=False)
    assert h["train"]["epoch"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert h["test"]["epoch"][:2] == [0.0, 1.0] and math.isnan(h["test"]["epoch"][2])
    assert h["test"]["epoch"][3:] == [3.0, 4.0]  # each value at its own epoch
    assert h.steps["train/epoch"].step.tolist() == list(range(1, 11))
    assert h.steps["test/epoch"].step.tolist() == [2, 4, 8, 10]
    assert History.load(path)["test"]["epoch"][3:] == [3.0, 4.0]


def test_history_path_keeps_the_last_image_batches_in_memory_and_all_in_the_files(tmp_path):
    def step(batch, phase):
        return {"loss": 1.0, "recon": np.full((16, 8, 8), float(len(h_epochs)))}

    h_epochs = []

    class Count(Callback):
        def on_epoch_end(self, epoch, phase, history):
            h_epochs.append(epoch)

    h = train_loop(step, {"train": [[1.0]]}, epochs=7, callbacks=[Count()], reduce={"recon": "last"},
                   history_path=tmp_path / "h.json", progress=False)
    assert [b is None for b in h["train"]["recon"]] == [True] * 3 + [False] * 4
    saved = History.load(tmp_path / "h.json", keep_images=None)["train"]["recon"]
    assert [float(b[0, 0, 0]) for b in saved] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
