"""Files that survive a kill: atomic rewrites (readers see the old file or the new one, never half of one), append-only
files of framed records, and the cleanup of what a killed writer left behind."""
from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once, at import: os.umask can only be read by setting it

_HEAD = struct.Struct("<4sIQ")  # magic, header length, payload length
MAGIC = b"LTR1"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; it replaces ``path`` if the block ends without error.

    The folder is created if needed; the file gets a normal file's mode (not mkstemp's private one). The temporary
    file is named ``.<name>.<pid>.<random>.tmp``: one a killed process left behind is found by :func:`orphans`.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out" / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text()
        'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def orphans(folder: Path, prefix: str, suffix: str) -> Iterator[tuple[Path, int]]:
    """The files of ``folder`` named ``<prefix><pid>.<anything><suffix>``, with the pid of the process that made
    them, for those whose process is gone or is this one (the caller knows which of its own are in use).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / ".h.json.999999999.x.tmp").write_text("")
        >>> [(p.name, pid) for p, pid in orphans(folder, ".h.json.", ".tmp")]
        [('.h.json.999999999.x.tmp', 999999999)]
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        pid, dot, _ = name[len(prefix):].partition(".")
        if dot and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            yield folder / name, int(pid)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # there os.kill(pid, 0) would end the process: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number too large to be a pid
        return False
    except PermissionError:  # another user's process
        return True
    return True


def frame(header: Mapping[str, Any], *payload: bytes | memoryview) -> list[bytes | memoryview]:
    """One record of an append-only file: a fixed head (magic, lengths), ``header`` as JSON, then ``payload``.

    Example:
        >>> import io
        >>> f = io.BytesIO(b"".join(frame({"t": "note"}, b"abc")))
        >>> [(r.header, f.getvalue()[r.start:r.start + r.size]) for r in frames(f, len(f.getvalue()), "f")]
        [({'t': 'note'}, b'abc')]
    """
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return [_HEAD.pack(MAGIC, len(head), sum(memoryview(p).nbytes for p in payload)), head, *payload]


class Record(NamedTuple):
    """A record found by :func:`frames`: where it starts, its header, and where its payload is."""
    offset: int
    header: dict[str, Any]
    start: int
    size: int


def frames(f: IO[bytes], end: int, name: str, offset: int = 0) -> Iterator[Record]:
    """The complete records of ``f`` from ``offset`` up to byte ``end``; one cut short by ``end`` is not read.
    Anything else that is not a record is a ``ValueError`` naming ``name`` and the byte."""
    while offset + _HEAD.size <= end:
        f.seek(offset)
        magic, head, size = _HEAD.unpack(f.read(_HEAD.size))
        if magic != MAGIC:
            raise ValueError(f"{name}: byte {offset}: expected a livetrain record (magic {MAGIC!r}), got {magic!r}")
        start = offset + _HEAD.size + head
        if start + size > end:
            return
        try:
            header = json.loads(f.read(head))
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise ValueError(f"{name}: byte {offset}: a record's header is not a JSON object")
        yield Record(offset, header, start, size)
        offset = start + size


def raw_record(f: IO[bytes], offset: int) -> bytes:
    """The bytes of the whole record at ``offset`` (to copy it into another file)."""
    f.seek(offset)
    head = f.read(_HEAD.size)
    magic, length, size = _HEAD.unpack(head) if len(head) == _HEAD.size else (b"", 0, 0)
    data = f.read(length + size)
    if magic != MAGIC or len(data) != length + size:
        raise ValueError(f"byte {offset}: expected a whole livetrain record")
    return head + data
