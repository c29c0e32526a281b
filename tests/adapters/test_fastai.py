"""FastaiCallback with the real fastai on the digits (plain torch DataLoaders, no torchvision): the history holds
fastai's recorder, the smoothed loss is traced at fastai's iterations, a broken view does not stop training, an
interrupt ends the run with it, a second fit goes on on the same axes, and in a real kernel the Board pushes the
run's numbers live."""
import json
import pickle
import warnings
from pathlib import Path

import pytest
import torch
from adapter_views import Broken, Spy, shown
from fastai.callback.core import Callback as FastaiBase
from fastai.callback.core import CancelFitException
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
from kernel_session import bokeh_displays, pushes, stdout
from torch import nn

import livetrain
from livetrain.adapters.fastai import FastaiCallback
from livetrain.examples.digits import DigitsCNN, load_digits_loaders

pytestmark = pytest.mark.usefixtures("no_display")
EXAMPLE = Path(__file__).parents[2] / "examples" / "fastai_digits.py"


class StopAt(FastaiBase):
    """Raise ``exception`` after training batch ``at``."""

    def __init__(self, at, exception):
        self.at, self.exception = at, exception

    def after_batch(self):
        if self.training and self.train_iter == self.at:
            raise self.exception


@pytest.fixture(scope="module")
def loaders():
    torch.set_num_threads(1)
    return load_digits_loaders()


def learner(loaders, cb, **kw):
    torch.manual_seed(0)
    learn = Learner(DataLoaders(loaders["train"], loaders["test"]), DigitsCNN(), loss_func=nn.CrossEntropyLoss(),
                    metrics=accuracy, cbs=[cb], **kw)
    learn.logger = lambda row: None  # fastai prints each epoch's row
    return learn


def test_the_history_holds_fastais_recorder_at_its_iterations(loaders):
    spy = Spy()
    cb = FastaiCallback(callbacks=[spy])
    learn = learner(loaders, cb)
    learn.fit(2, lr=1e-3)
    rec, h, n = learn.recorder, cb.history, len(loaders["train"])
    assert rec.metric_names[1:4] == ["train_loss", "valid_loss", "accuracy"]
    assert h["train"] == {"loss": [v[0] for v in rec.values]}
    assert h["valid"] == {"loss": [v[1] for v in rec.values], "accuracy": [v[2] for v in rec.values]}
    smooth = h.steps["train/smooth_loss"]
    assert smooth.step.tolist() == list(range(1, 2 * n + 1)) and smooth.epoch.tolist() == pytest.approx(
        [i / n for i in range(1, 2 * n + 1)])
    assert smooth.value.tolist() == pytest.approx([float(v) for v in rec.losses])  # fastai's smoothed loss
    assert smooth.value[n - 1] == pytest.approx(rec.values[0][0])  # train_loss is the smoothed loss at the epoch end
    for tag in ("valid/loss", "valid/accuracy", "train/loss"):
        assert h.steps[tag].step.tolist() == [n, 2 * n]
    assert h.steps["valid/accuracy"].value.tolist() == pytest.approx(h["valid"]["accuracy"])
    assert spy.ends == [None]
    assert cb.order > learn.recorder.order and learn.fastai is cb


def test_train_metrics_go_to_the_train_phase(loaders):
    from fastai.learner import Recorder as FastaiRecorder

    cb = FastaiCallback(callbacks=[])
    learn = learner(loaders, cb)
    learn.fit(1, lr=1e-3, cbs=[])
    learn.remove_cb(FastaiRecorder).add_cb(FastaiRecorder(train_metrics=True))
    learn.fit(1, lr=1e-3)
    assert learn.recorder.metric_names[1:5] == ["train_loss", "train_accuracy", "valid_loss", "valid_accuracy"]
    train, valid = cb.history["train"], cb.history["valid"]
    assert train["loss"][1] == learn.recorder.values[0][0] and train["accuracy"][1] == learn.recorder.values[0][1]
    assert valid["accuracy"][1] == learn.recorder.values[0][3] and len(train["accuracy"]) == 2  # NaN before


def test_a_broken_view_does_not_stop_training(loaders):
    cb = FastaiCallback(callbacks=[Broken()])
    learn = learner(loaders, cb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn.fit(2, lr=1e-3)
    assert len(learn.recorder.values) == 2 and len(cb.history["valid"]["loss"]) == 2
    assert "broken view" in " ".join(str(w.message) for w in caught)


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), RuntimeError("boom"), CancelFitException()])
def test_an_interrupt_ends_the_run_with_it_and_a_next_fit_goes_on(loaders, exception):
    spy = Spy()
    cb = FastaiCallback(callbacks=[spy])
    learn = learner(loaders, cb)
    learn.fit(1, lr=1e-3)
    n = len(loaders["train"])
    if isinstance(exception, CancelFitException):  # fastai's own way to stop: it goes on to after_fit
        learn.fit(2, lr=1e-3, cbs=[StopAt(n + 5, exception)])
    else:
        with pytest.raises(type(exception)):
            learn.fit(2, lr=1e-3, cbs=[StopAt(n + 5, exception)])
    assert spy.ends[0] is None and type(spy.ends[1]) is type(exception)
    assert "_with_events" not in vars(learn), "the learner is left as it was"
    learn.fit(1, lr=1e-3)
    assert spy.ends[2] is None
    # one step axis over the three fits; the batch that raised ran, but before the callback saw it
    assert cb.history.steps["train/smooth_loss"].step.tolist() == [*range(1, 2 * n + 5), *range(2 * n + 6, 3 * n + 6)]
    assert len(cb.history["valid"]["loss"]) == 3 and cb.history["valid"]["loss"][-1] == learn.recorder.values[-1][1]


def test_lr_find_validate_and_get_preds_are_not_runs(loaders):
    from fastai.callback.schedule import lr_find  # noqa: F401 - adds Learner.lr_find

    spy = Spy()
    cb = FastaiCallback(callbacks=[spy])
    learn = learner(loaders, cb)
    with learn.no_bar():
        learn.lr_find(num_it=10, show_plot=False)
        assert not cb.history.steps and not cb.history
        learn.fit(1, lr=1e-3)
        learn.validate()
        learn.get_preds(dl=loaders["test"])
    assert len(cb.history["valid"]["loss"]) == 1 and len(cb.history.steps["valid/loss"]) == 1
    assert spy.ends == [None]


def test_the_lazy_name_and_a_learner_that_pickles():
    assert livetrain.FastaiCallback is FastaiCallback
    cb = FastaiCallback()  # a Board, which does not pickle: learn.export() leaves the views out
    clone = pickle.loads(pickle.dumps(cb))
    assert clone.order == cb.order and not clone.history and not clone.recorder.callbacks.active


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import runpy, json\nh = runpy.run_path({str(EXAMPLE)!r})['main'](epochs=2)\n"
                     "print(json.dumps({'valid': h['valid']['accuracy'], 'steps': h.steps['valid/accuracy'].step"
                     ".tolist(), 'loss': h.steps['train/smooth_loss'].value.tolist()}))", timeout=240)
    numbers = json.loads(stdout(run).strip().splitlines()[-1])
    assert bokeh_displays(run), "the Board is shown in the cell"
    ps = pushes(run)
    assert len(ps) >= 2, "the Board updated live"
    valid = shown(ps)["valid/accuracy"]
    assert valid["y"] == pytest.approx(numbers["valid"]) and valid["x"] == numbers["steps"]
    assert shown(ps)["train/smooth_loss"]["y"][-1] == pytest.approx(numbers["loss"][-1])
