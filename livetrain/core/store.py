"""How a History is written to and read from disk: the JSON document and its append-only binary sidecar.

The JSON document (format ``livetrain.history``, version 2) is rewritten atomically at each save: the epoch values,
numbers and small arrays as JSON (NaN and infinities as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``: strict JSON),
arrays of more than ``BIG`` elements as ``{"$sidecar": byte}``, and ``"sidecar"``: the sidecar's name, its token and
how many of its bytes are committed. The sidecar, ``<name>.<pid>.<token>.bin`` beside the JSON and made only when
there is something to put in it, holds framed records (:func:`~livetrain.core.files.frame`: JSON headers, raw
little-endian columns and ``.npy`` arrays, no pickle), appended: a ``sidecar`` head, then ``traces`` (the points
logged since the previous save, four columns of all tags), ``record`` (one record entry: its value as a JSON tree
whose arrays follow as ``.npy``) and ``array`` (one large epoch value). A save killed at any moment leaves the
previous one loadable; what it left behind is deleted by the next save or load.

This module works on plain mappings, :class:`~livetrain.core.steps.Steps` and
:class:`~livetrain.core.steps.Records`; :class:`~livetrain.core.history.History` calls it.
"""
from __future__ import annotations

import io
import json
import math
import os
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

import numpy as np

from .files import atomic_path, frame, frames, orphans, raw_record
from .metrics import to_numpy
from .steps import Records, Steps, Trace

FORMAT = "livetrain.history"
VERSION = 2
BIG = 64  # an array with more elements than this goes to the sidecar, and only the last few stay in memory
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_MARK = "$sidecar"  # {"$sidecar": offset}: in the JSON, an epoch value stored in the sidecar at that byte
_SIDECAR = "livetrain.history.sidecar"
_COLUMNS = (("step", "<i8"), ("value", "<f8"), ("wall", "<f8"), ("epoch", "<f8"))
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
        if Path(os.path.abspath(path)) != self.path or self.stat is None or _identity(path) != self.stat:
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


def save(path: Path, epochs: Mapping[Any, Any], steps: Steps, records: Mapping[str, Records],
         old: Saved | None) -> Saved:
    """Write ``epochs`` (``{phase: {key: [values]}}``), ``steps`` and ``records`` to ``path`` and its sidecar;
    returns what is saved where. With ``old`` (what the previous save returned) and the files as it left them, only
    what is new is appended; else a new sidecar starts, with what left memory copied from the old one.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "h.json"
        >>> saved = save(p, {"train": {"loss": [math.nan]}}, Steps(), {}, None)
        >>> saved.file, json.loads(p.read_text())["history"]
        (None, {'train': {'loss': ['NaN']}})
    """
    appending = old is not None and old.appends_to(path)
    new = old.copy() if old is not None and appending else Saved.fresh(path)
    sink = _Sink(new, path.parent)
    try:
        with _Source(None if appending else old) as source:
            _traces(steps, sink)
            _records(records, sink, source)
            history = {str(p): _phase(p, s, sink, source) for p, s in list(epochs.items())}
        sink.write()
        sidecar = None if new.file is None else {"file": new.file, "bytes": new.bytes, "token": new.token}
        text = json.dumps({"format": FORMAT, "version": VERSION, "history": history,
                           "started": _encode(steps.started), "sidecar": sidecar}, allow_nan=False)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        sink.abandon()
        raise
    new.stat = _identity(path)
    return new


