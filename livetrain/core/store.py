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

This module writes (and loads, with :mod:`~livetrain.core.storeread`) plain mappings,
:class:`~livetrain.core.steps.Steps` and :class:`~livetrain.core.steps.Records`; the names and :class:`Saved` are in
:mod:`~livetrain.core.storeformat`, values as JSON in :mod:`~livetrain.core.jsontree`;
:class:`~livetrain.core.history.History` calls it.
"""
from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .files import atomic_path, frame, orphans, raw_record
from .jsontree import encode, pack
from .metrics import to_numpy
from .steps import Records, Steps
from .storeformat import COLUMNS, FORMAT, MARK, SIDECAR, VERSION, Opened, Saved, Where, big, identity
from .storeread import Reader, document


def save(path: Path, epochs: Mapping[Any, Any], steps: Steps, records: Mapping[str, Records],
         old: Saved | None) -> Saved:
    """Write ``epochs`` (``{phase: {key: [values]}}``), ``steps`` and ``records`` to ``path`` and its sidecar;
    returns what is saved where. With ``old`` (what the previous save returned) and the files as it left them, only
    what is new is appended; else a new sidecar starts, with what left memory copied from the old one.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "h.json"
        >>> saved = save(p, {"train": {"loss": [float("nan")]}}, Steps(), {}, None)
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
                           "started": encode(steps.started), "sidecar": sidecar}, allow_nan=False)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        sink.abandon()
        raise
    new.stat = identity(path)
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
            doc, read = json.load(f), identity(f.fileno())  # the file read, even if replaced since
    except ValueError as exc:
        raise ValueError(f"{path}: expected a livetrain history (JSON), but it is not JSON: {exc}") from None
    version, data = document(path, doc)
    state = Saved.fresh(path)
    with Reader(path, doc.get("sidecar") if version >= 2 else None, state) as reader:
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
                   for parts, (_, dtype) in zip(columns, COLUMNS)]
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
            tree = pack(f"records[{tag!r}] at step {step}", value, arrays)
            header = {"t": "record", "tag": tag, "kind": rec.kind, "step": step, "wall": wall, "value": tree,
                      "arrays": len(arrays)}
            done.append(sink.add(header, *map(_npy, arrays)))


def _phase(phase: Any, series: Any, sink: _Sink, source: _Source) -> Any:
    """One phase's ``{key: [values]}`` for the JSON, its large arrays in the sidecar."""
    if not isinstance(series, Mapping):
        return encode(series)
    return {str(key): [_value((phase, key, i), v, sink, source) for i, v in enumerate(column)]
            if isinstance(column, list) else encode(column) for key, column in list(series.items())}


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
        return {MARK: ref[0]}
    if not big(value):
        return encode(value)
    if ref is None or ref[1] != id(value):
        ref = arrays[where] = (sink.add({"t": "array"}, _npy(_array(where, value))), id(value))
    return {MARK: ref[0]}


class _Sink:
    """The records one save appends to the sidecar of ``state``, each with the byte it will start at."""

    def __init__(self, state: Saved, folder: Path) -> None:
        self.state, self.folder = state, folder
        self.head = [] if state.file is not None else frame(
            {"t": "sidecar", "format": SIDECAR, "version": 1, "token": state.token})
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


class _Source(Opened):
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
