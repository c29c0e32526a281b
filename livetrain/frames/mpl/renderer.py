"""Browser-free frames of livetrain's views: matplotlib's Agg backend draws a Bokeh layout's models.

:class:`MatplotlibRenderer` walks a layout (``gridplot``, ``column``, ``row``, figures) and draws what livetrain's
views use: titles, axes, grids, legends, spans and the ``Line``, ``Scatter``, ``VBar``, ``HBar`` and ``ImageRGBA``
glyphs; anything else is skipped. Data ranges, ticks, tick labels, borders and legend boxes follow BokehJS's
rules, so a frame shows the live view's panels, titles, colours and ranges. matplotlib is optional: it is
imported when a renderer is made.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from bokeh.model import Model
from bokeh.models import (Axis, BooleanFilter, Column, CustomJSFilter, DataRange1d, FactorRange, GlyphRenderer, Grid,
                          GridBox, GridPlot, HBar, ImageRGBA, IndexFilter, Legend, Line, Plot, Row, Scatter, Span, VBar)
from bokeh.models.filters import AllIndices
from PIL import Image

_PT = 0.72  # matplotlib points per CSS pixel at 100 dpi; a dpi of 100 draws one pixel per CSS pixel
_TOOLBAR = 30  # CSS pixels a toolbar takes
_FONTS = ("Liberation Sans", "Arimo", "Helvetica", "Arial", "DejaVu Sans")  # Helvetica, or a twin of its metrics
_DASHES = {"solid": (), "dashed": (6,), "dotted": (2, 4), "dotdash": (2, 4, 6, 4), "dashdot": (6, 4, 2, 4)}
_CAPS = {"butt": "butt", "round": "round", "square": "projecting"}
_MARKERS = {"circle": "o", "square": "s", "star": "*", "triangle": "^", "inverted_triangle": "v", "diamond": "D",
            "hex": "h", "cross": "+", "x": "x", "plus": "P", "dot": ".", "asterisk": (6, 2, 0), "dash": "_"}
_BEST = re.compile(r"y\[i\]\s*([<>])\s*y\[best\]")  # the comparison in livetrain's best-epoch filter
_SIDES = ("above", "below", "left", "right")
_TICK_SIDE = {"below": "bottom", "above": "top", "left": "left", "right": "right"}  # matplotlib's names
# the properties read once per frame: reading an unset Bokeh property costs about 20 microseconds
_AXIS = ("visible axis_label axis_label_standoff axis_label_text_font axis_label_text_font_size "
         "axis_label_text_font_style axis_label_text_color axis_label_text_alpha major_label_standoff "
         "major_label_text_font major_label_text_font_size major_label_text_font_style major_label_text_color "
         "major_label_text_alpha major_tick_in major_tick_out major_tick_line_color major_tick_line_alpha "
         "major_tick_line_width minor_tick_in minor_tick_out minor_tick_line_color minor_tick_line_alpha "
         "minor_tick_line_width").split()
_TITLE = "visible text text_font text_font_size text_font_style text_color text_alpha standoff offset align".split()
_LEGEND = ("visible location orientation margin padding spacing glyph_width glyph_height label_standoff label_width "
           "label_text_font label_text_font_size label_text_font_style label_text_color label_text_alpha "
           "border_line_color border_line_alpha border_line_width background_fill_color background_fill_alpha "
           "click_policy inactive_fill_color inactive_fill_alpha").split()


class MatplotlibRenderer:
    """Frames of a livetrain layout without a browser: matplotlib's Agg backend draws the layout's Bokeh models.

    Each :meth:`capture` reads the models as they are then (data, ranges, titles, sizes, visibility) and
    returns the picture. The matplotlib figure is built once and only updated, unless the layout's
    structure (its plots, renderers, annotations or legend items) has changed. ``dpi=100`` draws one
    pixel per CSS pixel of the Bokeh layout; ``dpi=200`` draws a twice as large (HiDPI) picture.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> cb = LinePlotsCallback(epochs=10)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.9], "acc": [0.5]}})
        >>> cb.flush()
        >>> renderer = MatplotlibRenderer(cb.graph)
        >>> renderer.capture().size
        (700, 330)
        >>> renderer.close()
    """

    name = "matplotlib"

    def __init__(self, graph: Model, *, dpi: int = 100) -> None:
        if not isinstance(graph, Model):
            raise TypeError(f"MatplotlibRenderer draws a Bokeh layout (a view's .graph), got {type(graph).__name__}")
        mpl = _mpl()
        self.graph, self.dpi = graph, dpi
        self._scale = dpi / 100
        self._fig = mpl.Figure(dpi=dpi, facecolor="white")
        self._canvas = mpl.FigureCanvasAgg(self._fig)
        self._px = mpl.Affine2D()  # CSS pixels from the layout's top-left corner to the figure's display pixels
        self._panels: list[_Panel] = []
        self._shape: list[tuple[int, ...]] | None = None
        self._widths: dict[tuple, float] = {}

    @classmethod
    def missing(cls) -> str | None:
        """``"matplotlib"`` when it is not installed, else ``None``.

        Example:
            >>> MatplotlibRenderer.missing() in (None, "matplotlib")
            True
        """
        return "matplotlib" if importlib.util.find_spec("matplotlib") is None else None

    def capture(self) -> Image.Image:
        """An RGB picture of the models' state now."""
        plots = list(_plots(self.graph))
        shape = [tuple(map(id, (p, *p.renderers, *_annotations(p), *(i for lg in p.legend for i in lg.items))))
                 for p in plots]
        if shape != self._shape:  # new plots, renderers or legend items: build the artists again
            self._fig.clear()
            self._panels, self._shape = [_Panel(self, p) for p in plots], shape
        factors: dict[int, tuple] = {}  # each FactorRange's factor centres and (start, end)
        for panel in self._panels:
            panel.prepare(factors)
        limits = self._limits(factors)
        for panel in self._panels:
            panel.measure(limits, factors)
        _align(self.graph, {id(panel.plot): panel for panel in self._panels})
        width, height, places = _arrange(self.graph, {id(panel.plot): panel.size() for panel in self._panels})
        w, h = max(1, round(width * self._scale)), max(1, round(height * self._scale))
        if self._canvas.get_width_height() != (w, h):
            self._fig.set_size_inches((w + 0.5) / self.dpi, (h + 0.5) / self.dpi)  # + 0.5: Agg truncates sizes
        self._px.clear().scale(self._scale, -self._scale).translate(0, h)
        for panel in self._panels:
            panel.apply(*places[id(panel.plot)], limits)
        self._canvas.draw()
        return Image.frombuffer("RGBA", (w, h), self._canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")

    def close(self) -> None:
        """Free the matplotlib figure; a later :meth:`capture` builds it again."""
        self._fig.clear()
        self._panels, self._shape = [], None

    def __enter__(self) -> MatplotlibRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text_width(self, text: str, font: Mapping[str, Any]) -> float:
        """The width of ``text`` in ``font`` (keyword arguments of a matplotlib ``Text``), in CSS pixels."""
        key = (text, *font.values())
        if key not in self._widths:
            prop = _mpl().FontProperties(family=font["fontfamily"], size=font["fontsize"], weight=font["fontweight"],
                                         style=font["fontstyle"])
            renderer = self._canvas.get_renderer()
            self._widths[key] = renderer.get_text_width_height_descent(text, prop, ismath=False)[0] / self._scale
        return self._widths[key]

    def _limits(self, factors: dict[int, tuple]) -> dict[int, tuple[float, float]]:
        """Each range's ``(start, end)``, as BokehJS computes a ``DataRange1d`` from its renderers' data."""
        limits: dict[int, tuple[float, float]] = {}
        for panel in self._panels:
            for dim, rng in enumerate(panel.ranges):
                if id(rng) in limits:
                    continue
                if isinstance(rng, FactorRange):
                    limits[id(rng)] = factors[id(rng)][1]
                elif isinstance(rng, DataRange1d):
                    listed = isinstance(rng.renderers, list) and rng.renderers
                    chosen = {id(r) for r in rng.renderers} if listed else None
                    boxes = [g.bounds[dim] for p in self._panels if p.ranges[dim] is rng
                             for g in p.glyphs if g.bounds and (chosen is None or id(g.renderer) in chosen)
                             and (g.visible or not rng.only_visible)]
                    limits[id(rng)] = _auto_range(rng, boxes)
                else:
                    limits[id(rng)] = (_number(rng.start, 0.0), _number(rng.end, 1.0))
        return limits


class _Panel:
    """One Bokeh plot: an Axes for its frame, figure artists in CSS pixels for its borders (axes, title, legends)."""

    def __init__(self, renderer: MatplotlibRenderer, plot: Plot) -> None:
        mpl = _mpl()
        self.r, self.plot = renderer, plot
        fig, px = renderer._fig, renderer._px
        self.back = fig.add_artist(mpl.Rectangle((0, 0), 0, 0, transform=px, zorder=-1, linewidth=0))
        self.ax = ax = fig.add_axes((0, 0, 1, 1))
        ax.set_autoscale_on(False)
        ax.xaxis.set_visible(False)  # _Axis draws ticks, labels, grid lines: matplotlib's axes cost most of a frame
        ax.yaxis.set_visible(False)
        kinds = {Line: _Glyph, Scatter: _Scatter, VBar: _Bars, HBar: _Bars, ImageRGBA: _Image}
        self.glyphs = [kinds[type(r.glyph)](ax, r) for r in plot.renderers
                       if isinstance(r, GlyphRenderer) and type(r.glyph) in kinds]
        for i, glyph in enumerate(self.glyphs):  # Bokeh draws renderers in order
            glyph.art.set_zorder(1 + i / 1000)
        self.spans = [(s, (ax.axvline if s.dimension == "height" else ax.axhline)(0, zorder=3)) for s in plot.center
                      if isinstance(s, Span)]
        self.title = fig.text(0, 0, "", transform=px, zorder=5, va="baseline", parse_math=False)
        by_renderer = {id(g.renderer): g for g in self.glyphs}
        self.legends = [_Legend(renderer, lg, by_renderer, next((s for s in _SIDES if any(m is lg for m in
                                                                  getattr(plot, s))), None)) for lg in plot.legend]
        for spine in ax.spines.values():
            spine.set(**_stroke(plot, "outline_line"))
        axes = [(s, m) for s in _SIDES for m in getattr(plot, s) if isinstance(m, Axis)]
        self.axes = [_Axis(self, dim, *next(((s, m) for s, m in axes if s in pair), (None, None)))
                     for dim, pair in enumerate((("below", "above"), ("left", "right")))]

    def prepare(self, factors: dict[int, tuple]) -> None:
        """Read the ranges (mapping categorical ones into ``factors``) and the glyphs' data."""
        self.ranges = (self.plot.x_range, self.plot.y_range)
        for rng in self.ranges:
            if isinstance(rng, FactorRange) and id(rng) not in factors:
                factors[id(rng)] = _factor_map(rng)
        maps = [factors[id(r)][0] if id(r) in factors else None for r in self.ranges]
        for glyph in self.glyphs:
            glyph.prepare(*maps)

    def measure(self, limits: dict[int, tuple[float, float]], factors: dict[int, tuple]) -> None:
        """The ticks and legends, and the border on each side as BokehJS stacks it: from the frame out the axis,
        the legends, the title, the toolbar."""
        plot = self.plot
        self.inner = dict.fromkeys(_SIDES, 0.0)
        for axis, rng in zip(self.axes, self.ranges):
            extent = axis.measure(rng, limits, factors)
            if extent:
                self.inner[axis.side] += extent
        self.axis_extents = dict(self.inner)
        for legend in self.legends:
            legend.read()
            if legend.side and legend.box_size:
                w, h = legend.box_size
                self.inner[legend.side] += (h if legend.side in ("above", "below") else w) + 2 * legend.m.margin
        extents = dict(self.inner)
        title = self.title_style = _props(plot.title, _TITLE) if plot.title is not None else None
        if title is not None and title.visible and title.text:
            extents["below" if plot.title_location == "below" else "above"] += title.standoff + 1.15 * _px(
                title.text_font_size)
        if plot.toolbar_location in _SIDES and plot.toolbar.visible:
            extents[plot.toolbar_location] += _TOOLBAR
        least = _number(plot.min_border, 0)
        self.borders = {s: max(_number(getattr(plot, f"min_border_{edge}"), least), extents[s])
                        for s, edge in zip(_SIDES, ("top", "bottom", "left", "right"))}

    def size(self) -> tuple[float, float]:
        """The plot's size in CSS pixels: ``width`` and ``height``, or the frame's size plus the borders."""
        plot, b = self.plot, self.borders
        return (plot.frame_width + b["left"] + b["right"] if plot.frame_width else plot.width or 600,
                plot.frame_height + b["above"] + b["below"] if plot.frame_height else plot.height or 600)

    def apply(self, x: float, y: float, limits: dict[int, tuple[float, float]]) -> None:
        """Draw the models' state with the plot's top-left corner at ``(x, y)``."""
        plot, ax, b = self.plot, self.ax, self.borders
        (width, height), s = self.size(), self.r._scale
        self.back.set_bounds(x, y, width, height)
        self.back.set_facecolor(_rgba(plot.border_fill_color, plot.border_fill_alpha))
        frame = fx, fy, fw, fh = (x + b["left"], y + b["above"], max(1.0, width - b["left"] - b["right"]),
                                  max(1.0, height - b["above"] - b["below"]))
        fig_w, fig_h = self.r._fig.bbox.width, self.r._fig.bbox.height  # the canvas is these, truncated, in pixels
        ax.set_position((fx * s / fig_w, (int(fig_h) - (fy + fh) * s) / fig_h, fw * s / fig_w, fh * s / fig_h))
        ax.set_facecolor(_rgba(plot.background_fill_color, plot.background_fill_alpha))
        ax.set_xlim(*limits[id(self.ranges[0])])
        ax.set_ylim(*limits[id(self.ranges[1])])
        for axis, rng in zip(self.axes, self.ranges):
            axis.draw(frame, limits[id(rng)])
        for glyph in self.glyphs:
            glyph.apply()
        for span, line in self.spans:
            line.set(visible=span.visible and span.location is not None, **_line_style(span, {}))
            (line.set_xdata if span.dimension == "height" else line.set_ydata)([_number(span.location, 0)] * 2)
        self._title(*frame)
        self._legends(*frame)

    def _title(self, fx: float, fy: float, fw: float, fh: float) -> None:
        title = self.title_style
        self.title.set_visible(title is not None and title.visible and bool(title.text))
        if not self.title.get_visible():
            return
        size = _px(title.text_font_size)
        if self.plot.title_location == "below":
            baseline = fy + fh + self.inner["below"] + size
        else:  # BokehJS puts the baseline this far above the title panel's bottom
            baseline = fy - self.inner["above"] - title.standoff + 0.19 * size
        x = {"left": fx + title.offset, "center": fx + fw / 2, "right": fx + fw - title.offset}[title.align]
        self.title.set(x=x, y=baseline, text=title.text, ha=title.align,
                       color=_rgba(title.text_color, title.text_alpha),
                       **_font(title.text_font, title.text_font_size, title.text_font_style))

    def _legends(self, fx: float, fy: float, fw: float, fh: float) -> None:
        used = dict(self.axis_extents)
        for legend in self.legends:
            if not legend.box_size:
                legend.hide()
                continue
            (w, h), m, side = legend.box_size, legend.m.margin, legend.side
            x, y = _anchor(legend.m.location, fx, fy, fw, fh, w, h, m)
            if side in ("above", "below"):  # in a side panel the box touches the frame's side (or the axis there)
                y = fy - used[side] - h if side == "above" else fy + fh + used[side]
                used[side] += h + 2 * m
            elif side in ("left", "right"):
                x = fx - used[side] - w if side == "left" else fx + fw + used[side]
                used[side] += w + 2 * m
            legend.draw(x, y)


class _Axis:
    """One dimension's axis (ticks, tick labels, axis label) and grid lines, placed by BokehJS's rules."""

    def __init__(self, panel: _Panel, dim: int, side: str | None, model: Axis | None) -> None:
        mpl, fig, px, ax = _mpl(), panel.r._fig, panel.r._px, panel.ax
        self.panel, self.dim, self.side, self.model = panel, dim, side, model
        self.grids = [g for g in panel.plot.center if isinstance(g, Grid) and g.dimension == dim]
        style = _line_style(self.grids[0], {}, "grid_line_") if self.grids else {}
        self.grid = ax.add_collection(mpl.LineCollection([], transform=ax.get_xaxis_transform() if dim == 0 else
                                                         ax.get_yaxis_transform(), zorder=0.5, snap=True, **style),
                                      autolim=False)
        self.major, self.minor = (fig.add_artist(mpl.LineCollection([], transform=px, zorder=3, snap=True))
                                  for _ in range(2))
        self.labels: list[Any] = []  # a pool of tick label texts
        self.title = fig.text(0, 0, "", transform=px, zorder=3, rotation=90 * dim, parse_math=False)
        self.shown: bool | None = None
        self.ticks: tuple[list[float], list[float], list[str]] = ([], [], [])

    def measure(self, rng: Model, limits: dict[int, tuple[float, float]], factors: dict[int, tuple]) -> float:
        """Read the axis and its ticks; returns the room it takes beside the frame in CSS pixels, as BokehJS sums
        it: ticks, standoff + labels + 3, standoff + axis label + 3 (tick labels as tall as digits)."""
        lo, hi = sorted(limits[id(rng)])
        m = self.model
        if isinstance(rng, FactorRange):
            inside = [(f, c) for f, c in factors[id(rng)][0].items() if lo <= c <= hi]
            self.ticks = [c for _, c in inside], [], [str(f[-1] if isinstance(f, tuple) else f) for f, _ in inside]
        else:
            major, minor = _ticks(getattr(m, "ticker", None), lo, hi)
            self.ticks = major, minor, _tick_labels(getattr(m, "formatter", None), major)
        if m is None or not m.visible:
            self.style = None
            return 0.0
        major, minor, labels = self.ticks
        self.style = st = _props(m, _AXIS)
        self.font = _font(st.major_label_text_font, st.major_label_text_font_size, st.major_label_text_font_style)
        self.tick = max(st.major_tick_out if major else 0, st.minor_tick_out if minor else 0)
        size = max((self.panel.r._text_width(label, self.font) for label in labels), default=0) if self.dim else \
            0.73 * _px(st.major_label_text_font_size)
        self.label_extent = st.major_label_standoff + size + 3 if labels else 0
        title = st.axis_label_standoff + 1.15 * _px(st.axis_label_text_font_size) + 3 if st.axis_label else 0
        return self.tick + self.label_extent + title

    def draw(self, frame: tuple[float, float, float, float], limits: tuple[float, float]) -> None:
        fx, fy, fw, fh = frame
        (major, minor, labels), st, dim = self.ticks, self.style, self.dim
        self.grid.set_visible(any(g.visible and g.grid_line_color is not None for g in self.grids))
        self.grid.set_segments([[(t, 0), (t, 1)] if dim == 0 else [(0, t), (1, t)] for t in major])
        self._show(st is not None)
        if st is None:
            return
        a, b = limits
        scale = (fw if dim == 0 else -fh) / ((b - a) or 1)
        start = fx if dim == 0 else fy + fh
        sign = 1 if self.side in ("below", "right") else -1
        edge = {"below": fy + fh, "above": fy, "left": fx, "right": fx + fw}[self.side]

        def at(t: float, out: float) -> tuple[float, float]:  # a point ``out`` pixels outside the frame at tick t
            along, across = start + (t - a) * scale, edge + sign * out
            return (along, across) if dim == 0 else (across, along)

        for art, ticks, kind in ((self.major, major, "major_tick"), (self.minor, minor, "minor_tick")):
            tin, tout = getattr(st, f"{kind}_in"), getattr(st, f"{kind}_out")
            art.set(segments=[[at(t, -tin), at(t, tout)] for t in ticks], **_stroke(st, f"{kind}_line"))
        while len(self.labels) < len(labels):
            self.labels.append(self.panel.r._fig.text(0, 0, "", transform=self.panel.r._px, zorder=3, parse_math=False))
        align = {"below": ("center", "top"), "above": ("center", "baseline"), "left": ("right", "center_baseline"),
                 "right": ("left", "center_baseline")}[self.side]
        offset = self.tick + st.major_label_standoff + (1 - dim)  # matplotlib's text box starts above the digits
        color = _rgba(st.major_label_text_color, st.major_label_text_alpha)
        for i, text in enumerate(self.labels):
            text.set_visible(i < len(labels))
            if i < len(labels):
                text.set(position=at(major[i], offset), text=labels[i], ha=align[0], va=align[1], color=color,
                         **self.font)
        offset = self.tick + self.label_extent + st.axis_label_standoff + (4, 0.5)[dim]
        center = (fx + fw / 2, at(0, offset)[1]) if dim == 0 else (at(0, offset)[0], fy + fh / 2)
        self.title.set(position=center, text=st.axis_label or "", ha=align[0] if dim else "center",
                       va="center" if dim else align[1],
                       color=_rgba(st.axis_label_text_color, st.axis_label_text_alpha),
                       **_font(st.axis_label_text_font, st.axis_label_text_font_size, st.axis_label_text_font_style))

    def _show(self, shown: bool) -> None:
        """Show or hide the ticks, labels and axis line (the frame's outline stays)."""
        if shown == self.shown:
            return
        self.shown = shown
        for art in (self.major, self.minor, self.title, *self.labels):
            art.set_visible(shown)
        if self.side is not None:
            owner, prefix = (self.model, "axis_line") if shown else (self.panel.plot, "outline_line")
            self.panel.ax.spines[_TICK_SIDE[self.side]].set(**_stroke(owner, prefix))


class _Glyph:
    """A glyph renderer drawn by a matplotlib artist (a ``Line`` by default): :meth:`prepare` reads the
    renderer's source and view, :meth:`apply` draws; :meth:`legend_draw` draws its legend glyph."""

    def __init__(self, ax: Any, renderer: GlyphRenderer) -> None:
        self.renderer, self.glyph = renderer, renderer.glyph
        self.art = self._make(ax)
        self.bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.data: Mapping[str, Any] = {}
        self.rows = 0
        self.visible = False

    def prepare(self, x_map: dict | None, y_map: dict | None) -> None:
        self.visible = self.renderer.visible
        self.data = data = self.renderer.data_source.data
        n = len(next(iter(data.values()), ()))
        rows = _rows(self.renderer.view.filter, data, n)
        self.rows = n if rows is None else len(rows)
        self._read(data, rows, n, x_map, y_map)

    def apply(self) -> None:
        self.art.set_visible(self.visible and self.rows > 0)
        if self.art.get_visible():
            self._draw()

    def _make(self, ax: Any) -> Any:
        (line,) = ax.plot([], [], solid_capstyle=_CAPS.get(self.glyph.line_cap, "butt"),
                          solid_joinstyle=self.glyph.line_join)
        return line

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        self.x, self.y = _values(self.glyph.x, data, rows, n, x_map), _values(self.glyph.y, data, rows, n, y_map)
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        self.bounds = ((self.x[ok].min(), self.x[ok].max()), (self.y[ok].min(), self.y[ok].max())) if ok.any() else None

    def _draw(self) -> None:
        self.art.set_data(self.x, self.y)
        self.art.set(**self.style())

    def style(self) -> dict[str, Any]:
        return _line_style(self.glyph, self.data)

    def legend_artist(self, fig: Any, px: Any) -> Any:
        return fig.add_artist(_mpl().Line2D([], [], transform=px, zorder=5))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_data([x0, x1], [(y0 + y1) / 2] * 2)
        art.set(**self.style())


class _Scatter(_Glyph):
    """``Scatter`` markers; the legend shows the marker at 0.4 of the legend glyph's size, as BokehJS does."""

    def style(self, size: float | None = None) -> dict[str, Any]:
        g, d = self.glyph, self.data
        return dict(linestyle="none", marker=_MARKERS.get(_scalar(g.marker, d), "o"),
                    markersize=_PT * (size or _number(_scalar(g.size, d), 4)),
                    markerfacecolor=_rgba(_scalar(g.fill_color, d), _scalar(g.fill_alpha, d)),
                    markeredgecolor=_rgba(_scalar(g.line_color, d), _scalar(g.line_alpha, d)),
                    markeredgewidth=_PT * _number(_scalar(g.line_width, d), 1))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_data([(x0 + x1) / 2], [(y0 + y1) / 2])
        art.set(**self.style(0.4 * min(abs(x1 - x0), abs(y1 - y0))))


class _Bars(_Glyph):
    """``VBar`` (``x``, ``width``, ``bottom``, ``top``) and ``HBar`` (``y``, ``height``, ``left``, ``right``)."""

    def _make(self, ax: Any) -> Any:
        return ax.add_collection(_mpl().PolyCollection([]))

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g, vertical = self.glyph, isinstance(self.glyph, VBar)
        names = ((g.x, x_map), (g.width, None), (g.bottom, None), (g.top, None)) if vertical else \
            ((g.y, y_map), (g.height, None), (g.left, None), (g.right, None))
        center, size, low, high = (_values(v, data, rows, n, m) for v, m in names)
        ok = np.isfinite(center) & np.isfinite(size) & np.isfinite(low) & np.isfinite(high)
        c0, c1, low, high = center[ok] - size[ok] / 2, center[ok] + size[ok] / 2, low[ok], high[ok]
        across, along = np.stack([c0, c0, c1, c1], axis=1), np.stack([low, high, high, low], axis=1)
        self.verts = np.stack([across, along] if vertical else [along, across], axis=2)
        spans = ((c0.min(), c1.max()), (min(low.min(), high.min()), max(low.max(), high.max()))) if ok.any() else None
        self.bounds = spans if vertical or spans is None else spans[::-1]

    def _draw(self) -> None:
        self.art.set_verts(self.verts)
        self.art.set(**self.style())

    def style(self) -> dict[str, Any]:
        g, d = self.glyph, self.data
        return dict(facecolor=_rgba(_scalar(g.fill_color, d), _scalar(g.fill_alpha, d)),
                    edgecolor=_rgba(_scalar(g.line_color, d), _scalar(g.line_alpha, d)),
                    linewidth=_PT * _number(_scalar(g.line_width, d), 1))

    def legend_artist(self, fig: Any, px: Any) -> Any:
        return fig.add_artist(_mpl().Rectangle((0, 0), 0, 0, transform=px, zorder=5))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_bounds(x0 + 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0), 0.8 * (x1 - x0), 0.8 * (y1 - y0))
        art.set(**self.style())


