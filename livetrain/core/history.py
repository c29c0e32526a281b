"""The run's history: ``history[phase][key] == [one value per epoch]``, plus step-level traces and records.

Saved as a JSON document (the epoch values) and, beside it, an append-only binary sidecar (large arrays, traces and
records): see :meth:`History.save`.
"""
from __future__ import annotations

import io
import json
import math
import operator
import os
import secrets
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .files import atomic_path, frame, frames, orphans, raw_record
from .metrics import to_numpy
from .steps import Records, Steps, Trace, check_number

FORMAT = "livetrain.history"
VERSION = 2
BIG = 64  # an array with more elements than this goes to the sidecar, and only the last few stay in memory
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_MARK = "$sidecar"  # {"$sidecar": offset}: in the JSON, an epoch value stored in the sidecar at that byte
_SIDECAR = "livetrain.history.sidecar"
_COLUMNS = (("step", "<i8"), ("value", "<f8"), ("wall", "<f8"), ("epoch", "<f8"))
Where = tuple[str, str, int]  # (phase, key, epoch index)


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
        self._saved: _Saved | None = None  # what the last save (or load) put in which files
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
            rec.saved = None if value is None else self._saved_records(tag)

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
            if _big(value):
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
            rec.saved = None if self._path is None else self._saved_records(tag)
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

        ``path`` gets a JSON document (format ``livetrain.history``, version 2), rewritten atomically: the epoch
        values, numbers and small arrays as JSON (NaN and infinities as ``"NaN"``, ``"Infinity"``,
        ``"-Infinity"``: strict JSON), larger arrays as ``{"$sidecar": byte}``. The traces, records and larger
        arrays go to a binary sidecar beside it, ``<name>.<pid>.<token>.bin``, only when there are some: framed
        records (JSON headers, raw little-endian columns and ``.npy`` arrays, no pickle), appended. The JSON
        names the sidecar and how many of its bytes are committed, so a save killed at any moment leaves the
        previous save loadable; what a killed save left behind is deleted by the next save or load.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"
            >>> History({"train": {"loss": [1.0]}}).save(p).name
            'h.json'
        """
        path = Path(path)
        self.path = path
        old = self._saved
        appending = old is not None and old.appends_to(path)
        new = old.copy() if old is not None and appending else _Saved.fresh(path)
        sink = _Sink(new, path.parent)
        try:
            with _Source(None if appending else old) as source:
                self._traces_to(new, sink)
                self._records_to(new, sink, source)
                epochs = {str(p): self._encode_phase(p, s, new, sink, source) for p, s in list(self.items())}
            sink.write()
            sidecar = None if new.file is None else {"file": new.file, "bytes": new.bytes, "token": new.token}
            text = json.dumps({"format": FORMAT, "version": VERSION, "history": epochs,
                               "started": _encode(self.steps.started), "sidecar": sidecar}, allow_nan=False)
            with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            sink.abandon()
            raise
        new.stat = _identity(path)
        self._saved = new
        self.path = path  # the records now saved may leave memory
        for rec in self.records.values():
            rec.trim()
        for phase, series in list(self.items()):
            for key, column in list(series.items()) if isinstance(series, Mapping) else ():
                if isinstance(column, list):
                    self._prune(phase, key, column)
        _clean(path, new.file)
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
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as f:
                doc, read = json.load(f), _identity(f.fileno())  # the file read, even if replaced since
        except ValueError as exc:
            raise ValueError(f"{path}: expected a livetrain history (JSON), but it is not JSON: {exc}") from None
        version, data = _document(path, doc)
        history = cls(keep_images=keep_images)
        state = _Saved.fresh(path)
        sidecar = doc.get("sidecar") if version >= 2 else None
        with _Reader(path, sidecar, state) as reader:
            for phase, series in data.items():
                history[phase] = {key: reader.column(phase, key, values, keep_images)
                                  for key, values in series.items()}
            reader.traces_into(history.steps)
            reader.records_into(history.records)
        _clean(path, state.file)
        started = doc.get("started") if version >= 2 else None
        walls = [t.wall[0] for t in history.steps.values() if len(t)]
        history.steps.started = float(started) if isinstance(started, (int, float)) else min(walls, default=None)
        steps = [int(t.step.max()) for t in history.steps.values() if len(t)]
        history._next = max(steps + [reader.last_step], default=-1) + 1
        if version >= 2:
            state.stat = read
            history._saved = state
        history.path = path
        return history

    # saving, piece by piece

    def _traces_to(self, new: _Saved, sink: _Sink) -> None:
        """The points logged since the last save, all tags in one record: four columns, tag after tag."""
        tags, counts = [], []
        columns: list[list[np.ndarray]] = [[], [], [], []]
        for tag, trace in list(self.steps.items()):
            try:
                step = trace.step
            except TypeError as exc:  # a value that is not a number: saved as NaN, the run goes on
                warnings.warn(f"livetrain: {exc}", RuntimeWarning, stacklevel=3)
                step = trace.step
            start, n = new.traces.get(tag, 0), len(step)
            if n > start:
                tags.append(tag)
                counts.append(n - start)
                for column, part in zip(columns, (step, trace.value, trace.wall, trace.epoch)):
                    column.append(part[start:n])
                new.traces[tag] = n
        if tags:
            payload = [np.ascontiguousarray(np.concatenate(parts), dtype).data.cast("B")
                       for parts, (_, dtype) in zip(columns, _COLUMNS)]
            sink.add({"t": "traces", "tags": tags, "counts": counts}, *payload)

    def _records_to(self, new: _Saved, sink: _Sink, source: _Source) -> None:
        """Each record entry not saved yet, one record each; in a new sidecar, those no longer in memory are
        copied from the previous one."""
        for tag, rec in list(self.records.items()):
            done = new.records.setdefault(tag, [])
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

    def _encode_phase(self, phase: Any, series: Any, new: _Saved, sink: _Sink, source: _Source) -> Any:
        if not isinstance(series, Mapping):
            return _encode(series)
        out = {}
        for key, column in list(series.items()):
            if isinstance(column, list):
                out[str(key)] = [self._encode_value((phase, key, i), v, new, sink, source)
                                 for i, v in enumerate(column)]
            else:
                out[str(key)] = _encode(column)
        return out

    def _encode_value(self, where: Where, value: Any, new: _Saved, sink: _Sink, source: _Source) -> Any:
        ref = new.arrays.get(where)
        if value is None:
            if ref is None:
                offset = source.copy(("arrays", *where), sink)
                if offset is None:
                    return None
                ref = new.arrays[where] = (offset, None)
            return {_MARK: ref[0]}
        if not _big(value):
            return _encode(value)
        if ref is None or ref[1] != id(value):
            ref = new.arrays[where] = (sink.add({"t": "array"}, _npy(_array(where, value))), id(value))
        return {_MARK: ref[0]}

    def _saved_records(self, tag: str) -> int:
        saved = self._saved
        return len(saved.records.get(tag, ())) if saved is not None else 0

    def _prune(self, phase: str, key: str, column: list) -> None:
        """Replace by ``None`` the large arrays of ``column`` before its last ``keep_images`` ones: all of them
        without a ``path``, else those saved."""
        keep, saved, seen = self.keep_images, self._saved, 0
        if keep is None:
            return
        for i in range(len(column) - 1, -1, -1):
            value = column[i]
            if value is None or not _big(value):
                continue
            seen += 1
            if seen > keep and (self._path is None or (
                    saved is not None and saved.arrays.get((phase, key, i), (0, None))[1] == id(value))):
                column[i] = None


@dataclass
class _Saved:
    """What the last save put where: the sidecar, its committed length, and how far each piece is saved."""
    path: Path  # absolute
    token: str
    file: str | None = None  # the sidecar's name, once there is one
    bytes: int = 0  # its committed length: the JSON names it; anything after it is a save cut short
    stat: tuple[int, ...] | None = None  # the JSON file as this save left it
    traces: dict[str, int] = field(default_factory=dict)  # points saved, per tag
    records: dict[str, list[int | None]] = field(default_factory=dict)  # per tag, each entry's byte (None: lost)
    arrays: dict[Where, tuple[int, int | None]] = field(default_factory=dict)  # byte, id() of the value saved

    @classmethod
    def fresh(cls, path: Path) -> _Saved:
        return cls(Path(os.path.abspath(path)), secrets.token_hex(4))

    def appends_to(self, path: Path) -> bool:
        """Whether a save to ``path`` can append: the files are as this save left them."""
        if Path(os.path.abspath(path)) != self.path or self.stat is None or _identity(path) != self.stat:
            return False
        try:
            return self.file is None or os.path.getsize(self.path.parent / self.file) >= self.bytes
        except OSError:
            return False

    def copy(self) -> _Saved:
        return _Saved(self.path, self.token, self.file, self.bytes, self.stat, dict(self.traces),
                      {tag: list(at) for tag, at in self.records.items()}, dict(self.arrays))


class _Sink:
    """The records one save appends to the sidecar of ``state``, each with the byte it will start at."""

    def __init__(self, state: _Saved, folder: Path) -> None:
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


class _Source:
    """The previous save's sidecar, when a save starts a new one: what is no longer in memory is copied from it."""

    def __init__(self, state: _Saved | None) -> None:
        self.state = state
        self.file: IO[bytes] | None = None
        self.failed = False

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()

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
                          RuntimeWarning, stacklevel=4)
            return None


