"""Choosing how frames are drawn: Chromium (BokehJS itself) when it is there, matplotlib otherwise."""
from __future__ import annotations

import importlib.util
from typing import Protocol

from bokeh.model import Model

from .browser_frames import BrowserRenderer, find_chromium
from .gif import Frame

RENDERERS = ("auto", "browser", "matplotlib")


class Renderer(Protocol):
    """Draws a layout's current state; :class:`BrowserRenderer` and ``MatplotlibRenderer`` are renderers."""

    name: str

    def capture(self) -> Frame:
        """The layout as it is now: PNG bytes or a PIL image."""

    def close(self) -> None:
        """Free what the renderer holds (a browser, a figure)."""


def open_renderer(graph: Model, renderer: str = "auto") -> tuple[Renderer, str]:
    """A renderer for ``graph`` and one line saying which one it is and how to get the other.

    ``renderer``: ``"browser"`` (headless Chromium drawing with BokehJS: the pixels of ``export_png``),
    ``"matplotlib"`` (no browser: the same panels, titles, colours and ranges, drawn by matplotlib), or
    ``"auto"``: the browser when Chromium and playwright are installed, matplotlib otherwise.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> drawer, notice = open_renderer(LinePlotsCallback().replica().graph, "matplotlib")
        >>> drawer.name
        'matplotlib'
        >>> drawer.close()
    """
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {', '.join(map(repr, RENDERERS))}; got {renderer!r}")
    chromium = find_chromium()
    playwright = importlib.util.find_spec("playwright") is not None
    if renderer == "browser" or (renderer == "auto" and chromium and playwright):
        return BrowserRenderer(graph, executable=chromium), (
            f"livetrain: frames drawn by BokehJS in headless Chromium ({chromium}), as export_png draws them; "
            f"renderer='matplotlib' draws them without a browser.")
    from .mpl_frames import MatplotlibRenderer

    missing = "Chromium" if not chromium else "playwright"
    why = "" if renderer == "matplotlib" else f"no {missing} found, so "
    return MatplotlibRenderer(graph), (
        f"livetrain: {why}frames drawn by matplotlib (same panels, colours and ranges as the live plot, not its "
        f"exact pixels); for Bokeh's own pixels install chromium and playwright (no `playwright install` needed) "
        f"and use renderer='browser'.")