def load(path: Path, epochs: dict[str, Any], steps: Steps, records: dict[str, Records],
         keep: int | None) -> tuple[Saved | None, int]:
    """Read what :func:`save` wrote to ``path`` (any format version up to this one's, or a plain
    ``{phase: {key: [values]}}`` JSON file) into ``epochs``, ``steps`` and ``records``, with only the last ``keep``
    large arrays per key (``None``: all; the others are ``None``). Returns what is saved where (``None`` before
    version 2: the next save starts new files) and the step after the last one logged or recorded.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "h.json"; _ = p.write_text('{"train": {"loss": [1.0, "NaN"]}}')
        >>> epochs, steps = {}, Steps(); load(p, epochs, steps, {}, None), epochs
        ((None, 0), {'train': {'loss': [1.0, nan]}})
    """
    try:
        with open(path, encoding="utf-8") as f:
            doc, read = json.load(f), _identity(f.fileno())  # the file read, even if replaced since
    except ValueError as exc:
        raise ValueError(f"{path}: expected a livetrain history (JSON), but it is not JSON: {exc}") from None
    version, data = _document(path, doc)
    state = Saved.fresh(path)
    with _Reader(path, doc.get("sidecar") if version >= 2 else None, state) as reader:
        for phase, series in data.items():
            epochs[phase] = {key: reader.column(phase, key, values, keep) for key, values in series.items()}
        reader.traces_into(steps)
        reader.records_into(records)
    clean(path, state.file)
    started = doc.get("started") if version >= 2 else None
    walls = [t.wall[0] for t in steps.values() if len(t)]
    steps.started = float(started) if isinstance(started, (int, float)) else min(walls, default=None)
    last = max([int(t.step.max()) for t in steps.values() if len(t)] + [reader.last_step], default=-1)
    state.stat = read
    return (state if version >= 2 else None), last + 1


def clean(path: Path, keep: str | None) -> None:
    """Delete what killed saves to ``path`` left: their temporary files, and sidecars other than ``keep``.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()); _ = (folder / "h.json.999999999.0123abcd.bin").write_bytes(b"")
        >>> clean(folder / "h.json", None); list(folder.iterdir())
        []
    """
    for tmp, pid in orphans(path.parent, f".{path.name}.", ".tmp"):
        if pid != os.getpid():  # this process's own may be in use
            tmp.unlink(missing_ok=True)
    for sidecar, _ in orphans(path.parent, f"{path.name}.", ".bin"):
        token = sidecar.name[len(path.name) + 1:-len(".bin")].partition(".")[2]
        if sidecar.name != keep and len(token) == 8 and all(c in "0123456789abcdef" for c in token):
            sidecar.unlink(missing_ok=True)


def big(value: Any) -> bool:
    """Whether ``value`` is an array with more than ``BIG`` elements (an image batch, say): the sidecar holds those.

    Example:
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


# saving, piece by piece (the warnings' stack levels point at the user's call of History.save)

def _traces(steps: Steps, sink: _Sink) -> None:
    """The points logged since the last save, all tags in one record: four columns, tag after tag."""
    tags, counts, saved = [], [], sink.state.traces
    columns: list[list[np.ndarray]] = [[], [], [], []]
    for tag, trace in list(steps.items()):
        try:
            step = trace.step
        except TypeError as exc:  # a value that is not a number: saved as NaN, the run goes on
            warnings.warn(f"livetrain: {exc}", RuntimeWarning, stacklevel=4)
            step = trace.step
        start, n = saved.get(tag, 0), len(step)
        if n > start:
            tags.append(tag)
            counts.append(n - start)
            for column, part in zip(columns, (step, trace.value, trace.wall, trace.epoch)):
                column.append(part[start:n])
            saved[tag] = n
    if tags:
        payload = [np.ascontiguousarray(np.concatenate(parts), dtype).data.cast("B")
                   for parts, (_, dtype) in zip(columns, _COLUMNS)]
        sink.add({"t": "traces", "tags": tags, "counts": counts}, *payload)


def _records(records: Mapping[str, Records], sink: _Sink, source: _Source) -> None:
    """Each record entry not saved yet, one record each; in a new sidecar, those no longer in memory are copied
    from the previous one."""
    for tag, rec in list(records.items()):
        done = sink.state.records.setdefault(tag, [])
        start, total, first = len(done), rec.total, rec.first
        memory, base = rec.since(start), max(start, first)
        for i in range(start, total):
            if i < first:
                done.append(source.copy(("records", tag, i), sink))
                continue
            step, wall, value = memory[i - base]
            arrays: list[np.ndarray] = []
            tree = _pack(f"records[{tag!r}] at step {step}", value, arrays)
            header = {"t": "record", "tag": tag, "kind": rec.kind, "step": step, "wall": wall, "value": tree,
                      "arrays": len(arrays)}
            done.append(sink.add(header, *map(_npy, arrays)))


def _phase(phase: Any, series: Any, sink: _Sink, source: _Source) -> Any:
    """One phase's ``{key: [values]}`` for the JSON, its large arrays in the sidecar."""
    if not isinstance(series, Mapping):
        return _encode(series)
    return {str(key): [_value((phase, key, i), v, sink, source) for i, v in enumerate(column)]
            if isinstance(column, list) else _encode(column) for key, column in list(series.items())}


