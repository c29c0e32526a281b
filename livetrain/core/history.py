"""The run's history: ``history[phase][key] == [one value per epoch]``, plus step-level traces and records.

Saved as a JSON document (the epoch values) and, beside it, an append-only binary sidecar (large arrays, traces and
records): see :meth:`History.save`. The format, and the code that writes and reads it: :mod:`livetrain.core.store`.
"""
from __future__ import annotations

import math
import operator
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .steps import Records, Steps, Trace, check_number
from .storeformat import BIG, FORMAT, VERSION, big

__all__ = ["BIG", "FORMAT", "VERSION", "History"]


class History(dict):
    """Per phase and per key, one value per epoch: the blog's ``history`` dict, with step-level data, save and load.

    It is a plain ``dict`` of ``{phase: {key: [values]}}``, so code written for the blog's dicts keeps working.
    ``steps`` holds the step-level scalars (:meth:`log`), one :class:`~livetrain.core.steps.Trace` per tag, each
    at its own cadence; ``records`` the step-level images, histograms, texts... (:meth:`record`).

    Large arrays among the epoch values (image batches: more than ``BIG`` elements) leave memory beyond the last
    ``keep_images`` per key (``None`` keeps all): older entries become ``None``, once saved if ``path`` is set.

    Example:
        >>> h = History()
        >>> h.append("train", {"loss": 0.9, "acc": 0.5})
        >>> h["train"]["loss"]
        [0.9]
        >>> h.log({"train/loss": 0.7}), h.log({"train/loss": 0.6}), h.steps["train/loss"].value.tolist()
        (0, 1, [0.7, 0.6])
    """

    def __init__(self, data: Any = (), /, *, keep_images: int | None = 4) -> None:
        super().__init__(data)
        if keep_images is not None and (not isinstance(keep_images, int) or keep_images < 0):
            raise ValueError(f"keep_images must be an int >= 0 or None (keep all); got {keep_images!r}")
        self.keep_images = keep_images
        self.steps = Steps()
        self.records: dict[str, Records] = {}
        self._path: Path | None = None
        self._saved: store.Saved | None = None  # what the last save (or load) put in which files
        self._next = 0  # the step a log without one gets

    @property
    def path(self) -> Path | None:
        """The file :meth:`save` last wrote (or :meth:`load` read, or ``train_loop`` will write): while set, large
        arrays and records leave memory only once saved."""
        return self._path

    @path.setter
    def path(self, value: str | os.PathLike | None) -> None:
        self._path = None if value is None else Path(value)
        for tag, rec in self.records.items():
            rec.saved = self._saved_records(tag)

    def append(self, phase: str, values: Mapping[str, Any], epoch: int | None = None) -> None:
        """Add one epoch's ``values`` for ``phase``: at index ``epoch`` of each key's list if given (gaps before it
        are padded: NaN for numbers, ``None`` otherwise), else at the end.

        With ``epoch``, a phase cut short (a kill between train and test), or a key missing some epochs or added
        later, stays aligned: index ``e`` is epoch ``e`` for every key.

        Example:
            >>> h = History(); h.append("test", {"acc": 0.75}); h.append("test", {"acc": 0.8, "f1": 0.5}, epoch=2)
            >>> h["test"]
            {'acc': [0.75, nan, 0.8], 'f1': [nan, nan, 0.5]}
        """
        if not isinstance(phase, str):
            raise TypeError(f"phase must be a str, got {type(phase).__name__}: {phase!r}")
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping of metric name to value, got {type(values).__name__}")
        if epoch is not None and (not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0):
            raise ValueError(f"epoch must be an int >= 0 or None, got {epoch!r}")
        series = self.setdefault(phase, {})
        for key, value in values.items():
            column = series.setdefault(key, [])
            if epoch is None or epoch == len(column):
                column.append(value)
            elif epoch > len(column):
                column.extend([_gap(value)] * (epoch - len(column)))
                column.append(value)
            else:
                column[epoch] = value
            if big(value):
                self._prune(phase, key, column)

    def last(self, phase: str, key: str) -> Any:
        """The latest value of ``key`` in ``phase``.

        Example:
            >>> History({"train": {"loss": [3.0, 2.0]}}).last("train", "loss")
            2.0
        """
        return self[phase][key][-1]

    def epochs(self, phase: str) -> int:
        """How many epochs ``phase`` has recorded (the longest of its series).

        Example:
            >>> History({"train": {"loss": [3.0, 2.0]}}).epochs("train")
            2
        """
        return max((len(v) for v in self.get(phase, {}).values()), default=0)

    def log(self, metrics: Mapping[str, Any], step: int | None = None, *, wall: float | None = None,
            epoch: float | None = None) -> int:
        """Add one point to the trace of each tag of ``metrics`` at ``step``; returns the step used.

        ``step=None`` is one past the largest step logged so far (0 at first); ``wall`` defaults to now. Values are
        kept as given (a JAX or torch scalar is not read here, which would wait for the device) and read when the
        trace is. Anything that cannot be a number is a ``TypeError`` naming its tag, and nothing is logged.
        Callbacks are not called: the caller calls their ``on_log``.

        Example:
            >>> h = History(); h.log({"loss": 1.0}, step=10); h.log({"loss": 0.5, "acc": 0.9})
            10
            11
            >>> h.steps["acc"].step.tolist(), h.steps["loss"].step.tolist()
            ([11], [10, 11])
        """
        if type(metrics) is not dict and not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of tag to number, got {type(metrics).__name__}")
        items = metrics.items()
        for tag, value in items:
            if type(tag) is not str:
                raise TypeError(f"tags must be str, got {type(tag).__name__} {tag!r}")
            if type(value) is not float:  # the common case, checked inline: this runs every training step
                check_number(tag, value)
        step = self._step(step)
        wall = time.time() if wall is None else float(wall)
        epoch = math.nan if epoch is None else float(epoch)
        steps = self.steps
        if steps.started is None:
            steps.started = wall
        for tag, value in items:
            trace = steps.get(tag)
            if trace is None:
                trace = steps[tag] = Trace(tag)
            trace.append(step, value, wall, epoch)
        return step

    def extend(self, tag: str, step: Any, value: Any, wall: Any = None, epoch: Any = None) -> None:
        """Add many points of one ``tag`` at once, as columns of equal length (numbers already read: a log file's):
        what as many :meth:`log` calls would add, at the cost of one. ``wall`` defaults to now, ``epoch`` to NaN.

        Example:
            >>> h = History(); h.extend("loss", [0, 1, 2], [0.9, 0.7, 0.6]); h.log({"loss": 0.5})
            3
            >>> h.steps["loss"].value.tolist()
            [0.9, 0.7, 0.6, 0.5]
        """
        if type(tag) is not str:
            raise TypeError(f"tags must be str, got {type(tag).__name__} {tag!r}")
        steps = np.asarray(step)
        if steps.ndim != 1 or not (steps.dtype.kind in "iu" or not len(steps)):
            raise TypeError(f"step must be a 1-d array of ints, got {steps.dtype} of shape {steps.shape}")
        n = len(steps)
        columns = [np.asarray(c, np.float64) if c is not None else np.full(n, d) for c, d in
                   ((value, math.nan), (wall, time.time()), (epoch, math.nan))]
        if any(c.shape != (n,) for c in columns):
            raise ValueError(f"{tag!r}: step, value, wall and epoch must have one length; got shapes "
                             f"{[steps.shape, *(c.shape for c in columns)]}")
        if not n:
            return
        trace = self.steps.get(tag)
        if trace is None:
            trace = self.steps[tag] = Trace(tag)
        trace.extend(steps, *columns)
        if self.steps.started is None:
            self.steps.started = float(columns[1][0])
        self._step(int(steps.max()))

    def record(self, tag: str, kind: str, value: Any, step: int | None = None, *, wall: float | None = None) -> int:
        """Add a non-scalar ``value`` (an image, a histogram, a text...; ``kind`` is one of ``steps.KINDS``) to
        ``records[tag]`` at ``step`` (``None``: as in :meth:`log`); returns the step used.

        Example:
            >>> h = History(); h.record("notes", "text", "hello", step=5)
            5
            >>> h.records["notes"].entries[0][::2]
            (5, 'hello')
        """
        if type(tag) is not str:
            raise TypeError(f"tags must be str, got {type(tag).__name__} {tag!r}")
        rec = self.records.get(tag)
        if rec is None:
            rec = Records(kind)
        elif rec.kind != kind:
            raise ValueError(f"records[{tag!r}] holds {rec.kind} values; got a {kind!r} value for it")
        step = self._step(step)
        wall = time.time() if wall is None else float(wall)
        if tag not in self.records:
            rec.saved = self._saved_records(tag)
            self.records[tag] = rec
        if self.steps.started is None:
            self.steps.started = wall
        rec.append(step, wall, value)
        return step

    def _step(self, step: int | None) -> int:
        if step is None:
            step = self._next
        elif type(step) is not int:
            try:
                step = operator.index(step)
            except TypeError:
                raise TypeError(f"step must be an int or None, got {type(step).__name__} {step!r:.40}") from None
        if step >= self._next:
            self._next = step + 1
        return step

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history to ``path``; later saves to the same path append only what is new.

        ``path`` gets a JSON document (format ``livetrain.history``, version 2), rewritten atomically, with the epoch
        values (strict JSON: NaN and infinities as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``); the traces, records
        and large arrays go to a binary sidecar beside it, ``<name>.<pid>.<token>.bin``, appended (no pickle). A save
        killed at any moment leaves the previous one loadable; what it left behind is deleted by the next save or
        load. The format: :mod:`livetrain.core.store`.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"
            >>> History({"train": {"loss": [1.0]}}).save(p).name
            'h.json'
        """
        path = Path(path)
        self.path = path
        self._saved = store.save(path, self, self.steps, self.records, self._saved)
        self.path = path  # the records now saved may leave memory
        for rec in self.records.values():
            rec.trim()
        for phase, series in list(self.items()):
            for key, column in list(series.items()) if isinstance(series, Mapping) else ():
                if isinstance(column, list):
                    self._prune(phase, key, column)
        store.clean(path, self._saved.file)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, keep_images: int | None = 4) -> History:
        """Read a history written by :meth:`save` (any format version up to this one's), or a plain
        ``{phase: {key: [values]}}`` JSON file. Large arrays come back as numpy arrays, only the last
        ``keep_images`` per key (``None``: all); the older ones are ``None`` (and stay in the files).

        A save cut short by a kill is skipped; anything else that is not a history is a ``ValueError`` naming the
        file, the place and what was expected.

        Example:
            >>> import tempfile, pathlib
            >>> p = History({"train": {"loss": [float("nan")]}}).save(pathlib.Path(tempfile.mkdtemp()) / "h.json")
            >>> History.load(p)["train"]["loss"]
            [nan]
        """
        history = cls(keep_images=keep_images)
        history._saved, history._next = store.load(Path(path), history, history.steps, history.records, keep_images)
        history.path = path
        return history

    def _saved_records(self, tag: str) -> int | None:
        """How many entries of ``records[tag]`` are saved (``Records.saved``): ``None`` without a path."""
        if self._path is None:
            return None
        return 0 if self._saved is None else self._saved.count(tag)

    def _prune(self, phase: str, key: str, column: list) -> None:
        """Replace by ``None`` the large arrays of ``column`` before its last ``keep_images`` ones: all of them
        without a ``path``, else those saved."""
        keep, saved, seen = self.keep_images, self._saved, 0
        if keep is None:
            return
        for i in range(len(column) - 1, -1, -1):
            value = column[i]
            if value is None or not big(value):
                continue
            seen += 1
            if seen > keep and (self._path is None or (saved is not None and saved.holds((phase, key, i), value))):
                column[i] = None


def _gap(value: Any) -> Any:
    """What fills an epoch without a value, in a series of values like ``value``: NaN for numbers, else None."""
    return math.nan if isinstance(value, (int, float, np.number)) or getattr(value, "ndim", None) == 0 else None
