"""TensorBoard event files (``events.out.tfevents.*``), followed as they grow: livetrain's own record framing and
TensorBoard's protobuf ``Event`` parser (the ``tensorboard`` package; TensorFlow is not needed), except for the
common one-scalar event, which :mod:`~livetrain.sources.event_scalars` decodes for many records at once, into
columns per tag.

Scalars are read from ``simple_value`` (torch, tensorboardX, livetrain) and from the ``scalars`` plugin's tensors
(TF2's ``tf.summary``); images, histograms and texts become records the board draws. A record cut short (the writer
has not flushed it yet, or was killed) is read once it is complete.
"""
from __future__ import annotations

import io
import os
import struct
from typing import Any

import numpy as np

from .base import Point, Series, Tail
from .event_scalars import Scalars, decode_scalars

_HEADER = struct.Struct("<QI")  # length, masked crc32c of the length
_FOOTER = 4  # masked crc32c of the data
_TENSOR_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}  # tensorflow.DataType


def event_class() -> Any:
    """TensorBoard's protobuf ``Event`` class; an ``ImportError`` saying what to install without it."""
    try:
        from tensorboard.compat.proto.event_pb2 import Event
    except ImportError as exc:
        raise ImportError("reading TensorBoard event files needs the tensorboard package (TensorFlow is not "
                          "needed): pip install tensorboard") from exc
    return Event


def frames(data: bytes | memoryview) -> tuple[list[int], list[int], int]:
    """Where the complete records' payloads start and end in ``data``, and how many bytes the records take.

    Example:
        >>> from livetrain.core.tfevents import frame
        >>> frames(frame(b"abc") + frame(b"de"))
        ([12, 31], [15, 33], 37)
    """
    starts: list[int] = []
    ends: list[int] = []
    unpack, size, end, offset = _HEADER.unpack_from, _HEADER.size, len(data), 0
    while offset + size <= end:
        stop = offset + size + unpack(data, offset)[0] + _FOOTER
        if stop > end:
            break
        starts.append(offset + size)
        ends.append(stop - _FOOTER)
        offset = stop
    return starts, ends, offset


class EventsReader:
    """Follows one event file: each :meth:`read` returns the events completed since the last one, in file order:
    the one-scalar events between two other records as one :class:`~livetrain.sources.base.Series` per tag
    (columns: a long run's scalars cost a few numpy calls, not a Python object each), every other event with values
    as a :class:`~livetrain.sources.base.Point`.

    Example:
        >>> import tempfile
        >>> from livetrain.core.tfevents import EventFileWriter
        >>> with EventFileWriter(tempfile.mkdtemp()) as w:
        ...     w.add_scalar("train/loss", 0.5, step=3); w.add_scalar("train/loss", 0.25, step=4)
        >>> (series,) = EventsReader(w.path).read()
        >>> series.tag, series.step.tolist(), series.value.tolist()
        ('train/loss', [3, 4], [0.5, 0.25])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.Event = event_class()
        self.tail = Tail(path)
        self.plugins: dict[str, str] = {}  # tag -> plugin name: TF2 writes a tag's metadata with its first value only

    def read(self) -> list[Point | Series]:
        data = self.tail.read(complete=False)
        if not data:
            return []
        starts, ends, used = frames(data)
        self.tail.offset += used
        scalars = decode_scalars(data, np.array(starts), np.array(ends))  # most records, at once
        items: list[Point | Series] = []
        done = taken = 0  # records, and decoded scalars, gone through
        for i in np.flatnonzero(~scalars.common).tolist():  # the records left to protobuf, in file order
            items += _by_tag(scalars, taken, taken + i - done)
            taken += i - done
            point = self._parse(data[starts[i]:ends[i]])
            if point is not None:
                items.append(point)
            done = i + 1
        return items + _by_tag(scalars, taken, len(scalars.tags))

    def _parse(self, payload: bytes) -> Point | None:
        """A record in any other layout, through protobuf's parser."""
        try:
            event = self.Event.FromString(payload)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError; one bad record must not stop the watch
            self.tail.warn("a record is not a TensorBoard Event; it is skipped")
            return None
        return self._point(event) if event.HasField("summary") else None

    def _point(self, event: Any) -> Point | None:
        metrics: dict[str, float] = {}
        records: dict[str, tuple[str, Any]] = {}
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":  # the common case first: torch, tensorboardX and livetrain scalars
                metrics[value.tag] = value.simple_value
            elif kind == "tensor":
                self._tensor(value, metrics, records)
            elif kind == "image":
                picture = _decode_image(value.image.encoded_image_string)
                if picture is not None:
                    records[value.tag] = ("image", picture)
            elif kind == "histo":
                h = value.histo
                records[value.tag] = ("histogram", {"min": h.min, "max": h.max, "num": int(h.num), "sum": h.sum,
                                                    "sum_squares": h.sum_squares,
                                                    "bucket_limit": np.asarray(h.bucket_limit, np.float64),
                                                    "bucket": np.asarray(h.bucket, np.float64)})
        if not metrics and not records:
            return None
        return Point(metrics, event.step, event.wall_time, None, records or None)

    def _tensor(self, value: Any, metrics: dict[str, float], records: dict[str, tuple[str, Any]]) -> None:
        """A tensor value: a scalar or a text, as its plugin (named with the tag's first value) says."""
        tag = value.tag
        if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
            self.plugins[tag] = value.metadata.plugin_data.plugin_name
        plugin = self.plugins.get(tag)
        if plugin == "scalars":
            number = _tensor_scalar(value.tensor)
            if number is not None:
                metrics[tag] = number
        elif plugin == "text" and value.tensor.string_val:
            records[tag] = ("text", value.tensor.string_val[0].decode("utf-8", "replace"))


def _by_tag(scalars: Scalars, start: int, stop: int) -> list[Series]:
    """The decoded scalars ``start:stop`` (consecutive records) as one series per tag, in the order the tags first
    come, each in file order."""
    tags = scalars.tags[start:stop]
    if not tags:
        return []
    rows: dict[str, list[int]] = {}
    for i, tag in enumerate(tags, start):
        rows.setdefault(tag, []).append(i)
    if len(rows) == 1:  # one tag: the slices as they are
        return [Series(tags[0], scalars.steps[start:stop], scalars.values[start:stop], scalars.walls[start:stop])]
    return [Series(tag, scalars.steps[index], scalars.values[index], scalars.walls[index])
            for tag, index in ((tag, np.array(index)) for tag, index in rows.items())]


def _tensor_scalar(tensor: Any) -> float | None:
    """A 0-d (or one-element) ``TensorProto``'s number."""
    for field in ("float_val", "double_val", "int_val", "int64_val"):
        values = getattr(tensor, field)
        if len(values) == 1:
            return float(values[0])
    dtype = _TENSOR_DTYPES.get(tensor.dtype)
    if dtype is not None and tensor.tensor_content:
        array = np.frombuffer(tensor.tensor_content, dtype=dtype)
        if array.size == 1:
            return float(array[0])
    return None


def _decode_image(encoded: bytes) -> np.ndarray | None:
    """An encoded PNG or JPEG as an ``(H, W, C)`` uint8 array (Pillow); ``None`` without Pillow or for a bad image."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(encoded)) as image:
            return np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB"))
    except Exception:  # noqa: BLE001 - an image that does not decode is left out, the scalars go on
        return None
