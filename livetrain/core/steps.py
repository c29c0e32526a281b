"""Step-level data: ``Trace`` (one tag's scalars, each at its own step), ``Steps`` (tag -> Trace) and ``Records``
(one tag's images, histograms, texts and other non-scalar values).

A logged value stays as it was given (a JAX or torch scalar is not read, which would wait for the device) until a
column is read; then every pending value of the trace is read in one batch.
"""
from __future__ import annotations

import importlib
import math
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

KINDS = ("image", "histogram", "text", "pr_curve", "embedding", "graph", "hparams")
_EXPECTED = "a number or a 0-d (one-element) array/tensor"


class Trace:
    """One tag's scalar series: parallel columns ``step``, ``value``, ``wall`` (unix seconds) and ``epoch`` (NaN
    where unknown), one row per :meth:`append`.

    Appending is O(1) and reads nothing: a value is kept as given until a column is read; then all pending values
    are converted in one batch (torch: stacked, then one copy to the CPU; JAX: stacked, then one ``np.asarray``).
    The columns are read-only views of the filled part. One thread may append while others read.

    Example:
        >>> t = Trace("train/loss")
        >>> t.append(0, 0.5, wall=100.0); t.append(10, 0.25, wall=101.0, epoch=1.0)
        >>> len(t), t.step.tolist(), t.value.tolist(), t.epoch.tolist()
        (2, [0, 10], [0.5, 0.25], [nan, 1.0])
    """

    __slots__ = ("tag", "_n", "_step", "_value", "_wall", "_epoch", "_new", "_lock")

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self._n = 0
        self._step = np.empty(0, np.int64)
        self._value = self._wall = self._epoch = np.empty(0, np.float64)
        # appended, not yet in the columns: one list per column (transposing a million rows would take a second)
        self._new: tuple[list[int], list[Any], list[float], list[float]] = ([], [], [], [])
        self._lock = threading.Lock()  # readers move pending rows into the columns one at a time

    def append(self, step: int, value: Any, wall: float, epoch: float = math.nan) -> None:
        """Add one point; ``value`` is stored as given and read later, with the others."""
        steps, values, walls, epochs = self._new
        steps.append(step)
        values.append(value)
        walls.append(wall)
        epochs.append(epoch)  # last: a reader takes as many rows as this column holds

    def extend(self, step: np.ndarray, value: np.ndarray, wall: np.ndarray, epoch: np.ndarray) -> None:
        """Add many points already read (equal-length arrays), e.g. from a saved history.

        Example:
            >>> t = Trace(); t.extend(np.arange(3), np.ones(3), np.zeros(3), np.full(3, np.nan)); len(t)
            3
        """
        with self._lock:
            self._sync()
            self._put(np.asarray(step, np.int64), np.asarray(value, np.float64), np.asarray(wall, np.float64),
                      np.asarray(epoch, np.float64))

    def __len__(self) -> int:
        return self._n + len(self._new[3])

    def __getstate__(self) -> tuple[Any, ...]:  # for pickle and copy: the columns, read
        return self.tag, self.step.copy(), self.value.copy(), self.wall.copy(), self.epoch.copy()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        tag, *columns = state
        self.__init__(tag)  # type: ignore[misc]
        self.extend(*columns)

    @property
    def step(self) -> np.ndarray:
        """The global step of each point (int64)."""
        return self._column(0)

    @property
    def value(self) -> np.ndarray:
        """Each point's value (float64); pending values are read here, in one batch."""
        return self._column(1)

    @property
    def wall(self) -> np.ndarray:
        """When each point was logged, in unix seconds (float64)."""
        return self._column(2)

    @property
    def epoch(self) -> np.ndarray:
        """Each point's (fractional) epoch, NaN where unknown (float64)."""
        return self._column(3)

    def _column(self, i: int) -> np.ndarray:
        if self._new[3]:
            with self._lock:
                self._sync()
        view = (self._step, self._value, self._wall, self._epoch)[i][:self._n]
        view.flags.writeable = False
        return view

    def _sync(self) -> None:
        """Move the pending rows into the columns, reading their values; under ``_lock``. A value that is not a
        number reads as NaN and raises a ``TypeError`` naming the tag, once."""
        n = len(self._new[3])
        if not n:
            return
        new = self._new
        steps, values, walls, epochs = new[0][:n], new[1][:n], new[2][:n], new[3][:n]
        for column in new:
            del column[:n]  # an append racing with this lands after the n rows taken
        read, error = read_numbers(self.tag, values, steps)
        self._put(np.array(steps, np.int64), read, np.array(walls, np.float64), np.array(epochs, np.float64))
        if error is not None:
            raise error

    def _put(self, step: np.ndarray, value: np.ndarray, wall: np.ndarray, epoch: np.ndarray) -> None:
        n, k = self._n, len(step)
        if n + k > len(self._step):  # grow geometrically: amortised O(1) per point
            size = max(16, n + k, 2 * len(self._step))
            self._step, self._value, self._wall, self._epoch = (
                _grown(c, n, size) for c in (self._step, self._value, self._wall, self._epoch))
        self._step[n:n + k], self._value[n:n + k], self._wall[n:n + k], self._epoch[n:n + k] = step, value, wall, epoch
        self._n = n + k

    def __repr__(self) -> str:
        return f"Trace({self.tag!r}, points={len(self)})"


