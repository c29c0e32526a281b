"""PyTorch Ignite: :func:`attach` (or :class:`IgniteLogger`) hooks a trainer ``Engine`` and its evaluators.

It hooks the trainer's ``ITERATION_COMPLETED`` (``state.output`` as ``train/...`` traces at ``state.iteration``),
``EPOCH_COMPLETED`` (the trainer's ``state.metrics``), ``COMPLETED`` and ``TERMINATE`` (the end of the run) and
``EXCEPTION_RAISED``, and each evaluator's ``COMPLETED`` (its ``state.metrics``, at the trainer's iteration and epoch).

Caveats: Ignite re-raises an exception only while no ``EXCEPTION_RAISED`` handler is registered; this one re-raises
it when it is the trainer's only such handler, so the run fails as it would without livetrain (with a handler of
yours there too, such as a ``Checkpoint``, Ignite's rule stands: yours decide). An evaluator's metrics must be attached
to it before :func:`attach` (metrics are computed in ``COMPLETED`` handlers, which run in the order they were added).
Only Ignite's rank 0 (``idist.get_rank()``) records; the other ranks' history stays empty.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ignite.distributed as idist
import numpy as np
import torch
from ignite.engine import Engine, Events

from ..core.callback import Callback
from ..core.history import History
from ..core.steps import check_number
from .base import Recorder, tagged


class IgniteLogger:
    """Live views of an Ignite run: the trainer's output every ``every`` iterations, and the trainer's and evaluators'
    metrics at each epoch end, in one :class:`~livetrain.History` (``history["train"]``, ``history[name]`` per
    evaluator) and the views (default: a live :class:`~livetrain.Board`).

    Args:
        callbacks: the livetrain views; default: one :class:`~livetrain.Board`.
        history: a :class:`~livetrain.History` to go on from.
        history_path: save the history there at every epoch end and at the end.

    Example::

        trainer = create_supervised_trainer(model, optimizer, nn.CrossEntropyLoss())
        evaluator = create_supervised_evaluator(model, metrics={"accuracy": Accuracy(), "loss": Loss(loss_fn)})
        trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda: evaluator.run(val_loader))
        logger = IgniteLogger().attach(trainer, evaluators={"val": evaluator})
        trainer.run(train_loader, max_epochs=5)
        logger.history["val"]["accuracy"]
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        self.recorder = Recorder(callbacks, history=history, history_path=history_path)
        self.trainer: Engine | None = None
        self.evaluators: dict[str, Engine] = {}
        self._transform: Callable[[Any], Any] | None = None
        self._traced: set[str] = set()  # tags the trainer's output fills at every iteration
        self._rank0 = True
        self._ended = False

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History`."""
        return self.recorder.history

    def attach(self, engine: Engine, every: int = 1, *, evaluators: Mapping[str, Engine] | None = None,
               output_transform: Callable[[Any], Any] | None = None) -> IgniteLogger:
        """Hook the trainer ``engine`` (and each evaluator of ``evaluators``, ``{phase name: Engine}``); returns self.

        ``state.output`` (a number, a 0-d tensor or a dict of them, after ``output_transform``) is logged as
        ``train/<key>`` (``train/loss`` for a bare number) every ``every`` iterations, as it is: a tensor is not read.

        Example::

            logger = IgniteLogger().attach(trainer, every=10, evaluators={"val": evaluator},
                                           output_transform=lambda out: {"loss": out})
        """
        if not isinstance(engine, Engine):
            raise TypeError(f"engine must be an ignite.engine.Engine (the trainer), got {type(engine).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1 (iterations), got {every!r}")
        if output_transform is not None and not callable(output_transform):
            raise TypeError(f"output_transform must be callable or None, got {type(output_transform).__name__}")
        evaluators = {} if evaluators is None else evaluators
        if not isinstance(evaluators, Mapping) or not all(
                isinstance(k, str) and isinstance(v, Engine) for k, v in evaluators.items()):
            raise TypeError(f"evaluators must be a dict of phase name -> ignite Engine, e.g. {{'val': evaluator}}; "
                            f"got {evaluators!r}")
        self.trainer, self.evaluators, self._transform = engine, dict(evaluators), output_transform
        self._rank0 = idist.get_rank() == 0
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.ITERATION_COMPLETED if every == 1 else Events.ITERATION_COMPLETED(every=every),
                                 self._iteration)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._epoch)
        engine.add_event_handler(Events.TERMINATE, self._terminated)
        engine.add_event_handler(Events.COMPLETED, self._completed)
        engine.add_event_handler(Events.EXCEPTION_RAISED, self._failed)
        for phase, evaluator in self.evaluators.items():
            evaluator.add_event_handler(Events.COMPLETED, self._evaluated, phase)
        return self

    def _started(self, engine: Engine) -> None:
        self._rank0 = idist.get_rank() == 0
        if self._rank0:
            state = engine.state
            self.recorder.begin(epochs=state.max_epochs, phases=["train", *self.evaluators],
                                steps={"train": state.epoch_length})

    def _iteration(self, engine: Engine) -> None:
        if self._rank0:
            state = engine.state
            if self._transform is None:  # the output is read into values at the recorder's hand-over
                self.recorder.log({OUTPUT: state.output}, state.iteration, epoch=_epoch(state), convert=self._numbers)
            else:
                self.recorder.safely("the output_transform", lambda: self.recorder.log(
                    {OUTPUT: self._transform(state.output)}, state.iteration, epoch=_epoch(state),  # type: ignore
                    convert=self._numbers))

    def _numbers(self, logged: Mapping[str, Any]) -> dict[str, Any]:
        """The trainer's output as ``train/<key>`` values (a bare number is ``train/loss``); a clear error if it
        holds no number."""
        output = logged[OUTPUT]
        values = dict(output) if isinstance(output, Mapping) else {"loss": output}
        numbers = {f"train/{k}": v.detach() if isinstance(v, torch.Tensor) else v
                   for k, v in values.items() if _is_number(v)}
        if not numbers:
            raise TypeError(f"state.output is {type(output).__name__}, not a number nor a dict of numbers: give "
                            f"attach(output_transform=...) that returns one")
        self._traced.update(numbers)
        return numbers

    def _epoch(self, engine: Engine) -> None:
        if self._rank0:
            self.recorder.safely("the trainer's metrics", lambda: self._record("train", engine.state, engine.state))

    def _evaluated(self, evaluator: Engine, phase: str) -> None:
        trainer = self.trainer
        if self._rank0 and not self._ended and trainer is not None:
            self.recorder.safely(f"the {phase} metrics", lambda: self._record(phase, evaluator.state, trainer.state))

    def _record(self, phase: str, state: Any, trainer: Any) -> None:
        """``state.metrics`` as ``phase``'s values of the trainer's epoch, and at its iteration."""
        self.recorder.hand_over()  # the traced tags are known
        values = {key: v for key, value in state.metrics.items() if (v := _readable(value)) is not None}
        if trainer.epoch >= 1:  # an evaluation before the first epoch has no epoch value
            self.recorder.epoch_end(trainer.epoch - 1, phase, values)
        numbers = {tag: v for tag, v in tagged(values, phase).items()
                   if isinstance(v, float) and tag not in self._traced}  # not a second point at the same step
        self.recorder.log(numbers, trainer.iteration, epoch=_epoch(trainer))

    def _terminated(self, engine: Engine) -> None:
        if getattr(engine, "should_terminate", None) == "skip_completed":  # no COMPLETED follows
            self._completed(engine)

    def _completed(self, engine: Engine) -> None:
        self._ended = True
        self.recorder.end()

    def _failed(self, engine: Engine, exception: BaseException) -> None:
        self._ended = True
        self.recorder.end(exception)
        handlers = getattr(engine, "_event_handlers", {}).get(Events.EXCEPTION_RAISED, ())
        if len(handlers) <= 1:  # ours alone: Ignite would have re-raised it
            raise exception


OUTPUT = "output"  #: what the trainer's output is logged as, until the hand-over turns it into values


def attach(engine: Engine, every: int = 1, *, evaluators: Mapping[str, Engine] | None = None,
           output_transform: Callable[[Any], Any] | None = None, callbacks: Iterable[Callback] | None = None,
           history: History | None = None, history_path: str | os.PathLike | None = None) -> IgniteLogger:
    """Live views of the trainer ``engine`` and its ``evaluators``: ``IgniteLogger(...).attach(engine, ...)``.

    Example::

        logger = attach(trainer, evaluators={"val": evaluator})
        trainer.run(train_loader, max_epochs=5)
    """
    return IgniteLogger(callbacks, history=history, history_path=history_path).attach(
        engine, every, evaluators=evaluators, output_transform=output_transform)


def _is_number(value: Any) -> bool:
    try:
        check_number("", value)
    except TypeError:
        return False
    return True


def _readable(value: Any) -> float | np.ndarray | None:
    """A metric's value as a float (a number) or an array (per-class values...); ``None`` for anything else."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim:
        return value if np.issubdtype(value.dtype, np.number) else None
    if isinstance(value, bool) or not _is_number(value):
        return None
    return float(value)


def _epoch(state: Any) -> float | None:
    """The fractional epoch at ``state.iteration`` (1.0 at the end of the first epoch), if the epoch length is known."""
    return state.iteration / state.epoch_length if state.epoch_length else None
