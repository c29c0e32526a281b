"""Browser-free frames of livetrain's views: matplotlib's Agg backend draws a Bokeh layout's models.

:class:`MatplotlibRenderer` walks a layout (``gridplot``, ``column``, ``row``, figures) and draws what livetrain's
views use: titles, axes, grids, legends, spans and the ``Line``, ``Scatter``, ``VBar``, ``HBar``, ``ImageRGBA``,
``Rect`` and ``Text`` glyphs; anything else is skipped. Data ranges, ticks, tick labels, borders and legend boxes
follow BokehJS's rules, so a frame shows the live view's panels, titles, colours and ranges. matplotlib is optional:
it is imported when a renderer is made.

The modules, by job: :mod:`.renderer` (the renderer), :mod:`.panel` (a plot's frame, axes, title, legends),
:mod:`.glyphs` (glyphs, registered in ``GLYPHS``), :mod:`.layout` (where a layout puts its plots),
:mod:`.bokehjs` (BokehJS's rules: ranges, ticks, view filters) and :mod:`.style` (Bokeh styles as matplotlib's).
"""
from __future__ import annotations

from .renderer import MatplotlibRenderer

__all__ = ["MatplotlibRenderer"]
