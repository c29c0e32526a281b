"""Bokeh glyphs drawn by matplotlib artists. A new glyph is a :class:`Glyph` subclass and one line in :data:`GLYPHS`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from bokeh.model import Model
from bokeh.models import GlyphRenderer, HBar, ImageRGBA, Line, Rect, Scatter, Text, VBar

from .bokehjs import kept_rows
from .style import PT, data_column, floats, font, line_style, mpl, number, rgba, scalar

_CAPS = {"butt": "butt", "round": "round", "square": "projecting"}
_ALIGN = {"left": "left", "start": "left", "center": "center", "right": "right", "end": "right"}
_BASELINE = {"top": "top", "hanging": "top", "middle": "center", "alphabetic": "baseline", "bottom": "bottom",
             "ideographic": "bottom"}
_MARKERS = {"circle": "o", "square": "s", "star": "*", "triangle": "^", "inverted_triangle": "v", "diamond": "D",
            "hex": "h", "cross": "+", "x": "x", "plus": "P", "dot": ".", "asterisk": (6, 2, 0), "dash": "_"}


class Glyph:
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
        """Read the renderer's visibility, data and kept rows (categories mapped by ``x_map`` and ``y_map``)."""
        self.visible = self.renderer.visible
        self.data = data = self.renderer.data_source.data
        n = len(next(iter(data.values()), ()))
        rows = kept_rows(self.renderer.view.filter, data, n)
        self.rows = n if rows is None else len(rows)
        self._read(data, rows, n, x_map, y_map)

    def apply(self) -> None:
        """Draw what :meth:`prepare` read; an invisible renderer, or one without rows, draws nothing."""
        self.art.set_visible(self.visible and self.rows > 0)
        if self.art.get_visible():
            self._draw()

    def _make(self, ax: Any) -> Any:
        (line,) = ax.plot([], [], solid_capstyle=_CAPS.get(self.glyph.line_cap, "butt"),
                          solid_joinstyle=self.glyph.line_join)
        return line

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        self.x, self.y = floats(self.glyph.x, data, rows, n, x_map), floats(self.glyph.y, data, rows, n, y_map)
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        self.bounds = ((self.x[ok].min(), self.x[ok].max()), (self.y[ok].min(), self.y[ok].max())) if ok.any() else None

    def _draw(self) -> None:
        self.art.set_data(self.x, self.y)
        self.art.set(**self.style())

    def style(self) -> dict[str, Any]:
        """The artist's matplotlib properties from the glyph's style."""
        return line_style(self.glyph, self.data)

    def legend_artist(self, fig: Any, px: Any) -> Any:
        """A new artist for this glyph in a legend (``None``: none), drawn in the transform ``px``."""
        return fig.add_artist(mpl().Line2D([], [], transform=px, zorder=5))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        """Draw the legend artist in the box from ``(x0, y0)`` to ``(x1, y1)``."""
        art.set_data([x0, x1], [(y0 + y1) / 2] * 2)
        art.set(**self.style())


class _Scatter(Glyph):
    """``Scatter`` markers; the legend shows the marker at 0.4 of the legend glyph's size, as BokehJS does."""

    def style(self, size: float | None = None) -> dict[str, Any]:
        g, d = self.glyph, self.data
        return dict(linestyle="none", marker=_MARKERS.get(scalar(g.marker, d), "o"),
                    markersize=PT * (size or number(scalar(g.size, d), 4)),
                    markerfacecolor=rgba(scalar(g.fill_color, d), scalar(g.fill_alpha, d)),
                    markeredgecolor=rgba(scalar(g.line_color, d), scalar(g.line_alpha, d)),
                    markeredgewidth=PT * number(scalar(g.line_width, d), 1))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_data([(x0 + x1) / 2], [(y0 + y1) / 2])
        art.set(**self.style(0.4 * min(abs(x1 - x0), abs(y1 - y0))))


