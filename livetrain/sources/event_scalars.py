"""The common TensorBoard event, one scalar as torch, tensorboardX and livetrain write it, decoded for many records
at once with numpy; every other record is left to the protobuf parser.

The layout is protobuf's canonical encoding of ``Event(wall_time, step, summary=Summary(value=[Value(tag,
simple_value)]))``: fields in number order, each once, nothing else. A record that differs in any byte position
(no wall time or no tag, two values, a tensor, an unknown field, a tag that is not UTF-8) is not taken here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

_PAD = 24  # bytes after the data, so that a gather at a (clipped) position past the end stays inside the buffer
_SHIFTS = np.arange(0, 70, 7, dtype=np.uint64)  # a varint's 10 groups of 7 bits


def _varints(buf: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The varints starting at ``at``: values (as uint64), their lengths in bytes, and whether each is well formed."""
    groups = buf[at[:, None] + np.arange(10)]
    more = groups >= 0x80
    valid = ~more.all(axis=1)
    lengths = np.argmin(more, axis=1) + 1
    bits = (groups & 0x7F).astype(np.uint64) << _SHIFTS
    bits[np.arange(10) >= lengths[:, None]] = 0
    return np.bitwise_or.reduce(bits, axis=1), lengths, valid


class Scalars(NamedTuple):
    """Which records hold one scalar in the common layout (``common``), and those records' columns, in order (the
    values are float32 widened, as protobuf's ``simple_value`` reads)."""
    common: np.ndarray
    tags: list[str]
    values: np.ndarray  #: float64
    steps: np.ndarray  #: int64
    walls: np.ndarray  #: float64


def decode_scalars(data: bytes, starts: np.ndarray, ends: np.ndarray) -> Scalars:
    """The records (payloads ``data[starts[i]:ends[i]]``) that hold one scalar in the common layout, decoded.

    Example:
        >>> import tempfile
        >>> from livetrain.core.tfevents import EventFileWriter
        >>> from livetrain.sources.events import frames
        >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_scalar("loss", 0.5, step=7, wall=1e9)
        >>> data = open(w.path, "rb").read()
        >>> starts, ends, _ = frames(data)
        >>> s = decode_scalars(data, np.array(starts), np.array(ends))  # the file_version record is not a scalar
        >>> s.common.tolist(), s.tags, s.values.tolist(), s.steps.tolist(), s.walls.tolist()
        ([False, True], ['loss'], [0.5], [7], [1000000000.0])
    """
    limit = len(data)
    buf = np.frombuffer(data + bytes(_PAD), np.uint8)
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)

    def at(pos: np.ndarray) -> np.ndarray:
        return np.clip(pos, 0, limit)

    def field(pos: np.ndarray, key: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A length-delimited field's (ok, start of its content, end of its content) at ``pos``."""
        size, n, valid = _varints(buf, at(pos + 1))
        start = pos + 1 + n
        size = np.minimum(size, limit).astype(np.int64)
        return (buf[at(pos)] == key) & valid, start, start + size

    ok = buf[at(starts)] == 0x09
    wall = buf[at(starts)[:, None] + np.arange(1, 9)].copy().view("<f8").ravel()
    pos = starts + 9
    has_step = buf[at(pos)] == 0x10
    step, n, valid = _varints(buf, at(pos + 1))
    ok &= valid | ~has_step
    step = np.where(has_step, step.view(np.int64), 0)
    pos = np.where(has_step, pos + 1 + n, pos)
    good, pos, summary_end = field(pos, 0x2A)
    ok &= good & (summary_end == ends)
    good, pos, value_end = field(pos, 0x0A)
    ok &= good & (value_end == summary_end)
    good, tag_start, tag_end = field(pos, 0x0A)
    ok &= good & (buf[at(tag_end)] == 0x15) & (tag_end + 5 == value_end)
    with np.errstate(invalid="ignore"):  # a signalling NaN, widened, is a NaN
        value = buf[at(tag_end + 1)[:, None] + np.arange(4)].copy().view("<f4").ravel().astype(np.float64)
    index = np.flatnonzero(ok)
    raws = [data[a:b] for a, b in zip(tag_start[index].tolist(), tag_end[index].tolist())]
    names = {raw: _utf8(raw) for raw in set(raws)}
    tags = [names[raw] for raw in raws]
    if None in names.values():  # protobuf rejects such a tag, and its parser says so
        bad = np.array([tag is None for tag in tags])
        ok[index[bad]] = False
        index, tags = index[~bad], [tag for tag in tags if tag is not None]
    return Scalars(ok, tags, value[index], step[index], wall[index])


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
