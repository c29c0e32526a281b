"""The browser-free renderer: matplotlib's Agg backend draws a Bokeh layout's models, panel by panel."""
from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from bokeh.model import Model
from bokeh.models import DataRange1d, FactorRange
from PIL import Image

from ..base import pixel_scale
from .bokehjs import auto_range
from .layout import align, annotations_of, arrange, plots
from .panel import Panel
from .style import mpl, number


class MatplotlibRenderer:
    """Frames of a livetrain layout without a browser: matplotlib's Agg backend draws the layout's Bokeh models.

    Each :meth:`capture` reads the models as they are then (data, ranges, titles, sizes, visibility) and
    returns the picture. The matplotlib figure is built once and only updated, unless the layout's
    structure (its plots, renderers, annotations or legend items) has changed. ``scale=1`` draws one
    pixel per CSS pixel of the Bokeh layout; ``scale=2`` a picture with twice the pixels each way (HiDPI; 300 dpi
    print is about 3), the same layout. ``dpi`` is matplotlib's name for the same: ``dpi = 100 * scale``.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> cb = LinePlotsCallback(epochs=10)
        >>> cb.on_epoch_end(0, "train", {"train": {"loss": [0.9], "acc": [0.5]}})
        >>> cb.flush()
        >>> renderer = MatplotlibRenderer(cb.graph)
        >>> renderer.capture().size
        (700, 330)
        >>> renderer.close()
        >>> with MatplotlibRenderer(cb.graph, scale=2) as sharp:
        ...     sharp.capture().size
        (1400, 660)
    """

    name = "matplotlib"
    notice = ("frames drawn by matplotlib (same panels, colours and ranges as the live plot, not its exact pixels); "
              "for Bokeh's own pixels install chromium and playwright (no `playwright install` needed) and use "
              "renderer='browser'.")

    def __init__(self, graph: Model, *, scale: float = 1.0, dpi: float | None = None) -> None:
        if not isinstance(graph, Model):
            raise TypeError(f"MatplotlibRenderer draws a Bokeh layout (a view's .graph), got {type(graph).__name__}")
        self.scale = pixel_scale(scale if dpi is None else dpi / 100)
        self.graph, self.dpi = graph, 100 * self.scale
        self.fig = mpl().Figure(dpi=self.dpi, facecolor="white")
        self._canvas = mpl().FigureCanvasAgg(self.fig)
        self.px = mpl().Affine2D()  # CSS pixels from the layout's top-left corner to the figure's display pixels
        self._panels: list[Panel] = []
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
        figures = list(plots(self.graph))
        shape = [tuple(map(id, (p, *p.renderers, *annotations_of(p), *(i for lg in p.legend for i in lg.items))))
                 for p in figures]
        if shape != self._shape:  # new plots, renderers or legend items: build the artists again
            self.fig.clear()
            self._panels, self._shape = [Panel(self, p) for p in figures], shape
        factors: dict[int, tuple] = {}  # each FactorRange's factor centres and (start, end)
        for panel in self._panels:
            panel.prepare(factors)
        limits = self._limits(factors)
        for panel in self._panels:
            panel.measure(limits, factors)
        align(self.graph, {id(panel.plot): panel.borders for panel in self._panels})
        width, height, places = arrange(self.graph, {id(panel.plot): panel.size() for panel in self._panels})
        w, h = max(1, round(width * self.scale)), max(1, round(height * self.scale))
        if self._canvas.get_width_height() != (w, h):
            self.fig.set_size_inches((w + 0.5) / self.dpi, (h + 0.5) / self.dpi)  # + 0.5: Agg truncates sizes
        self.px.clear().scale(self.scale, -self.scale).translate(0, h)
        for panel in self._panels:
            panel.apply(*places[id(panel.plot)], limits)
        self._canvas.draw()
        return Image.frombuffer("RGBA", (w, h), self._canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")

    def close(self) -> None:
        """Free the matplotlib figure; a later :meth:`capture` builds it again."""
        self.fig.clear()
        self._panels, self._shape = [], None

    def __enter__(self) -> MatplotlibRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def text_width(self, text: str, font: Mapping[str, Any]) -> float:
        """The width of ``text`` in ``font`` (keyword arguments of a matplotlib ``Text``), in CSS pixels."""
        key = (text, *font.values())
        if key not in self._widths:
            prop = mpl().FontProperties(family=font["fontfamily"], size=font["fontsize"], weight=font["fontweight"],
                                        style=font["fontstyle"])
            renderer = self._canvas.get_renderer()
            self._widths[key] = renderer.get_text_width_height_descent(text, prop, ismath=False)[0] / self.scale
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
                    limits[id(rng)] = auto_range(rng, boxes)
                else:
                    limits[id(rng)] = (number(rng.start, 0.0), number(rng.end, 1.0))
        return limits