class _Image(_Glyph):
    """``ImageRGBA``: the first row's picture (2-D uint32 of packed RGBA bytes, row 0 at the bottom)."""

    def _make(self, ax: Any) -> Any:
        return ax.imshow(np.zeros((1, 1, 4), np.uint8), origin="lower", interpolation="nearest", aspect="auto")

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g, column = self.glyph, _column(self.glyph.image, data)
        if not self.rows or column is None:
            self.rows, self.bounds = 0, None
            return
        first = 0 if rows is None else int(rows[0])
        picture = np.asarray(column[first])
        self.rgba = picture if picture.ndim == 3 else \
            np.ascontiguousarray(picture, np.uint32).view(np.uint8).reshape(*picture.shape, 4)
        x, y, dw, dh = (float(_values(v, data, None, n, m)[first]) for v, m in
                        ((g.x, x_map), (g.y, y_map), (g.dw, None), (g.dh, None)))
        self.bounds = ((x, x + dw), (y, y + dh))

    def _draw(self) -> None:
        (x0, x1), (y0, y1) = self.bounds
        self.art.set_data(self.rgba)
        self.art.set_extent((x0, x1, y0, y1))
        self.art.set_alpha(self.glyph.global_alpha)

    def legend_artist(self, fig: Any, px: Any) -> None:
        return None


