"""``HFCallback``: a Hugging Face ``TrainerCallback`` that feeds livetrain's views.

It hooks ``on_log`` (every entry of ``state.log_history`` as traces at ``state.global_step``, with the fractional
``state.epoch``: ``eval_`` keys are phase ``eval``; ``loss``, ``learning_rate``, ``grad_norm`` and the rest
``train``), ``on_evaluate`` (the epoch's eval values), ``on_epoch_begin`` and ``on_train_end``. Only the world's
process zero draws (``state.is_world_process_zero``).

Caveats:

- The Trainer's ``loss`` is the mean over the steps since the previous log (``logging_steps``), across processes;
  ``logging_strategy="epoch"`` makes it the epoch's mean.
- Epoch values (``history[phase][metric]``) are each phase's last values within the epoch, recorded when the next
  epoch begins or training ends: the epoch's evaluation with ``eval_strategy="epoch"``; evaluations outside
  ``train()`` are traces only.
- The end-of-training summary (``train_runtime``, ``train_loss``, ``total_flos``...) is not a per-step metric: it goes
  to :attr:`HFCallback.summary`, not to the plots.
- The Trainer tells callbacks nothing about an exception: such a run is not ended by the callback.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from transformers import TrainerCallback

from ..core.callback import Callback
from ..core.history import History
from ..views.scalars import is_scalar
from .base import Recorder, by_phase, tagged

#: The key that marks the Trainer's end-of-training summary log (``speed_metrics("train", ...)``).
SUMMARY = "train_runtime"


class HFCallback(TrainerCallback):
    """Live views of a ``transformers.Trainer`` run: train and eval values at each log, by global step.

    ``history.steps`` holds ``train/loss``, ``train/learning_rate``, ``train/grad_norm``, ``eval/loss``... at the
    steps of ``trainer.state.log_history``, each point with its fractional epoch; ``history[phase][metric]`` one
    value per epoch (see the module's caveats).

    Args:
        callbacks: livetrain views (default: a live :class:`~livetrain.Board`).
        history: a :class:`~livetrain.History` to go on from.
        history_path: save the history there at every epoch end and at the end of training.

    Example::

        import livetrain
        from transformers import Trainer, TrainingArguments

        cb = livetrain.HFCallback()  # a live Board; or callbacks=[livetrain.LinePlotsCallback()]
        trainer = Trainer(model=model, args=TrainingArguments("out", eval_strategy="epoch", report_to="none"),
                          train_dataset=train, eval_dataset=test, callbacks=[cb])
        trainer.train()
        cb.history.steps["train/loss"].value, cb.summary["train_runtime"]
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        self.recorder = Recorder(callbacks, history=history, history_path=history_path)
        self.summary: dict[str, Any] = {}  #: the Trainer's end-of-training summary: train_runtime, train_loss...
        self._training = False
        self._epoch = 0  # the epoch (0-based) that the values in _values fall in
        self._values: dict[str, dict[str, Any]] = {}  # each phase's last values in that epoch

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History` (the recorder's)."""
        return self.recorder.history

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self._training = True
        strategy = getattr(args, "eval_strategy", getattr(args, "evaluation_strategy", "no"))  # renamed in 4.41
        evaluates = getattr(strategy, "value", strategy) != "no"
        self.recorder.begin(epochs=math.ceil(state.num_train_epochs or 0) or None,
                            phases=["train", "eval"] if evaluates else ["train"])

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero and math.floor(state.epoch or 0) > self._epoch:
            self._record()  # the last epoch's values all arrived: its end-of-epoch log and evaluation come first

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        if SUMMARY in logs:
            self.summary.update(logs)
            return
        values = {key: value for key, value in logs.items() if key != "epoch"}
        phases = by_phase(values, {"eval_": "eval"}, keep=is_scalar)
        self.recorder.log({tag: value for phase, vals in phases.items() for tag, value in tagged(vals, phase).items()},
                          state.global_step, epoch=logs.get("epoch", state.epoch))
        if "train" in phases:
            self._note("train", phases["train"], state)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> None:
        if state.is_world_process_zero and metrics:
            values = {key: value for key, value in metrics.items() if key != "epoch"}
            self._note("eval", by_phase(values, {"eval_": "eval"}, "eval", keep=is_scalar).get("eval", {}), state)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self._record()
        self._training = False
        self.recorder.end()

    def _note(self, phase: str, values: Mapping[str, Any], state: Any) -> None:
        """Keep ``values`` as ``phase``'s latest in the epoch that ``state.epoch`` falls in (a value at exactly 1.0
        ends epoch 0); values of a new epoch record the last one's first."""
        if not self._training or not values:
            return
        epoch = max(math.ceil(state.epoch or 0) - 1, 0)
        if epoch != self._epoch:
            self._record()
            self._epoch = epoch
        self._values.setdefault(phase, {}).update(values)

    def _record(self) -> None:
        """Each phase's values of the epoch into the history and the views' ``on_epoch_end``."""
        for phase, values in self._values.items():
            self.recorder.epoch_end(self._epoch, phase, values)
        self._values = {}
