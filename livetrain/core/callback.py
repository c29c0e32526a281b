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
        default = getattr(Callback, hook, None) if skip_default else None
        for cb in list(self.active):
            if default is not None and getattr(type(cb), hook, default) is default:
                continue  # not overridden, or a duck-typed callback without this optional hook
            try:
                call(cb)
            except Exception as exc:  # noqa: BLE001 - isolating callbacks is the point
                self.active.remove(cb)
                warnings.warn(f"livetrain: callback {type(cb).__name__}.{hook} raised "
                              f"{type(exc).__name__}: {exc}. It is switched off; training goes on.",
                              CallbackDisabledWarning, stacklevel=3)
