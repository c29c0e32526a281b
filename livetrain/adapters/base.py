"""``Recorder``: what every framework adapter feeds. It owns a :class:`~livetrain.History` and the live views, calls
their hooks in ``train_loop``'s order, draws and saves on global rank 0 only, and never raises into the framework's
training loop."""
from __future__ import annotations

import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.callback import Callback, CallbackList
from ..core.distributed import is_rank_zero
from ..core.history import History
from ..views.board import Board

HAND_OVER = 0.1  #: seconds between two hand-overs of the step values logged to the history and the views


class Recorder:
    """A run's history and views, fed step by step and epoch by epoch by an adapter.

    Step-level values go to ``history.steps`` as ``phase/key`` traces at the framework's global step (then the views'
    ``on_log``), in order, in batches: a step only notes its values and the time, and every ``HAND_OVER`` seconds
    (and before any other hook, and whenever ``history`` is read) the values noted are handed over. A framework
    step then costs an append, not a pass through the history and the views, which costs ten times more right after
    the step's kernels than in a warm loop. Epoch values go to ``history[phase][key]`` (then ``on_epoch_end``), so a
    :class:`~livetrain.LinePlotsCallback` and a :class:`~livetrain.Board` both draw an adapter's run. On a process
    other than global rank 0 the history is still kept, but no view is called and nothing is saved.

    Args:
        callbacks: the views (or other callbacks); default: one :class:`~livetrain.Board`, which makes a panel for
            every tag as it arrives.
        history: a :class:`~livetrain.History` to go on from (default: a new one).
        history_path: save the history there at every epoch end and at the end of training.

    Example:
        >>> rec = Recorder(callbacks=[])
        >>> rec.log({"train/loss": 0.5}, step=1)
        >>> rec.epoch_end(0, "val", {"loss": 0.4})
        >>> rec.record({"notes": "lr = 0.1"}, "text", step=1)
        >>> rec.end()
        >>> h = rec.history; h["val"]["loss"], h.steps["train/loss"].value.tolist(), h.records["notes"].kind
        ([0.4], [0.5], 'text')
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, history: History | None = None,
                 history_path: str | os.PathLike | None = None) -> None:
        if history is not None and not isinstance(history, History):
            raise TypeError(f"history must be a livetrain.History, got {type(history).__name__}")
        self._history = History() if history is None else history
        self.callbacks = CallbackList([Board()] if callbacks is None else callbacks)
        self.history_path = history_path
        self._begun = self._ended = False
        self._failed: set[str] = set()
        self._drawing: bool | None = None
        self._noted: deque[tuple[dict[str, Any], int | None, float | None, float, Any]] = deque()  # not handed over
        self._due = 0.0  # when the next hand-over is due
        self._handing = threading.RLock()  # one hand-over at a time: the values keep their order
        self._in_hand = False  # a hand-over runs: a view that reads ``history`` meanwhile gets it as it is

    @property
    def history(self) -> History:
        """The run's :class:`~livetrain.History`, with every value logged so far."""
        if self._noted:
            self.hand_over()
        return self._history

    @property
    def drawing(self) -> bool:
        """Whether this process draws and saves: global rank 0 (see :func:`~livetrain.core.distributed.global_rank`),
        asked at the first value (the framework has set its process group up by then), not at every step."""
        if self._drawing is None:
            self._drawing = is_rank_zero()
        return self._drawing

    def begin(self, **params: Any) -> None:
        """Start the run once (``set_params`` then ``on_train_begin``); later calls only update ``params``."""
        if self._begun or not self.drawing:
            return
        self._begun = True
        self.safely("set_params", lambda: self.callbacks.set_params({"phases": [], "steps": {}, **params}))
        self.safely("on_train_begin", lambda: self.callbacks.on_train_begin(self._history))

    def log(self, metrics: Mapping[str, Any], step: int | None = None, *, epoch: float | None = None,
            convert: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None) -> None:
        """Step-level values, tagged ``phase/key``, at global ``step`` (a torch or JAX scalar is read when drawn),
        noted now and handed over within ``HAND_OVER`` seconds. ``convert`` turns ``metrics`` into those values at
        the hand-over, off the step's path (an adapter's tagging and filtering of the framework's logs). A value
        that is not a number is left out with one warning naming its tag."""
        if not metrics:
            return
        wall = time.time()
        self._noted.append((dict(metrics), step, epoch, wall, convert))
        if wall >= self._due:
            self.hand_over()

    def hand_over(self) -> None:
        """Log the values noted into the history, in order, then tell the views (``on_log``)."""
        with self._handing:
            if self._in_hand:
                return
            noted, history = self._noted, self._history
            self._due, self._in_hand = time.time() + HAND_OVER, True
            each: list[Callback] | None = None  # the views told of every step (called directly: this runs per step)
            last: list[Callback] = []  # those told of the last of consecutive steps with the same tags (reads_steps)
            held: tuple[int, dict[str, Any]] | None = None  # that last step, not told yet
            try:
                while noted:
                    metrics, step, epoch, wall, convert = noted.popleft()
                    self._ended = False
                    try:
                        metrics = metrics if convert is None else convert(metrics)
                        if not metrics:
                            continue
                        at = history.log(metrics, step, wall=wall, epoch=epoch)
                    except Exception as exc:  # noqa: BLE001 - a value that is not a number must not stop training
                        self._warn("log", exc)
                        continue
                    if each is None:
                        each = self._listening()
                        last = [cb for cb in each if cb.reads_steps]
                        each = [cb for cb in each if not cb.reads_steps]
                    if each:
                        self._tell(each, at, metrics)
                    if held is not None and held[1].keys() != metrics.keys():
                        self._tell(last, *held)
                    held = at, metrics
                if held is not None:
                    self._tell(last, *held)
            finally:
                self._in_hand = False

    def _tell(self, listeners: list[Callback], step: int, logs: Mapping[str, Any]) -> None:
        """Each of ``listeners``' ``on_log``; one that raises is switched off (and left out of ``listeners``)."""
        for cb in list(listeners):
            try:
                cb.on_log(step, logs, self._history)
            except Exception as exc:  # noqa: BLE001 - a broken view must not stop training
                listeners.remove(cb)
                self.callbacks.switch_off(cb, "on_log", exc)

    def _listening(self) -> list[Callback]:
        """The views that take ``on_log`` (the run begun), or none on a process that does not draw."""
        if not self.drawing:
            return []
        self.begin()
        return self.callbacks.listening("on_log")

    def record(self, values: Mapping[str, Any], kind: str, step: int | None = None) -> None:
        """Non-scalar values of one ``kind`` (``"image"``, ``"histogram"``, ``"text"``, ``"hparams"``...), by tag,
        into ``history.records`` at ``step``, then the views' ``on_log``."""
        if not values:
            return
        self._ended = False
        at, history = step, self.history
        for tag, value in values.items():
            at = history.record(tag, kind, value, at)
        self._tell(self._listening(), at, values)  # type: ignore[arg-type]

    def epoch_end(self, epoch: int, phase: str, values: Mapping[str, Any]) -> None:
        """``phase``'s values of ``epoch`` (0-based) into ``history[phase]``, then the views' ``on_epoch_end``."""
        if not values:
            return
        self._ended = False
        history = self.history
        history.append(phase, values, epoch=epoch)
        if self.drawing:
            self.begin()
            self.safely("on_epoch_end", lambda: self.callbacks.on_epoch_end(epoch, phase, history))
            self._save()

    def end(self, exception: BaseException | None = None) -> None:
        """End the run: the views' ``on_train_end`` (or ``on_exception``), then a last save. Only the first call
        counts, until values arrive again (Lightning ends its loggers after ``fit``, then after a ``validate`` or
        ``test``: each of those ends the run again, with the new values saved)."""
        if self._noted:
            self.hand_over()
        if self._ended or not self.drawing:
            return
        self._ended = True
        if exception is None:
            self.safely("on_train_end", lambda: self.callbacks.on_train_end(self.history))
        else:
            self.safely("on_exception", lambda: self.callbacks.on_exception(exception, self.history))
        self._save()

    def _save(self) -> None:
        if self.history_path is not None:
            self.safely("save", lambda: self.history.save(self.history_path))  # type: ignore[arg-type]

    def safely(self, what: str, action: Callable[[], object]) -> None:
        """Run ``action``; an ``Exception`` warns once per ``what`` (naming it) and training goes on: an adapter's hooks
        run their work through this."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - an adapter must never stop the framework's training
            self._warn(what, exc)

    def _warn(self, what: str, exc: Exception) -> None:
        if what not in self._failed:
            self._failed.add(what)
            warnings.warn(f"livetrain: {what} failed ({type(exc).__name__}: {exc}); training goes on",
                          RuntimeWarning, stacklevel=4)


def split_phase(key: str, prefixes: Mapping[str, str], default: str = "train") -> tuple[str, str]:
    """The phase and metric of a framework's key: ``val_loss`` is ``("val", "loss")`` with ``{"val_": "val"}``;
    a key with none of the prefixes is ``default``'s. A key already shaped ``phase/metric`` keeps its phase.

    Example:
        >>> split_phase("val_loss", {"val_": "val"}), split_phase("loss", {"val_": "val"})
        (('val', 'loss'), ('train', 'loss'))
        >>> split_phase("eval/accuracy", {})
        ('eval', 'accuracy')
    """
    for prefix, phase in prefixes.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return phase, key[len(prefix):]
    phase, slash, metric = key.partition("/")
    return (phase, metric) if slash and metric else (default, key)


def by_phase(logs: Mapping[str, Any], prefixes: Mapping[str, str], default: str = "train",
             keep: Callable[[Any], bool] | None = None) -> dict[str, dict[str, Any]]:
    """``logs`` split by :func:`split_phase` into ``{phase: {metric: value}}``, keeping the values ``keep`` accepts.

    Example:
        >>> by_phase({"loss": 0.5, "val_loss": 0.6, "lr": 0.1}, {"val_": "val"})
        {'train': {'loss': 0.5, 'lr': 0.1}, 'val': {'loss': 0.6}}
    """
    out: dict[str, dict[str, Any]] = {}
    for key, value in logs.items():
        if keep is None or keep(value):
            phase, metric = split_phase(str(key), prefixes, default)
            out.setdefault(phase, {})[metric] = value
    return out


def tagged(values: Mapping[str, Any], phase: str) -> dict[str, Any]:
    """``{"phase/key": value}``, the trace tags :meth:`Recorder.log` takes.

    Example:
        >>> tagged({"loss": 0.5}, "train")
        {'train/loss': 0.5}
    """
    return {f"{phase}/{key}": value for key, value in values.items()}
