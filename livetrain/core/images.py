"""Image batches to Bokeh ``image_rgba`` pictures: batch conversion, grids, colour maps, packed RGBA.

Pure numpy; torch tensors are accepted without importing torch, and torchvision and matplotlib are
used when they import.

Shapes, as torch and TensorBoard read them (``N`` images, ``C`` channels in 1, 3, 4):

- 4-D: a batch, ``(N, C, H, W)``, else ``(N, H, W, C)`` (channels first wins when both fit);
- 3-D: one ``(C, H, W)`` image when the first axis fits ``C``, else one ``(H, W, C)`` image when the last
  axis does, else a batch of ``(H, W)`` images: ``(3, H, W)`` is one RGB image, as ``torchvision``'s
  ``make_grid`` and TensorBoard's ``add_image`` read it; pass a batch of 3 or 4 grey images as ``(N, 1, H, W)``;
- 2-D: one ``(H, W)`` image.

Values: uint8 is 0..255; floats and bools are 0..1, or ``value_range=(low, high)``; ``normalize=True``
stretches the batch's finite min..max (each image's with ``scale_each=True``) to black..white, as
``torchvision.utils.make_grid`` does. Values outside the range are clipped, with a warning; NaN is black.
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings
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
Levels = tuple[Any, Any]  # black and the distance to white, in the images' units: numbers, or (N, 1, 1, 1) arrays
OnClip = Callable[[str], object]


def _warn_clipped(note: str) -> None:
    warnings.warn(f"livetrain: images: {note}", UserWarning, stacklevel=4)


def scaling(normalize: bool = False, value_range: Any = None, scale_each: bool = False
            ) -> tuple[bool, tuple[float, float] | None, bool]:
    """``normalize``, ``value_range`` and ``scale_each`` checked, or a ``ValueError`` naming the argument.

    Example:
        >>> scaling(value_range=[-1, 1])
        (False, (-1.0, 1.0), False)
        >>> scaling(value_range=(1, 1))
        Traceback (most recent call last):
        ValueError: value_range must be (low, high), two finite numbers with low < high; got (1, 1)
    """
    for name, flag in (("normalize", normalize), ("scale_each", scale_each)):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"{name} must be True or False; got {flag!r}")
    if value_range is None:
        return bool(normalize), None, bool(scale_each)
    pair = tuple(value_range) if isinstance(value_range, Sequence | np.ndarray) else ()
    if (len(pair) != 2 or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in pair)
            or not pair[0] < pair[1]):
        raise ValueError(f"value_range must be (low, high), two finite numbers with low < high; got {value_range!r}")
    return bool(normalize), (float(pair[0]), float(pair[1])), bool(scale_each)


def to_batch(images: Any, *, normalize: bool = False, value_range: tuple[float, float] | None = None,
             scale_each: bool = False) -> np.ndarray:
    """``images`` as a float32 ``(N, H, W, C)`` array in [0, 1].

    Accepts a torch tensor or an array of one of the shapes in this module's description. uint8 is
    divided by 255; floats and bools are taken as 0..1, or as ``value_range``, or stretched from their
    min..max with ``normalize=True`` (see :func:`make_grid`). Values outside the range are clipped, with a
    ``UserWarning``; NaN becomes 0. Anything else raises ``ValueError``.

    Example:
        >>> to_batch(np.full((2, 1, 28, 28), 255, np.uint8)).shape
        (2, 28, 28, 1)
        >>> to_batch(np.zeros((480, 640, 4))).shape  # one RGBA picture, e.g. a rendered matplotlib figure
        (1, 480, 640, 4)
        >>> to_batch(np.array([[-1.0, 0.0, 1.0, np.nan]]), value_range=(-1, 1))[0, 0, :, 0].tolist()
        [0.0, 0.5, 1.0, 0.0]
        >>> to_batch(np.array([[0.0, 4.0, 16.0]]), normalize=True)[0, 0, :, 0].tolist()
        [0.0, 0.25, 1.0]
        >>> to_batch(np.zeros(5))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: expected images shaped ...; got float64 array of shape (5,)
    """
    normalize, value_range, scale_each = scaling(normalize, value_range, scale_each)
    x, dtype = _nhwc(images)
    return _unit(x, _levels(x, dtype, normalize, value_range, scale_each, _warn_clipped))


def _nhwc(images: Any) -> tuple[np.ndarray, np.dtype]:
    """``images`` as an ``(N, H, W, C)`` view (no copy; bools as uint8) and its dtype, or :func:`to_batch`'s
    ``ValueError``."""
    x = np.asarray(to_numpy(images))
    shape, dtype = x.shape, x.dtype
    if x.ndim == 2:
        x = x[None, :, :, None]
    elif x.ndim == 3:
        x = x.transpose(1, 2, 0)[None] if shape[0] in _CHANNELS else x[None] if shape[2] in _CHANNELS else x[..., None]
    elif x.ndim == 4 and shape[1] in _CHANNELS:
        x = x.transpose(0, 2, 3, 1)
    if x.ndim != 4 or x.shape[3] not in _CHANNELS or x.size == 0 or not (dtype == np.uint8 or dtype.kind in "fb"):
        raise ValueError(f"{_EXPECTED}; got {'an empty ' if x.size == 0 else ''}{dtype} array of shape {shape}")
    return (x.view(np.uint8) if dtype.kind == "b" else x), dtype


def _levels(x: np.ndarray, dtype: np.dtype, normalize: bool, value_range: tuple[float, float] | None,
            scale_each: bool, on_clip: OnClip) -> Levels:
    """Black and the distance to white in ``x``'s units; ``on_clip`` gets a note when values lie outside them."""
    if normalize and value_range is None:
        finite = np.where(np.isfinite(x), x, np.nan) if dtype.kind == "f" else x
        axes = (1, 2, 3) if scale_each else None
        least = np.fmin.reduce(finite, axis=axes, keepdims=True).astype(np.float64)  # NaN ignored
        most = np.fmax.reduce(finite, axis=axes, keepdims=True).astype(np.float64)
        return np.nan_to_num(least), np.where(most > least, most - least, 1.0)  # flat is black, as in torchvision
    low, high = value_range or ((0.0, 255.0) if dtype == np.uint8 else (0.0, 1.0))
    if value_range is not None or dtype.kind == "f":
        seen_low, seen_high = float(np.fmin.reduce(x, axis=None)), float(np.fmax.reduce(x, axis=None))
        if seen_low < low or seen_high > high:
            on_clip(f"values from {seen_low:.4g} to {seen_high:.4g} lie outside [{low:g}, {high:g}] and are clipped "
                    f"to black and white; pass normalize=True to stretch each batch's min..max, or "
                    f"value_range=(low, high)")
    return low, high - low


