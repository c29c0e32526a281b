"""What every renderer is: a :class:`Renderer` draws a Bokeh layout's current state as a :data:`Frame`; and the rule
every renderer follows for values it cannot place (:data:`PLOTTABLE`)."""
from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol, Union

import numpy as np
from bokeh.model import Model

if TYPE_CHECKING:
    from PIL import Image

#: The name of the line view's best-epoch ``CustomJSFilter``, then ``:min`` or ``:max``: renderers that cannot run
#: its JavaScript (matplotlib) know it by this name and apply the same rule.
BEST_FILTER = "livetrain:best"

#: The largest magnitude a renderer plots, the square root of the largest float (about 1.34e154): a value past it is
#: drawn as a gap, as NaN and the infinities are. Within it, the arithmetic of ranges and screens cannot overflow:
#: a span (a difference of two values), its padding, a centre, tick steps, and the product of a value with a scale of
#: pixels per unit (both within the bound) all stay finite. Past it they may not: a 1.7e308 loss makes BokehJS's range
#: span ``(max - min) * 1.1`` infinite (an empty plot) and matplotlib refuse the limits. No metric is that large (a
#: float32 tops out at 3.4e38): such a value is an overflow, and would flatten every real value to a line at 0.
PLOTTABLE = math.sqrt(sys.float_info.max)

#: A frame: PNG bytes, a PIL image, an ``(H, W, 3|4)`` uint8 array, or the path of an image file.
Frame = Union[bytes, "Image.Image", "np.ndarray", str, os.PathLike]


#: The largest :func:`pixel_scale` a picture is drawn at (a 700 x 330 plot at 8 is 5600 x 2640 pixels).
MAX_SCALE = 8.0


def pixel_scale(scale: Any) -> float:
    """``scale``, device pixels per CSS pixel of the layout (a picture at 2 has twice the pixels each way, the same
    layout), checked: a number in (0, :data:`MAX_SCALE`], else a ``ValueError`` saying so.

    Example:
        >>> pixel_scale(2), pixel_scale(1.5)
        (2.0, 1.5)
        >>> pixel_scale(0)
        Traceback (most recent call last):
        ValueError: scale must be a number of device pixels per CSS pixel in (0, 8] (2: twice the pixels); got 0
    """
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be a number of device pixels per CSS pixel in (0, {MAX_SCALE:g}] (2: twice the "
                         f"pixels); got {scale!r}")
    return float(scale)


def plottable(values: Any) -> np.ndarray:
    """``values`` as floats, NaN where a renderer draws a gap: NaN, infinite, or beyond :data:`PLOTTABLE`.

    Example:
        >>> plottable([0.5, 1e308, float("inf"), -2.0]).tolist()
        [0.5, nan, nan, -2.0]
    """
    out = np.array(values, dtype=float)
    out[~(np.abs(out) <= PLOTTABLE)] = math.nan
    return out


def plotted(value: float) -> float:
    """One number as a live view streams it: NaN, a gap, beyond :data:`PLOTTABLE`. Infinities stay (BokehJS draws
    them as gaps, and the hover shows them); the renderers turn them into gaps with :func:`plottable`.

    Example:
        >>> plotted(0.5), plotted(1e308), plotted(float("inf"))
        (0.5, nan, inf)
    """
    return value if abs(value) <= PLOTTABLE or math.isinf(value) else math.nan


class Renderer(Protocol):
    """Draws a layout's current state. Registered in :data:`livetrain.frames.RENDERERS`; the contract tests
    (``tests/contract/test_renderers.py``) run every registered one over every registered view.

    A renderer is made for one layout (``Renderer(graph)``), is asked for frames as the layout changes, and is
    closed once. Values that are not finite or beyond :data:`PLOTTABLE` are drawn as gaps, and left out of ranges.
    """

    name: str
    notice: str  #: one line: what draws the frames, and how to get the other renderer

    def __init__(self, graph: Model, *, scale: float = 1.0) -> None:
        """A renderer of ``graph`` whose pictures have ``scale`` device pixels per CSS pixel (:func:`pixel_scale`):
        at 1 a 700 x 330 layout is a 700 x 330 picture, at 2 a 1400 x 660 one of the same layout."""

    @classmethod
    def missing(cls) -> str | None:
        """What this renderer needs that is not installed, or ``None`` when it can start."""

    def capture(self) -> Frame:
        """The layout as it is now."""

    def close(self) -> None:
        """Free what the renderer holds (a browser, a figure)."""
