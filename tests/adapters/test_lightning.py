"""LightningLogger and LightningCallback with the real Lightning on the digits: the history holds what Lightning logs
(its CSVLogger, side by side) at Lightning's steps, histograms and images join it, a broken view or a failing run
does not break training, the log_every_n_steps default is warned about, and the example draws live in a kernel."""
import csv
import json
import runpy
import warnings
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from adapter_views import Broken, Spy
from kernel_session import bokeh_models, pushes, stdout, streamed_rows
from lightning.pytorch.loggers import CSVLogger

import livetrain
from livetrain import Board, Callback, CallbackDisabledWarning
from livetrain.examples.digits import load_digits_loaders

pytestmark = pytest.mark.usefixtures("no_display")
EXAMPLE = Path(__file__).parents[2] / "examples" / "lightning_digits.py"
DigitsModule = runpy.run_path(str(EXAMPLE))["DigitsModule"]


def fit(tmp_path, logger, callbacks=(), module=None, **trainer_args):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    loaders = load_digits_loaders()
    args = {"max_epochs": 2, "log_every_n_steps": 5, **trainer_args}
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=logger, callbacks=list(callbacks),
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path, **args)
    trainer.fit(module or DigitsModule(), loaders["train"], loaders["test"])
    return trainer


def csv_rows(logger: CSVLogger) -> list[dict[str, str]]:
    with open(Path(logger.log_dir) / "metrics.csv") as f:
        return list(csv.DictReader(f))


def column(rows, key):
    """(steps, values) of the rows where ``key`` was logged."""
    got = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
    return [s for s, _ in got], [v for _, v in got]


def test_the_history_holds_what_lightning_logs_at_its_steps(tmp_path):
    board, logs = Board(), CSVLogger(tmp_path)
    logger = livetrain.LightningLogger(callbacks=[board])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = livetrain.LightningCallback(every=10, images=lambda trainer, module: {"samples": torch.ones(4, 8, 8)})
        trainer = fit(tmp_path, [logger, logs], [samples])
    assert not [w for w in caught if "livetrain" in str(w.message)], [str(w.message) for w in caught]
    h, rows = logger.history, csv_rows(logs)
    steps, values = column(rows, "train_loss_step")
    assert steps == list(range(4, 46, 5))  # every log_every_n_steps=5 of 2 x 23 batches
    assert h.steps["train/loss"].step.tolist() == steps
    assert h.steps["train/loss"].value.tolist() == pytest.approx(values)
    assert h["train"]["loss"] == pytest.approx(column(rows, "train_loss_epoch")[1])
    for key in ("loss", "acc"):
        steps, values = column(rows, f"val_{key}")
        assert steps == [22, 45] and h["val"][key] == pytest.approx(values)
        assert h.steps[f"val/{key}"].step.tolist() == steps  # the Board draws them on the step axis too
        assert h["val"][key][-1] == pytest.approx(float(trainer.callback_metrics[f"val_{key}"]))
    assert h.steps["train/loss"].epoch[[0, -1]].tolist() == pytest.approx([5 / 23, 1 + 22 / 23])  # fractional
    assert h.records["hparams"].entries[-1][2]["hparams"] == {"lr": 1e-3, "width": 16}
    grads = h.records["histograms/model.features.0.weight.grad"]
    assert [step for step, _, _ in grads.entries] == [0, 10, 20, 30, 40]
    assert grads.entries[0][2]["num"] == 16 * 9  # the first convolution's 16 3x3 kernels
    assert [step for step, _, _ in h.records["train/images"].entries] == [0, 10, 20, 30, 40]
    assert h.records["train/images"].entries[0][2].shape == (16, 1, 8, 8)
    assert [step for step, _, _ in h.records["samples"].entries] == [23, 46]  # images(...) at each epoch's end
    board.flush()
    assert {"train/loss", "val/loss", "val/acc", "hparams", "train/images", "samples",
            "histograms/model.classifier.4.weight"} <= set(board.panels)


