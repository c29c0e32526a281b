"""TensorBoard event files without TensorFlow: record framing, masked CRC32C and hand-encoded protobuf.

A file is a sequence of records ``u64le length | masked crc32c(length) | data | masked crc32c(data)``; each
``data`` is one serialized ``tensorboard.Event``. The first says ``file_version="brain.Event:2"``. Scalars are
``simple_value``, images PNG ``Summary.Image``, histograms ``HistogramProto`` (as torch and tensorboardX write
them); text, PR curves and hparams are tensors tagged with their plugin, as TensorBoard's own summaries write them.
A model's graph is an event's ``graph_def``: a serialized ``GraphDef`` of :class:`GraphNode`, as torch writes it.
Neither tensorboard nor protobuf is imported; Pillow encodes PNGs when it imports, else a small zlib encoder does.
"""
from __future__ import annotations

import itertools
import math
import numbers
import operator
import os
import socket
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

FILE_VERSION = b"brain.Event:2"
BUFFER_BYTES = 1 << 18  #: buffered bytes that make a write to the OS before ``flush()`` does
_COUNTER = itertools.count()  # the ``<n>`` of file names: two writers of one process in one second differ

# protobuf wire format: a field's key is (number << 3) | wire type
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_DT_FLOAT, _DT_STRING = 1, 7  # tensorflow.DataType
_F32, _F64, _U32, _U64 = struct.Struct("<f"), struct.Struct("<d"), struct.Struct("<I"), struct.Struct("<Q")
_U32be = struct.Struct(">I")


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)  # Castagnoli polynomial, reflected
        table.append(c)
    return tuple(table)


_TABLE = _crc_table()


def _crc32c_table(data: bytes) -> int:
    crc, table = 0xFFFFFFFF, _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _native_crc32c() -> Callable[[bytes], int] | None:
    try:
        import crc32c as module
        return module.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c
        return google_crc32c.value
    except ImportError:
        return None


_CRC32C: Callable[[bytes], int] = _native_crc32c() or _crc32c_table


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) of ``data``: the ``crc32c`` or ``google_crc32c`` module when one imports, else a
    table in Python.

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    return _CRC32C(data)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``: the CRC rotated right by 15 bits plus ``0xA282EAD8``, mod 2**32.

    Example:
        >>> hex(masked_crc32c(b""))
        '0xa282ead8'
    """
    c = _CRC32C(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """``data`` as one TFRecord: length, masked CRC of the length, data, masked CRC of the data.

    Example:
        >>> len(frame(b"abc"))
        19
    """
    length = _U64.pack(len(data))
    return length + _U32.pack(masked_crc32c(length)) + data + _U32.pack(masked_crc32c(data))


# -- protobuf encoding -------------------------------------------------------------------------------------------

def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return bytes((n,))
    if n < 0:
        n += 1 << 64  # int64 as protobuf encodes it: two's complement, ten bytes
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _message(number: int, payload: bytes) -> bytes:
    """A length-delimited field: bytes, a string, a sub-message or a packed array."""
    return _key(number, _LEN) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode("utf-8"))


def _int(number: int, n: int) -> bytes:
    return _key(number, _VARINT) + _varint(n)


def _double(number: int, x: float) -> bytes:
    return _key(number, _I64) + _F64.pack(x)


def _float32(x: float) -> bytes:
    try:
        return _F32.pack(x)
    except OverflowError:  # beyond float32: what numpy's float32 makes of it
        return _F32.pack(math.copysign(math.inf, x))


def _doubles(number: int, values: np.ndarray) -> bytes:
    """A packed repeated double field."""
    return _message(number, np.ascontiguousarray(values, dtype="<f8").tobytes())


def _event(wall: float, step: int, summary: bytes) -> bytes:
    """An ``Event`` holding one ``Summary`` whose values are ``summary`` (encoded ``Summary.value`` fields)."""
    return b"\x09" + _F64.pack(wall) + b"\x10" + _varint(operator.index(step)) + _message(5, summary)


def _plugin(name: str, content: bytes = b"") -> bytes:
    """``Summary.Value.metadata`` (field 9): ``SummaryMetadata`` naming its plugin."""
    return _message(9, _message(1, _string(1, name) + (_message(2, content) if content else b"")))


def _tensor(dtype: int, shape: Sequence[int], payload: bytes) -> bytes:
    """``Summary.Value.tensor`` (field 8): a ``TensorProto`` of ``dtype`` and ``shape``; ``payload`` holds its
    values (``tensor_content`` or ``string_val`` fields)."""
    dims = b"".join(_message(2, _int(1, n)) for n in shape)
    return _message(8, _int(1, dtype) + _message(2, dims) + payload)


_NULL_TENSOR = _tensor(_DT_FLOAT, (0,), b"")  # what hparams summaries carry: they only need their metadata


def _hparam_type(value: object) -> int:
    """The hparams plugin's ``DataType`` of ``value``: STRING 1, BOOL 2, FLOAT64 3."""
    return 2 if isinstance(value, bool) else 1 if isinstance(value, str) else 3