class _Legend:
    """A ``Legend``'s box, item glyphs, labels and inactive-item shades, in CSS pixels of the layout."""

    def __init__(self, renderer: MatplotlibRenderer, legend: Legend, glyphs: dict[int, _Glyph],
                 side: str | None) -> None:
        mpl, fig, px = _mpl(), renderer._fig, renderer._px
        self.r, self.model, self.side = renderer, legend, side
        self.box = fig.add_artist(mpl.Rectangle((0, 0), 0, 0, transform=px, zorder=4))
        self.items = []
        for item in legend.items:
            drawn = [(g, g.legend_artist(fig, px)) for g in (glyphs.get(id(r)) for r in item.renderers) if g]
            self.items.append((item, fig.text(0, 0, "", transform=px, zorder=5, va="baseline", parse_math=False),
                               fig.add_artist(mpl.Rectangle((0, 0), 0, 0, transform=px, zorder=6, linewidth=0)),
                               [(g, a) for g, a in drawn if a is not None]))
        self.box_size: tuple[float, float] | None = None

    def read(self) -> None:
        """Read the legend and its items, and size the box (``box_size`` is ``None`` when nothing is shown)."""
        self.m = m = _props(self.model, _LEGEND)
        self.font = _font(m.label_text_font, m.label_text_font_size, m.label_text_font_style)
        self.shown = [(entry, _label(entry[0]), all(r.visible for r in entry[0].renderers))
                      for entry in self.items if entry[0].visible] if m.visible else []
        height = max(m.glyph_height, 1.15 * _px(m.label_text_font_size))
        self.cells = [(m.glyph_width + m.label_standoff + max(m.label_width, self.r._text_width(label, self.font)),
                       height) for _, label, _ in self.shown]
        self.pad = m.padding if m.border_line_color is not None else 0
        if not self.cells:
            self.box_size = None
            return
        horizontal = m.orientation == "horizontal"
        along = sum(c[not horizontal] for c in self.cells) + m.spacing * (len(self.cells) - 1)
        across = max(c[horizontal] for c in self.cells)
        self.box_size = (along + 2 * self.pad, across + 2 * self.pad) if horizontal else \
            (across + 2 * self.pad, along + 2 * self.pad)

    def hide(self) -> None:
        self.box.set_visible(False)
        for _, label, shade, drawn in self.items:
            for art in (label, shade, *(a for _, a in drawn)):
                art.set_visible(False)

    def draw(self, x: float, y: float) -> None:
        """Draw the legend with its box's top-left corner at ``(x, y)``."""
        m = self.m
        self.hide()
        self.box.set(bounds=(x, y, *self.box_size), visible=True,
                     facecolor=_rgba(m.background_fill_color, m.background_fill_alpha), **_stroke(m, "border_line"))
        cx, cy = x + self.pad, y + self.pad
        color, lift = _rgba(m.label_text_color, m.label_text_alpha), 0.45 * _px(m.label_text_font_size)
        for ((_, label, shade, drawn), text, active), (cw, ch) in zip(self.shown, self.cells):
            gy = cy + (ch - m.glyph_height) / 2
            for glyph, art in drawn:
                art.set_visible(glyph.rows > 0)  # BokehJS draws no legend glyph for a renderer without data
                glyph.legend_draw(art, cx, gy, cx + m.glyph_width, gy + m.glyph_height)
            label.set(x=cx + m.glyph_width + m.label_standoff, y=cy + ch / 2 + lift, text=text, visible=True,
                      color=color, **self.font)
            shade.set(bounds=(cx, cy, cw, ch), visible=m.click_policy == "hide" and not active,
                      facecolor=_rgba(m.inactive_fill_color, m.inactive_fill_alpha))
            cx, cy = (cx + cw + m.spacing, cy) if m.orientation == "horizontal" else (cx, cy + ch + m.spacing)


