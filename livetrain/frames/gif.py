"""GIF assembly: frames of a run into one looping GIF with a shared palette and flat colours."""
from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.files import atomic_path
from .base import Frame
from .png import to_image


def save_gif(frames: Sequence[Frame], path: str | os.PathLike, *, duration_ms: int = 200, last_ms: int = 1500,
             colors: int = 64, loop: int = 0) -> Path:
    """Write ``frames`` as a GIF: one shared palette (no dithering, so flat colours stay flat), ``loop=0``
    loops forever, each frame shows ``duration_ms`` and the last one ``last_ms``. Frames of other sizes
    are placed top-left on a white canvas of the largest size. The file is written atomically.

    Pillow stores identical consecutive frames once, with their durations added up.

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
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # Pillow decodes and maps colours without the GIL
        images = list(pool.map(to_image, frames))
        size = (max(i.width for i in images), max(i.height for i in images))
        images = [_on_canvas(i, size) for i in images]
        palette = _palette([images[0], images[len(images) // 2], images[-1]], colors)
        exact = _exact_index(palette)
        indexed = list(pool.map(lambda i: _indexed(i, palette, exact), images))
    with atomic_path(path) as tmp:
        indexed[0].save(tmp, format="GIF", save_all=True, append_images=indexed[1:], optimize=True, loop=loop,
                        duration=[duration_ms] * (len(indexed) - 1) + [last_ms])
    return Path(path)


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
    frequent = [c for _, c in sorted(counted, reverse=True)[:colors // 2]]
    cut = montage.quantize(colors - len(frequent), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    entries = [v for color in frequent for v in color] + cut.getpalette()[:3 * (colors - len(frequent))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries)
    return palette


def _exact_index(palette: Image.Image) -> np.ndarray:
    """For every 24-bit colour, its palette index if the palette has it, else 255."""
    rgb = np.array(palette.getpalette(), np.uint32).reshape(-1, 3)
    table = np.full(1 << 24, 255, np.uint8)
    table[(rgb[::-1, 0] | rgb[::-1, 1] << 8 | rgb[::-1, 2] << 16)] = np.arange(len(rgb))[::-1]  # first entry wins
    return table


def _indexed(image: Image.Image, palette: Image.Image, exact: np.ndarray) -> Image.Image:
    """``image`` in ``palette``: its colours that the palette has, exactly (Pillow's own mapping goes through a
    coarse colour cache that can give white's pixels to a near-white entry), the others to Pillow's nearest."""
    index = exact[np.asarray(image.convert("RGBX")).view(np.uint32)[..., 0] & 0xFFFFFF]
    missing = index == 255
    if missing.any():
        index[missing] = np.asarray(image.quantize(palette=palette, dither=Image.Dither.NONE))[missing]
    out = Image.fromarray(index, "P")
    out.putpalette(palette.getpalette())
    return out
