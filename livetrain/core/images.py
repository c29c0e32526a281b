"""Image batches to Bokeh ``image_rgba`` pictures: batch conversion, grids, colour maps, packed RGBA.

Pure numpy; torch tensors are accepted without importing torch, and torchvision and matplotlib are
used when they import.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import bokeh.palettes
import numpy as np

from .metrics import to_numpy

_CHANNELS = (1, 3, 4)
_EXPECTED = ("expected images shaped (N, C, H, W), (N, H, W) or (N, H, W, C) with C in 1, 3, 4, or one (H, W) "
             "image, as floats in [0, 1] or uint8")
# matplotlib's names for colour maps that Bokeh ships as 256-colour palettes, within 1/255 of matplotlib's colours
# (Bokeh's Cividis256 is not: up to 23/255 off, so "cividis" goes to matplotlib)
_ALIASES = {"gray": "Greys256", "grey": "Greys256", "inferno": "Inferno256", "magma": "Magma256",
            "plasma": "Plasma256", "viridis": "Viridis256", "turbo": "Turbo256"}

Colormap = str | Sequence[str] | np.ndarray | Callable[[np.ndarray], Any]


def to_batch(images: Any) -> np.ndarray:
    """``images`` as a float32 ``(N, H, W, C)`` array in [0, 1].

    Accepts a torch tensor or an array shaped ``(N, C, H, W)``, ``(N, H, W, C)`` (C in 1, 3, 4;
    channels first wins when both fit), ``(N, H, W)`` or ``(H, W)``. uint8 is divided by 255;
    floats (and bools) are clipped to [0, 1], NaN becomes 0. Anything else raises ``ValueError``.

    Example:
        >>> to_batch(np.full((2, 1, 28, 28), 255, np.uint8)).shape
        (2, 28, 28, 1)
        >>> to_batch(np.array([[-1.0, 0.5, 2.0, np.nan]]))[0, 0, :, 0].tolist()
        [0.0, 0.5, 1.0, 0.0]
        >>> to_batch(np.zeros(5))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: expected images shaped ...; got float64 array of shape (5,)
    """
    x, dtype = _nhwc(images)
    if dtype == np.uint8:
        return np.multiply(x, np.float32(1 / 255), dtype=np.float32, order="C")
    out = np.fmax(x, 0, dtype=np.float32, order="C")  # a new array, and fmax maps NaN to 0
    return np.fmin(out, 1, out=out)


def _nhwc(images: Any) -> tuple[np.ndarray, np.dtype]:
    """``images`` as an ``(N, H, W, C)`` view (no copy) and its dtype, or the ``ValueError`` of :func:`to_batch`."""
    x = np.asarray(to_numpy(images))
    shape, dtype = x.shape, x.dtype
    if x.ndim == 2:
        x = x[None, :, :, None]
    elif x.ndim == 3:
        x = x[..., None]
    elif x.ndim == 4 and shape[1] in _CHANNELS:
        x = x.transpose(0, 2, 3, 1)
    if x.ndim != 4 or x.shape[3] not in _CHANNELS or x.size == 0 or not (dtype == np.uint8 or dtype.kind in "fb"):
        raise ValueError(f"{_EXPECTED}; got {'an empty ' if x.size == 0 else ''}{dtype} array of shape {shape}")
    return x, dtype


def make_grid(batch: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 0.0) -> np.ndarray:
    """An ``(N, H, W, C)`` batch tiled into one ``(H', W', C)`` picture, as ``torchvision.utils.make_grid`` does.

    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each. Image ``k`` sits at
    ``y = (k // nrow) * (H + padding) + padding``, ``x = (k % nrow) * (W + padding) + padding``; a
    batch of one image is returned as it is. Uses torchvision when it imports, else numpy (same result).

    Example:
        >>> make_grid(np.ones((64, 28, 28, 1), np.float32)).shape
        (242, 242, 1)
        >>> print(make_grid(np.ones((3, 1, 1, 1)), nrow=2, padding=1)[..., 0].astype(int))
        [[0 0 0 0 0]
         [0 1 0 1 0]
         [0 0 0 0 0]
         [0 1 0 0 0]
         [0 0 0 0 0]]
    """
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.size == 0:
        raise ValueError(f"expected a non-empty batch shaped (N, H, W, C), e.g. from to_batch; got shape {batch.shape}")
    if nrow < 1 or padding < 0:
        raise ValueError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow!r}, padding={padding!r}")
    torchvision_make_grid = _torchvision_make_grid()
    if torchvision_make_grid is not None:
        import torch

        grid = torchvision_make_grid(torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))),
                                     nrow=nrow, padding=padding, pad_value=pad_value)
        return grid.numpy().transpose(1, 2, 0)[..., :batch.shape[3]]  # torchvision makes 1-channel grids RGB
    return _tile(batch, nrow, padding, pad_value)


def _tile(batch: np.ndarray, nrow: int, padding: int, pad_value: float) -> np.ndarray:
    """:func:`make_grid`'s numpy layout, in ``batch``'s dtype."""
    n, h, w, c = batch.shape
    if n == 1:
        return batch[0]
    xmaps = min(nrow, n)
    ymaps = math.ceil(n / xmaps)
    height, width = h + padding, w + padding
    grid = np.full((ymaps * height + padding, xmaps * width + padding, c), pad_value, batch.dtype)
    if n < xmaps * ymaps:  # blank cells complete the last row
        batch = np.concatenate([batch, np.full((xmaps * ymaps - n, h, w, c), pad_value, batch.dtype)])
    # the grid seen as (row, y, column, x, channel) cells: one assignment places every image
    cells = grid[padding:, padding:].reshape(ymaps, height, xmaps, width, c)
    cells[:, :h, :, :w] = batch.reshape(ymaps, xmaps, h, w, c).transpose(0, 2, 1, 3, 4)
    return grid


@functools.cache
def _torchvision_make_grid() -> Callable[..., Any] | None:
    try:
        from torchvision.utils import make_grid as torchvision_make_grid
    except Exception:  # noqa: BLE001 - missing, or broken against this torch: either way not available
        return None
    return torchvision_make_grid


def colormap(cmap: Colormap) -> np.ndarray:
    """A ``(256, 4)`` uint8 RGBA lookup table: entry ``i`` is the colour of the value ``i / 255``.

    ``cmap`` is a Bokeh palette name (``"Inferno256"``, ``"Greys256"``, ``"Category10_10"``), a sequence of
    hex colours (``"#rgb"``, ``"#rrggbb"``, ``"#rrggbbaa"``; fewer than 256 are repeated in equal bins, as
    Bokeh's ``LinearColorMapper`` does), a matplotlib colour-map name or object (``gray``/``grey``,
    ``inferno``, ``magma``, ``plasma``, ``viridis`` and ``turbo``, and their ``_r`` reversals,
    come from Bokeh's palettes; other names need matplotlib), or such a table, returned as it is.

    Example:
        >>> lut = colormap("gray")
        >>> lut[0].tolist(), lut[255].tolist()
        ([0, 0, 0, 255], [255, 255, 255, 255])
        >>> colormap(["#ff0000", "#0000ff80"])[[0, 127, 128, 255]].tolist()
        [[255, 0, 0, 255], [255, 0, 0, 255], [0, 0, 255, 128], [0, 0, 255, 128]]
    """
    if isinstance(cmap, np.ndarray) and cmap.shape == (256, 4) and cmap.dtype == np.uint8:
        return cmap
    if isinstance(cmap, str):
        return _named(cmap)
    if callable(cmap):  # a matplotlib Colormap, e.g. matplotlib.cm.gray as in the blog
        return np.rint(np.asarray(cmap(np.linspace(0, 1, 256)), dtype=np.float64) * 255).astype(np.uint8)
    colors = list(cmap) if isinstance(cmap, Sequence) else []
    if not colors or not all(isinstance(c, str) for c in colors):
        raise ValueError(f"expected a colour-map name or a sequence of hex colours, got {cmap!r:.80}")
    rgba = np.array([_hex(c) for c in colors], np.uint8)
    return rgba[np.arange(256) * len(rgba) // 256]


def _hex(color: str) -> tuple[int, ...]:
    digits = color[1:] if color.startswith("#") else ""
    digits = "".join(d * 2 for d in digits) if len(digits) in (3, 4) else digits
    try:
        rgba = tuple(bytes.fromhex(digits + "ff" if len(digits) == 6 else digits))
    except ValueError:
        rgba = ()
    if len(rgba) != 4:
        raise ValueError(f"expected hex colours like '#1f77b4' or '#1f77b480', got {color!r}")
    return rgba


def _named(name: str) -> np.ndarray:
    palette = getattr(bokeh.palettes, _ALIASES.get(name, name), None)
    if isinstance(palette, tuple) and palette and all(isinstance(c, str) for c in palette):
        return colormap(palette)
    if name.endswith("_r") and name[:-2] in _ALIASES:
        return _named(name[:-2])[::-1].copy()
    registry: Mapping[str, Any]
    try:
        from matplotlib import colormaps as registry
    except Exception:  # noqa: BLE001 - matplotlib is optional, and a broken install is as good as none
        registry = {}
    if name in registry:
        return colormap(registry[name])
    more = "any of matplotlib's colour maps" if registry else "others with matplotlib installed"
    raise ValueError(f"unknown colour map {name!r}: expected a Bokeh palette name such as 'Inferno256', "
                     f"one of {', '.join(_ALIASES)} (or with '_r'), or {more}")


def to_rgba_u32(grid: np.ndarray, cmap: Colormap = "gray") -> np.ndarray:
    """A picture in [0, 1] as the 2-D uint32 array Bokeh's ``image_rgba`` draws, upright.

    ``grid`` is ``(H, W)`` or ``(H, W, C)``: one channel goes through ``colormap(cmap)`` (value ``v``
    picks entry ``min(floor(256 v), 255)``, as matplotlib does), RGB gets alpha 255, RGBA is used as
    it is. Rows are flipped, since Bokeh draws row 0 at the bottom. The result is C-contiguous; its
    bytes are the pixels' RGBA bytes.

    Example:
        >>> img = to_rgba_u32(np.array([[0.0], [1.0]]))  # black above white
        >>> img.shape, img.dtype, img.view(np.uint8).reshape(2, 1, 4)[:, 0].tolist()
        ((2, 1), dtype('uint32'), [[255, 255, 255, 255], [0, 0, 0, 255]])
    """
    grid = np.asarray(grid)
    if grid.ndim == 2:
        grid = grid[..., None]
    if grid.ndim != 3 or grid.shape[2] not in _CHANNELS:
        raise ValueError(f"expected a picture shaped (H, W) or (H, W, C) with C in 1, 3, 4; got shape {grid.shape}")
    flipped = grid[::-1]
    if grid.shape[2] == 1:
        scaled = np.multiply(flipped[..., 0], 256, dtype=np.float32)
        index = np.clip(scaled, 0, 255, out=scaled).astype(np.uint8)
        return colormap(cmap).view(np.uint32)[:, 0].take(index)
    rgba = np.full(grid.shape[:2] + (4,), 255, np.uint8)
    rgba[..., :grid.shape[2]] = np.rint(np.clip(flipped, 0, 1) * 255)
    return rgba.view(np.uint32)[..., 0]


def grid_picture(images: Any, cmap: Colormap = "gray", nrow: int = 8, padding: int = 2) -> np.ndarray:
    """A batch of images as one upright ``image_rgba`` picture: ``to_rgba_u32(make_grid(to_batch(images)), cmap)``.

    The same pixels, made faster for single-channel images without torchvision: each value becomes
    its colour-map index (one byte) before tiling, and one lookup colours the whole grid.

    Example:
        >>> grid_picture(np.ones((64, 1, 28, 28), np.float32)).shape
        (242, 242)
    """
    x, dtype = _nhwc(images)
    if x.shape[3] != 1 or _torchvision_make_grid() is not None:
        return to_rgba_u32(make_grid(to_batch(images), nrow, padding), cmap)
    if nrow < 1 or padding < 0:
        raise ValueError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow!r}, padding={padding!r}")
    if dtype == np.uint8:
        index = x  # value v / 255 picks entry floor(256 v / 255) == v
    else:  # entry min(floor(256 v), 255), NaN as 0: as to_batch then to_rgba_u32 do
        scaled = np.multiply(x, 256, dtype=np.float32)
        np.fmax(scaled, 0, out=scaled)
        index = np.fmin(scaled, 255, out=scaled).astype(np.uint8)
    grid = _tile(index, nrow, padding, 0)[::-1, :, 0]
    return colormap(cmap).view(np.uint32)[:, 0].take(grid)