def _value(where: Where, value: Any, sink: _Sink, source: _Source) -> Any:
    """One epoch value for the JSON: as is, or the mark of its sidecar record (``None``: one that left memory)."""
    arrays = sink.state.arrays
    ref = arrays.get(where)
    if value is None:
        if ref is None:
            offset = source.copy(("arrays", *where), sink)
            if offset is None:
                return None
            ref = arrays[where] = (offset, None)
        return {_MARK: ref[0]}
    if not big(value):
        return _encode(value)
    if ref is None or ref[1] != id(value):
        ref = arrays[where] = (sink.add({"t": "array"}, _npy(_array(where, value))), id(value))
    return {_MARK: ref[0]}


class _Sink:
    """The records one save appends to the sidecar of ``state``, each with the byte it will start at."""

    def __init__(self, state: Saved, folder: Path) -> None:
        self.state, self.folder = state, folder
        self.head = [] if state.file is not None else frame(
            {"t": "sidecar", "format": _SIDECAR, "version": 1, "token": state.token})
        self.pieces: list[bytes | memoryview] = []
        self.end = state.bytes + sum(len(p) for p in self.head)
        self.created: Path | None = None

    def add(self, header: Mapping[str, Any], *payload: bytes | memoryview) -> int:
        return self.add_raw(*frame(header, *payload))

    def add_raw(self, *pieces: bytes | memoryview) -> int:
        offset = self.end
        self.pieces += pieces
        self.end += sum(memoryview(p).nbytes for p in pieces)
        return offset

    def write(self) -> None:
        """Append the records (to a new sidecar, if the state has none yet), flushed to the disk."""
        if not self.pieces:
            return
        state = self.state
        f: IO[bytes]
        if state.file is None:
            state.file = f"{state.path.name}.{os.getpid()}.{state.token}.bin"
            self.created = self.folder / state.file
            f = open(self.created, "xb")
            pieces = self.head + self.pieces
        else:
            f = open(self.folder / state.file, "r+b")
            f.truncate(state.bytes)  # drop what a save cut short left
            f.seek(state.bytes)
            pieces = self.pieces
        with f:
            for piece in pieces:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        state.bytes = self.end

    def abandon(self) -> None:
        if self.created is not None:
            self.created.unlink(missing_ok=True)


class _Opened:
    """A context that closes ``file`` (once opened) at its end."""
    file: IO[bytes] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