class _Reader:
    """A saved history's sidecar, being loaded; fills ``state`` with where everything is."""

    def __init__(self, path: Path, sidecar: Any, state: _Saved) -> None:
        self.path, self.state = path, state
        self.file: IO[bytes] | None = None
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
                          stacklevel=3)
        self._scan(end, sidecar)

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

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()

    def _payload(self, start: int, size: int) -> bytes:
        assert self.file is not None
        self.file.seek(start)
        return self.file.read(size)

    def _npy(self, data: bytes | io.BytesIO, offset: int) -> np.ndarray:
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
            out[i] = self._npy(self._payload(*self.arrays[offset]), offset)
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
                arrays = [self._npy(data, offset) for _ in range(count if type(count) is int else 0)]
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


def _clean(path: Path, keep: str | None) -> None:
    """Delete what killed saves to ``path`` left: their temporary files, and sidecars the JSON does not name."""
    for tmp, pid in orphans(path.parent, f".{path.name}.", ".tmp"):
        if pid != os.getpid():  # this process's own may be in use
            tmp.unlink(missing_ok=True)
    for sidecar, _ in orphans(path.parent, f"{path.name}.", ".bin"):
        token = sidecar.name[len(path.name) + 1:-len(".bin")].partition(".")[2]
        if sidecar.name != keep and len(token) == 8 and all(c in "0123456789abcdef" for c in token):
            sidecar.unlink(missing_ok=True)


def _identity(path: str | os.PathLike | int) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _big(value: Any) -> bool:
    """Whether ``value`` is an array with more than ``BIG`` elements (an image batch, say)."""
    if value is None or type(value) in (float, int, str, list, dict, tuple):
        return False
    shape = getattr(value, "shape", None)
    try:
        return shape is not None and math.prod(shape) > BIG
    except TypeError:
        return False


def _gap(value: Any) -> Any:
    """What fills an epoch without a value, in a series of values like ``value``: NaN for numbers, else None."""
    return math.nan if isinstance(value, (int, float, np.number)) or getattr(value, "ndim", None) == 0 else None


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