def _unit(x: np.ndarray, levels: Levels) -> np.ndarray:
    """``x`` mapped by ``levels`` to a new float32 C-order array in [0, 1], NaN as 0."""
    low, span = levels
    out = np.subtract(x, low, dtype=np.float32, order="C")
    if np.any(span != 1):
        np.multiply(out, 1 / span, out=out, casting="unsafe")
    np.fmax(out, 0, out=out)  # fmax maps NaN to 0
    return np.fmin(out, 1, out=out)


def make_grid(batch: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 0.0, *,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False) -> np.ndarray:
    """An ``(N, H, W, C)`` batch tiled into one ``(H', W', C)`` picture, as ``torchvision.utils.make_grid`` does.

    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each. Image ``k`` sits at
    ``y = (k // nrow) * (H + padding) + padding``, ``x = (k % nrow) * (W + padding) + padding``; a
    batch of one image is returned as it is. Uses torchvision when it imports, else numpy (same result).

    The values pass through as they are, unless ``value_range=(low, high)`` is given (``low`` becomes 0 and
    ``high`` 1) or ``normalize=True`` (the batch's finite min and max, or each image's with
    ``scale_each=True``, become 0 and 1), as in torchvision; values outside the range are then clipped,
    with a ``UserWarning``.

    Example:
        >>> make_grid(np.ones((64, 28, 28, 1), np.float32)).shape
        (242, 242, 1)
        >>> print(make_grid(np.ones((3, 1, 1, 1)), nrow=2, padding=1)[..., 0].astype(int))
        [[0 0 0 0 0]
         [0 1 0 1 0]
         [0 0 0 0 0]
         [0 1 0 0 0]
         [0 0 0 0 0]]
        >>> make_grid(np.array([[[[-1.0], [1.0]]]]), value_range=(-1, 1))[..., 0].tolist()
        [[0.0, 1.0]]
    """
    normalize, value_range, scale_each = scaling(normalize, value_range, scale_each)
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.size == 0:
        raise ValueError(f"expected a non-empty batch shaped (N, H, W, C), e.g. from to_batch; got shape {batch.shape}")
    if normalize or value_range is not None:
        batch = _unit(batch, _levels(batch, batch.dtype, normalize, value_range, scale_each, _warn_clipped))
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