def _grown(column: np.ndarray, n: int, size: int) -> np.ndarray:
    out = np.empty(size, column.dtype)
    out[:n] = column[:n]
    return out


class Steps(dict[str, Trace]):
    """The step-level traces of a run, by tag; ``started`` is the wall time of the first point (for relative time).

    Example:
        >>> s = Steps(); s["loss"] = Trace("loss"); list(s), s.started
        (['loss'], None)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: float | None = None


class Records:
    """One tag's non-scalar step-level values, of one ``kind`` (see ``KINDS``): ``(step, wall, value)`` entries.

    ``entries`` holds the last ``keep`` in memory (default: 10 for images, all for the other kinds); ``total``
    counts every entry appended. While ``saved`` is an int (a :class:`~livetrain.History` that saves to a file sets
    it), entries from that index on stay in memory until saved.

    Example:
        >>> r = Records("image", keep=2)
        >>> for step in range(5):
        ...     r.append(step, 0.0, f"picture {step}")
        >>> r.total, [e[0] for e in r.entries]
        (5, [3, 4])
    """

    def __init__(self, kind: str, keep: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"record kind must be one of {', '.join(KINDS)}; got {kind!r}")
        if keep is not None and (not isinstance(keep, int) or keep < 0):
            raise ValueError(f"keep must be an int >= 0 or None (keep all); got {keep!r}")
        self.kind = kind
        self.keep = (10 if kind == "image" else None) if keep is None else keep
        self.total = 0
        self.saved: int | None = None
        self._entries: list[tuple[int, float, Any]] = []
        self._first = 0  # the index of _entries[0] among all entries appended

    def append(self, step: int, wall: float, value: Any) -> None:
        """Add one entry; the oldest leave memory beyond ``keep`` (once saved, while ``saved`` is set)."""
        self._entries.append((step, wall, value))
        self.total += 1
        self.trim()

    @property
    def entries(self) -> list[tuple[int, float, Any]]:
        """The last ``keep`` entries (all, if ``keep`` is None), oldest first."""
        keep = len(self._entries) if self.keep is None else self.keep
        return self._entries[max(0, len(self._entries) - keep):]

    @property
    def first(self) -> int:
        """The index (counting every entry appended) of the oldest entry still in memory."""
        return self._first

    def skip(self, count: int) -> None:
        """Count ``count`` entries kept only elsewhere (a loaded history's older ones); before any other entry.

        Example:
            >>> r = Records("text"); r.skip(3); r.append(7, 0.0, "new"); r.total, r.first
            (4, 3)
        """
        if self.total:
            raise ValueError("Records.skip counts the entries before the first one in memory; call it first")
        self.total = self._first = count

    def since(self, index: int) -> list[tuple[int, float, Any]]:
        """The entries from ``index`` (counting every entry appended) on that are still in memory."""
        return self._entries[max(0, index - self._first):]

    def trim(self) -> None:
        """Let the entries before the last ``keep`` leave memory, except unsaved ones while ``saved`` is set."""
        if self.keep is None:
            return
        limit = self.total - self.keep if self.saved is None else min(self.total - self.keep, self.saved)
        if limit > self._first:
            del self._entries[:limit - self._first]
            self._first = limit

    def __len__(self) -> int:
        return self.total

    def __repr__(self) -> str:
        return f"Records({self.kind!r}, total={self.total}, in memory={len(self._entries)})"


def check_number(tag: str, value: Any) -> None:
    """Raise a ``TypeError`` naming ``tag`` unless ``value`` can be a number, without reading it (no device sync):
    Python and numpy numbers, 0-d or one-element arrays and tensors, and objects with ``__float__``.

    Example:
        >>> check_number("loss", 0.5)
        >>> check_number("loss", "high")
        Traceback (most recent call last):
        TypeError: 'loss': expected a number or a 0-d (one-element) array/tensor, got str 'high'
    """
    if type(value) in (float, int) or getattr(value, "ndim", None) == 0:
        return
    if isinstance(value, (str, bytes, dict)) or (isinstance(value, (list, tuple)) and len(value) != 1):
        raise TypeError(f"{tag!r}: expected {_EXPECTED}, got {_describe(value)}")
    if isinstance(value, (list, tuple)):
        return check_number(tag, value[0])
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            if math.prod(shape) == 1:
                return
        except TypeError:
            pass
        raise TypeError(f"{tag!r}: expected {_EXPECTED}, got {_describe(value)}")
    if not hasattr(value, "__float__"):
        raise TypeError(f"{tag!r}: expected {_EXPECTED}, got {_describe(value)}")


def read_numbers(tag: str, values: Sequence[Any], steps: Sequence[float],
                 axis: str = "step") -> tuple[np.ndarray, TypeError | None]:
    """``values`` as float64, read in as few batches as there are value types; what is not a number reads as NaN,
    and the ``TypeError`` returned names ``tag`` and the first such value's step (or its place on ``axis``).

    Example:
        >>> read_numbers("loss", [0.5, 1, np.float32(2)], [0, 1, 2])[0].tolist()
        [0.5, 1.0, 2.0]
    """
    kinds = set(map(type, values))
    if kinds <= {float, int}:
        try:
            return np.array(values, np.float64), None
        except OverflowError:
            pass  # an int too large for a float: found value by value below
    out = np.empty(len(values), np.float64)
    groups: dict[type, list[int]] = {}
    for i, kind in enumerate(map(type, values)):
        groups.setdefault(kind, []).append(i)
    bad: int | None = None
    for kind, where in groups.items():
        group = [values[i] for i in where]
        read = _batch(kind, group)
        if read is None:  # a batch read failed: value by value, NaN for what is not a number
            ones = [_one(v) for v in group]
            failed = [i for i, r in zip(where, ones) if r is None]
            if failed:
                bad = min(failed[0], bad) if bad is not None else failed[0]
            read = np.array([math.nan if r is None else r for r in ones], np.float64)
        out[where] = read
    if bad is None:
        return out, None
    return out, TypeError(f"trace {tag!r}: the value logged at {axis} {steps[bad]:g} is not a number; expected "
                          f"{_EXPECTED}, got {_describe(values[bad])}. It reads as NaN")


def _batch(kind: type, group: list[Any]) -> np.ndarray | None:
    """One batch read of values of one type, or ``None`` if it cannot be done that way."""
    module, torch = kind.__module__ or "", sys.modules.get("torch")
    try:
        if kind in (float, int, bool) or module.startswith("numpy"):
            out = np.asarray(group, np.float64)
        elif torch is not None and issubclass(kind, torch.Tensor):  # torch's own, or a subclass
            with torch.no_grad():
                out = torch.stack(group).detach().cpu().to(torch.float64).numpy()
        elif module.startswith("jax"):  # one transfer of them all; jnp.stack would compile anew for each length
            out = np.asarray(importlib.import_module("jax").device_get(group), np.float64)
        else:
            return None
    except Exception:  # noqa: BLE001 - mixed shapes or devices, a huge int, not a number: read value by value
        return None
    return out.reshape(-1) if out.size == len(group) else None


def _one(value: Any) -> float | None:
    """One value as a float, or ``None`` if it is not a number."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        if hasattr(value, "item"):
            value = value.item()
        return None if isinstance(value, (str, bytes, complex)) else float(value)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    name = type(value).__name__
    if shape is not None and not isinstance(value, (str, bytes)):
        return f"{name} with shape {tuple(shape)}"
    if isinstance(value, (list, tuple, dict)):
        return f"{name} of {len(value)}"
    return f"{name} {value!r:.60}"
