"""The ``Callback`` hooks, and ``CallbackList``, which calls them and switches off a callback that raises."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .history import History


class CallbackDisabledWarning(RuntimeWarning):
    """A callback raised; livetrain switched it off and the run went on."""


class Callback:
    """Base class for training callbacks. Every hook does nothing unless overridden.

    The order of calls in :func:`livetrain.train_loop`::

        set_params -> on_train_begin
        per epoch, per phase: on_epoch_begin -> on_batch_end (per batch) -> on_epoch_end
            (a phase that yielded no batch in the epoch gets no on_epoch_end: it has no value there)
        on_train_end, or on_exception on an error or a KeyboardInterrupt

    ``on_log`` comes at any time, once per call of ``History.log`` (and of the ``SummaryWriter`` methods): step-level
    values at their own cadence.

    Example:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, epoch, phase, history):
        ...         print(epoch, phase, history[phase]["loss"][-1])
        >>> Printer().on_epoch_end(0, "train", {"train": {"loss": [0.5]}})
        0 train 0.5
    """

    params: dict[str, Any] = {}
    #: ``True`` for a view whose ``on_log`` only notes which tags changed and reads their new points from
    #: ``history.steps`` later: of consecutive steps with the same tags handed over at once (an adapter hands a
    #: tenth of a second of steps over at a time), it hears of the last only.
    reads_steps: bool = False

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the run's settings: ``epochs``, ``phases`` and ``steps`` (batches per phase, where known)."""
        self.params = params

    def on_train_begin(self, history: History) -> None:
        """Called once before the first epoch; ``history`` may already hold earlier epochs."""

    def on_epoch_begin(self, epoch: int, phase: str) -> None:
        """Called before the first batch of ``phase`` in ``epoch`` (0-based)."""

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, float]) -> None:
        """Called after each batch; ``batch`` counts from 0 within the epoch, ``logs`` holds its metrics."""

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        """Called when ``phase`` of ``epoch`` ends; ``history[phase][key][-1]`` is the epoch's value."""

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        """Called after ``history.log(logs, step)``: ``logs`` maps each tag to the value logged at global ``step``,
        as given (a JAX or torch scalar is not read here); ``history.steps[tag]`` holds the whole series."""

    def on_train_end(self, history: History) -> None:
        """Called once after the last epoch."""

    def on_exception(self, exception: BaseException, history: History) -> None:
        """Called instead of ``on_train_end`` when the run stops on an error or a ``KeyboardInterrupt``."""


HOOKS = ("set_params", "on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end",
         "on_train_end", "on_exception")


class CallbackList(Callback):
    """A callback that calls each hook on its callbacks in order. A callback that raises is switched off
    with one warning; the others go on.

    ``KeyboardInterrupt`` and other ``BaseException``s are not caught: they stop the run. Callbacks that do
    not override ``on_batch_end`` or ``on_log`` are not called for them.

    Example:
        >>> class Broken(Callback):
        ...     def on_epoch_end(self, epoch, phase, history): raise ValueError("boom")
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     cbs = CallbackList([Broken()]); cbs.on_epoch_end(0, "train", {})
        >>> "Broken" in str(w[0].message), cbs.active
        (True, [])
    """

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.active: list[Callback] = []
        for cb in callbacks:
            missing = [h for h in HOOKS if not callable(getattr(cb, h, None))]
            if missing:
                raise TypeError(f"callbacks must be livetrain.Callback instances (or have its hooks); "
                                f"{type(cb).__name__} lacks {', '.join(missing)}")
            self.active.append(cb)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.each("set_params", lambda cb: cb.set_params(params))

    def on_train_begin(self, history: History) -> None:
        self.each("on_train_begin", lambda cb: cb.on_train_begin(history))

    def on_epoch_begin(self, epoch: int, phase: str) -> None:
        self.each("on_epoch_begin", lambda cb: cb.on_epoch_begin(epoch, phase))

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, float]) -> None:
        self.each("on_batch_end", lambda cb: cb.on_batch_end(batch, phase, logs), skip_default=True)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        self.each("on_epoch_end", lambda cb: cb.on_epoch_end(epoch, phase, history))

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        self.each("on_log", lambda cb: cb.on_log(step, logs, history), skip_default=True)

    def on_train_end(self, history: History) -> None:
        self.each("on_train_end", lambda cb: cb.on_train_end(history))

    def on_exception(self, exception: BaseException, history: History) -> None:
        self.each("on_exception", lambda cb: cb.on_exception(exception, history))

    def each(self, hook: str, call: Callable[[Callback], object], skip_default: bool = False) -> None:
        """``call(cb)`` for every active callback; one that raises is switched off, with a warning naming ``hook``.
        With ``skip_default``, callbacks that inherit ``hook`` from :class:`Callback` unchanged are skipped.

        Example:
            >>> seen = []
            >>> CallbackList([Callback()]).each("on_epoch_end", seen.append); len(seen)
            1
        """
        for cb in self.listening(hook) if skip_default else list(self.active):
            try:
                call(cb)
            except Exception as exc:  # noqa: BLE001 - isolating callbacks is the point
                self.switch_off(cb, hook, exc, stacklevel=3)

    def listening(self, hook: str) -> list[Callback]:
        """The active callbacks that override ``hook`` (a duck-typed callback without this optional hook does not).

        Example:
            >>> class Logs(Callback):
            ...     def on_log(self, step, logs, history): pass
            >>> [type(cb).__name__ for cb in CallbackList([Callback(), Logs()]).listening("on_log")]
            ['Logs']
        """
        default = getattr(Callback, hook)
        return [cb for cb in self.active if getattr(type(cb), hook, default) is not default]

    def switch_off(self, cb: Callback, hook: str, exc: Exception, stacklevel: int = 2) -> None:
        """Switch ``cb`` off after its ``hook`` raised ``exc``, with one warning naming them.

        Example:
            >>> import warnings; cbs = CallbackList([Callback()])
            >>> with warnings.catch_warnings(record=True):
            ...     warnings.simplefilter("always"); cbs.switch_off(cbs.active[0], "on_log", ValueError("boom"))
            >>> cbs.active
            []
        """
        if cb in self.active:
            self.active.remove(cb)
        warnings.warn(f"livetrain: callback {type(cb).__name__}.{hook} raised {type(exc).__name__}: {exc}. It is "
                      f"switched off; training goes on.", CallbackDisabledWarning, stacklevel=stacklevel + 1)