class _Source(_Opened):
    """The previous save's sidecar, when a save starts a new one: what is no longer in memory is copied from it."""

    def __init__(self, state: Saved | None) -> None:
        self.state = state
        self.failed = False

    def copy(self, what: tuple[Any, ...], sink: _Sink) -> int | None:
        """Copy the record of ``("arrays", phase, key, i)`` or ``("records", tag, i)`` into ``sink``; its byte."""
        state = self.state
        if state is None or state.file is None:
            return None
        if what[0] == "arrays":
            offset = state.arrays.get(what[1:], (None,))[0]
        else:
            at = state.records.get(what[1], [])
            offset = at[what[2]] if what[2] < len(at) else None
        if offset is None or self.failed:
            return None
        try:
            if self.file is None:
                self.file = open(state.path.parent / state.file, "rb")
            return sink.add_raw(raw_record(self.file, offset))
        except (OSError, ValueError) as exc:
            self.failed = True
            warnings.warn(f"livetrain: the arrays and records no longer in memory could not be copied from "
                          f"{state.path.parent / state.file} ({type(exc).__name__}: {exc}); they are left out",
                          RuntimeWarning, stacklevel=5)
            return None


class _Reader(_Opened):
    """A saved history's sidecar, being loaded; fills ``state`` with where everything is."""

    def __init__(self, path: Path, sidecar: Any, state: Saved) -> None:
        self.path, self.state = path, state
        self.name = str(path)
        self.arrays: dict[int, tuple[int, int]] = {}  # byte of each array record -> its payload
        self.traces: list[tuple[list[str], list[int], int, int]] = []
        self.records: dict[str, list[tuple[int, dict[str, Any], int, int]]] = {}
        self.last_step = -1
        self.cut = False  # the sidecar is shorter than the JSON says (a disk that lost its last writes)
        if sidecar is None:
            return
        ok = isinstance(sidecar, dict) and isinstance(sidecar.get("file"), str) and isinstance(
            sidecar.get("token"), str) and type(sidecar.get("bytes")) is int and sidecar["bytes"] >= 0
        if not ok or os.path.basename(sidecar["file"]) != sidecar["file"]:
            raise ValueError(f"{path}: \"sidecar\": expected {{\"file\": name, \"bytes\": int >= 0, \"token\": str}} "
                             f"or null, got {sidecar!r:.100}")
        name = path.parent / sidecar["file"]
        self.name = str(name)
        try:
            self.file = open(name, "rb")
        except FileNotFoundError:
            raise ValueError(f"{path}: its sidecar {sidecar['file']} (the arrays, traces and records) is missing; "
                             f"keep it beside the JSON file") from None
        end = sidecar["bytes"]
        if os.fstat(self.file.fileno()).st_size < end:
            self.cut = True
            end = os.fstat(self.file.fileno()).st_size
            warnings.warn(f"livetrain: {name} is shorter than {path} says; loading what it holds", RuntimeWarning,
                          stacklevel=4)
        try:
            self._scan(end, sidecar)
        except BaseException:  # the with-block that would close it never starts
            self.file.close()
            raise

    def _scan(self, end: int, sidecar: dict[str, Any]) -> None:
        assert self.file is not None
        records = frames(self.file, end, self.name)
        first = next(records, None)
        if first is None or first.header.get("t") != "sidecar" or first.header.get("token") != sidecar["token"]:
            raise ValueError(f"{self.name}: expected the sidecar of {self.path.name} (token {sidecar['token']}), "
                             f"got {'nothing' if first is None else first.header}")
        if not isinstance(first.header.get("version"), int) or first.header["version"] > 1:
            raise ValueError(f"{self.name}: sidecar version {first.header.get('version')!r}; this livetrain reads "
                             f"version 1: upgrade livetrain to load it")
        last = first.start + first.size
        for rec in records:
            kind, header = rec.header.get("t"), rec.header
            if kind == "traces":
                ok = isinstance(header.get("tags"), list) and isinstance(header.get("counts"), list) and len(
                    header["tags"]) == len(header["counts"]) and all(type(n) is int and n >= 0
                                                                     for n in header["counts"])
                if not ok or rec.size != 32 * sum(header["counts"]):
                    raise ValueError(f"{self.name}: byte {rec.offset}: a traces record with {header!r:.100} and "
                                     f"{rec.size} bytes; expected tags, counts and 32 bytes per point")
                self.traces.append((header["tags"], header["counts"], rec.start, rec.size))
            elif kind == "record":
                if not isinstance(header.get("tag"), str) or type(header.get("step")) is not int:
                    raise ValueError(f"{self.name}: byte {rec.offset}: expected a record with a tag and a step, "
                                     f"got {header!r:.100}")
                self.records.setdefault(header["tag"], []).append((rec.offset, header, rec.start, rec.size))
                self.last_step = max(self.last_step, header["step"])
            elif kind == "array":
                self.arrays[rec.offset] = (rec.start, rec.size)
            else:
                raise ValueError(f"{self.name}: byte {rec.offset}: unknown record {kind!r}; expected traces, "
                                 f"record or array")
            last = rec.start + rec.size
        self.state.file, self.state.token, self.state.bytes = os.path.basename(self.name), sidecar["token"], last

    def _payload(self, start: int, size: int) -> bytes:
        assert self.file is not None
        self.file.seek(start)
        return self.file.read(size)

    def _read_npy(self, data: bytes | io.BytesIO, offset: int) -> np.ndarray:
        try:
            return np.load(data if isinstance(data, io.BytesIO) else io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"{self.name}: byte {offset}: expected a .npy array without objects: {exc}") from None

    def column(self, phase: str, key: str, values: list[Any], keep: int | None) -> list[Any]:
        """One epoch series: decoded, with the last ``keep`` arrays of the sidecar read."""
        out, marks = [], []
        for i, value in enumerate(values):
            offset = value.get(_MARK) if isinstance(value, dict) and len(value) == 1 and self.file else None
            if offset is None:
                out.append(_listed(_decode(value)))
                continue
            if type(offset) is not int or offset not in self.arrays:
                if self.cut:
                    out.append(None)
                    continue
                raise ValueError(f"{self.path}: history[{phase!r}][{key!r}][{i}]: expected an array record of "
                                 f"{self.name} at byte {offset!r}, found none")
            self.state.arrays[phase, key, i] = (offset, None)
            marks.append(i)
            out.append(None)
        for i in marks if keep is None else marks[max(0, len(marks) - keep):]:
            offset = self.state.arrays[phase, key, i][0]
            out[i] = self._read_npy(self._payload(*self.arrays[offset]), offset)
            self.state.arrays[phase, key, i] = (offset, id(out[i]))
        return out

    def traces_into(self, steps: Steps) -> None:
        parts: dict[str, list[list[np.ndarray]]] = {}
        for tags, counts, start, size in self.traces:
            data, n = self._payload(start, size), sum(counts)
            columns = [np.frombuffer(data, dtype, count=n, offset=8 * n * k) for k, (_, dtype) in enumerate(_COLUMNS)]
            at = 0
            for tag, count in zip(tags, counts):
                parts.setdefault(tag, []).append([c[at:at + count] for c in columns])
                at += count
        for tag, chunks in parts.items():
            trace = steps[tag] = Trace(tag)
            trace.extend(*(np.concatenate(c) for c in zip(*chunks)))
            self.state.traces[tag] = len(trace)

    def records_into(self, records: dict[str, Records]) -> None:
        for tag, found in self.records.items():
            kind = str(found[0][1].get("kind"))
            try:
                rec = records[tag] = Records(kind)
            except ValueError as exc:
                raise ValueError(f"{self.name}: byte {found[0][0]}: records[{tag!r}]: {exc}") from None
            skip = 0 if rec.keep is None else max(0, len(found) - rec.keep)
            rec.skip(skip)
            for offset, header, start, size in found[skip:]:
                data = io.BytesIO(self._payload(start, size))
                count = header.get("arrays", 0)
                arrays = [self._read_npy(data, offset) for _ in range(count if type(count) is int else 0)]
                try:
                    value = _unpack(header.get("value"), arrays)
                    wall = float(header["wall"])
                except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                    raise ValueError(f"{self.name}: byte {offset}: records[{tag!r}]: a malformed entry "
                                     f"{header!r:.100}") from None
                rec.append(header["step"], wall, value)
            self.state.records[tag] = [offset for offset, *_ in found]