def _pb_value(value: object) -> bytes:
    """A ``google.protobuf.Value``: a bool, a number (as a double) or a string."""
    if isinstance(value, bool):
        return _int(4, int(value))
    if isinstance(value, numbers.Real):
        return _double(2, float(value))
    return _string(3, str(value))


# -- values --------------------------------------------------------------------------------------------------------

def tensorflow_bins() -> np.ndarray:
    """TensorFlow's default histogram bucket edges: ``±1e-12 * 1.1**k`` up to 1e20, and 0.

    Example:
        >>> edges = tensorflow_bins(); len(edges), float(edges[len(edges) // 2])
        (1549, 0.0)
    """
    return _TF_BINS


def _tf_bins() -> np.ndarray:
    positive = 1e-12 * 1.1 ** np.arange(math.ceil(math.log(1e32) / math.log(1.1)))
    positive = positive[positive < 1e20]
    return np.concatenate([-positive[::-1], [0.0], positive])


_TF_BINS = _tf_bins()


def histogram_buckets(values: np.ndarray, bins: str | int | Sequence[float] | np.ndarray = "tensorflow"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The ``(bucket_limit, bucket)`` of a ``HistogramProto`` of finite ``values``: each bucket's right edge and
    count, from one empty bucket before the first non-empty one (its edge is where that one starts) to the last
    non-empty one. ``bins``: ``"tensorflow"`` (TensorFlow's exponential buckets, each ``[left, right)``), or what
    ``numpy.histogram`` takes.

    Example:
        >>> limits, counts = histogram_buckets(np.array([0.0, 1.0, 1.0, 3.0]), bins=3)
        >>> limits.tolist(), counts.tolist()
        ([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 1.0])
    """
    if isinstance(bins, str) and bins == "tensorflow":
        index = np.searchsorted(_TF_BINS, values, side="right")  # bucket i: [_TF_BINS[i-1], _TF_BINS[i])
        limits = np.append(_TF_BINS, np.finfo(np.float64).max)
        return _trimmed(limits, np.bincount(index, minlength=len(limits)).astype(np.float64))
    counts, edges = np.histogram(values, bins=bins)
    return _trimmed(edges, np.concatenate([[0.0], counts.astype(np.float64)]))  # bucket 0: empty, up to edges[0]


def _trimmed(limits: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the buckets from one before the first non-empty to the last non-empty (``limits`` are right edges)."""
    filled = np.flatnonzero(counts)
    if not len(filled):
        return limits[:0], counts[:0]
    start, end = max(int(filled[0]) - 1, 0), int(filled[-1]) + 1
    return limits[start:end], counts[start:end]


def _png_zlib(image: np.ndarray) -> bytes:
    """``image`` (H, W, C) uint8 as PNG bytes, without Pillow: no filter, zlib level 6."""
    height, width, channels = image.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # grey, grey + alpha, RGB, RGBA

    def chunk(kind: bytes, data: bytes) -> bytes:
        return _U32be.pack(len(data)) + kind + data + _U32be.pack(zlib.crc32(kind + data))

    rows = np.zeros((height, 1 + width * channels), np.uint8)
    rows[:, 1:] = image.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def encode_png(image: np.ndarray) -> bytes:
    """``image``, uint8 shaped (H, W) or (H, W, C) with C in 1..4, as PNG bytes: Pillow's encoder when it imports,
    else a small zlib one.

    Example:
        >>> encode_png(np.zeros((2, 3, 3), np.uint8))[:4]
        b'\\x89PNG'
    """
    image = _hwc(image)
    try:
        from PIL import Image
    except ImportError:
        return _png_zlib(image)
    import io
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _hwc(image: Any) -> np.ndarray:
    array = np.asarray(image)
    hwc = array[..., None] if array.ndim == 2 else array
    if hwc.dtype != np.uint8 or hwc.ndim != 3 or hwc.shape[2] not in (1, 2, 3, 4) or 0 in hwc.shape:
        raise ValueError(f"expected a uint8 image shaped (H, W) or (H, W, C) with C in 1, 2, 3, 4, got "
                         f"{array.dtype} with shape {array.shape}")
    return np.ascontiguousarray(hwc)


def pr_curve_data(labels: Any, predictions: Any, num_thresholds: int = 127, weights: Any = None) -> np.ndarray:
    """The ``(6, num_thresholds)`` float32 array TensorBoard's PR curve plugin reads: true positive, false positive,
    true negative and false negative counts, precision and recall at thresholds ``i / (num_thresholds - 1)``.

    Example:
        >>> pr_curve_data([True, False], [0.9, 0.2], num_thresholds=3)[:, 1].tolist()  # threshold 0.5
        [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    """
    if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < 2:
        raise ValueError(f"num_thresholds must be an int >= 2, got {num_thresholds!r}")
    labels, predictions = np.asarray(labels).reshape(-1), np.asarray(predictions, dtype=np.float64).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels and predictions must have as many elements, got {labels.size} and "
                         f"{predictions.size}")
    if predictions.size and not (np.all(predictions >= 0) and np.all(predictions <= 1)):
        raise ValueError(f"predictions must lie in [0, 1], got values from {np.nanmin(predictions)} to "
                         f"{np.nanmax(predictions)}")
    positive = labels.astype(bool).astype(np.float64)
    weight = np.broadcast_to(np.asarray(1.0 if weights is None else weights, dtype=np.float64), positive.shape)
    bucket = np.floor(predictions * (num_thresholds - 1)).astype(np.int64)
    tp_counts = np.bincount(bucket, weights=positive * weight, minlength=num_thresholds)
    fp_counts = np.bincount(bucket, weights=(1 - positive) * weight, minlength=num_thresholds)
    tp, fp = np.cumsum(tp_counts[::-1])[::-1], np.cumsum(fp_counts[::-1])[::-1]  # predicted >= threshold
    tn, fn = fp[0] - fp, tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack([tp, fp, tn, fn, precision, recall]).astype(np.float32)


class GraphNode(NamedTuple):
    """One ``NodeDef`` of a ``GraphDef``: its name (``/`` makes the scopes TensorBoard's graph dashboard folds), op,
    the names of the nodes it reads, its ``attr`` string (what TensorBoard shows as ``attr``) and the shapes of its
    outputs (``None``: unknown)."""
    name: str
    op: str
    inputs: Sequence[str] = ()
    attr: str = ""
    shapes: Sequence[Sequence[int]] | None = None


def graph_def(nodes: Sequence[GraphNode], producer: int = 22) -> bytes:
    """A serialized ``GraphDef`` of ``nodes``: each ``NodeDef`` with ``name``, ``op``, ``input`` and the ``attr`` map
    torch writes (``attr``: the string; ``_output_shapes``: a list of shapes); ``versions.producer`` as torch's.

    Example:
        >>> from tensorboard.compat.proto.graph_pb2 import GraphDef
        >>> nodes = [GraphNode("input/x", "IO Node", shapes=[(1, 2)]), GraphNode("y", "aten::relu", ["input/x"])]
        >>> data = graph_def(nodes)
        >>> [(n.name, n.op, list(n.input)) for n in GraphDef.FromString(data).node]
        [('input/x', 'IO Node', []), ('y', 'aten::relu', ['input/x'])]
    """
    def attr(key: str, value: bytes) -> bytes:  # one entry of map<string, AttrValue>
        return _message(5, _string(1, key) + _message(2, value))

    out = []
    for node in nodes:
        body = _string(1, node.name) + _string(2, node.op) + b"".join(_string(3, name) for name in node.inputs)
        body += attr("attr", _message(2, node.attr.encode("utf-8")))  # AttrValue.s
        if node.shapes is not None:  # AttrValue.list.shape: TensorShapeProto, each dim's size
            shapes = b"".join(_message(7, b"".join(_message(2, _int(1, int(n))) for n in shape))
                              for shape in node.shapes)
            body += attr("_output_shapes", _message(1, shapes))
        out.append(_message(1, body))
    return b"".join(out) + _message(4, _int(1, producer))


class EventFileWriter:
    """Writes one TensorBoard event file in ``log_dir``: ``events.out.tfevents.<time>.<host>.<pid>.<n><suffix>``.

    Each ``add_*`` encodes one event into a buffer; the buffer goes to the OS at :meth:`flush`, :meth:`close`,
    and whenever it holds ``BUFFER_BYTES``, always as whole records. ``wall`` defaults to now. Bad input (a
    wrong shape, predictions outside [0, 1]) is a ``ValueError`` before anything is written; a failing disk is
    one warning, after which events are dropped. Calls after :meth:`close` warn once and write nothing.
    Thread-safe.

    Example:
        >>> import tempfile
        >>> w = EventFileWriter(tempfile.mkdtemp())
        >>> w.add_scalar("loss", 0.5, step=1)
        >>> w.close(); w.close()
        >>> w.path.name.startswith("events.out.tfevents.")
        True
    """

    def __init__(self, log_dir: str | os.PathLike[str], filename_suffix: str = "") -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_COUNTER)}"
        self.path = self.log_dir / (name + filename_suffix)
        self._file: Any = open(self.path, "xb", buffering=0)  # held open until close()
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._closed = False
        self._failed = False
        self._warned: set[str] = set()
        self._prefixes: dict[str, bytes] = {}  # tag -> the encoded start of its scalar Summary.Value
        self._write(b"\x09" + _F64.pack(time.time()) + _message(3, FILE_VERSION))
        self.flush()  # the file is whole from the start: TensorBoard lists the run at once

    def add_scalar(self, tag: str, value: float, step: int, wall: float | None = None) -> None:
        """One scalar (stored as float32, as TensorBoard does).

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_scalar("acc", 0.9, step=10, wall=1e9)
        """
        prefix = self._prefixes.get(tag)
        if prefix is None:
            prefix = self._prefixes[tag] = _string(1, tag) + b"\x15"  # tag, then simple_value: float, field 2
        value_field = prefix + _float32(value)
        self._write(_event(time.time() if wall is None else wall, step,
                           b"\x0a" + _varint(len(value_field)) + value_field))

    def add_image(self, tag: str, hwc_uint8: np.ndarray, step: int, wall: float | None = None) -> None:
        """One image, uint8 shaped (H, W) or (H, W, C) with C in 1..4, stored as PNG.

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_image("x", np.zeros((4, 4, 3), np.uint8), 0)
        """
        image = _hwc(hwc_uint8)
        height, width, channels = image.shape
        body = _int(1, height) + _int(2, width) + _int(3, channels) + _message(4, encode_png(image))
        self._value(tag, _message(4, body), step, wall)

    def add_histogram(self, tag: str, values: np.ndarray, step: int, wall: float | None = None,
                      bins: str | int | Sequence[float] | np.ndarray = "tensorflow") -> None:
        """A histogram of ``values`` (any shape; NaN and infinities are left out). ``bins``: see
        :func:`histogram_buckets`.

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_histogram("w", np.arange(10.0), 0)
        """
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        array = array[np.isfinite(array)]
        if not array.size:
            raise ValueError(f"histogram {tag!r}: expected at least one finite value, got {np.size(values)} values "
                             f"and none finite")
        limits, counts = histogram_buckets(array, bins)
        self.add_histogram_raw(tag, {"min": array.min(), "max": array.max(), "num": array.size, "sum": array.sum(),
                                     "sum_squares": array.dot(array), "bucket_limit": limits, "bucket": counts},
                               step, wall)

    def add_histogram_raw(self, tag: str, summary: Mapping[str, Any], step: int, wall: float | None = None) -> None:
        """A histogram already binned: a ``HistogramProto``'s fields (``min``, ``max``, ``num``, ``sum``,
        ``sum_squares``, ``bucket_limit``: each bucket's right edge, ``bucket``: its count).

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_histogram_raw("w", {"min": 0, "max": 1,
            ...     "num": 2, "sum": 1, "sum_squares": 1, "bucket_limit": [0.5, 1.0], "bucket": [1, 1]}, 0)
        """
        body = (_double(1, float(summary["min"])) + _double(2, float(summary["max"]))
                + _double(3, float(summary["num"])) + _double(4, float(summary["sum"]))
                + _double(5, float(summary["sum_squares"])) + _doubles(6, np.asarray(summary["bucket_limit"], float))
                + _doubles(7, np.asarray(summary["bucket"], float)))
        self._value(tag, _message(5, body), step, wall)

    def add_text(self, tag: str, text: str, step: int, wall: float | None = None) -> None:
        """One text (markdown, as TensorBoard's text plugin shows it).

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_text("notes", "*lr* = 0.1", 0)
        """
        if not isinstance(text, str):
            raise TypeError(f"text {tag!r}: expected a str, got {type(text).__name__}")
        self._value(tag, _plugin("text") + _tensor(_DT_STRING, (), _string(8, text)), step, wall)

    def add_pr_curve(self, tag: str, labels: Any, predictions: Any, step: int, wall: float | None = None,
                     num_thresholds: int = 127, weights: Any = None) -> None:
        """A precision-recall curve of ``predictions`` (in [0, 1]) against binary ``labels`` (see
        :func:`pr_curve_data`), for TensorBoard's PR curves plugin.

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_pr_curve("pr", [1, 0], [0.8, 0.3], 0)
        """
        data = pr_curve_data(labels, predictions, num_thresholds, weights)
        content = _int(2, num_thresholds)  # PrCurvePluginData: version 0 (omitted), num_thresholds
        self._value(tag, _plugin("pr_curves", content) + _tensor(_DT_FLOAT, data.shape, _message(
            4, data.astype("<f4").tobytes())), step, wall)

    def add_hparams(self, hparams: Mapping[str, bool | int | float | str], metrics: Mapping[str, float],
                    step: int = 0, wall: float | None = None,
                    domain_discrete: Mapping[str, Sequence[bool | int | float | str]] | None = None) -> None:
        """One HParams session: the experiment (the hparams and metric tags), the session's hparams, each metric as
        a scalar at ``step``, and the session's end. TensorBoard's HParams dashboard lists each run directory
        holding one as a session: write each call to its own directory, as torch does (``log_dir/<time>``).

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_hparams({"lr": 0.1}, {"hparam/acc": 0.9})
        """
        for name, value in hparams.items():
            if not isinstance(name, str) or not isinstance(value, (bool, numbers.Real, str)):
                raise TypeError(f"hparams: expected str names and bool, number or str values, got {name!r}: "
                                f"{type(value).__name__}")
        discrete = dict(domain_discrete or {})
        infos = b"".join(_message(4, _string(1, name) + _int(4, _hparam_type(value)) + (
            _message(5, b"".join(_message(1, _pb_value(v)) for v in discrete[name])) if name in discrete else b""))
            for name, value in hparams.items())
        infos += b"".join(_message(5, _message(1, _string(2, tag))) for tag in metrics)
        now = time.time() if wall is None else wall
        start = b"".join(_message(1, _string(1, name) + _message(2, _pb_value(value)))
                         for name, value in hparams.items()) + _double(5, now)
        self._hparams("_hparams_/experiment", _message(2, infos), step, now)
        self._hparams("_hparams_/session_start_info", _message(3, start), step, now)
        for tag, value in metrics.items():
            self.add_scalar(tag, float(value), step, now)
        self._hparams("_hparams_/session_end_info", _message(4, _int(1, 1) + _double(2, now)), step, now)

    def add_graph(self, graph: bytes, wall: float | None = None) -> None:
        """A model's graph: ``graph`` is a serialized ``GraphDef`` (see :func:`graph_def`). As torch does, it is
        followed by run metadata tagged ``step1`` that names the device ``/device:CPU:0``.

        Example:
            >>> import tempfile
            >>> with EventFileWriter(tempfile.mkdtemp()) as w: w.add_graph(graph_def([GraphNode("x", "IO Node")]))
        """
        now = time.time() if wall is None else wall
        self._write(b"\x09" + _F64.pack(now) + _message(4, graph))
        device_stats = _message(1, _message(1, _string(1, "/device:CPU:0")))  # RunMetadata.step_stats.dev_stats
        self._write(b"\x09" + _F64.pack(now) + _message(8, _string(1, "step1") + _message(2, device_stats)))

    def _hparams(self, tag: str, content: bytes, step: int, wall: float) -> None:
        self._value(tag, _plugin("hparams", content) + _NULL_TENSOR, step, wall)

    def _value(self, tag: str, body: bytes, step: int, wall: float | None) -> None:
        """Write an event holding one ``Summary.Value``: ``tag`` and ``body`` (its other fields)."""
        value_field = _message(1, _string(1, tag) + body)
        self._write(_event(time.time() if wall is None else wall, step, value_field))

    def _write(self, event: bytes) -> None:
        record = frame(event)
        with self._lock:
            if self._closed:
                self._warn("closed", f"the event file {self.path} is closed; events written to it are dropped")
                return
            self._buffer += record
            if len(self._buffer) >= BUFFER_BYTES:
                self._drain()

    def flush(self) -> None:
        """Hand the buffered records to the OS (whole records only, so a reader never sees half of one)."""
        with self._lock:
            if not self._closed:
                self._drain()

    def _drain(self) -> None:
        if not self._buffer:
            return
        data, self._buffer = bytes(self._buffer), bytearray()
        if self._failed:
            return
        try:
            self._file.write(data)
        except OSError as exc:
            self._failed = True
            self._warn("disk", f"writing the event file {self.path} failed ({exc}); its later events are dropped")

    def close(self) -> None:
        """Flush and close the file; calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._drain()
            self._closed = True
            self._file.close()

    def _warn(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=4)

    def __enter__(self) -> EventFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}{', closed' if self._closed else ''})"
