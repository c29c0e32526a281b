"""``tf.summary``'s shape without TensorFlow: ``create_file_writer``, ``as_default``, ``scalar``, ``image``,
``histogram``, ``text`` and ``experimental.set_step``, drawn live in the notebook by a
:class:`~livetrain.SummaryWriter` underneath (and written to TensorBoard event files in ``logdir``).

Swap the import and keep the code::

    from livetrain import summary            # was: import tensorflow as tf ... tf.summary
    writer = summary.create_file_writer("runs/test")
    with writer.as_default():
        for i in range(steps):
            summary.scalar("Loss", loss, step=i + 1)
            summary.image("Test sheet", fig, step=i + 1)   # a matplotlib figure, or an (N, H, W, C) batch

As in TensorFlow, the functions return whether they recorded anything: ``False`` (nothing recorded) when no writer is
the default. Where TensorFlow raises ``ValueError`` because no step is given nor set with
``experimental.set_step``, these functions warn once and record nothing: a logging call never stops training.
"""
from __future__ import annotations

import contextlib
import functools
import os
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from .core.history import History
from .core.metrics import to_numpy
from .core.tbvalues import step_of
from .writer import SummaryWriter, warn_user

_defaults: list[FileWriter] = []  # the writers made default, innermost last
_base: FileWriter | None = None  # set_as_default's writer, used when no as_default() context is open
_step: int | None = None  # experimental.set_step's step
_warned: set[str] = set()
F = TypeVar("F", bound=Callable[..., bool])


class FileWriter:
    """What :func:`create_file_writer` returns: ``tf.summary.SummaryWriter``'s methods over a
    :class:`~livetrain.SummaryWriter` (:attr:`writer`).

    Example:
        >>> w = create_file_writer("runs/doc", write_to_disk=False, show=False)
        >>> with w.as_default():
        ...     scalar("loss", 0.5, step=1)
        True
        >>> w.history.steps["loss"].value.tolist()
        [0.5]
    """

    def __init__(self, writer: SummaryWriter) -> None:
        self.writer = writer

    @property
    def history(self) -> History:
        """Everything recorded (the :class:`~livetrain.SummaryWriter`'s history): ``history.steps[name]`` for scalars,
        ``history.records[name]`` for the rest."""
        return self.writer.history

    @contextlib.contextmanager
    def as_default(self, step: int | None = None) -> Iterator[FileWriter]:
        """Make this the default writer inside the ``with`` block; ``step``: the default step there too."""
        global _step
        outer_step = _step
        if step is not None:
            _step = step_of(step)
        _defaults.append(self)
        try:
            yield self
        finally:
            _defaults.remove(self)
            _step = outer_step if step is not None else _step
            self.writer.flush()

    def set_as_default(self, step: int | None = None) -> None:
        """Make this the default writer outside any ``as_default`` block; ``step``: set the default step too.

        Example:
            >>> w = create_file_writer("runs/doc", write_to_disk=False, show=False); w.set_as_default(step=3)
            >>> scalar("acc", 0.9), experimental.get_step()
            (True, 3)
            >>> _reset()
        """
        global _base
        _base = self
        if step is not None:
            experimental.set_step(step)

    def init(self) -> None:
        """Nothing to do: the writer is ready (``tf.summary.SummaryWriter.init``)."""

    def flush(self) -> None:
        """Write what is pending to the event files and the board now."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event files (see :meth:`livetrain.SummaryWriter.close`)."""
        self.writer.close()

    def __repr__(self) -> str:
        return f"FileWriter({self.writer!r})"


def create_file_writer(logdir: str | os.PathLike[str], max_queue: int | None = None, flush_millis: int | None = None,
                       filename_suffix: str | None = None, name: str | None = None,
                       experimental_trackable: bool = False, **options: Any) -> FileWriter:
    """A writer of event files in ``logdir``, with its live board (in a notebook, in this cell). ``max_queue`` and
    ``flush_millis`` change nothing (files are flushed about ten times a second); ``options`` go to
    :class:`~livetrain.SummaryWriter` (``show``, ``x``, ``write_to_disk``, ``interval``).

    Example:
        >>> create_file_writer("runs/doc", write_to_disk=False, show=False).writer.log_dir
        'runs/doc'
    """
    return FileWriter(SummaryWriter(logdir, filename_suffix=filename_suffix or "", **options))


def create_noop_writer() -> FileWriter | None:
    """A writer that records nothing: as the default, the summary functions return ``False``.

    Example:
        >>> with create_noop_writer().as_default(): scalar("x", 1.0, step=0)
        False
    """
    return _Noop()