def test_the_default_log_every_n_steps_is_warned_about(tmp_path):
    with pytest.warns(RuntimeWarning, match=r"log_every_n_steps=50\) is Lightning's default.*log_every_n_steps=1"):
        fit(tmp_path, livetrain.LightningLogger(callbacks=[]), max_epochs=1, limit_train_batches=2,
            limit_val_batches=1, log_every_n_steps=50)


class Ending(Callback):
    ended = None

    def on_exception(self, exception, history):
        self.ended = exception


def test_a_broken_view_does_not_stop_training(tmp_path):
    logger = livetrain.LightningLogger(callbacks=[Broken(), board := Board()])
    with pytest.warns(CallbackDisabledWarning, match="broken view"):
        trainer = fit(tmp_path, logger, max_epochs=2, limit_train_batches=5, limit_val_batches=2)
    assert trainer.current_epoch == 2 and len(logger.history["val"]["loss"]) == 2
    assert "val/loss" in board.panels  # the other view goes on


class Failing(DigitsModule):
    def training_step(self, batch, batch_idx):
        if self.global_step == 3:
            raise KeyError("bad batch")
        return super().training_step(batch, batch_idx)


def test_a_failing_run_ends_the_views_with_its_exception(tmp_path):
    view = Ending()
    logger = livetrain.LightningLogger(callbacks=[view])
    with pytest.raises(KeyError, match="bad batch"):
        fit(tmp_path, logger, [livetrain.LightningCallback()], module=Failing(), log_every_n_steps=1)
    assert isinstance(view.ended, KeyError)
    assert logger.history.steps["train/loss"].step.tolist() == [0, 1, 2]


def test_a_validate_after_fit_ends_the_run_again_with_its_values(tmp_path):
    spy, board = Spy(), Board()
    logger = livetrain.LightningLogger(callbacks=[spy, board], history_path=tmp_path / "run.json")
    trainer = fit(tmp_path, logger)
    assert spy.ends == [None] and len(logger.history["val"]["loss"]) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(trainer.lightning_module, load_digits_loaders()["test"])  # Lightning ends its loggers again
    assert spy.ends == [None, None]  # the views end again, holding the validation's values
    assert not [w for w in caught if "livetrain" in str(w.message)] and len(logger.recorder.callbacks.active) == 2
    saved = livetrain.History.load(tmp_path / "run.json")
    assert saved["val"]["loss"] == logger.history["val"]["loss"] and len(saved["val"]["loss"]) == 3


def test_the_callback_needs_a_lightning_logger(tmp_path):
    with pytest.raises(ValueError, match=r"Trainer has none.*CSVLogger.*LightningLogger\(\)"):
        fit(tmp_path, CSVLogger(tmp_path), [livetrain.LightningCallback()], max_epochs=1, limit_train_batches=1)


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import json, runpy\nh = runpy.run_path({str(EXAMPLE)!r})['main'](epochs=2)", timeout=150)
    logged = json.loads(stdout(kernel.run("print(json.dumps({t: h.steps[t].value.tolist() for t in h.steps}))")))
    assert len(logged["train/loss"]) == 9 and len(logged["val/acc"]) == 2
    sent = pushes(run)
    sources = {m["attributes"]["name"]: m for p in sent for m in bokeh_models(p.events)
               if m.get("name") == "ColumnDataSource" and "name" in m["attributes"]}
    for tag, values in logged.items():  # each panel arrives with its first values, later ones are streamed to it
        source = sources[f"livetrain:scalars:{tag}"]
        first = dict(source["attributes"]["data"]["entries"])["y"]
        assert first + streamed_rows(sent, source["id"]).get("y", []) == pytest.approx(values)
        if tag == "train/loss":  # a 2-point validation series may well arrive whole in its panel's first push
            assert len(first) < len(values)  # updated live, not only drawn at the end
