"""TensorBoard's embedding projector files, as ``torch.utils.tensorboard.SummaryWriter.add_embedding`` writes them.

One embedding goes to ``<log_dir>/<step, 5 digits>/<tag>/``: ``tensors.tsv`` (a row per point), ``metadata.tsv`` (a
label per point; a header row first when the labels have several columns) and ``sprite.png`` (the points' thumbnails
in a square grid). ``<log_dir>/projector_config.pbtxt`` lists the embeddings in protobuf text format, and TensorBoard's
projector reads it. Neither tensorboard nor protobuf is imported.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .files import atomic_path
from .metrics import to_numpy
from .tfevents import encode_png

CONFIG = "projector_config.pbtxt"


def tensors_tsv(mat: Any) -> str:
    """``mat`` (2-D: a row per point) as ``tensors.tsv``: each value as Python prints it, tab-separated, as torch
    writes it.

    Example:
        >>> tensors_tsv(np.array([[1.5, 2], [3, 4]]))
        '1.5\\t2.0\\n3.0\\t4.0\\n'
    """
    array = np.asarray(to_numpy(mat))
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"mat must be 2-D, one row per point, and not empty; got shape {array.shape}")
    return "".join("\t".join(map(str, row)) + "\n" for row in array.tolist())


def metadata_tsv(metadata: Sequence[Any], header: Sequence[str] | None = None) -> str:
    """The labels as ``metadata.tsv``: one line per point; with ``header``, a header row and then each label's
    columns, tab-separated. A 0-d array or tensor is written as its value; tabs and line breaks in a label become
    spaces (they would split it).

    Example:
        >>> metadata_tsv(["cat", np.int64(3)])
        'cat\\n3\\n'
        >>> metadata_tsv([("cat", 0), ("dog", 1)], header=["name", "class"])
        'name\\tclass\\ncat\\t0\\ndog\\t1\\n'
    """
    if not header:
        return "".join(_cell(label) + "\n" for label in metadata)
    rows = [list(header)]
    for i, row in enumerate(metadata):
        single = isinstance(row, (str, bytes)) or not isinstance(row, Iterable) or getattr(row, "ndim", 1) == 0
        cells = [row] if single else list(row)
        if len(cells) != len(rows[0]):
            raise ValueError(f"metadata_header has {len(rows[0])} columns; metadata[{i}] has {len(cells)} values")
        rows.append(cells)
    return "".join("\t".join(map(_cell, row)) + "\n" for row in rows)


def _cell(value: Any) -> str:
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def sprite(label_img: Any) -> np.ndarray:
    """The thumbnails ``label_img`` (``(N, C, H, W)`` as torch, ``(N, H, W, C)``, or ``(N, H, W)``; ``C`` in 1, 3, 4,
    and taken as second when the second axis is 1, 3 or 4; floats in 0..1, uint8 in 0..255) tiled row by row in a
    square grid of ``n = ceil(sqrt(N))`` cells a side, as TensorBoard's projector reads a sprite: an
    ``(H * n, W * n, 3)`` uint8 picture (4 channels for RGBA).

    Example:
        >>> sprite(np.ones((5, 1, 2, 3))).shape
        (6, 9, 3)
    """
    batch = _nhwc(label_img)
    count, height, width, channels = batch.shape
    side = math.isqrt(count - 1) + 1
    scale = 1.0 if batch.dtype == np.uint8 else 255.0  # torch's: x * 255, clipped, truncated
    pixels = np.clip(np.multiply(batch, scale, dtype=np.float64), 0, 255).astype(np.uint8)
    if channels == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    grid = np.zeros((side * side, height, width, pixels.shape[3]), np.uint8)
    grid[:count] = pixels
    grid = grid.reshape(side, side, height, width, -1).transpose(0, 2, 1, 3, 4)
    return grid.reshape(side * height, side * width, -1)


def _nhwc(label_img: Any) -> np.ndarray:
    """``label_img`` as ``(N, H, W, C)``: channels second when they may be (torch's layout), else last."""
    array = np.asarray(to_numpy(label_img))
    if array.ndim == 3:
        array = array[..., None]
    elif array.ndim == 4 and array.shape[1] in (1, 3, 4):
        array = array.transpose(0, 2, 3, 1)
    if array.ndim != 4 or array.shape[3] not in (1, 3, 4) or array.size == 0:
        raise ValueError(f"label_img must be (N, C, H, W), (N, H, W, C) or (N, H, W) with C in 1, 3, 4 and no empty "
                         f"axis; got shape {np.shape(label_img)}")
    return array


def folder_name(tag: str, step: int) -> str:
    """The embedding's folder, relative to ``log_dir``: the step in 5 digits, then the tag with ``%``, ``/`` and ``\\``
    escaped as torch does (and a tag of only dots escaped, so it stays inside).

    Example:
        >>> folder_name("layer/fc1", 7)
        '00007/layer%2ffc1'
    """
    name = tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")
    if set(name) == {"."}:
        name = name.replace(".", "%2e")
    return f"{str(step).zfill(5)}/{name}"


def text_string(text: str) -> str:
    """``text`` as a protobuf text-format string literal, as ``text_format`` writes it: quoted, quotes, backslashes
    and control characters escaped, the rest as it is (UTF-8).

    Example:
        >>> print(text_string('a "b"\\nc é'))
        "a \\"b\\"\\nc é"
    """
    out = (_ESCAPES.get(char) or (f"\\{ord(char):03o}" if ord(char) < 32 or ord(char) == 127 else char)
           for char in text)
    return '"' + "".join(out) + '"'


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\"}


def embedding_info(tag: str, step: int, folder: str, metadata: bool, image_dim: tuple[int, int] | None) -> str:
    """One ``embeddings`` entry of ``projector_config.pbtxt`` (an ``EmbeddingInfo``), written as protobuf's
    ``text_format`` writes it; ``image_dim``: a thumbnail's ``(width, height)``.

    Example:
        >>> print(embedding_info("default", 3, "00003/default", True, None), end="")
        embeddings {
          tensor_name: "default:00003"
          metadata_path: "00003/default/metadata.tsv"
          tensor_path: "00003/default/tensors.tsv"
        }
    """
    lines = [f"  tensor_name: {text_string(f'{tag}:{str(step).zfill(5)}')}"]
    if metadata:
        lines.append(f"  metadata_path: {text_string(folder + '/metadata.tsv')}")
    if image_dim is not None:
        lines += ["  sprite {", f"    image_path: {text_string(folder + '/sprite.png')}",
                  *(f"    single_image_dim: {n}" for n in image_dim), "  }"]
    lines.append(f"  tensor_path: {text_string(folder + '/tensors.tsv')}")
    return "embeddings {\n" + "".join(line + "\n" for line in lines) + "}\n"


class EmbeddingFiles(NamedTuple):
    """An embedding's files, encoded: ``tensors.tsv``, ``metadata.tsv`` and ``sprite.png`` (``None``: not written),
    and a thumbnail's ``(width, height)``."""
    tensors: str
    metadata: str | None = None
    sprite: bytes | None = None
    image_dim: tuple[int, int] | None = None


def embedding_files(mat: Any, metadata: Sequence[Any] | None = None, label_img: Any = None,
                    metadata_header: Sequence[str] | None = None) -> EmbeddingFiles:
    """Encode an embedding: ``mat`` (a row per point), its ``metadata`` labels and ``label_img`` thumbnails (one per
    row, or ``None``). Bad input is a ``ValueError`` naming it.

    Example:
        >>> files = embedding_files(np.eye(2), ["a", "b"], np.zeros((2, 1, 4, 3)))
        >>> files.metadata, files.image_dim, files.sprite[:4]
        ('a\\nb\\n', (3, 4), b'\\x89PNG')
    """
    array = np.asarray(to_numpy(mat))
    tensors, points = tensors_tsv(array), len(array)
    for name, extra in (("metadata", metadata), ("label_img", label_img)):
        if extra is not None and len(extra) != points:
            raise ValueError(f"{name} must have one entry per row of mat ({points}); got {len(extra)}")
    if label_img is None:
        return EmbeddingFiles(tensors, None if metadata is None else metadata_tsv(metadata, metadata_header))
    _, height, width, _ = _nhwc(label_img).shape
    return EmbeddingFiles(tensors, None if metadata is None else metadata_tsv(metadata, metadata_header),
                          encode_png(sprite(label_img)), (width, height))


class Projector:
    """The projector files of one ``log_dir``. Each :meth:`add` writes an embedding's folder and rewrites
    ``projector_config.pbtxt`` (atomically) with every embedding added so far, as torch's writer does: one logged
    again at the same step and tag replaces its entry.

    Example:
        >>> import tempfile
        >>> projector = Projector(tempfile.mkdtemp())
        >>> projector.add(embedding_files(np.zeros((4, 2)), list("abcd"), np.zeros((4, 1, 8, 8))), step=0)
        >>> sorted(p.name for p in (projector.log_dir / "00000" / "default").iterdir())
        ['metadata.tsv', 'sprite.png', 'tensors.tsv']
        >>> (projector.log_dir / CONFIG).read_text().count("embeddings {")
        1
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        self.log_dir = Path(log_dir)
        self._entries: dict[str, str] = {}  # folder -> its EmbeddingInfo text

    def add(self, files: EmbeddingFiles, step: int = 0, tag: str = "default") -> None:
        """Write ``files`` (see :func:`embedding_files`) for ``tag`` at ``step``, and list them in the config."""
        folder = folder_name(tag, step)
        path = self.log_dir / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / "tensors.tsv").write_text(files.tensors, encoding="utf-8", newline="\n")
        if files.metadata is not None:
            (path / "metadata.tsv").write_text(files.metadata, encoding="utf-8", newline="\n")
        if files.sprite is not None:
            (path / "sprite.png").write_bytes(files.sprite)
        self._entries[folder] = embedding_info(tag, step, folder, files.metadata is not None, files.image_dim)
        with atomic_path(self.log_dir / CONFIG) as tmp:
            tmp.write_text("".join(self._entries.values()), encoding="utf-8", newline="\n")