def _plots(model: Model) -> Iterator[Plot]:
    """The plots of a layout, in layout order."""
    if isinstance(model, Plot):
        yield model
    for _, _, child in _cells(model):
        yield from _plots(child)


def _cells(model: Model) -> list[tuple[int, int, Model]]:
    """A layout's children as ``(row, column, child)``."""
    if isinstance(model, (GridPlot, GridBox)):
        return [(row, col, child) for child, row, col, *_ in model.children]
    if isinstance(model, (Row, Column)):
        return [(i, 0, c) if isinstance(model, Column) else (0, i, c) for i, c in enumerate(model.children)]
    return []


def _align(model: Model, panels: dict[int, _Panel]) -> None:
    """Line up frames as a Bokeh grid does: one top and bottom border per row, one left and right per column."""
    cells = _cells(model)
    if isinstance(model, (GridPlot, GridBox)):
        for index, sides in ((0, ("above", "below")), (1, ("left", "right"))):
            lines: dict[int, list[_Panel]] = {}
            for cell in cells:
                if isinstance(cell[2], Plot):
                    lines.setdefault(cell[index], []).append(panels[id(cell[2])])
            for line in lines.values():
                for side in sides:
                    most = max(p.borders[side] for p in line)
                    for p in line:
                        p.borders[side] = most
    for _, _, child in cells:
        _align(child, panels)