def shrink(images: np.ndarray, k: int) -> np.ndarray:
    """``(..., H, W, C)`` images averaged over ``k`` x ``k`` blocks (float32; the last ``H % k`` rows and ``W % k``
    columns are dropped), ``k`` at most the shorter side; as they are when ``k <= 1``.

    Example:
        >>> shrink(np.arange(16.0).reshape(1, 4, 4, 1), 2)[0, ..., 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    *_, h, w, c = images.shape
    k = min(k, h, w)
    if k <= 1:
        return images
    blocks = images[..., :h // k * k, :w // k * k, :].reshape(*images.shape[:-3], h // k, k, w // k, k, c)
    return blocks.mean(axis=(-4, -2), dtype=np.float32)


def grid_shrink(count: int, height: int, width: int, nrow: int = 8, padding: int = 2,
                most: int | None = None) -> int:
    """The least block size ``k`` for :func:`shrink` that makes the grid of ``count`` images of ``height`` x
    ``width`` (``nrow`` per row, ``padding`` around each, as :func:`make_grid` tiles them) at most ``most`` pixels a
    side; 1 when it fits already or ``most`` is ``None``, at most the images' shorter side.

    Example:
        >>> grid_shrink(64, 256, 256, most=350)  # 8 x 8 images of 256 px: 2066 px; 8 x (256 // 7 + 2) + 2 = 306
        7
        >>> grid_shrink(64, 28, 28, most=350)
        1
    """
    if most is None:
        return 1
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    pad = 0 if count == 1 else padding
    for k in range(1, min(height, width) + 1):
        if max(rows * (height // k + pad), columns * (width // k + pad)) + pad <= most:
            return k
    return min(height, width)


def grid_picture(images: Any, cmap: Colormap = "gray", nrow: int = 8, padding: int = 2, *,
                 max_images: int | None = None, normalize: bool = False,
                 value_range: tuple[float, float] | None = None, scale_each: bool = False,
                 on_clip: OnClip = _warn_clipped, most: int | None = None) -> np.ndarray:
    """A batch of images (or one) as one upright ``image_rgba`` picture: the first ``max_images`` (default: all)
    through ``to_rgba_u32(make_grid(to_batch(images, ...)), cmap)``.

    ``normalize``, ``value_range`` and ``scale_each`` are :func:`to_batch`'s; when values are clipped,
    ``on_clip`` gets a note saying so (by default it is a ``UserWarning``). With ``most``, the images are first
    shrunk by block averages (:func:`shrink`, :func:`grid_shrink`) so that the grid is at most ``most`` pixels a
    side, its padding kept: what a plot of that many pixels can show, and no more bytes. The same pixels, made
    faster for single-channel images without torchvision: each value becomes its colour-map index (one byte)
    before tiling, and one lookup colours the whole grid.

    Example:
        >>> grid_picture(np.ones((64, 1, 28, 28), np.float32)).shape
        (242, 242)
        >>> grid_picture(np.ones((64, 1, 28, 28), np.float32), max_images=2).shape
        (32, 62)
        >>> grid_picture(np.ones((64, 3, 256, 256), np.float32), most=350).shape
        (306, 306)
    """
    normalize, value_range, scale_each = scaling(normalize, value_range, scale_each)
    x, dtype = _nhwc(images)
    x = x[:max_images]
    if nrow < 1 or padding < 0:
        raise ValueError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow!r}, padding={padding!r}")
    if dtype == np.uint8 and not normalize and value_range is None:
        levels: Levels | None = None  # value v / 255 picks entry floor(256 v / 255) == v
    else:
        levels = _levels(x, dtype, normalize, value_range, scale_each, on_clip)
    k = grid_shrink(x.shape[0], x.shape[1], x.shape[2], nrow, padding, most)
    if k > 1:  # averaged after the mapping to 0..1: clipped values and NaN (black) count as they are drawn
        x, levels = shrink(_unit(x, levels or (0.0, 255.0)), k), (0.0, 1.0)
    if x.shape[3] != 1 or _torchvision_make_grid() is not None:
        batch = _unit(x, levels or (0.0, 255.0))
        return to_rgba_u32(make_grid(batch, nrow, padding), cmap)
    if levels is None:
        index = x
    else:  # entry min(floor(256 v), 255) of the value v in [0, 1], NaN as 0: as to_batch then to_rgba_u32 do
        low, span = levels
        scaled = np.subtract(x, low, dtype=np.float32)
        np.multiply(scaled, 256 / span, out=scaled, casting="unsafe")
        np.fmax(scaled, 0, out=scaled)
        index = np.fmin(scaled, 255, out=scaled).astype(np.uint8)
    grid = _tile(index, nrow, padding, 0)[::-1, :, 0]
    return colormap(cmap).view(np.uint32)[:, 0].take(grid)