class _Bars(Glyph):
    """``VBar`` (``x``, ``width``, ``bottom``, ``top``) and ``HBar`` (``y``, ``height``, ``left``, ``right``)."""

    def _make(self, ax: Any) -> Any:
        return ax.add_collection(mpl().PolyCollection([]))

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g, vertical = self.glyph, isinstance(self.glyph, VBar)
        names = ((g.x, x_map), (g.width, None), (g.bottom, None), (g.top, None)) if vertical else \
            ((g.y, y_map), (g.height, None), (g.left, None), (g.right, None))
        center, size, low, high = (floats(v, data, rows, n, m) for v, m in names)
        ok = np.isfinite(center) & np.isfinite(size) & np.isfinite(low) & np.isfinite(high)
        c0, c1, low, high = center[ok] - size[ok] / 2, center[ok] + size[ok] / 2, low[ok], high[ok]
        fills = colors(g.fill_color, g.fill_alpha, data, rows, n)
        self.fills = fills if len(fills) == 1 else fills[ok]
        across, along = np.stack([c0, c0, c1, c1], axis=1), np.stack([low, high, high, low], axis=1)
        self.verts = np.stack([across, along] if vertical else [along, across], axis=2)
        spans = ((c0.min(), c1.max()), (min(low.min(), high.min()), max(low.max(), high.max()))) if ok.any() else None
        self.bounds = spans if vertical or spans is None else spans[::-1]

    def _draw(self) -> None:
        self.art.set_verts(self.verts)
        self.art.set(**self.style())
        if len(self.fills) > 1:  # a colour or alpha per bar
            self.art.set_facecolor(self.fills)

    def style(self) -> dict[str, Any]:
        g, d = self.glyph, self.data
        return dict(facecolor=rgba(scalar(g.fill_color, d), scalar(g.fill_alpha, d)),
                    edgecolor=rgba(scalar(g.line_color, d), scalar(g.line_alpha, d)),
                    linewidth=PT * number(scalar(g.line_width, d), 1))

    def legend_artist(self, fig: Any, px: Any) -> Any:
        return fig.add_artist(mpl().Rectangle((0, 0), 0, 0, transform=px, zorder=5))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_bounds(x0 + 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0), 0.8 * (x1 - x0), 0.8 * (y1 - y0))
        art.set(**self.style())


class _Image(Glyph):
    """``ImageRGBA``: the first row's picture (2-D uint32 of packed RGBA bytes, row 0 at the bottom)."""

    def _make(self, ax: Any) -> Any:
        return ax.imshow(np.zeros((1, 1, 4), np.uint8), origin="lower", interpolation="nearest", aspect="auto")

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g, column = self.glyph, data_column(self.glyph.image, data)
        if not self.rows or column is None:
            self.rows, self.bounds = 0, None
            return
        first = 0 if rows is None else int(rows[0])
        picture = np.asarray(column[first])
        self.rgba = picture if picture.ndim == 3 else \
            np.ascontiguousarray(picture, np.uint32).view(np.uint8).reshape(*picture.shape, 4)
        x, y, dw, dh = (float(floats(v, data, None, n, m)[first]) for v, m in
                        ((g.x, x_map), (g.y, y_map), (g.dw, None), (g.dh, None)))
        self.bounds = ((x, x + dw), (y, y + dh))

    def _draw(self) -> None:
        (x0, x1), (y0, y1) = self.bounds
        self.art.set_data(self.rgba)
        self.art.set_extent((x0, x1, y0, y1))
        self.art.set_alpha(self.glyph.global_alpha)

    def legend_artist(self, fig: Any, px: Any) -> None:
        return None


def colors(color: Any, alpha: Any, data: Mapping[str, Any], rows: np.ndarray | None, n: int) -> np.ndarray:
    """A colour property's ``(rows, 4)`` RGBA floats: one row for a fixed colour and alpha, else one per kept row,
    from a column of colours (names, hex, tuples) or of uint32 ``0xRRGGBBAA`` (Bokeh's packed colours); times
    ``alpha``, a number or a column (a histogram's bars: one colour, an alpha per bar).

    Example:
        >>> colors("c", 0.5, {"c": np.array([0xFF000080], np.uint32)}, None, 1).round(3).tolist()
        [[1.0, 0.0, 0.0, 0.251]]
        >>> colors("red", "a", {"a": [0.5, 1.0]}, None, 2).tolist()
        [[1.0, 0.0, 0.0, 0.5], [1.0, 0.0, 0.0, 1.0]]
    """
    column, alphas = data_column(color, data), data_column(alpha, data)
    if column is None and alphas is None:
        return np.array([rgba(scalar(color, data), scalar(alpha, data))])
    values = np.asarray(column) if column is not None else None
    if values is None:
        out = np.tile(rgba(scalar(color, data)), (n, 1))
    elif values.ndim == 1 and values.dtype.kind in "ui":
        packed = values.astype(np.uint32)
        out = np.stack([(packed >> shift) & 255 for shift in (24, 16, 8, 0)], axis=1) / 255.0
    else:
        out = np.array([rgba(c) for c in column]).reshape(-1, 4)
    out = out if rows is None else out[rows]
    if alphas is None:
        out[:, 3] *= number(scalar(alpha, data), 1.0)
    else:
        shares = np.nan_to_num(np.asarray(alphas, dtype=float), nan=1.0)
        out[:, 3] *= shares if rows is None else shares[rows]
    return out


