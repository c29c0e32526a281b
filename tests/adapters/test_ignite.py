"""IgniteLogger with the real Ignite on the digits: the history holds what Ignite's engines report, the trainer's
output is traced at its iterations without being read, a broken view or a failing run does not change how Ignite
runs, and in a real kernel the Board pushes the run's numbers live."""
import json
import warnings
from pathlib import Path

import pytest
import torch
from adapter_views import Broken, Spy, shown
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.metrics import Accuracy, Loss, RunningAverage
from kernel_session import bokeh_displays, pushes, stdout
from torch import nn

import livetrain
from livetrain.adapters.ignite import IgniteLogger, attach
from livetrain.examples.digits import DigitsCNN, load_digits_loaders

pytestmark = pytest.mark.usefixtures("no_display")
EXAMPLE = Path(__file__).parents[2] / "examples" / "ignite_digits.py"
READS = {torch.Tensor.item, torch.Tensor.__float__, torch.Tensor.cpu, torch.Tensor.tolist, torch.Tensor.numpy}


class Counted(torch.Tensor):
    """A tensor that counts the calls that read it to the host."""

    reads = 0

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in READS:
            Counted.reads += 1
        return super().__torch_function__(func, types, args, kwargs or {})


@pytest.fixture(scope="module")
def loaders():
    torch.set_num_threads(1)
    return load_digits_loaders()


def engines(loaders, **trainer_kw):
    torch.manual_seed(0)
    model, loss_fn = DigitsCNN(), nn.CrossEntropyLoss()
    trainer = create_supervised_trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3), loss_fn, **trainer_kw)
    evaluator = create_supervised_evaluator(model, metrics={"accuracy": Accuracy(), "loss": Loss(loss_fn)})
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda: evaluator.run(loaders["test"]))
    return trainer, evaluator


def test_the_history_holds_what_the_engines_report_at_their_iterations(loaders):
    trainer, evaluator = engines(loaders)
    RunningAverage(output_transform=lambda out: out).attach(trainer, "avg_loss")
    outputs, val, train = [], [], []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: outputs.append(e.state.output))
    spy = Spy()
    logger = attach(trainer, evaluators={"val": evaluator}, callbacks=[spy])
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda: (val.append(dict(evaluator.state.metrics)),
                                                              train.append(dict(trainer.state.metrics))))
    trainer.run(loaders["train"], max_epochs=2)
    n = trainer.state.epoch_length
    h = logger.history
    assert h["val"] == {key: [m[key] for m in val] for key in ("accuracy", "loss")}
    assert h["train"] == {"avg_loss": [m["avg_loss"] for m in train]}
    loss = h.steps["train/loss"]
    assert loss.step.tolist() == list(range(1, 2 * n + 1)) and loss.value.tolist() == outputs
    assert loss.epoch.tolist() == [i / n for i in range(1, 2 * n + 1)]  # fractional epochs
    for tag in ("val/accuracy", "val/loss", "train/avg_loss"):
        assert h.steps[tag].step.tolist() == [n, 2 * n] and h.steps[tag].epoch.tolist() == [1.0, 2.0]
    assert h.steps["val/accuracy"].value.tolist() == h["val"]["accuracy"]
    assert spy.ends == [None]


def test_every_and_output_transform_trace_tensors_without_reading_them(loaders):
    trainer, _ = engines(loaders, output_transform=lambda x, y, y_pred, loss: {
        "loss": loss.detach().as_subclass(Counted), "acc": (y_pred.argmax(1) == y).float().mean().as_subclass(Counted)})
    Counted.reads = 0
    logger = IgniteLogger(callbacks=[]).attach(trainer, every=5, output_transform=lambda out: {
        "loss": out["loss"], "acc": out["acc"], "not a number": "x"})
    trainer.run(loaders["train"], max_epochs=2)
    assert Counted.reads == 0, "the adapter read a tensor in the training loop"
    steps = list(range(5, 2 * trainer.state.epoch_length + 1, 5))
    for tag in ("train/loss", "train/acc"):
        trace = logger.history.steps[tag]
        assert trace.step.tolist() == steps and 0 <= trace.value.min()  # read here, after training
    assert Counted.reads > 0 and "train/not a number" not in logger.history.steps


def test_a_broken_view_or_output_does_not_stop_training(loaders):
    trainer, evaluator = engines(loaders)
    logger = attach(trainer, evaluators={"val": evaluator}, callbacks=[Broken()], output_transform=lambda out: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.run(loaders["train"], max_epochs=2)
    assert trainer.state.epoch == 2 and len(logger.history["val"]["accuracy"]) == 2
    messages = " ".join(str(w.message) for w in caught)
    assert "broken view" in messages and "output_transform" in messages, messages


def test_an_exception_reaches_the_views_and_still_stops_the_run_as_ignite_would(loaders):
    def boom():
        raise ValueError("boom")

    trainer, _ = engines(loaders)
    trainer.add_event_handler(Events.ITERATION_COMPLETED(once=5), boom)
    spy = Spy()
    attach(trainer, callbacks=[spy])
    with pytest.raises(ValueError, match="boom"):
        trainer.run(loaders["train"], max_epochs=2)
    assert [type(e) for e in spy.ends] == [ValueError]

    trainer, _ = engines(loaders)  # with a handler of the user's too, Ignite's rule stands: it decides
    trainer.add_event_handler(Events.ITERATION_COMPLETED(once=5), boom)
    spy, handled = Spy(), []
    attach(trainer, callbacks=[spy])
    trainer.add_event_handler(Events.EXCEPTION_RAISED, lambda engine, exc: handled.append(exc))
    trainer.run(loaders["train"], max_epochs=2)
    assert [str(e) for e in handled] == ["boom"] and trainer.state.epoch == 2  # Ignite went on: the user took it
    assert [type(e) for e in spy.ends] == [ValueError, type(None)]  # the run's later values, then its completion


def test_the_lazy_name_and_clear_errors():
    assert livetrain.IgniteLogger is IgniteLogger
    with pytest.raises(TypeError, match="ignite.engine.Engine"):
        IgniteLogger(callbacks=[]).attach(object())
    trainer = create_supervised_trainer(nn.Linear(2, 2), torch.optim.SGD(nn.Linear(2, 2).parameters()), nn.MSELoss())
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        attach(trainer, every=0, callbacks=[])
    with pytest.raises(TypeError, match="dict of phase name -> ignite Engine"):
        attach(trainer, evaluators=[trainer], callbacks=[])


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import runpy, json\nh = runpy.run_path({str(EXAMPLE)!r})['main'](epochs=2)\n"
                     "print(json.dumps({'val': h['val']['accuracy'], 'loss': h.steps['train/loss'].value.tolist(),"
                     " 'steps': h.steps['train/loss'].step.tolist()}))", timeout=240)
    numbers = json.loads(stdout(run).strip().splitlines()[-1])
    assert bokeh_displays(run), "the Board is shown in the cell"
    ps = pushes(run)
    assert len(ps) >= 2, "the Board updated live"
    val = shown(ps)["val/accuracy"]
    assert val["y"] == pytest.approx(numbers["val"]) and val["x"] == [numbers["steps"][-1] / 2, numbers["steps"][-1]]
    loss = shown(ps)["train/loss"]
    assert loss["y"][-1] == pytest.approx(numbers["loss"][-1]) and loss["x"][-1] == numbers["steps"][-1]
