"""The run's history: ``history[phase][key] == [one value per epoch]``, saved as JSON."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .files import atomic_path
from .metrics import to_numpy

FORMAT = "livetrain.history"
VERSION = 1
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class History(dict):
    """Per phase and per key, one value per epoch: the blog's ``history`` dict, with save and load.

    It is a plain ``dict`` of ``{phase: {key: [values]}}``, so code written for the blog's
    dicts keeps working.

    Example:
        >>> h = History()
        >>> h.append("train", {"loss": 0.9, "acc": 0.5})
        >>> h["train"]["loss"]
        [0.9]
    """

    def append(self, phase: str, values: Mapping[str, Any]) -> None:
        """Append one epoch's ``values`` for ``phase``.

        Example:
            >>> h = History(); h.append("test", {"acc": 0.75}); h.last("test", "acc")
            0.75
        """
        if not isinstance(phase, str):
            raise TypeError(f"phase must be a str, got {type(phase).__name__}: {phase!r}")
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping of metric name to value, got {type(values).__name__}")
        series = self.setdefault(phase, {})
        for key, value in values.items():
            series.setdefault(key, []).append(value)

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

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history to ``path`` as JSON, atomically (temporary file, then rename).

        numpy and torch values are written as numbers or nested lists; NaN and infinities
        as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, so the file is strict JSON.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"
            >>> History({"train": {"loss": [1.0]}}).save(p).name
            'h.json'
        """
        text = json.dumps({"format": FORMAT, "version": VERSION, "history": _encode(dict(self))},
                          allow_nan=False)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a history written by :meth:`save`, or a plain ``{phase: {key: [values]}}`` JSON file.

        Example:
            >>> import tempfile, pathlib
            >>> p = History({"train": {"loss": [float("nan")]}}).save(pathlib.Path(tempfile.mkdtemp()) / "h.json")
            >>> History.load(p)["train"]["loss"]
            [nan]
        """
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        data = doc["history"] if isinstance(doc, dict) and doc.get("format") == FORMAT else doc
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError(f"{path}: expected a livetrain history or a {{phase: {{key: [values]}}}} "
                             f"JSON object, got {type(data).__name__}")
        return cls({phase: {k: list(_decode(v)) for k, v in series.items()} for phase, series in data.items()})


def _encode(obj: Any) -> Any:
    """JSON-ready copy of ``obj``: arrays and tensors to lists, non-finite floats to strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("NaN" if math.isnan(obj) else "Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    obj = to_numpy(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return _encode(obj.tolist())
    raise TypeError(f"cannot save a {type(obj).__name__} in a history; expected numbers, lists or arrays")


def _decode(obj: Any) -> Any:
    """Inverse of :func:`_encode` for the non-finite markers."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    return obj
