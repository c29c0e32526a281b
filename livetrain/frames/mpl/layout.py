"""Where a Bokeh layout puts its plots: grids, rows and columns of figures, as Bokeh lays them out."""
from __future__ import annotations

from collections.abc import Iterator

from bokeh.model import Model
from bokeh.models import Column, GridBox, GridPlot, Plot, Row

from .style import number

TOOLBAR = 30  # CSS pixels a toolbar takes


def plots(model: Model) -> Iterator[Plot]:
    """The plots of a layout, in layout order.

    Example:
        >>> from bokeh.layouts import column, row
        >>> a, b, c = Plot(), Plot(), Plot()
        >>> list(plots(column(row(a, b), c))) == [a, b, c]
        True
    """
    if isinstance(model, Plot):
        yield model
    for _, _, child in _cells(model):
        yield from plots(child)


def _cells(model: Model) -> list[tuple[int, int, Model]]:
    """A layout's children as ``(row, column, child)``."""
    if isinstance(model, (GridPlot, GridBox)):
        return [(row, col, child) for child, row, col, *_ in model.children]
    if isinstance(model, (Row, Column)):
        return [(i, 0, c) if isinstance(model, Column) else (0, i, c) for i, c in enumerate(model.children)]
    return []


def annotations_of(plot: Plot) -> list[Model]:
    """The models a plot draws in and around its frame: ``center``, then the side panels'."""
    return [*plot.center, *plot.above, *plot.below, *plot.left, *plot.right]


def align(model: Model, borders: dict[int, dict[str, float]]) -> None:
    """Line up frames as a Bokeh grid does: one top and bottom border per row, one left and right per column.
    ``borders`` holds each plot's borders by side (``"above"``, ``"below"``, ``"left"``, ``"right"``), by the
    plot's ``id``; they are widened in place."""
    cells = _cells(model)
    if isinstance(model, (GridPlot, GridBox)):
        for index, sides in ((0, ("above", "below")), (1, ("left", "right"))):
            lines: dict[int, list[dict[str, float]]] = {}
            for cell in cells:
                if isinstance(cell[2], Plot):
                    lines.setdefault(cell[index], []).append(borders[id(cell[2])])
            for line in lines.values():
                for side in sides:
                    most = max(b[side] for b in line)
                    for b in line:
                        b[side] = most
    for _, _, child in cells:
        align(child, borders)


def arrange(model: Model, sizes: dict[int, tuple[float, float]]) -> tuple[float, float, dict[int, tuple]]:
    """The size of ``model`` and the top-left corner of each of its plots, as Bokeh lays out grids, rows, columns.

    Example:
        >>> from bokeh.layouts import row
        >>> a, b = Plot(), Plot()
        >>> arrange(row(a, b), {id(a): (300, 200), id(b): (100, 250)})[:2]
        (400, 250)
    """
    if isinstance(model, Plot):
        return (*sizes[id(model)], {id(model): (0.0, 0.0)})
    parts = [(row, col, arrange(child, sizes)) for row, col, child in _cells(model)]
    if not parts:
        return number(getattr(model, "width", 0), 0), number(getattr(model, "height", 0), 0), {}
    spacing = getattr(model, "spacing", 0) or 0
    gap_y, gap_x = spacing if isinstance(spacing, (tuple, list)) else (spacing, spacing)
    heights: dict[int, float] = {}
    widths: dict[int, float] = {}
    for row, col, (w, h, _) in parts:
        heights[row], widths[col] = max(heights.get(row, 0), h), max(widths.get(col, 0), w)
    tops = {r: sum(heights[q] + gap_y for q in heights if q < r) for r in heights}
    lefts = {c: sum(widths[q] + gap_x for q in widths if q < c) for c in widths}
    bar = model.toolbar_location if isinstance(model, GridPlot) and model.toolbar.visible else None
    dx, dy = TOOLBAR * (bar == "left"), TOOLBAR * (bar == "above")
    places = {key: (lefts[col] + x + dx, tops[row] + y + dy) for row, col, (_, _, sub) in parts
              for key, (x, y) in sub.items()}
    return (sum(widths.values()) + gap_x * (len(widths) - 1) + TOOLBAR * (bar in ("left", "right")),
            sum(heights.values()) + gap_y * (len(heights) - 1) + TOOLBAR * (bar in ("above", "below")), places)
