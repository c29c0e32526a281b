"""JSON Lines logs: one JSON object a line, written by any language.

The format (documented in the README)::

    {"step": 120, "epoch": 1.5, "phase": "train", "time": 1733030000.1, "metrics": {"loss": 0.31, "acc": 0.9}}

``metrics`` maps names to numbers; every other key is optional: ``step`` (an integer; default one past the last),
``epoch`` (a number, fractional within an epoch), ``phase`` (the tags become ``phase/name``), ``time`` (Unix seconds;
default when read). A flat object (``{"step": 3, "loss": 0.5}``) works too: its numbers other than step, epoch and
time are the metrics. ``null``, ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` are NaN and infinities.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any

from .base import Point, Tail

_RESERVED = ("step", "epoch", "phase", "time", "wall", "metrics")
_NONFINITE = {"NaN": math.nan, "nan": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "inf": math.inf,
              "-inf": -math.inf}


def parse_record(obj: Any) -> Point:
    """One JSONL record as a :class:`~livetrain.sources.base.Point`; a ``ValueError`` says what is wrong with it.

    Example:
        >>> parse_record({"step": 3, "phase": "val", "metrics": {"loss": 0.5, "acc": None}})
        Point(metrics={'val/loss': 0.5, 'val/acc': nan}, step=3, wall=None, epoch=None, records=None)
        >>> parse_record({"step": 4, "loss": 0.25}).metrics
        {'loss': 0.25}
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    metrics = obj.get("metrics")
    if metrics is None:
        metrics = {k: v for k, v in obj.items() if k not in _RESERVED and _number(v) is not None}
    elif not isinstance(metrics, dict):
        raise ValueError(f"'metrics' must be an object of name to number, got {type(metrics).__name__}")
    phase = obj.get("phase")
    prefix = f"{phase}/" if isinstance(phase, str) and phase else ""
    values = {}
    for name, value in metrics.items():
        number = _number(value)
        if number is None:
            raise ValueError(f"metric {name!r} must be a number, null or \"NaN\", got {value!r:.40}")
        values[prefix + str(name)] = number
    step = obj.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        else:
            raise ValueError(f"'step' must be an integer, got {step!r:.40}")
    return Point(values, step, _optional(obj, "time", "wall"), _optional(obj, "epoch"))


def _optional(obj: dict[str, Any], *names: str) -> float | None:
    """The first of ``names`` that ``obj`` holds, as a float; ``None`` if none (a value that is no number is a
    ``ValueError``)."""
    for name in names:
        if obj.get(name) is not None:
            number = _number(obj[name])
            if number is None:
                raise ValueError(f"{name!r} must be a number, got {obj[name]!r:.40}")
            return number
    return None


def _number(value: Any) -> float | None:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return _NONFINITE.get(value) if isinstance(value, str) else None


class JsonlReader:
    """Follows a JSONL log: each :meth:`read` returns the records completed since the last one. A line that is not a
    record (a writer killed mid-line, then restarted) is skipped with one warning naming the file and line.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.jsonl"
        >>> _ = path.write_text('{"step": 1, "metrics": {"loss": 0.5}}\\n{"step": 2, "metr')
        >>> reader = JsonlReader(path); [p.step for p in reader.read()]
        [1]
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.tail = Tail(path)
        self.line = 0
        self._warned = False

    def read(self) -> list[Point]:
        points = []
        data = self.tail.read()
        if self.tail.restarted:
            self.line = 0
        for raw in data.splitlines():
            self.line += 1
            if not raw.strip():
                continue
            try:
                points.append(parse_record(json.loads(raw)))
            except ValueError as exc:
                self._warn(f"line {self.line} is not a record ({exc}); it is skipped")
        return points

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(f"livetrain: {self.tail.path}: {message} (this is the only warning for this file)",
                          RuntimeWarning, stacklevel=3)