class _Noop(FileWriter):
    def __init__(self) -> None:
        pass

    @contextlib.contextmanager
    def as_default(self, step: int | None = None) -> Iterator[FileWriter]:
        _defaults.append(self)
        try:
            yield self
        finally:
            _defaults.remove(self)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _guarded(function: F) -> F:
    """A summary function that never raises an ``Exception``: it warns once per function and name, and returns
    ``False``."""

    @functools.wraps(function)
    def call(name: str, *args: Any, **kwargs: Any) -> bool:
        try:
            return function(name, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - logging must never stop training
            key = f"{function.__name__}:{name}"
            if key not in _warned:
                _warned.add(key)
                warn_user(f"summary.{function.__name__}({name!r}, ...) failed ({type(exc).__name__}: {exc}); it is "
                          f"not recorded and training goes on")
            return False

    return call  # type: ignore[return-value]


def _target(name: str, step: int | None) -> tuple[SummaryWriter, int] | None:
    """The default writer and the step to use, or ``None`` (nothing to record: no writer, or no step, warned)."""
    writer = _defaults[-1] if _defaults else _base
    if writer is None or isinstance(writer, _Noop):
        return None
    step = step_of(step) if step is not None else _step
    if step is None:
        if name not in _warned:
            _warned.add(name)
            warn_user(f"summary {name!r}: no step given nor set with summary.experimental.set_step(...); it is "
                      f"not recorded (TensorFlow raises ValueError here; livetrain never stops training)")
        return None
    return writer.writer, step


@_guarded
def scalar(name: str, data: Any, step: int | None = None, description: str | None = None) -> bool:
    """Record a number (Python, numpy, torch or JAX: not read now) at ``step``; whether it was recorded.

    Example:
        >>> scalar("loss", 0.5, step=0)  # no default writer: nothing recorded, as in TensorFlow
        False
    """
    target = _target(name, step)
    if target is None:
        return False
    writer, used = target
    writer.add_scalar(name, data, used)
    return True


@_guarded
def image(name: str, data: Any, step: int | None = None, max_outputs: int = 3, description: str | None = None) -> bool:
    """Record images: an ``(N, H, W, C)`` batch (C in 1, 3, 4; floats in 0..1 or uint8), of which the first
    ``max_outputs`` are shown tiled, one ``(H, W, C)`` image, or a matplotlib figure (rendered, then closed).

    Example:
        >>> w = create_file_writer("runs/doc", write_to_disk=False, show=False)
        >>> with w.as_default(): image("digits", np.zeros((8, 28, 28, 1)), step=0)
        True
    """
    target = _target(name, step)
    if target is None:
        return False
    writer, used = target
    if hasattr(data, "savefig") and hasattr(data, "canvas"):  # a matplotlib figure
        writer.add_figure(name, data, used, close=True)
        return True
    array = np.asarray(to_numpy(data))
    if array.ndim == 4:
        writer.add_images(name, array[:max(1, max_outputs)], used, dataformats="NHWC")
    else:
        writer.add_image(name, array, used, dataformats="HWC")
    return True


@_guarded
def histogram(name: str, data: Any, step: int | None = None, buckets: int | None = None,
              description: str | None = None) -> bool:
    """Record the histogram of ``data`` in ``buckets`` equal buckets (30 by default, as TensorFlow).

    Example:
        >>> w = create_file_writer("runs/doc", write_to_disk=False, show=False)
        >>> with w.as_default(): histogram("weights", np.arange(10.0), step=0, buckets=5)
        True
    """
    target = _target(name, step)
    if target is None:
        return False
    writer, used = target
    writer.add_histogram(name, data, used, bins=buckets or 30)
    return True


@_guarded
def text(name: str, data: Any, step: int | None = None, description: str | None = None) -> bool:
    """Record a text (a str, bytes, or an array of strings, one per line).

    Example:
        >>> w = create_file_writer("runs/doc", write_to_disk=False, show=False)
        >>> with w.as_default(): text("notes", "lr = 0.1", step=0)
        True
    """
    target = _target(name, step)
    if target is None:
        return False
    writer, used = target
    if not isinstance(data, (str, bytes)) and hasattr(data, "tolist"):
        data = "\n".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                         for v in np.ravel(np.asarray(data.tolist(), dtype=object)))
    writer.add_text(name, data, used)
    return True


def flush(writer: FileWriter | None = None, name: str | None = None) -> None:
    """Flush ``writer`` (default: the default writer).

    Example:
        >>> flush()
    """
    chosen = writer or (_defaults[-1] if _defaults else _base)
    if chosen is not None:
        chosen.flush()


def _set_step(step: int | None) -> None:
    """The default step of the summary functions called without ``step=`` (``None``: none).

    Example:
        >>> experimental.set_step(5); experimental.get_step()
        5
        >>> experimental.set_step(None)
    """
    global _step
    _step = step_of(step)


def _get_step() -> int | None:
    """The default step, or ``None`` if none is set.

    Example:
        >>> experimental.get_step() is None
        True
    """
    return _step


def _reset() -> None:
    """Forget the default writers and step (for tests)."""
    global _base, _step
    _defaults.clear()
    _base, _step = None, None
    _warned.clear()


#: ``tf.summary.experimental``: ``set_step`` and ``get_step``.
experimental = types.SimpleNamespace(set_step=_set_step, get_step=_get_step)

__all__ = ["FileWriter", "create_file_writer", "create_noop_writer", "experimental", "flush", "histogram", "image",
           "scalar", "text"]
