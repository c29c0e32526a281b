"""A Bokeh plot drawn with matplotlib: its frame (an Axes), and its axes, grids, title and legends in CSS pixels."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bokeh.model import Model
from bokeh.models import Axis, FactorRange, GlyphRenderer, Grid, Legend, Plot, Span

from .bokehjs import anchor, factor_map, tick_labels, tick_positions
from .glyphs import GLYPHS, Glyph
from .layout import TOOLBAR
from .style import font, font_px, item_label, line_style, mpl, number, props, rgba, stroke

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


class Surface(Protocol):
    """What panels draw on (a :class:`~livetrain.frames.mpl.MatplotlibRenderer`): its figure, the transform from
    CSS pixels of the layout to the figure's display pixels, display pixels per CSS pixel, and text widths."""

    fig: Any
    px: Any
    scale: float

    def text_width(self, text: str, font: Mapping[str, Any]) -> float:
        """The width of ``text`` in ``font`` (keyword arguments of a matplotlib ``Text``), in CSS pixels."""


class Panel:
    """One Bokeh plot: an Axes for its frame, figure artists in CSS pixels for its borders (axes, title, legends)."""

    def __init__(self, renderer: Surface, plot: Plot) -> None:
        self.r, self.plot = renderer, plot
        fig, px = renderer.fig, renderer.px
        self.back = fig.add_artist(mpl().Rectangle((0, 0), 0, 0, transform=px, zorder=-1, linewidth=0))
        self.ax = ax = fig.add_axes((0, 0, 1, 1))
        ax.set_autoscale_on(False)
        ax.xaxis.set_visible(False)  # _Axis draws ticks, labels, grid lines: matplotlib's axes cost most of a frame
        ax.yaxis.set_visible(False)
        self.glyphs = [GLYPHS[type(r.glyph)](ax, r) for r in plot.renderers
                       if isinstance(r, GlyphRenderer) and type(r.glyph) in GLYPHS]
        for i, glyph in enumerate(self.glyphs):  # Bokeh draws renderers in order
            glyph.art.set_zorder(1 + i / 1000)
        self.spans = [(s, (ax.axvline if s.dimension == "height" else ax.axhline)(0, zorder=3)) for s in plot.center
                      if isinstance(s, Span)]
        self.title = fig.text(0, 0, "", transform=px, zorder=5, va="baseline", parse_math=False)
        by_renderer = {id(g.renderer): g for g in self.glyphs}
        self.legends = [_Legend(renderer, lg, by_renderer, next((s for s in _SIDES if any(m is lg for m in
                                                                  getattr(plot, s))), None)) for lg in plot.legend]
        for spine in ax.spines.values():
            spine.set(**stroke(plot, "outline_line"))
        axes = [(s, m) for s in _SIDES for m in getattr(plot, s) if isinstance(m, Axis)]
        self.axes = [_Axis(self, dim, *next(((s, m) for s, m in axes if s in pair), (None, None)))
                     for dim, pair in enumerate((("below", "above"), ("left", "right")))]

    def prepare(self, factors: dict[int, tuple]) -> None:
        """Read the ranges (mapping categorical ones into ``factors``) and the glyphs' data."""
        self.ranges = (self.plot.x_range, self.plot.y_range)
        for rng in self.ranges:
            if isinstance(rng, FactorRange) and id(rng) not in factors:
                factors[id(rng)] = factor_map(rng)
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
        title = self.title_style = props(plot.title, _TITLE) if plot.title is not None else None
        if title is not None and title.visible and title.text:
            extents["below" if plot.title_location == "below" else "above"] += title.standoff + 1.15 * font_px(
                title.text_font_size)
        if plot.toolbar_location in _SIDES and plot.toolbar.visible:
            extents[plot.toolbar_location] += TOOLBAR
        least = number(plot.min_border, 0)
        self.borders = {s: max(number(getattr(plot, f"min_border_{edge}"), least), extents[s])
                        for s, edge in zip(_SIDES, ("top", "bottom", "left", "right"))}

    def size(self) -> tuple[float, float]:
        """The plot's size in CSS pixels: ``width`` and ``height``, or the frame's size plus the borders."""
        plot, b = self.plot, self.borders
        return (plot.frame_width + b["left"] + b["right"] if plot.frame_width else plot.width or 600,
                plot.frame_height + b["above"] + b["below"] if plot.frame_height else plot.height or 600)

    def apply(self, x: float, y: float, limits: dict[int, tuple[float, float]]) -> None:
        """Draw the models' state with the plot's top-left corner at ``(x, y)``."""
        plot, ax, b = self.plot, self.ax, self.borders
        (width, height), s = self.size(), self.r.scale
        self.back.set_bounds(x, y, width, height)
        self.back.set_facecolor(rgba(plot.border_fill_color, plot.border_fill_alpha))
        frame = fx, fy, fw, fh = (x + b["left"], y + b["above"], max(1.0, width - b["left"] - b["right"]),
                                  max(1.0, height - b["above"] - b["below"]))
        fig_w, fig_h = self.r.fig.bbox.width, self.r.fig.bbox.height  # the canvas is these, truncated, in pixels
        ax.set_position((fx * s / fig_w, (int(fig_h) - (fy + fh) * s) / fig_h, fw * s / fig_w, fh * s / fig_h))
        ax.set_facecolor(rgba(plot.background_fill_color, plot.background_fill_alpha))
        ax.set_xlim(*limits[id(self.ranges[0])])
        ax.set_ylim(*limits[id(self.ranges[1])])
        for axis, rng in zip(self.axes, self.ranges):
            axis.draw(frame, limits[id(rng)])
        for glyph in self.glyphs:
            glyph.apply()
        for span, line in self.spans:
            line.set(visible=span.visible and span.location is not None, **line_style(span, {}))
            (line.set_xdata if span.dimension == "height" else line.set_ydata)([number(span.location, 0)] * 2)
        self._title(*frame)
        self._legends(*frame)

    def _title(self, fx: float, fy: float, fw: float, fh: float) -> None:
        title = self.title_style
        self.title.set_visible(title is not None and title.visible and bool(title.text))
        if not self.title.get_visible():
            return
        size = font_px(title.text_font_size)
        if self.plot.title_location == "below":
            baseline = fy + fh + self.inner["below"] + size
        else:  # BokehJS puts the baseline this far above the title panel's bottom
            baseline = fy - self.inner["above"] - title.standoff + 0.19 * size
        x = {"left": fx + title.offset, "center": fx + fw / 2, "right": fx + fw - title.offset}[title.align]
        self.title.set(x=x, y=baseline, text=title.text, ha=title.align,
                       color=rgba(title.text_color, title.text_alpha),
                       **font(title.text_font, title.text_font_size, title.text_font_style))

    def _legends(self, fx: float, fy: float, fw: float, fh: float) -> None:
        used = dict(self.axis_extents)
        for legend in self.legends:
            if not legend.box_size:
                legend.hide()
                continue
            (w, h), m, side = legend.box_size, legend.m.margin, legend.side
            x, y = anchor(legend.m.location, fx, fy, fw, fh, w, h, m)
            if side in ("above", "below"):  # in a side panel the box touches the frame's side (or the axis there)
                y = fy - used[side] - h if side == "above" else fy + fh + used[side]
                used[side] += h + 2 * m
            elif side in ("left", "right"):
                x = fx - used[side] - w if side == "left" else fx + fw + used[side]
                used[side] += w + 2 * m
            legend.draw(x, y)


