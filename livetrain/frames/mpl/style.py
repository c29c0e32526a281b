"""Bokeh's style properties read as matplotlib's: colours, fonts, lines, glyph columns; matplotlib itself, lazily."""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from bokeh.model import Model

from ..base import plottable

PT = 0.72  # matplotlib points per CSS pixel at 100 dpi; a dpi of 100 draws one pixel per CSS pixel
_FONTS = ("Liberation Sans", "Arimo", "Helvetica", "Arial", "DejaVu Sans")  # Helvetica, or a twin of its metrics
_DASHES = {"solid": (), "dashed": (6,), "dotted": (2, 4), "dotdash": (2, 4, 6, 4), "dashdot": (6, 4, 2, 4)}


def data_column(value: Any, data: Mapping[str, Any]) -> Any:
    """The source column a glyph property names, or ``None`` for a fixed value.

    Example:
        >>> data_column({"field": "y"}, {"y": [1, 2]}), data_column({"value": 3}, {"y": [1, 2]})
        ([1, 2], None)
    """
    name = value.get("field") if isinstance(value, dict) else getattr(value, "field", value)
    return data.get(name) if isinstance(name, str) else None


def props(model: Model, names: Sequence[str]) -> SimpleNamespace:
    """A snapshot of a model's properties: each read of an unset Bokeh property costs about 20 microseconds."""
    return SimpleNamespace(**{name: getattr(model, name) for name in names})


def _fixed(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) else getattr(value, "value", value)


def scalar(value: Any, data: Mapping[str, Any]) -> Any:
    """A glyph property's fixed value, or the first value of its column.

    Example:
        >>> scalar({"value": "red"}, {}), scalar("y", {"y": [4, 5]})
        ('red', 4)
    """
    column = data_column(value, data)
    return _fixed(value) if column is None else column[0] if len(column) else None


def floats(value: Any, data: Mapping[str, Any], rows: np.ndarray | None, n: int,
           factors: dict[Any, float] | None = None) -> np.ndarray:
    """A coordinate property as floats, one per kept row; categories become their centres, and values a renderer
    draws as gaps (see :func:`~livetrain.frames.base.plottable`) NaN.

    Example:
        >>> floats("x", {"x": ["a", "b", "c"]}, np.array([0, 2]), 3, {"a": 0.5, "c": 2.5}).tolist()
        [0.5, 2.5]
        >>> floats("y", {"y": [0.5, 1e308]}, None, 2).tolist()
        [0.5, nan]
    """
    column = data_column(value, data)
    if column is None:
        column, rows = [_fixed(value)] * n, None
    if factors is not None:
        column = [factors.get(tuple(f) if isinstance(f, list) else f, math.nan) for f in column]
    try:
        values = plottable(column)
    except (TypeError, ValueError):  # a column that is not numbers
        values = np.full(len(column), math.nan)
    return values if rows is None else values[rows]


def item_label(item: Any) -> str:
    """A legend item's label as text (``""`` when it has none)."""
    value = _fixed(item.label)
    return "" if value is None else str(getattr(value, "field", value))


def number(value: Any, default: Any) -> Any:
    """``value``, or ``default`` when it is unset (``None`` or NaN).

    Example:
        >>> number(float("nan"), 0), number(2, 0)
        (0, 2)
    """
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def font_px(size: Any) -> float:
    """A CSS font size (``"13px"``, ``"10pt"``, ``"1.2em"``) in pixels.

    Example:
        >>> font_px("13px"), font_px("12pt"), font_px("1.5em")
        (13.0, 16.0, 24.0)
    """
    found = re.fullmatch(r"\s*([\d.]+)\s*(px|pt|em|rem|%)?\s*", str(size))
    if found is None:
        return 13.0
    return float(found[1]) * {"px": 1, "pt": 4 / 3, "em": 16, "rem": 16, "%": 0.16}[found[2] or "px"]