def _arrange(model: Model, sizes: dict[int, tuple[float, float]]) -> tuple[float, float, dict[int, tuple]]:
    """The size of ``model`` and the top-left corner of each of its plots, as Bokeh lays out grids, rows, columns."""
    if isinstance(model, Plot):
        return (*sizes[id(model)], {id(model): (0.0, 0.0)})
    parts = [(row, col, _arrange(child, sizes)) for row, col, child in _cells(model)]
    if not parts:
        return _number(getattr(model, "width", 0), 0), _number(getattr(model, "height", 0), 0), {}
    spacing = getattr(model, "spacing", 0) or 0
    gap_y, gap_x = spacing if isinstance(spacing, (tuple, list)) else (spacing, spacing)
    heights: dict[int, float] = {}
    widths: dict[int, float] = {}
    for row, col, (w, h, _) in parts:
        heights[row], widths[col] = max(heights.get(row, 0), h), max(widths.get(col, 0), w)
    tops = {r: sum(heights[q] + gap_y for q in heights if q < r) for r in heights}
    lefts = {c: sum(widths[q] + gap_x for q in widths if q < c) for c in widths}
    bar = model.toolbar_location if isinstance(model, GridPlot) and model.toolbar.visible else None
    dx, dy = _TOOLBAR * (bar == "left"), _TOOLBAR * (bar == "above")
    places = {key: (lefts[col] + x + dx, tops[row] + y + dy) for row, col, (_, _, sub) in parts
              for key, (x, y) in sub.items()}
    return (sum(widths.values()) + gap_x * (len(widths) - 1) + _TOOLBAR * (bar in ("left", "right")),
            sum(heights.values()) + gap_y * (len(heights) - 1) + _TOOLBAR * (bar in ("above", "below")), places)


