"""``KerasCallback``: a Keras 3 callback that feeds livetrain's views, on any backend (torch, JAX, TensorFlow).

It hooks ``on_train_batch_end`` (step traces), ``on_epoch_end`` (epoch values: ``val_`` keys are phase ``val``, the
others ``train``) and ``on_train_end``. Steps are global: batches since training began, counted from 1.

Caveats:

- Keras's batch logs are not the batch's values: they are the running means since the epoch began (its metrics
  accumulate over the epoch). They are logged as ``train/<metric> (running mean)``; the epoch's value (the last
  running mean) is ``train/<metric>`` at the epoch's last step.
- Keras's asynchronous batch dispatch is kept (``async_safe = True``): the batch hook runs in Keras's worker
  thread on the logs Keras has already read there, reads nothing itself and only notes them; every ``HAND_OVER``
  seconds (and at the epoch's end) the batches noted are logged, in batch order.
- Keras tells callbacks nothing about an exception or an interrupt: such a run is not ended by the callback (a
  notebook cell's end still leaves the views' last state).
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import keras

from ..core.callback import Callback
from ..core.history import History
from ..views.scalars import is_scalar
from .base import HAND_OVER, Recorder, by_phase, tagged

#: What the batch traces' tags add to the metric's name: Keras's batch logs are running means since the epoch began.
RUNNING_MEAN = " (running mean)"


class KerasCallback(keras.callbacks.Callback):
    """Live views of a Keras ``fit()``: per-batch running means and per-epoch values, train and validation.

    ``history[phase][metric]`` holds one value per epoch, equal to ``fit()``'s ``History.history`` (``val_loss`` is
    ``history["val"]["loss"]``); ``history.steps`` holds the traces ``train/<metric> (running mean)`` at every batch
    and ``<phase>/<metric>`` at each epoch's last step. Use one callback per ``fit()``.

    Args:
        callbacks: livetrain views (default: a live :class:`~livetrain.Board`).
        history: a :class:`~livetrain.History` to go on from (its steps continue after its last one).
        history_path: save the history there at every epoch end and at the end of training.

    Example::

        import os
        os.environ["KERAS_BACKEND"] = "torch"  # any backend, set before keras is imported
        import keras, livetrain

        cb = livetrain.KerasCallback()  # a live Board; or callbacks=[livetrain.LinePlotsCallback()]
        model.fit(x, y, validation_data=(xv, yv), epochs=10, callbacks=[cb])
        cb.history["val"]["loss"]
    """

    async_safe = True  #: Keras dispatches the batch hooks asynchronously (keras/src/callbacks/callback_list.py)

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.recorder = Recorder(callbacks, history=history, history_path=history_path)
        self._lock = threading.Lock()
        self._ends: deque[tuple[int, Mapping[str, Any] | None, float]] = deque()  # noted by the hook, not logged yet
        self._due = 0.0  # when the ends noted are next logged
        self._waiting: dict[int, tuple[Mapping[str, Any], float]] = {}  # ends that arrived before an earlier one
        self._next = 0  # the batch whose end is logged next
        self._steps: int | None = None  # batches an epoch, where Keras knows them
        self._every = 1  # batches a step of Keras's (steps_per_execution): it reports the last of them
        self._offset = 0  # global steps before this epoch
        self._epoch = 0
        self._batches = 0  # batches of this epoch logged

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History` (the recorder's), with every batch that has ended."""
        if self._ends or self._waiting:
            self._drain()
        return self.recorder.history

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        traces = self.history.steps.values()
        self._offset = max((int(t.step[-1]) for t in traces if len(t)), default=0)
        steps = self._steps = self.params.get("steps")
        self._every = max(int(getattr(self.model, "steps_per_execution", 1) or 1), 1)
        self.recorder.begin(epochs=self.params.get("epochs"), phases=["train", "val"],
                            steps={"train": steps} if steps else {})

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch, self._batches = epoch, 0
        self._next = self._after(-1)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        now = time.monotonic()
        self._ends.append((batch, logs, now))  # only noted: they are logged in order, every HAND_OVER seconds
        if now >= self._due:
            self._drain()

    def _after(self, batch: int) -> int:
        """The batch whose end comes after ``batch``'s: Keras runs ``steps_per_execution`` batches at a time and
        reports the last of them (the epoch's last execution may be short)."""
        after, steps = batch + self._every, self._steps
        return min(after, steps - 1) if steps and batch < steps - 1 else after

    def _drain(self, final: bool = False) -> None:
        """Log the batch ends noted, in batch order, up to the first whose earlier batch's end is still on its way
        (Keras's worker threads may run two batch hooks out of order); an end held a whole ``HAND_OVER`` is logged
        anyway (Keras may tune ``steps_per_execution`` as it trains). ``final``: all of them, Keras waited for its
        batch hooks."""
        with self._lock:
            now = time.monotonic()
            self._due = now + HAND_OVER
            waiting = self._waiting
            while self._ends:
                batch, logs, noted = self._ends.popleft()
                waiting[batch] = logs or {}, noted
            while waiting:
                first = self._next if self._next in waiting else min(waiting)
                logs, noted = waiting[first]
                if not final and first > self._next and noted > now - HAND_OVER:
                    return
                del waiting[first]
                self._log_batch(first, logs)

    def _log_batch(self, batch: int, logs: Mapping[str, Any]) -> None:
        self._next = self._after(batch)
        steps = self._steps
        done = min(batch + 1, steps or batch + 1)  # the last execution of steps_per_execution batches may be short
        self._batches = max(self._batches, done)
        self.recorder.log(logs, self._offset + done, epoch=self._epoch + (done / steps if steps else 0),
                          convert=batch_traces)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._drain(final=True)  # Keras waited for the batch hooks: log any end still held back
        self._offset += self._batches
        phases = by_phase(logs or {}, {"val_": "val"}, keep=is_scalar)
        self.recorder.log({tag: value for phase, values in phases.items()
                           for tag, value in tagged(values, phase).items()}, self._offset, epoch=epoch + 1)
        for phase, values in phases.items():
            self.recorder.epoch_end(epoch, phase, values)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._drain(final=True)
        self.recorder.end()


def batch_traces(logs: Mapping[str, Any]) -> dict[str, Any]:
    """A batch's logs as trace values: ``train/<metric> (running mean)``, numbers only.

    Example:
        >>> batch_traces({"loss": 0.5, "note": "x"})
        {'train/loss (running mean)': 0.5}
    """
    return {f"train/{key}{RUNNING_MEAN}": value for key, value in logs.items() if is_scalar(value)}