def font(family: str, size: Any, style: str | None) -> dict[str, Any]:
    """Keyword arguments of a matplotlib ``Text`` for a Bokeh font, size and style."""
    style = style or "normal"
    return {"fontfamily": _family(family), "fontsize": PT * font_px(size), "fontweight": "bold" if "bold" in style else
            "normal", "fontstyle": "italic" if "italic" in style else "normal"}


@functools.cache
def _family(name: str) -> str:
    """The first installed of ``name`` and Helvetica's look-alikes."""
    fonts = mpl().fonts
    return next((fonts[f.lower()] for f in (str(name), *_FONTS) if f.lower() in fonts), "sans-serif")


def rgba(color: Any, alpha: Any = 1.0) -> tuple[float, float, float, float]:
    """A Bokeh colour (name, hex, ``rgb(...)``, tuple, ``Color``; ``None``: transparent) times ``alpha``.

    Example:
        >>> rgba((255, 0, 0), 0.5), rgba(None)
        ((1.0, 0.0, 0.0, 0.5), (0.0, 0.0, 0.0, 0.0))
    """
    if color is None:
        return (0.0, 0.0, 0.0, 0.0)
    if hasattr(color, "to_rgb"):
        color = color.to_rgb()
        color = (color.r, color.g, color.b, color.a)
    if isinstance(color, str) and color.strip().lower().startswith("rgb"):
        color = tuple(float(v) for v in re.findall(r"[\d.]+", color))
    if isinstance(color, (tuple, list)):
        channels = (color[0] / 255, color[1] / 255, color[2] / 255, color[3] if len(color) > 3 else 1.0)
    else:
        channels = mpl().to_rgba(color)
    return (*channels[:3], channels[3] * number(alpha, 1.0))


def stroke(model: Any, prefix: str) -> dict[str, Any]:
    """A box outline's matplotlib colour and width from Bokeh's ``<prefix>_color``, ``_alpha`` and ``_width``."""
    return {"edgecolor": rgba(getattr(model, f"{prefix}_color"), getattr(model, f"{prefix}_alpha")),
            "linewidth": PT * getattr(model, f"{prefix}_width")}


def line_style(model: Any, data: Mapping[str, Any], prefix: str = "line_") -> dict[str, Any]:
    """matplotlib's colour, width and dashes of Bokeh's line properties (dashes in pixels, as BokehJS draws them)."""
    width = PT * number(scalar(getattr(model, prefix + "width"), data), 1)
    dash = getattr(model, prefix + "dash")
    if isinstance(dash, str):
        dash = _DASHES[dash] if dash in _DASHES else tuple(float(d) for d in dash.split())
    dash = tuple(dash) * (2 if len(dash) % 2 else 1)
    scale = PT / (width if width and mpl().rcParams["lines.scale_dashes"] else 1)  # matplotlib scales dashes by width
    return {"color": rgba(scalar(getattr(model, prefix + "color"), data),
                          scalar(getattr(model, prefix + "alpha"), data)),
            "linewidth": width,
            "linestyle": (getattr(model, prefix + "dash_offset") * scale, tuple(d * scale for d in dash)) if dash
            else "solid"}


@functools.cache
def mpl() -> SimpleNamespace:
    """The parts of matplotlib the renderer uses, imported on first use: matplotlib is optional."""
    try:
        from matplotlib import font_manager, rcParams
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.colors import to_rgba
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import Affine2D
    except ImportError as exc:
        raise ImportError("drawing frames without a browser needs matplotlib: pip install matplotlib") from exc
    return SimpleNamespace(Affine2D=Affine2D, Figure=Figure, FigureCanvasAgg=FigureCanvasAgg,
                           FontProperties=font_manager.FontProperties, Line2D=Line2D, LineCollection=LineCollection,
                           PolyCollection=PolyCollection, Rectangle=Rectangle, rcParams=rcParams, to_rgba=to_rgba,
                           fonts={f.name.lower(): f.name for f in font_manager.fontManager.ttflist})