def _annotations(plot: Plot) -> list[Model]:
    return [*plot.center, *plot.above, *plot.below, *plot.left, *plot.right]


def _factor_map(rng: FactorRange) -> tuple[dict[Any, float], tuple[float, float]]:
    """Each factor's centre and the range's ``(start, end)``; nested factors get BokehJS's group paddings."""
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


def _auto_range(rng: DataRange1d, boxes: list[tuple[float, float]]) -> tuple[float, float]:
    """A ``DataRange1d``'s ``(start, end)`` from its renderers' bounds: BokehJS's padding, default span,
    flip and follow; a ``start`` or ``end`` that is set stays."""
    start, end = _number(rng.start, None), _number(rng.end, None)
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


def _ticks(ticker: Any, lo: float, hi: float) -> tuple[list[float], list[float]]:
    """BokehJS's ``AdaptiveTicker`` (``BasicTicker``): the interval ``m * base**k`` closest to the desired number
    of ticks, ``m`` one of the mantissas; a ``FixedTicker``'s ticks as they are."""
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


def _tick_labels(formatter: Any, ticks: list[float]) -> list[str]:
    """BokehJS's ``BasicTickFormatter``: scientific notation outside ``10**power_limit_low .. 10**power_limit_high``,
    else fixed point with the fewest digits (at least 3, trailing zeros dropped) that keep neighbours apart."""
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


