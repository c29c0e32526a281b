"""The sources layer: readers that follow a log written by anything (another process, another language) as it grows,
and :class:`~livetrain.sources.jsonl.JsonlWriter`, which writes a run as JSONL for them.

A new format is one module with a reader class (``Reader(path)``, whose ``read()`` returns the
:class:`~livetrain.sources.base.Point`\\ s, or :class:`~livetrain.sources.base.Series` of one tag's points, completed
since the last call), its test, and one line in :data:`FORMATS`.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Protocol

from .base import Point, Series, as_points

#: Format name -> its reader, ``"module:Class"`` (imported when a file of that format is read).
FORMATS: dict[str, str] = {
    "jsonl": "livetrain.sources.jsonl:JsonlReader",
    "csv": "livetrain.sources.csv:CsvReader",
    "tfevents": "livetrain.sources.events:EventsReader",
}


class Reader(Protocol):
    """What :func:`open_reader` returns."""

    def read(self) -> list[Point | Series]: ...


def format_of(path: str | os.PathLike[str]) -> str | None:
    """The format of a log file by its name: ``*.jsonl`` / ``*.ndjson``, ``*.csv``, ``events.out.tfevents.*``.

    Example:
        >>> format_of("runs/a/events.out.tfevents.1700000000.host.1.0"), format_of("log.jsonl"), format_of("x.txt")
        ('tfevents', 'jsonl', None)
    """
    name = Path(path).name
    if "tfevents" in name:
        return "tfevents"
    suffix = Path(name).suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(suffix)


def open_reader(path: str | os.PathLike[str], format: str | None = None) -> Reader:
    """A reader following ``path``, by its ``format`` (default: :func:`format_of` its name).

    Example:
        >>> open_reader("run.txt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: cannot tell the format of 'run.txt': expected a name ending .jsonl, .ndjson or .csv, or an ...
    """
    kind = format or format_of(path)
    if kind not in FORMATS:
        given = f"format={format!r}" if format else f"the format of {os.fspath(path)!r}"
        raise ValueError(f"cannot tell {given}: expected a name ending .jsonl, .ndjson or .csv, or an event file "
                         f"(events.out.tfevents.*), or format= one of {', '.join(map(repr, FORMATS))}")
    module, _, name = FORMATS[kind].partition(":")
    reader_class: Any = getattr(importlib.import_module(module), name)
    return reader_class(path)


def find_logs(root: str | os.PathLike[str]) -> dict[str, Path]:
    """Every log under the folder ``root``, by run name: an event file's run is its folder (as TensorBoard names
    runs; ``.`` for ``root`` itself), another log's is its path without the suffix. A run's newer event file (a
    restarted writer) replaces the older one.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "b").mkdir()
        >>> for name in ("a.jsonl", "b/events.out.tfevents.1.h.1.0", "notes.txt"): _ = (root / name).write_bytes(b"")
        >>> sorted(find_logs(root))
        ['a', 'b']
    """
    root = Path(root)
    runs: dict[str, Path] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and format_of(p) is not None):
        relative = path.relative_to(root)
        if format_of(path) == "tfevents":
            name = relative.parent.as_posix()
        else:
            name = relative.with_suffix("").as_posix()
        runs[name] = path  # sorted: the newest event file of a folder (its name starts with the time) wins
    return runs


__all__ = ["FORMATS", "Point", "Reader", "Series", "as_points", "find_logs", "format_of", "open_reader"]
