"""HFCallback with a real transformers Trainer on the digits: the traces are state.log_history, at its steps and
fractional epochs; epoch values; the end summary kept apart; process-zero gating; a broken view; the example live in
a real kernel."""
import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from adapter_views import shown
from kernel_session import pushes, stdout
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from transformers import Trainer, TrainerControl, TrainerState, TrainingArguments

import livetrain
from livetrain import Board, Callback, LinePlotsCallback
from livetrain.adapters.hf import HFCallback

pytestmark = pytest.mark.usefixtures("no_display")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hf_digits.py"


class Digits(torch.utils.data.Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"pixels": self.x[i], "labels": self.y[i]}


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, pixels, labels):
        logits = self.net(pixels)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def accuracy(prediction) -> dict[str, float]:
    return {"accuracy": float(np.mean(prediction.predictions.argmax(1) == prediction.label_ids))}


def train(callback: HFCallback, epochs: int = 2) -> Trainer:
    """Two epochs, a log every 5 steps, an evaluation (with accuracy) at each epoch's end."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(data.data / 16, data.target, test_size=0.2, random_state=0,
                                                        stratify=data.target)
    strategy = "eval_strategy" if "eval_strategy" in TrainingArguments.__dataclass_fields__ else "evaluation_strategy"
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, num_train_epochs=epochs, logging_steps=5, report_to="none",
                                 use_cpu=True, save_strategy="no", per_device_train_batch_size=32,
                                 learning_rate=3e-3, disable_tqdm=True, **{strategy: "epoch"})
        trainer = Trainer(model=Tiny(), args=args, train_dataset=Digits(x_train, y_train),
                          eval_dataset=Digits(x_test, y_test), callbacks=[callback],
                          compute_metrics=accuracy)
        trainer.train()
    return trainer


@pytest.fixture(scope="module")
def trained():
    """One two-epoch run drawn by a Board and a LinePlotsCallback: (callback, state.log_history, line view)."""
    livetrain.set_transport("none")
    line = LinePlotsCallback(keys=("loss", "accuracy"), phases=("train", "eval"))
    callback = HFCallback(callbacks=[Board(), line])
    yield callback, train(callback).state.log_history, line
    livetrain.set_transport(None)


def test_the_traces_are_the_log_history_at_its_steps_and_fractional_epochs(trained):
    callback, log_history, _ = trained
    expected: dict[str, list] = {}
    for entry in log_history[:-1]:  # the last one is the end-of-training summary
        for key, value in entry.items():
            if key not in ("epoch", "step"):
                tag = f"eval/{key[5:]}" if key.startswith("eval_") else f"train/{key}"
                expected.setdefault(tag, []).append((entry["step"], value, entry["epoch"]))
    got = {tag: list(zip(t.step.tolist(), t.value.tolist(), t.epoch.tolist()))
           for tag, t in callback.history.steps.items()}
    assert got == expected
    assert {"train/loss", "train/learning_rate", "train/grad_norm", "eval/loss", "eval/accuracy"} <= set(got)
    assert got["train/loss"][0][0] == 5 and 0 < got["train/loss"][0][2] < 1  # global step 5, a fraction of an epoch


def test_epoch_values_are_each_epochs_evaluation_and_last_train_log(trained):
    callback, log_history, line = trained
    evals = [entry for entry in log_history if "eval_loss" in entry]
    assert [entry["epoch"] for entry in evals] == [1.0, 2.0]
    assert callback.history["eval"]["loss"] == [entry["eval_loss"] for entry in evals]
    assert callback.history["eval"]["accuracy"] == [entry["eval_accuracy"] for entry in evals]
    last_train = {}
    for entry in log_history:
        if "loss" in entry:
            last_train[math.ceil(entry["epoch"]) - 1] = entry["loss"]
    assert callback.history["train"]["loss"] == [last_train[0], last_train[1]]
    line.flush()
    assert line.sources["eval"].data[line.columns["accuracy"]] == callback.history["eval"]["accuracy"]


def test_the_end_of_training_summary_is_kept_apart_from_the_plots(trained):
    callback, log_history, _ = trained
    assert {k: v for k, v in log_history[-1].items() if k != "step"} == callback.summary
    assert not [tag for tag in callback.history.steps if "runtime" in tag and not tag.startswith("eval/")]


def test_only_the_world_process_zero_records():
    callback = HFCallback(callbacks=[])
    args, control = TrainingArguments(output_dir=tempfile.mkdtemp(), report_to="none"), TrainerControl()
    other = TrainerState(is_world_process_zero=False, global_step=5, epoch=0.5)
    callback.on_train_begin(args, other, control)
    callback.on_log(args, other, control, logs={"loss": 1.0, "epoch": 0.5})
    callback.on_evaluate(args, other, control, metrics={"eval_loss": 1.0})
    callback.on_train_end(args, other, control)
    assert not callback.history.steps and not callback.history
    zero = TrainerState(is_world_process_zero=True, global_step=5, epoch=0.5)
    callback.on_log(args, zero, control, logs={"loss": 1.0, "epoch": 0.5})
    assert callback.history.steps["train/loss"].step.tolist() == [5]


def test_a_broken_view_does_not_stop_training():
    class Broken(Callback):
        def on_log(self, step, logs, history):
            raise ValueError("boom")

        def on_epoch_end(self, epoch, phase, history):
            raise ValueError("boom")

    callback = HFCallback(callbacks=[Broken()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = train(callback, epochs=1)
    assert trainer.state.global_step == 45
    assert callback.history["eval"]["loss"] == [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]
    assert any("boom" in str(w.message) for w in caught)


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import json, runpy\nh = runpy.run_path({str(EXAMPLE)!r}, run_name='example')['main'](epochs=5)",
                     timeout=240)
    traces = json.loads(stdout(kernel.run(
        "print(json.dumps({t: [tr.step.tolist(), tr.value.tolist()] for t, tr in h.steps.items()}))")))
    page = shown(pushes(run))
    assert len(pushes(run)) >= 3  # updates during training (5 epochs: a first push of new panels may wait 1 s)
    assert set(page) == set(traces) and {"train/loss", "eval/loss", "eval/accuracy"} <= set(page)
    for tag, (steps, values) in traces.items():
        assert page[tag]["x"] == steps and np.allclose(page[tag]["y"], values), tag