def _anchor(location: Any, fx: float, fy: float, fw: float, fh: float, w: float, h: float,
            margin: float) -> tuple[float, float]:
    """The top-left corner of a ``w`` x ``h`` legend box at a Bokeh legend location in the frame."""
    if not isinstance(location, str):  # (x, y) of the box's bottom-left corner from the frame's bottom-left
        return fx + location[0], fy + fh - location[1] - h
    location = {"top": "top_center", "bottom": "bottom_center", "left": "center_left", "center": "center_center",
                "right": "center_right"}.get(location, location)
    vertical, horizontal = location.split("_")
    return ({"left": fx + margin, "center": fx + (fw - w) / 2, "right": fx + fw - margin - w}[horizontal],
            {"top": fy + margin, "center": fy + (fh - h) / 2, "bottom": fy + fh - margin - h}[vertical])


def _rows(view_filter: Any, data: Mapping[str, Any], n: int) -> np.ndarray | None:
    """The rows a ``CDSView`` filter keeps (``None``: all). livetrain's best-epoch ``CustomJSFilter`` is computed
    here as in the browser: the first best finite value of ``args["key"]``. Other JavaScript filters keep none."""
    if view_filter is None or isinstance(view_filter, AllIndices):
        return None
    if isinstance(view_filter, IndexFilter):
        return None if view_filter.indices is None else np.asarray(view_filter.indices, int)
    if isinstance(view_filter, BooleanFilter):
        return None if view_filter.booleans is None else np.flatnonzero(np.asarray(view_filter.booleans, bool)[:n])
    mode, key = _best_mode(view_filter), getattr(view_filter, "args", {}).get("key")
    if mode is None or key not in data:
        return np.zeros(0, int)
    y = np.asarray(data[key], float)
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros(0, int)
    best = np.argmin(np.where(finite, y, np.inf)) if mode == "min" else np.argmax(np.where(finite, y, -np.inf))
    return np.array([best])


