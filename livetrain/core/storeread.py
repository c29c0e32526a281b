"""Reading a saved history: its JSON document, checked, and its sidecar's records (:mod:`livetrain.core.store`
describes the format; :func:`livetrain.core.store.load` calls this).
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .files import frames
from .jsontree import decode, unpack
from .steps import Records, Steps, Trace
from .storeformat import BIG, COLUMNS, FORMAT, MARK, VERSION, Opened, Saved


class Reader(Opened):
    """A saved history's sidecar (``sidecar``: the JSON's ``"sidecar"`` entry; ``None`` before version 2), being
    loaded into epochs, steps and records; fills ``state`` with where everything is.

    Example:
        >>> with Reader(Path("h.json"), None, Saved.fresh(Path("h.json"))) as r:
        ...     r.column("train", "loss", [1.0, "NaN"], keep=None)
        [1.0, nan]
    """

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
            offset = value.get(MARK) if isinstance(value, dict) and len(value) == 1 and self.file else None
            if offset is None:
                out.append(listed(decode(value)))
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
            columns = [np.frombuffer(data, dtype, count=n, offset=8 * n * k) for k, (_, dtype) in enumerate(COLUMNS)]
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
                    value = unpack(header.get("value"), arrays)
                    wall = float(header["wall"])
                except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                    raise ValueError(f"{self.name}: byte {offset}: records[{tag!r}]: a malformed entry "
                                     f"{header!r:.100}") from None
                rec.append(header["step"], wall, value)
            self.state.records[tag] = [offset for offset, *_ in found]


def document(path: Path, doc: Any) -> tuple[int, dict[str, dict[str, list[Any]]]]:
    """The format version (0: a plain dict) and the ``{phase: {key: [values]}}`` part of a loaded JSON document,
    checked: a ``ValueError`` names the file, the place and what was expected.

    Example:
        >>> document(Path("h.json"), {"train": {"loss": [1.0]}})
        (0, {'train': {'loss': [1.0]}})
        >>> document(Path("h.json"), {"train": {"loss": 1.0}})
        Traceback (most recent call last):
        ValueError: h.json: history['train']['loss']: expected a list of values (one per epoch), got float 1.0
    """
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


def listed(value: Any) -> Any:
    """A large nested list of numbers (an image batch in a version-1 file) as a numpy array; anything else as is.

    Example:
        >>> listed([[0.0] * 10] * 10).shape, listed([1.0, 2.0])
        ((10, 10), [1.0, 2.0])
    """
    if isinstance(value, list) and value and (len(value) > BIG or isinstance(value[0], list)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged
            return value
        if array.dtype.kind in "biuf" and array.size > BIG:
            return array
    return value