class _Axis:
    """One dimension's axis (ticks, tick labels, axis label) and grid lines, placed by BokehJS's rules."""

    def __init__(self, panel: Panel, dim: int, side: str | None, model: Axis | None) -> None:
        fig, px, ax = panel.r.fig, panel.r.px, panel.ax
        self.panel, self.dim, self.side, self.model = panel, dim, side, model
        self.grids = [g for g in panel.plot.center if isinstance(g, Grid) and g.dimension == dim]
        style = line_style(self.grids[0], {}, "grid_line_") if self.grids else {}
        self.grid = ax.add_collection(mpl().LineCollection([], transform=ax.get_xaxis_transform() if dim == 0 else
                                                           ax.get_yaxis_transform(), zorder=0.5, snap=True, **style),
                                      autolim=False)
        self.major, self.minor = (fig.add_artist(mpl().LineCollection([], transform=px, zorder=3, snap=True))
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
            major, minor = tick_positions(getattr(m, "ticker", None), lo, hi)
            self.ticks = major, minor, tick_labels(getattr(m, "formatter", None), major)
        if m is None or not m.visible:
            self.style = None
            return 0.0
        major, minor, labels = self.ticks
        self.style = st = props(m, _AXIS)
        self.font = font(st.major_label_text_font, st.major_label_text_font_size, st.major_label_text_font_style)
        self.tick = max(st.major_tick_out if major else 0, st.minor_tick_out if minor else 0)
        size = max((self.panel.r.text_width(label, self.font) for label in labels), default=0) if self.dim else \
            0.73 * font_px(st.major_label_text_font_size)
        self.label_extent = st.major_label_standoff + size + 3 if labels else 0
        title = st.axis_label_standoff + 1.15 * font_px(st.axis_label_text_font_size) + 3 if st.axis_label else 0
        return self.tick + self.label_extent + title

    def draw(self, frame: tuple[float, float, float, float], limits: tuple[float, float]) -> None:
        """Draw the grid lines, and the axis beside ``frame`` (``x, y, width, height``) for the range ``limits``."""
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
            art.set(segments=[[at(t, -tin), at(t, tout)] for t in ticks], **stroke(st, f"{kind}_line"))
        while len(self.labels) < len(labels):
            self.labels.append(self.panel.r.fig.text(0, 0, "", transform=self.panel.r.px, zorder=3, parse_math=False))
        align = {"below": ("center", "top"), "above": ("center", "baseline"), "left": ("right", "center_baseline"),
                 "right": ("left", "center_baseline")}[self.side]
        offset = self.tick + st.major_label_standoff + (1 - dim)  # matplotlib's text box starts above the digits
        color = rgba(st.major_label_text_color, st.major_label_text_alpha)
        for i, text in enumerate(self.labels):
            text.set_visible(i < len(labels))
            if i < len(labels):
                text.set(position=at(major[i], offset), text=labels[i], ha=align[0], va=align[1], color=color,
                         **self.font)
        offset = self.tick + self.label_extent + st.axis_label_standoff + (4, 0.5)[dim]
        center = (fx + fw / 2, at(0, offset)[1]) if dim == 0 else (at(0, offset)[0], fy + fh / 2)
        self.title.set(position=center, text=st.axis_label or "", ha=align[0] if dim else "center",
                       va="center" if dim else align[1],
                       color=rgba(st.axis_label_text_color, st.axis_label_text_alpha),
                       **font(st.axis_label_text_font, st.axis_label_text_font_size, st.axis_label_text_font_style))

    def _show(self, shown: bool) -> None:
        """Show or hide the ticks, labels and axis line (the frame's outline stays)."""
        if shown == self.shown:
            return
        self.shown = shown
        for art in (self.major, self.minor, self.title, *self.labels):
            art.set_visible(shown)
        if self.side is not None:
            owner, prefix = (self.model, "axis_line") if shown else (self.panel.plot, "outline_line")
            self.panel.ax.spines[_TICK_SIDE[self.side]].set(**stroke(owner, prefix))


class _Legend:
    """A ``Legend``'s box, item glyphs, labels and inactive-item shades, in CSS pixels of the layout."""

    def __init__(self, renderer: Surface, legend: Legend, glyphs: dict[int, Glyph], side: str | None) -> None:
        fig, px = renderer.fig, renderer.px
        self.r, self.model, self.side = renderer, legend, side
        self.box = fig.add_artist(mpl().Rectangle((0, 0), 0, 0, transform=px, zorder=4))
        self.items = []
        for item in legend.items:
            drawn = [(g, g.legend_artist(fig, px)) for g in (glyphs.get(id(r)) for r in item.renderers) if g]
            self.items.append((item, fig.text(0, 0, "", transform=px, zorder=5, va="baseline", parse_math=False),
                               fig.add_artist(mpl().Rectangle((0, 0), 0, 0, transform=px, zorder=6, linewidth=0)),
                               [(g, a) for g, a in drawn if a is not None]))
        self.box_size: tuple[float, float] | None = None

    def read(self) -> None:
        """Read the legend and its items, and size the box (``box_size`` is ``None`` when nothing is shown)."""
        self.m = m = props(self.model, _LEGEND)
        self.font = font(m.label_text_font, m.label_text_font_size, m.label_text_font_style)
        self.shown = [(entry, item_label(entry[0]), all(r.visible for r in entry[0].renderers))
                      for entry in self.items if entry[0].visible] if m.visible else []
        height = max(m.glyph_height, 1.15 * font_px(m.label_text_font_size))
        self.cells = [(m.glyph_width + m.label_standoff + max(m.label_width, self.r.text_width(label, self.font)),
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
        """Hide the box and every item."""
        self.box.set_visible(False)
        for _, label, shade, drawn in self.items:
            for art in (label, shade, *(a for _, a in drawn)):
                art.set_visible(False)

    def draw(self, x: float, y: float) -> None:
        """Draw the legend with its box's top-left corner at ``(x, y)``."""
        m = self.m
        self.hide()
        self.box.set(bounds=(x, y, *self.box_size), visible=True,
                     facecolor=rgba(m.background_fill_color, m.background_fill_alpha), **stroke(m, "border_line"))
        cx, cy = x + self.pad, y + self.pad
        color, lift = rgba(m.label_text_color, m.label_text_alpha), 0.45 * font_px(m.label_text_font_size)
        for ((_, label, shade, drawn), text, active), (cw, ch) in zip(self.shown, self.cells):
            gy = cy + (ch - m.glyph_height) / 2
            for glyph, art in drawn:
                art.set_visible(glyph.rows > 0)  # BokehJS draws no legend glyph for a renderer without data
                glyph.legend_draw(art, cx, gy, cx + m.glyph_width, gy + m.glyph_height)
            label.set(x=cx + m.glyph_width + m.label_standoff, y=cy + ch / 2 + lift, text=text, visible=True,
                      color=color, **self.font)
            shade.set(bounds=(cx, cy, cw, ch), visible=m.click_policy == "hide" and not active,
                      facecolor=rgba(m.inactive_fill_color, m.inactive_fill_alpha))
            cx, cy = (cx + cw + m.spacing, cy) if m.orientation == "horizontal" else (cx, cy + ch + m.spacing)
