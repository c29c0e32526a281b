"""BokehJS's rules in Python: categorical and automatic ranges, ticks and their labels, legend places, view filters."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from bokeh.models import BooleanFilter, CustomJSFilter, DataRange1d, FactorRange, IndexFilter
from bokeh.models.filters import AllIndices

from ..base import BEST_FILTER, plottable
from .style import number

_BEST_MODES = {f"{BEST_FILTER}:{mode}": mode for mode in ("min", "max")}


def factor_map(rng: FactorRange) -> tuple[dict[Any, float], tuple[float, float]]:
    """Each factor's centre and the range's ``(start, end)``; nested factors get BokehJS's group paddings.

    Example:
        >>> factor_map(FactorRange(factors=["a", "b"], range_padding=0))
        ({'a': 0.5, 'b': 1.5}, (-0.0, 2.0))
    """
    centers: dict[Any, float] = {}
    pos, prev = 0.0, None
    for factor in rng.factors:
        factor = tuple(factor) if isinstance(factor, list) else factor
        if prev is not None:
            nested = isinstance(factor, tuple)
            pos += (rng.group_padding if nested and factor[0] != prev[0] else
                    rng.subgroup_padding if nested and len(factor) == 3 and factor[1] != prev[1] else
                    rng.factor_padding)
        centers[factor], pos, prev = pos + 0.5, pos + 1, factor
    pad = rng.range_padding * pos if rng.range_padding_units == "percent" else rng.range_padding
    return centers, (-pad / 2, pos + pad / 2)


def auto_range(rng: DataRange1d, boxes: list[tuple[float, float]]) -> tuple[float, float]:
    """A ``DataRange1d``'s ``(start, end)`` from its renderers' bounds: BokehJS's padding, default span,
    flip and follow; a ``start`` or ``end`` that is set stays.

    Example:
        >>> auto_range(DataRange1d(), [(0.0, 10.0)])
        (-0.5, 10.5)
    """
    start, end = number(rng.start, None), number(rng.end, None)
    lo = min((b[0] for b in boxes), default=math.inf) if start is None else start
    hi = max((b[1] for b in boxes), default=-math.inf) if end is None else end
    if not (math.isfinite(lo) and math.isfinite(hi)):  # no data yet: BokehJS has no range either
        lo, hi = 0.0 if start is None else start, (0.0 if start is None else start) + 1 if end is None else end
    if hi == lo:
        span = rng.default_span
    else:
        span = (hi - lo) * (1 + rng.range_padding) if rng.range_padding_units == "percent" else \
            hi - lo + 2 * rng.range_padding
    span = min(max(span, rng.min_interval or 0), rng.max_interval or math.inf)
    a, b = (lo + hi - span) / 2, (lo + hi + span) / 2
    sign = -1 if rng.flipped else 1
    if rng.flipped:
        a, b = b, a
    if rng.follow_interval is not None and abs(a - b) > rng.follow_interval:
        if rng.follow == "start":
            b = a + sign * rng.follow_interval
        elif rng.follow == "end":
            a = b - sign * rng.follow_interval
    return (a if start is None else start), (b if end is None else end)


def tick_positions(ticker: Any, lo: float, hi: float) -> tuple[list[float], list[float]]:
    """BokehJS's ``AdaptiveTicker`` (``BasicTicker``): the interval ``m * base**k`` closest to the desired number
    of ticks, ``m`` one of the mantissas; a ``FixedTicker``'s ticks as they are. Returns the major and minor ticks.

    Example:
        >>> tick_positions(None, 0, 10)[0]
        [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """
    if hasattr(ticker, "ticks"):
        return [t for t in ticker.ticks if lo <= t <= hi], [t for t in ticker.minor_ticks if lo <= t <= hi]
    n, base = getattr(ticker, "desired_num_ticks", 6), getattr(ticker, "base", 10.0)
    mantissas = getattr(ticker, "mantissas", [1, 2, 5])
    least, most = getattr(ticker, "min_interval", 0.0) or 0.0, getattr(ticker, "max_interval", None) or math.inf
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return [], []
    magnitude = base ** math.floor(math.log(span / n / (least or 1.0), base)) * (least or 1.0)
    candidates = [mantissas[-1] / base, *mantissas, mantissas[0] * base]
    best = min(candidates, key=lambda m: abs(n - span / (m * magnitude)))
    interval = min(max(best * magnitude, least), most)
    major = [k * interval for k in range(math.floor(lo / interval), math.ceil(hi / interval) + 1)
             if lo <= k * interval <= hi]
    count = getattr(ticker, "num_minor_ticks", 5)
    offsets = [i * interval / count for i in range(count)] if count > 0 and major else []
    minor = [major[0] - o for o in offsets[1:]] + [t + o for t in major for o in offsets]
    return major, [t for t in minor if lo <= t <= hi]


def tick_labels(formatter: Any, ticks: list[float]) -> list[str]:
    """BokehJS's ``BasicTickFormatter``: scientific notation outside ``10**power_limit_low .. 10**power_limit_high``,
    else fixed point with the fewest digits (at least 3, trailing zeros dropped) that keep neighbours apart.

    Example:
        >>> tick_labels(None, [0.0, 0.5, 1.0]), tick_labels(None, [0.0, 1e6])
        (['0', '0.5', '1'], ['0.000e+0', '1.000e+6'])
    """
    if not ticks:
        return []
    low, high = 10.0 ** getattr(formatter, "power_limit_low", -3), 10.0 ** getattr(formatter, "power_limit_high", 5)
    zeroish = abs(ticks[1] - ticks[0]) / 10000 if len(ticks) > 1 else 0
    sci = getattr(formatter, "use_scientific", True) and any(
        abs(t) > zeroish and not low < abs(t) < high for t in ticks)
    precision = getattr(formatter, "precision", "auto")
    for digits in (range(3, 16) if precision == "auto" else [precision]):
        labels = [_js_number(t, digits, sci) for t in ticks]
        if all(a != b for a, b in zip(labels, labels[1:])):
            break
    else:
        labels = [_js_number(t, 3, sci) for t in ticks]
    return [label.replace("-", "\u2212") for label in labels]


def _js_number(value: float, digits: int, sci: bool) -> str:
    """JavaScript's ``toExponential(digits)``, or ``toFixed(digits)`` without trailing zeros (Bokeh's ``to_fixed``)."""
    if sci:
        mantissa, exponent = f"{value:.{digits}e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    return re.sub(r"\.$", "", re.sub(r"(\.\d*?)0+$", r"\1", f"{value:.{digits}f}"))


def anchor(location: Any, fx: float, fy: float, fw: float, fh: float, w: float, h: float,
           margin: float) -> tuple[float, float]:
    """The top-left corner of a ``w`` x ``h`` legend box at a Bokeh legend location in the frame.

    Example:
        >>> anchor("top_right", 0, 0, 100, 50, 20, 10, 5)
        (75, 5)
    """
    if not isinstance(location, str):  # (x, y) of the box's bottom-left corner from the frame's bottom-left
        return fx + location[0], fy + fh - location[1] - h
    location = {"top": "top_center", "bottom": "bottom_center", "left": "center_left", "center": "center_center",
                "right": "center_right"}.get(location, location)
    vertical, horizontal = location.split("_")
    return ({"left": fx + margin, "center": fx + (fw - w) / 2, "right": fx + fw - margin - w}[horizontal],
            {"top": fy + margin, "center": fy + (fh - h) / 2, "bottom": fy + fh - margin - h}[vertical])


def kept_rows(view_filter: Any, data: Mapping[str, Any], n: int) -> np.ndarray | None:
    """The rows a ``CDSView`` filter keeps (``None``: all). livetrain's best-epoch ``CustomJSFilter``, known by its
    name ``livetrain:best:min`` or ``livetrain:best:max``, is computed here as in the browser: the first best finite
    value of ``args["key"]`` (values drawn as gaps, see :func:`~livetrain.frames.base.plottable`, are no candidates).
    Other JavaScript filters keep none.

    Example:
        >>> best = CustomJSFilter(name="livetrain:best:max", args={"key": "y"})
        >>> kept_rows(best, {"y": [1.0, 5.0, 2.0]}, 3), kept_rows(CustomJSFilter(), {"y": [1.0]}, 1)
        (array([1]), array([], dtype=int64))
    """
    if view_filter is None or isinstance(view_filter, AllIndices):
        return None
    if isinstance(view_filter, IndexFilter):
        return None if view_filter.indices is None else np.asarray(view_filter.indices, int)
    if isinstance(view_filter, BooleanFilter):
        return None if view_filter.booleans is None else np.flatnonzero(np.asarray(view_filter.booleans, bool)[:n])
    mode = _BEST_MODES.get(view_filter.name or "") if isinstance(view_filter, CustomJSFilter) else None
    key = getattr(view_filter, "args", {}).get("key")
    if mode is None or key not in data:
        return np.zeros(0, int)
    y = plottable(data[key])
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros(0, int)
    best = np.argmin(np.where(finite, y, np.inf)) if mode == "min" else np.argmax(np.where(finite, y, -np.inf))
    return np.array([best])
