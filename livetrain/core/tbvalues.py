"""How TensorBoard's writers read their arguments: a ``global_step``, a scalar, an image by its ``dataformats``, a
matplotlib figure. ``livetrain.SummaryWriter`` and ``livetrain.summary`` follow these rules, as torch's writer does.
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np

from .images import make_grid
from .metrics import to_numpy


def step_of(global_step: Any) -> int | None:
    """``global_step`` as an int (a Python or numpy int, a whole float, a 0-d tensor or array), or ``None``.

    Example:
        >>> step_of(np.int64(7)), step_of(3.0), step_of(None)
        (7, 3, None)
        >>> step_of("ten")
        Traceback (most recent call last):
        TypeError: global_step must be an int, got str 'ten'
    """
    if global_step is None:
        return None
    if isinstance(global_step, bool):
        raise TypeError(f"global_step must be an int, got bool {global_step!r}")
    if getattr(global_step, "ndim", None) == 0 and hasattr(global_step, "item"):
        global_step = global_step.item()
    if isinstance(global_step, float) and global_step.is_integer():
        return int(global_step)
    try:
        return operator.index(global_step)
    except TypeError:
        raise TypeError(f"global_step must be an int, got {type(global_step).__name__} {global_step!r:.40}") from None


def scalar_of(value: Any) -> Any:
    """``value`` as ``add_scalar`` logs it: Python numbers as they are, a 1-element array or tensor as a 0-d one (not
    read: a JAX or torch value stays on its device until it is drawn), anything else a clear ``TypeError``.

    Example:
        >>> scalar_of(np.array([0.5])).shape, scalar_of(2)
        ((), 2)
        >>> scalar_of("high")
        Traceback (most recent call last):
        TypeError: expected a number or a one-element array or tensor, got str 'high'
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return value
    shape = getattr(value, "shape", None)
    if shape is not None and math.prod(shape) == 1 and hasattr(value, "reshape"):
        return value if len(shape) == 0 else value.reshape(())
    got = f"{type(value).__name__} of shape {tuple(shape)}" if shape is not None else f"{type(value).__name__} " \
                                                                                        f"{value!r:.40}"
    raise TypeError(f"expected a number or a one-element array or tensor, got {got}")


def image_hwc(img: Any, dataformats: str = "CHW") -> np.ndarray:
    """An image (or a batch, with ``N`` in ``dataformats``, tiled 8 per row as torch does) as the ``(H, W, C)`` uint8
    picture torch writes: ``C`` is 3, or 4 for RGBA; floats (and bools) are 0..1, scaled by 255; uint8 as it is;
    values outside are clipped.

    Example:
        >>> image_hwc(np.ones((1, 2, 3))).shape, image_hwc(np.zeros((5, 2, 3, 1)), "NHWC").shape
        ((2, 3, 3), (2, 15, 3))
        >>> image_hwc(np.zeros((2, 3)))
        Traceback (most recent call last):
        ValueError: dataformats 'CHW' needs a 3-D image; got shape (2, 3)
    """
    form = dataformats.upper() if isinstance(dataformats, str) else ""
    layouts = {"HW": "HW", "CHW": "HWC", "NCHW": "NHWC"}
    target = layouts.get("".join(sorted(form, key="NCHW".index)) if set(form) <= set("NCHW") else "")
    if target is None or len(set(form)) != len(form):
        raise ValueError(f"dataformats must be a layout of HW, CHW or NCHW such as 'HWC' or 'NHWC'; "
                         f"got {dataformats!r}")
    array = np.asarray(to_numpy(img))
    if array.ndim != len(form):
        raise ValueError(f"dataformats {dataformats!r} needs a {len(form)}-D image; got shape {array.shape}")
    array = array.transpose([form.index(c) for c in target])
    if target == "HW":
        array = array[..., None]
    batch = array if target == "NHWC" else array[None]
    if batch.shape[3] not in (1, 3, 4) or batch.size == 0:
        raise ValueError(f"expected 1, 3 or 4 channels (C in {dataformats!r}) and a non-empty image; got shape "
                         f"{np.shape(img)}")
    scale = 1.0 if batch.dtype == np.uint8 else 255.0
    pixels = np.clip(np.multiply(batch, scale, dtype=np.float32), 0, 255).astype(np.uint8)
    if pixels.shape[3] == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    return make_grid(pixels, nrow=8, padding=0).astype(np.uint8) if target == "NHWC" else pixels[0]


def figure_pixels(figure: Any, close: bool = True) -> np.ndarray:
    """A matplotlib figure rendered with Agg as an ``(H, W, 3)`` uint8 picture, as torch's ``figure_to_image`` does;
    ``close``: close the figure (as torch does by default).

    Example:
        >>> import matplotlib.figure
        >>> figure_pixels(matplotlib.figure.Figure(figsize=(2, 1), dpi=50)).shape
        (50, 100, 3)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return pixels