def _document(path: Path, doc: Any) -> tuple[int, dict[str, dict[str, list[Any]]]]:
    """The format version (0: a plain dict) and the ``{phase: {key: [values]}}`` part of a loaded JSON document,
    checked: a ``ValueError`` names the file, the place and what was expected."""
    version: Any = 0
    data = doc
    if isinstance(doc, dict) and isinstance(doc.get("format"), str):
        if doc["format"] != FORMAT:
            raise ValueError(f"{path}: \"format\": expected {FORMAT!r}, got {doc['format']!r}")
        version = doc.get("version")
        if type(version) is not int or version < 1:
            raise ValueError(f"{path}: \"version\": expected an int >= 1, got {version!r}")
        if version > VERSION:
            raise ValueError(f"{path}: format version {version}, written by a newer livetrain; this one reads "
                             f"versions 1 to {VERSION}: upgrade livetrain to load it")
        data = doc.get("history")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a livetrain history or a {{phase: {{key: [values]}}}} JSON object, "
                         f"got {type(data).__name__}")
    for phase, series in data.items():
        if not isinstance(series, dict):
            raise ValueError(f"{path}: history[{phase!r}]: expected an object {{key: [values]}}, got "
                             f"{type(series).__name__} {series!r:.40}")
        for key, values in series.items():
            if not isinstance(values, list):
                raise ValueError(f"{path}: history[{phase!r}][{key!r}]: expected a list of values (one per epoch), "
                                 f"got {type(values).__name__} {values!r:.40}")
    return version, data


