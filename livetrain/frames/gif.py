"""GIF assembly: frames of a run into one looping GIF with a shared palette and flat colours, written as the frames
are decoded, so its memory does not grow with their number."""
from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from ..core.files import atomic_path
from .base import Frame
from .png import to_image

_SCANNED = 20_000  #: the most frequent colours a palette is chosen from


def save_gif(frames: Sequence[Frame], path: str | os.PathLike, *, duration_ms: int = 200, last_ms: int = 1500,
             colors: int = 64, loop: int = 0) -> Path:
    """Write ``frames`` as a GIF: one shared palette (no dithering, so flat colours stay flat), ``loop=0``
    loops forever, each frame shows ``duration_ms`` and the last one ``last_ms``. Frames of other sizes
    are placed top-left on a white canvas of the largest size. The file is written atomically.

    Frames are decoded a few at a time and written as they come, so memory stays flat however many there are
    (PNG bytes in, as :class:`~livetrain.FrameExporter` holds them, cost only their tens of KB each). Each frame
    after the first stores only the rectangle that changed, and identical consecutive frames are stored once,
    with their durations added up.

    Example:
        >>> import tempfile, pathlib
        >>> frames = [np.full((4, 4, 3), v, np.uint8) for v in (0, 128, 255)]
        >>> out = save_gif(frames, pathlib.Path(tempfile.mkdtemp()) / "run.gif", duration_ms=100)
        >>> Image.open(out).n_frames
        3
    """
    if not frames:
        raise ValueError("save_gif needs at least one frame, got none")
    if duration_ms < 20 or last_ms < 20:
        raise ValueError(f"frame durations must be >= 20 ms (browsers slow shorter ones down); "
                         f"got duration_ms={duration_ms}, last_ms={last_ms}")
    if not 2 <= colors <= 255:
        raise ValueError(f"colors must be between 2 and 255, got {colors}")
    sizes = [_size(frame) for frame in frames]
    size = (max(w for w, _ in sizes), max(h for _, h in sizes))
    palette = _palette([_on_canvas(to_image(frames[k]), size) for k in (0, len(frames) // 2, -1)], colors)
    exact = _exact_index(palette)
    durations = [duration_ms] * (len(frames) - 1) + [last_ms]
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        gif = _GifWriter(out, size, palette.getpalette()[:3 * colors], loop)
        for index, duration in zip(_indexed_frames(frames, size, palette, exact), durations, strict=True):
            gif.add(index, duration)
        gif.close()
    return Path(path)


def _size(frame: Frame) -> tuple[int, int]:
    """A frame's ``(width, height)``, from its header where it has one (nothing decoded)."""
    if isinstance(frame, (bytes, bytearray)):
        return Image.open(io.BytesIO(frame)).size
    if isinstance(frame, (str, os.PathLike)):
        with Image.open(frame) as image:
            return image.size
    return frame.size if isinstance(frame, Image.Image) else to_image(frame).size


def _indexed_frames(frames: Sequence[Frame], size: tuple[int, int], palette: Image.Image,
                    exact: np.ndarray) -> Iterator[np.ndarray]:
    """Each frame's palette indices, in order; decoded and mapped a batch at a time, by threads (Pillow and numpy
    work without the GIL), so a batch's frames are all that is held."""
    def indexed(frame: Frame) -> np.ndarray:
        return _indexed(_on_canvas(to_image(frame), size), palette, exact)

    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(frames), 2 * workers):
            yield from pool.map(indexed, frames[start:start + 2 * workers])


def _on_canvas(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(image, (0, 0))
    return canvas


def _palette(samples: list[Image.Image], colors: int) -> Image.Image:
    """One palette for every frame, from a montage of the first, middle and last frames: their most frequent
    colours exactly (a plot's background, lines and bars keep their colour; median cut alone would average
    white with its neighbours), then median-cut colours for the rest."""
    width, height = samples[0].size
    montage = Image.new("RGB", (width, height * len(samples)))
    for k, image in enumerate(samples):
        montage.paste(image, (0, k * height))
    montage = montage.resize((width // 2, height * len(samples) // 2), Image.Resampling.NEAREST)  # 4x fewer pixels,
    counted = montage.getcolors(montage.width * montage.height)                               # no new colours
    frequent = _distinct([c for _, c in sorted(counted, reverse=True)[:_SCANNED]], colors // 2)
    cut = montage.quantize(colors - len(frequent), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    entries = [v for color in frequent for v in color] + cut.getpalette()[:3 * (colors - len(frequent))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries)
    return palette


def _distinct(by_count: list[tuple[int, int, int]], most: int, apart: float = 24.0) -> list[tuple[int, int, int]]:
    """Up to ``most`` of the colours ``by_count`` (most frequent first), each kept only if it is at least ``apart``
    from those kept before (RGB distance): the anti-aliased shades of a frequent colour do not crowd out a rarer
    hue (one class's points on a scatter), which then keeps its colour exactly.

    Example:
        >>> _distinct([(255, 255, 255), (250, 250, 250), (31, 119, 180), (44, 160, 44)], 3)
        [(255, 255, 255), (31, 119, 180), (44, 160, 44)]
    """
    kept = np.empty((0, 3))
    for color in by_count:
        if len(kept) == most:
            break
        if not len(kept) or np.min(np.sum((kept - color) ** 2, axis=1)) >= apart ** 2:
            kept = np.vstack([kept, color])
    return [tuple(int(v) for v in c) for c in kept]


def _exact_index(palette: Image.Image) -> np.ndarray:
    """For every 24-bit colour, its palette index if the palette has it, else 255."""
    rgb = np.array(palette.getpalette(), np.uint32).reshape(-1, 3)
    table = np.full(1 << 24, 255, np.uint8)
    table[(rgb[::-1, 0] | rgb[::-1, 1] << 8 | rgb[::-1, 2] << 16)] = np.arange(len(rgb))[::-1]  # first entry wins
    return table


def _indexed(image: Image.Image, palette: Image.Image, exact: np.ndarray) -> np.ndarray:
    """``image``'s indices in ``palette``: its colours that the palette has, exactly (Pillow's own mapping goes
    through a coarse colour cache that can give white's pixels to a near-white entry), the others Pillow's nearest."""
    index = exact[np.asarray(image.convert("RGBX")).view(np.uint32)[..., 0] & 0xFFFFFF]
    missing = index == 255
    if missing.any():
        index[missing] = np.asarray(image.quantize(palette=palette, dither=Image.Dither.NONE))[missing]
    return index


class _GifWriter:
    """A GIF89a written frame by frame: one global colour table; the first frame whole, each later one only the
    rectangle that changed, its unchanged pixels transparent (an index no frame uses, one past the palette); a
    frame identical to the one before adds its duration to it. Holds the previous frame's indices and one coded
    frame, however many frames come."""

    def __init__(self, out: BinaryIO, size: tuple[int, int], palette: list[int], loop: int) -> None:
        self.out, self.size = out, size
        self.clear = len(palette) // 3  # the transparent index
        bits = max(1, self.clear.bit_length())  # a table with room for the transparent index
        table = bytes(palette) + bytes(3 * (1 << bits) - len(palette))
        out.write(b"GIF89a" + struct.pack("<HHBBB", *size, 0xF0 | (bits - 1), 0, 0) + table)
        out.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")
        self.previous: np.ndarray | None = None
        #: the frame not yet written (its duration may grow): its descriptor and data, duration, transparency
        self.pending: tuple[bytes, int, bool] | None = None

    def add(self, index: np.ndarray, duration_ms: int) -> None:
        """Append a frame of palette indices (``(height, width)`` uint8) shown for ``duration_ms``."""
        if self.previous is None:
            box, pixels, delta = (0, 0), index, False
        else:
            changed = index != self.previous
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            if not len(rows):
                image, duration, delta = self.pending
                self.pending = image, duration + duration_ms, delta
                return
            window = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            box, pixels, delta = (cols[0], rows[0]), np.where(changed[window], index[window], self.clear), True
        self._flush()
        height, width = pixels.shape
        self.pending = struct.pack("<BHHHHB", 0x2C, *box, width, height, 0) + _lzw(pixels), duration_ms, delta
        self.previous = index

    def close(self) -> None:
        """Write the last frame and the trailer."""
        self._flush()
        self.out.write(b"\x3b")

    def _flush(self) -> None:
        if self.pending is None:
            return
        image, duration, delta = self.pending
        # a graphic control extension: left in place (disposal 1), the delay in hundredths, the transparent index
        self.out.write(struct.pack("<3sBHBB", b"\x21\xf9\x04", 1 << 2 | delta, duration // 10, self.clear, 0) + image)
        self.pending = None


def _lzw(pixels: np.ndarray) -> bytes:
    """Palette indices coded as a GIF image's data (the LZW code size and data sub-blocks), by Pillow's encoder."""
    height, width = pixels.shape
    coded = io.BytesIO()
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(pixels).tobytes())
    image.save(coded, "GIF", interlace=False, optimize=False)  # optimize would renumber the palette
    gif = coded.getvalue()
    at = 13 + (3 << (gif[10] & 7) + 1 if gif[10] & 0x80 else 0)  # past the header and its colour table
    while gif[at] == 0x21:  # extensions: introducer, label, then sub-blocks up to an empty one
        at += 2
        while gif[at]:
            at += gif[at] + 1
        at += 1
    at += 10 + (3 << (gif[at + 9] & 7) + 1 if gif[at + 9] & 0x80 else 0)  # the image descriptor, a local table
    return gif[at:-1]  # up to the trailer