class _Rect(_Bars):
    """``Rect``: ``x``, ``y``, ``width``, ``height`` in data units (no ``angle``), each row in its own colours."""

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g = self.glyph
        x, y, w, h = (floats(v, data, rows, n, m) for v, m in
                      ((g.x, x_map), (g.y, y_map), (g.width, None), (g.height, None)))
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(h)
        x0, x1, y0, y1 = x[ok] - w[ok] / 2, x[ok] + w[ok] / 2, y[ok] - h[ok] / 2, y[ok] + h[ok] / 2
        self.verts = np.stack([np.stack([x0, x0, x1, x1], axis=1), np.stack([y0, y1, y1, y0], axis=1)], axis=2)
        fills, lines = (colors(c, a, data, rows, n) for c, a in ((g.fill_color, g.fill_alpha),
                                                                 (g.line_color, g.line_alpha)))
        self.fills, self.lines = (c if len(c) == 1 else c[ok] for c in (fills, lines))
        self.bounds = ((x0.min(), x1.max()), (y0.min(), y1.max())) if ok.any() else None

    def style(self) -> dict[str, Any]:
        return dict(facecolor=self.fills, edgecolor=self.lines,
                    linewidth=PT * number(scalar(self.glyph.line_width, self.data), 1))

    def legend_draw(self, art: Any, x0: float, y0: float, x1: float, y1: float) -> None:
        art.set_bounds(x0 + 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0), 0.8 * (x1 - x0), 0.8 * (y1 - y0))
        if len(self.fills) and len(self.lines):
            art.set(**{**self.style(), "facecolor": self.fills[0], "edgecolor": self.lines[0]})


class _Text(Glyph):
    """``Text``: a label per row at ``x``, ``y`` (numbers written as JavaScript writes them), in its row's colour,
    with the glyph's font and alignment (no ``angle`` or offsets), clipped to the frame."""

    def _make(self, ax: Any) -> Any:
        self.ax, self.pool = ax, [ax.text(0, 0, "", parse_math=False)]
        return self.pool[0]

    def _read(self, data: Mapping, rows: np.ndarray | None, n: int, x_map: dict | None, y_map: dict | None) -> None:
        g = self.glyph
        self.x, self.y = floats(g.x, data, rows, n, x_map), floats(g.y, data, rows, n, y_map)
        column = data_column(g.text, data)
        texts = [scalar(g.text, data)] * n if column is None else list(column)
        self.texts = [_js_text(t) for t in (texts if rows is None else [texts[i] for i in rows])]
        self.inks = colors(g.text_color, g.text_alpha, data, rows, n)
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        self.bounds = ((self.x[ok].min(), self.x[ok].max()), (self.y[ok].min(), self.y[ok].max())) if ok.any() else None

    def apply(self) -> None:
        super().apply()
        if not self.art.get_visible():
            for label in self.pool:
                label.set_visible(False)

    def _draw(self) -> None:
        g, d = self.glyph, self.data
        style = dict(ha=_ALIGN.get(scalar(g.text_align, d), "left"),
                     va=_BASELINE.get(scalar(g.text_baseline, d), "baseline"), zorder=self.art.get_zorder(),
                     **font(scalar(g.text_font, d), scalar(g.text_font_size, d), scalar(g.text_font_style, d)))
        while len(self.pool) < len(self.texts):
            self.pool.append(self.ax.text(0, 0, "", parse_math=False))
        for i, label in enumerate(self.pool):
            shown = i < len(self.texts) and self.texts[i] is not None and bool(np.isfinite(self.x[i] + self.y[i]))
            label.set_visible(shown)
            if shown:
                label.set(x=self.x[i], y=self.y[i], text=self.texts[i], color=self.inks[min(i, len(self.inks) - 1)],
                          clip_on=True, **style)

    def legend_artist(self, fig: Any, px: Any) -> None:
        return None


def _js_text(value: Any) -> str | None:
    """A ``text`` value as BokehJS writes it (``${value}``): ``None`` draws nothing, ``3.0`` is ``3``.

    Example:
        >>> _js_text(np.float64(3.0)), _js_text(0.25), _js_text("cat"), _js_text(None)
        ('3', '0.25', 'cat', None)
    """
    if value is None:
        return None
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: The glyph class that draws each Bokeh glyph model; renderers of other glyphs are skipped.
GLYPHS: dict[type[Model], type[Glyph]] = {Line: Glyph, Scatter: _Scatter, VBar: _Bars, HBar: _Bars, ImageRGBA: _Image,
                                           Rect: _Rect, Text: _Text}
