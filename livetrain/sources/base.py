"""What a log reader yields (:class:`Point`, :class:`Series`), and :class:`Tail`: a file's complete new lines or
records, once each."""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


class Point(NamedTuple):
    """One logged record: metrics tagged ``phase/key`` (or plain keys) at a step, with its wall time and epoch
    when the log has them (``None`` otherwise), and non-scalar values as ``{tag: (kind, value)}`` (an event file's
    images, histograms and texts, in the shapes :meth:`~livetrain.History.record` takes)."""
    metrics: dict[str, float]
    step: int | None = None
    wall: float | None = None
    epoch: float | None = None
    records: dict[str, tuple[str, Any]] | None = None


class Series(NamedTuple):
    """Many points of one tag read at once, as columns: what an event file's one-scalar records become (a record per
    scalar, as torch writes them), instead of a :class:`Point` each. ``History.extend`` takes them as they are."""
    tag: str
    step: np.ndarray  #: int64
    value: np.ndarray  #: float64
    wall: np.ndarray  #: float64, unix seconds


def as_points(items: Iterable[Point | Series]) -> list[Point]:
    """A reader's items as points: a :class:`Series` becomes a point per row.

    Example:
        >>> s = Series("loss", np.array([1, 2]), np.array([0.5, 0.25]), np.array([10.0, 11.0]))
        >>> [(p.step, p.metrics) for p in as_points([s, Point({"acc": 0.5}, 3)])]
        [(1, {'loss': 0.5}), (2, {'loss': 0.25}), (3, {'acc': 0.5})]
    """
    points: list[Point] = []
    for item in items:
        if isinstance(item, Series):
            points += [Point({item.tag: value}, step, wall)
                       for step, value, wall in zip(item.step.tolist(), item.value.tolist(), item.wall.tolist())]
        else:
            points.append(item)
    return points


class Tail:
    """The bytes appended to ``path`` since the last :meth:`read`, up to the end of the last complete line (or what
    ``complete(data)`` says is complete): a half-written line is left for a later read. A file that shrank (rewritten
    from the start) is read again from its beginning.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "log.jsonl"
        >>> _ = path.write_text('{"a": 1}\\n{"a"')
        >>> tail = Tail(path); tail.read()
        b'{"a": 1}\\n'
        >>> with open(path, "a") as f: _ = f.write(': 2}\\n')
        >>> tail.read()
        b'{"a": 2}\\n'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0  #: bytes consumed so far
        self.restarted = False  #: whether the last read found the file shrunk and started over
        self._warned = False

    def read(self, complete: bool = True) -> bytes:
        """The new complete lines (``complete=False``: every new byte; the caller then sets :attr:`offset`)."""
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.restarted = size < self.offset
                if self.restarted:
                    self.offset = 0
                if size == self.offset:
                    return b""
                f.seek(self.offset)
                data = f.read(size - self.offset)
        except FileNotFoundError:
            return b""
        if not complete:
            return data
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end]

    def warn(self, message: str) -> None:
        """Warn once per file: ``livetrain: <path>: <message>`` (a reader's skipped record, say)."""
        if not self._warned:
            self._warned = True
            warnings.warn(f"livetrain: {self.path}: {message} (this is the only warning for this file)",
                          RuntimeWarning, stacklevel=4)
