"""JSON Lines logs: one JSON object a line, written by any language (:class:`JsonlWriter` writes them from Python).

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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core.callback import Callback
from ..core.distributed import is_rank_zero
from ..core.history import History
from ..core.steps import read_numbers
from .base import Point, Tail

EPOCH_SUFFIX = " (epoch)"  #: what :class:`JsonlWriter` adds to an epoch value's tag when its batches are traced too
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
                self.tail.warn(f"line {self.line} is not a record ({exc}); it is skipped")
        return points


class JsonlWriter(Callback):
    """Writes a run as this JSONL format, for a notebook to :func:`~livetrain.watch` while the run goes on elsewhere:
    a ``torchrun`` job, processes forked by Accelerate's ``notebook_launcher``, a job on a cluster. Give it to
    ``train_loop`` (or a :class:`~livetrain.SummaryWriter`'s ``callbacks``): the step-level traces (``on_log``) and
    the epoch values become records, at the step the epoch ended; an epoch value whose tag has a per-batch trace is
    named ``<phase>/<key> (epoch)`` (in a distributed ``train_loop``, the global mean beside rank 0's batches).
    Only global rank 0 writes. Values are read in one transfer per write, at most every ``interval`` seconds and at
    each epoch's end, never per batch; each write appends whole lines and flushes them.

    Example:
        >>> import tempfile, pathlib
        >>> from livetrain import train_loop
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.jsonl"
        >>> _ = train_loop(lambda b, p: {"loss": b}, {"train": [1.0, 2.0]}, 1, [JsonlWriter(path)], progress=False)
        >>> [(p.step, p.metrics) for p in JsonlReader(path).read()]
        [(1, {'train/loss': 1.0}), (2, {'train/loss': 2.0}), (2, {'train/loss (epoch)': 1.5})]
    """

    def __init__(self, path: str | os.PathLike[str], interval: float = 0.1) -> None:
        self.path, self.interval = Path(path), interval
        self._pending: list[tuple[int, float, float | None, str, Any]] = []  # step, wall, epoch, tag, value
        self._traced: set[str] = set()
        self._due = 0.0

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        wall, records = time.time(), history.records
        for tag, value in logs.items():
            if tag not in records:  # scalars only: images, histograms... stay in the history
                self._traced.add(tag)
                self._pending.append((step, wall, None, tag, value))
        if time.monotonic() >= self._due:
            self._write()

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        steps = getattr(history, "steps", {})
        step = max((int(t.step[-1]) for t in steps.values() if len(t)), default=epoch + 1)
        wall = time.time()
        for key, values in history.get(phase, {}).items():
            tag = f"{phase}/{key}"
            if values and np.ndim(values[-1]) == 0:
                named = f"{tag}{EPOCH_SUFFIX}" if tag in self._traced else tag
                self._pending.append((step, wall, float(epoch + 1), named, values[-1]))
        self._write()

    def on_train_end(self, history: History) -> None:
        self._write()

    def on_exception(self, exception: BaseException, history: History) -> None:
        self._write()

    def _write(self) -> None:
        self._due = time.monotonic() + self.interval
        pending, self._pending = self._pending, []
        if not pending or not is_rank_zero():
            return
        numbers, _ = read_numbers("jsonl", [p[4] for p in pending], [p[0] for p in pending])  # one transfer
        lines, record = [], None
        for (step, wall, epoch, tag, _), number in zip(pending, numbers.tolist()):
            if record is None or record["step"] != step or record.get("epoch") != epoch or tag in record["metrics"]:
                record = {"step": step, "time": round(wall, 3), "metrics": {}}
                if epoch is not None:
                    record["epoch"] = epoch
                lines.append(record)
            record["metrics"][tag] = number if math.isfinite(number) else str(number).replace("inf", "Infinity")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in lines))