def _identity(path: str | os.PathLike | int) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _array(where: Where, value: Any) -> np.ndarray:
    array = np.asarray(to_numpy(value))
    if array.dtype.hasobject:
        raise TypeError(f"cannot save history[{where[0]!r}][{where[1]!r}][{where[2]}]: a {type(value).__name__} of "
                        f"Python objects; expected numbers")
    return array


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _pack(place: str, value: Any, arrays: list[np.ndarray]) -> Any:
    """A JSON tree for a record's ``value``, its arrays appended to ``arrays`` (``{"$nd": i}`` in the tree)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, (bytes, bytearray)):
        arrays.append(np.frombuffer(bytes(value), np.uint8))
        return {"$bytes": len(arrays) - 1}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"cannot save {place}: a dict with keys other than str")
        return {"$map": {k: _pack(place, v, arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_pack(place, v, arrays) for v in value]
    if isinstance(value, np.generic):
        return _pack(place, value.item(), arrays)
    if hasattr(value, "shape") or hasattr(value, "__array__"):
        array = np.asarray(to_numpy(value))
        if not array.dtype.hasobject:
            arrays.append(array)
            return {"$nd": len(arrays) - 1}
    raise TypeError(f"cannot save {place}: a {type(value).__name__}; expected numbers, strings, bytes, arrays, "
                    f"or lists and dicts of them")


def _unpack(tree: Any, arrays: list[np.ndarray]) -> Any:
    """Inverse of :func:`_pack`."""
    if isinstance(tree, list):
        return [_unpack(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    (mark, value), = tree.items()
    if mark == "$map":
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if mark == "$nd":
        return arrays[value]
    if mark == "$bytes":
        return arrays[value].tobytes()
    if mark == "$f":
        return float(value)
    raise ValueError(f"unknown marker {mark!r}")


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


def _listed(value: Any) -> Any:
    """A large nested list of numbers (an image batch in a version-1 file) as a numpy array; anything else as is."""
    if isinstance(value, list) and value and (len(value) > BIG or isinstance(value[0], list)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged
            return value
        if array.dtype.kind in "biuf" and array.size > BIG:
            return array
    return value