def _best_mode(view_filter: Any) -> str | None:
    """``"min"`` or ``"max"`` for livetrain's best-row filter, known by its name ``livetrain:best:<mode>`` or by
    its code; ``None`` for any other filter."""
    if not isinstance(view_filter, CustomJSFilter):
        return None
    named = re.fullmatch(r"livetrain:best:(min|max)", view_filter.name or "")
    if named:
        return named[1]
    found = _BEST.search(view_filter.code)
    return None if found is None else "min" if found[1] == "<" else "max"


def _column(value: Any, data: Mapping[str, Any]) -> Any:
    """The source column a glyph property names, or ``None`` for a fixed value."""
    name = value.get("field") if isinstance(value, dict) else getattr(value, "field", value)
    return data.get(name) if isinstance(name, str) else None


def _props(model: Model, names: Sequence[str]) -> SimpleNamespace:
    """A snapshot of a model's properties: each read of an unset Bokeh property costs about 20 microseconds."""
    return SimpleNamespace(**{name: getattr(model, name) for name in names})


def _fixed(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) else getattr(value, "value", value)


def _scalar(value: Any, data: Mapping[str, Any]) -> Any:
    """A glyph property's fixed value, or the first value of its column."""
    column = _column(value, data)
    return _fixed(value) if column is None else column[0] if len(column) else None


def _values(value: Any, data: Mapping[str, Any], rows: np.ndarray | None, n: int,
            factors: dict[Any, float] | None = None) -> np.ndarray:
    """A coordinate property as floats, one per kept row; categories become their centres."""
    column = _column(value, data)
    if column is None:
        column, rows = [_fixed(value)] * n, None
    if factors is not None:
        column = [factors.get(tuple(f) if isinstance(f, list) else f, math.nan) for f in column]
    try:
        values = np.asarray(column, dtype=float)
    except (TypeError, ValueError):  # a column that is not numbers
        values = np.full(len(column), math.nan)
    return values if rows is None else values[rows]


def _label(item: Any) -> str:
    value = _fixed(item.label)
    return "" if value is None else str(getattr(value, "field", value))


def _number(value: Any, default: Any) -> Any:
    """``value``, or ``default`` when it is unset (``None`` or NaN)."""
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _px(size: Any) -> float:
    """A CSS font size (``"13px"``, ``"10pt"``, ``"1.2em"``) in pixels."""
    found = re.fullmatch(r"\s*([\d.]+)\s*(px|pt|em|rem|%)?\s*", str(size))
    if found is None:
        return 13.0
    return float(found[1]) * {"px": 1, "pt": 4 / 3, "em": 16, "rem": 16, "%": 0.16}[found[2] or "px"]


def _font(family: str, size: Any, style: str | None) -> dict[str, Any]:
    style = style or "normal"
    return {"fontfamily": _family(family), "fontsize": _PT * _px(size), "fontweight": "bold" if "bold" in style else
            "normal", "fontstyle": "italic" if "italic" in style else "normal"}


@functools.cache
def _family(name: str) -> str:
    """The first installed of ``name`` and Helvetica's look-alikes."""
    fonts = _mpl().fonts
    return next((fonts[f.lower()] for f in (str(name), *_FONTS) if f.lower() in fonts), "sans-serif")


def _rgba(color: Any, alpha: Any = 1.0) -> tuple[float, float, float, float]:
    """A Bokeh colour (name, hex, ``rgb(...)``, tuple, ``Color``; ``None``: transparent) times ``alpha``."""
    if color is None:
        return (0.0, 0.0, 0.0, 0.0)
    if hasattr(color, "to_rgb"):
        color = color.to_rgb()
        color = (color.r, color.g, color.b, color.a)
    if isinstance(color, str) and color.strip().lower().startswith("rgb"):
        color = tuple(float(v) for v in re.findall(r"[\d.]+", color))
    if isinstance(color, (tuple, list)):
        rgba = (color[0] / 255, color[1] / 255, color[2] / 255, color[3] if len(color) > 3 else 1.0)
    else:
        rgba = _mpl().to_rgba(color)
    return (*rgba[:3], rgba[3] * _number(alpha, 1.0))


def _stroke(model: Any, prefix: str) -> dict[str, Any]:
    """A box outline's matplotlib colour and width from Bokeh's ``<prefix>_color``, ``_alpha`` and ``_width``."""
    return {"edgecolor": _rgba(getattr(model, f"{prefix}_color"), getattr(model, f"{prefix}_alpha")),
            "linewidth": _PT * getattr(model, f"{prefix}_width")}


def _line_style(model: Any, data: Mapping[str, Any], prefix: str = "line_") -> dict[str, Any]:
    """matplotlib's colour, width and dashes of Bokeh's line properties (dashes in pixels, as BokehJS draws them)."""
    width = _PT * _number(_scalar(getattr(model, prefix + "width"), data), 1)
    dash = getattr(model, prefix + "dash")
    if isinstance(dash, str):
        dash = _DASHES[dash] if dash in _DASHES else tuple(float(d) for d in dash.split())
    dash = tuple(dash) * (2 if len(dash) % 2 else 1)
    scale = _PT / (width if width and _mpl().rcParams["lines.scale_dashes"] else 1)  # matplotlib scales dashes by width
    return {"color": _rgba(_scalar(getattr(model, prefix + "color"), data),
                           _scalar(getattr(model, prefix + "alpha"), data)),
            "linewidth": width,
            "linestyle": (getattr(model, prefix + "dash_offset") * scale, tuple(d * scale for d in dash)) if dash
            else "solid"}


@functools.cache
def _mpl() -> SimpleNamespace:
    """The parts of matplotlib this module uses, imported on first use: matplotlib is optional."""
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
