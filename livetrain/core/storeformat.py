"""The history file's format, shared by its writer (:mod:`livetrain.core.store`) and its reader
(:mod:`livetrain.core.storeread`): names and versions, the sidecar's trace columns, and :class:`Saved`, what a save
or load put where.
"""
from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

FORMAT = "livetrain.history"
VERSION = 2
BIG = 64  # an array with more elements than this goes to the sidecar, and only the last few stay in memory
MARK = "$sidecar"  # {"$sidecar": offset}: in the JSON, an epoch value stored in the sidecar at that byte
SIDECAR = "livetrain.history.sidecar"
COLUMNS = (("step", "<i8"), ("value", "<f8"), ("wall", "<f8"), ("epoch", "<f8"))  # a traces record's, in order
Where = tuple[str, str, int]  # (phase, key, epoch index)


@dataclass
class Saved:
    """What the last save (or load) put where: the sidecar, its committed length, and how far each piece is saved.

    Example:
        >>> s = Saved.fresh(Path("h.json")); s.file, s.count("images"), s.holds(("train", "images", 0), [])
        (None, 0, False)
    """
    path: Path  # absolute
    token: str
    file: str | None = None  # the sidecar's name, once there is one
    bytes: int = 0  # its committed length: the JSON names it; anything after it is a save cut short
    stat: tuple[int, ...] | None = None  # the JSON file as this save left it
    traces: dict[str, int] = field(default_factory=dict)  # points saved, per tag
    records: dict[str, list[int | None]] = field(default_factory=dict)  # per tag, each entry's byte (None: lost)
    arrays: dict[Where, tuple[int, int | None]] = field(default_factory=dict)  # byte, id() of the value saved

    @classmethod
    def fresh(cls, path: Path) -> Saved:
        return cls(Path(os.path.abspath(path)), secrets.token_hex(4))

    def appends_to(self, path: Path) -> bool:
        """Whether a save to ``path`` can append: the files are as this save left them."""
        if Path(os.path.abspath(path)) != self.path or self.stat is None or identity(path) != self.stat:
            return False
        try:
            return self.file is None or os.path.getsize(self.path.parent / self.file) >= self.bytes
        except OSError:
            return False

    def copy(self) -> Saved:
        return Saved(self.path, self.token, self.file, self.bytes, self.stat, dict(self.traces),
                     {tag: list(at) for tag, at in self.records.items()}, dict(self.arrays))

    def count(self, tag: str) -> int:
        """How many entries of ``records[tag]`` are saved."""
        return len(self.records.get(tag, ()))

    def holds(self, where: Where, value: Any) -> bool:
        """Whether ``value`` (itself, not an equal one) is the array saved for ``where``."""
        return self.arrays.get(where, (0, None))[1] == id(value)


def big(value: Any) -> bool:
    """Whether ``value`` is an array with more than ``BIG`` elements (an image batch, say): the sidecar holds those.

    Example:
        >>> import numpy as np
        >>> big(np.zeros((2, 8, 8))), big(np.zeros(8)), big([0.0] * 100)
        (True, False, False)
    """
    if value is None or type(value) in (float, int, str, list, dict, tuple):
        return False
    shape = getattr(value, "shape", None)
    try:
        return shape is not None and math.prod(shape) > BIG
    except TypeError:
        return False


def identity(path: str | os.PathLike | int) -> tuple[int, ...] | None:
    """What tells one version of a file from another (device, inode, size, modification time); ``None``: no file.

    Example:
        >>> identity("/no/such/file") is None, len(identity("/"))
        (True, 4)
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class Opened:
    """A context that closes ``file`` (once opened) at its end.

    Example:
        >>> with Opened() as o: o.file = open(os.devnull, "rb")
        >>> o.file.closed
        True
    """
    file: IO[bytes] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()
