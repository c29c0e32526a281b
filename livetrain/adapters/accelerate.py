"""``AccelerateTracker``: an Accelerate ``GeneralTracker`` that feeds livetrain's views.

``Accelerator(log_with=[AccelerateTracker()])``: ``accelerator.log(values, step=...)`` reaches ``log`` on the main
process only; ``init_trackers(..., config=...)`` reaches ``store_init_configuration``; ``end_training()`` ends the
run. Keys name their phase: ``train_loss``, ``train/loss`` and ``loss`` are ``train``'s, ``val_*``, ``eval_*`` and
``valid_*`` ``val``'s, ``test_*`` ``test``'s.

Caveat: Accelerate has no notion of an epoch. A call whose values hold an integer ``epoch`` (as Accelerate's examples
log once per epoch) is taken as that epoch's summary: its values also go to ``history[phase]``, one per epoch.
Other calls are step values only (a fractional ``epoch`` there is their position on the epoch axis).
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from accelerate import tracking

from ..core.callback import Callback
from ..core.history import History
from .base import Recorder, split_phase

#: Key prefixes that name a phase (a ``phase/key`` key names its own).
PREFIXES = {"train_": "train", "val_": "val", "eval_": "val", "valid_": "val", "validation_": "val", "test_": "test"}


def _main_process_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """Accelerate's ``on_main_process`` gate where it has one (it reads ``main_process_only``)."""
    gate = getattr(tracking, "on_main_process", None)
    return gate(method) if gate is not None else method


class AccelerateTracker(tracking.GeneralTracker):
    """Live views of a loop run with Accelerate: what it logs through ``accelerator.log``.

    Numbers (and 0-d tensors, kept as they are and read when drawn) become step traces ``<phase>/<metric>`` at the
    call's ``step``; strings become text records; a dict ``{name: {sub: number}}`` the traces ``<name>/<sub>``. A
    call with an integer ``epoch`` also puts its values in ``history[phase][metric]`` at that epoch (0-based); a
    metric already traced per step is not added to its trace again then (an epoch mean is not a step value).
    ``config`` given to ``init_trackers`` is the ``hparams`` record.

    Args:
        callbacks: livetrain views (default: a live :class:`~livetrain.Board`).
        history: a :class:`~livetrain.History` to go on from.
        history_path: save the history there at every epoch end and at the end of training.

    Example::

        from accelerate import Accelerator
        import livetrain

        tracker = livetrain.AccelerateTracker()
        accelerator = Accelerator(log_with=[tracker])
        accelerator.init_trackers("digits", config={"lr": 1e-3})
        ...
        accelerator.log({"train_loss": loss.detach()}, step=step)              # each batch
        accelerator.log({"val_loss": val_loss, "val_acc": acc, "epoch": epoch}, step=step)  # each epoch
        accelerator.end_training()
        tracker.history["val"]["acc"]
    """

    name = "livetrain"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.recorder = Recorder(callbacks, history=history, history_path=history_path)
        self._stepped: set[str] = set()  # tags traced by step calls
        self._warned: set[str] = set()

    @property
    def tracker(self) -> Recorder:
        """The :class:`~livetrain.adapters.base.Recorder` (``accelerator.get_tracker("livetrain", unwrap=True)``)."""
        return self.recorder

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History` (the recorder's)."""
        return self.recorder.history

    @_main_process_only
    def store_init_configuration(self, values: Mapping[str, Any]) -> None:
        def record() -> None:
            value = {"hparams": {str(k): v if isinstance(v, (bool, int, float, str)) else str(v)
                                 for k, v in values.items()}, "metrics": {}}
            self.recorder.record({"hparams": value}, "hparams")
        self._guarded("store_init_configuration", record)

    def log(self, values: Mapping[str, Any], step: int | None = None, **kwargs: Any) -> None:
        # not gated here: Accelerator.log runs on the main process only, and the recorder draws on rank 0 only
        try:
            if "epoch" in values or any(type(v) is str for v in values.values()):
                self._log(dict(values), step)
            else:  # step values: tagged at the recorder's hand-over, off the step's path
                self.recorder.log(values, step, convert=self._step_values)
        except Exception as exc:  # noqa: BLE001 - a tracker must never stop the training
            self._warn("log", exc)

    @_main_process_only
    def finish(self) -> None:
        self._guarded("finish", self.recorder.end)

    def _step_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        numbers = step_values(values)
        self._stepped.update(numbers)
        return numbers

    def _log(self, values: dict[str, Any], step: int | None) -> None:
        self.recorder.hand_over()  # the tags the step calls traced are known
        epoch = values.pop("epoch", None)
        summary = epoch is not None and float(epoch).is_integer()
        numbers: dict[str, Any] = {}
        texts: dict[str, str] = {}
        epochs: dict[str, dict[str, Any]] = {}
        for key, value in flat(values).items():
            phase, metric = split_phase(key, PREFIXES)
            tag = f"{phase}/{metric}"
            if isinstance(value, str):
                texts[tag] = value
                continue
            if summary:
                epochs.setdefault(phase, {})[metric] = value
            if not (summary and tag in self._stepped):
                numbers[tag] = value
        if not summary:
            self._stepped.update(numbers)
        self.recorder.log(numbers, step, epoch=None if epoch is None else float(epoch) + summary)
        self.recorder.record(texts, "text", step)
        for phase, metrics in epochs.items():
            self.recorder.epoch_end(int(epoch), phase, metrics)

    def _guarded(self, what: str, action: Callable[[], object]) -> None:
        """Run ``action``; an ``Exception`` warns once per ``what`` and training goes on."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a tracker must never stop the training
            self._warn(what, exc)

    def _warn(self, what: str, exc: Exception) -> None:
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(f"livetrain: AccelerateTracker.{what} failed ({type(exc).__name__}: {exc}); training "
                          f"goes on", RuntimeWarning, stacklevel=4)


def step_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A step call's values as trace values, tagged ``phase/metric``.

    Example:
        >>> step_values({"train_loss": 0.5, "val_loss": 0.6, "lr": 0.1})
        {'train/loss': 0.5, 'val/loss': 0.6, 'train/lr': 0.1}
    """
    return {"/".join(split_phase(key, PREFIXES)): value for key, value in flat(values).items()}


def flat(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: {sub: value}}`` (TensorBoard's ``add_scalars`` shape) as ``{"name/sub": value}``; the rest as it is.

    Example:
        >>> flat({"loss": {"train": 0.5, "val": 0.6}, "lr": 0.1})
        {'loss/train': 0.5, 'loss/val': 0.6, 'lr': 0.1}
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update({f"{key}/{sub}": v for sub, v in value.items()})
        else:
            out[str(key)] = value
    return out
