"""GIF assembly: frames of a run into one looping GIF with a shared palette and flat colours."""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .files import atomic_path

Frame = Any  # a PIL image, an (H, W, 3|4) uint8 array, PNG bytes, or a path to an image file


def to_image(frame: Frame) -> Image.Image:
    """``frame`` as an RGB PIL image (transparency composited over white, as a page shows it).

    Example:
        >>> to_image(np.zeros((2, 3, 4), np.uint8)).getpixel((0, 0))
        (255, 255, 255)
    """
    if isinstance(frame, Image.Image):
        image = frame
    elif isinstance(frame, (bytes, bytearray)):
        image = Image.open(io.BytesIO(frame))
    elif isinstance(frame, (str, os.PathLike)):
        image = Image.open(frame)
    elif isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] in (3, 4):
        image = Image.fromarray(frame)
    else:
        shape = getattr(frame, "shape", None)
        raise ValueError(f"a frame must be a PIL image, PNG bytes, an image path or an (H, W, 3|4) uint8 array; "
                         f"got {type(frame).__name__}{f' of shape {shape}' if shape is not None else ''}")
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image).convert("RGB")
    return image.convert("RGB")


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
    if not 2 <= colors <= 256:
        raise ValueError(f"colors must be between 2 and 256, got {colors}")
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # Pillow decodes and maps colours without the GIL
        images = list(pool.map(to_image, frames))
        size = (max(i.width for i in images), max(i.height for i in images))
        images = [_on_canvas(i, size) for i in images]
        palette = _palette([images[0], images[len(images) // 2], images[-1]], colors)
        indexed = list(pool.map(lambda i: i.quantize(palette=palette, dither=Image.Dither.NONE), images))
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
    colours exactly (a plot's background, lines and bars stay their colour; median cut alone would average
    white with its neighbours), the rest by median cut."""
    width, height = samples[0].size
    montage = Image.new("RGB", (width, height * len(samples)))
    for k, image in enumerate(samples):
        montage.paste(image, (0, k * height))
    montage = montage.resize((width // 2, height * len(samples) // 2), Image.Resampling.NEAREST)  # 4x fewer pixels,
    counted = montage.getcolors(montage.width * montage.height)                               # no new colours
    exact = [c for _, c in sorted(counted, reverse=True)[:colors // 2]]
    rest = montage.quantize(colors - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    entries = [c for rgb in exact for c in rgb] + rest.getpalette()[:3 * (colors - len(exact))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries)
    return palette
