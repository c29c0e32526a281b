"""Values no plot can place (NaN, the infinities, and magnitudes past ``PLOTTABLE``, such as a loss of 1e308) are
drawn as gaps by every renderer, and left out of the axes' ranges: the picture is the one of the same data with NaN
there. The notebook's final picture of a run that logged 1e308 is drawn, not lost to "Axis limits cannot be NaN"."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from PIL import Image

from livetrain import LinePlotsCallback
from livetrain.frames import RENDERERS, open_renderer, picture, renderer_class
from livetrain.frames.base import PLOTTABLE, plottable
from livetrain.frames.png import to_image

BAD = [1e308, 1.7e308, -1.7e308, math.inf, -math.inf, 1e200]
NORMAL = [0.9, 0.7, None, 0.5, 0.4]  # None: where the bad value goes


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def available(name: str):
    missing = renderer_class(name).missing()
    return pytest.param(name, marks=pytest.mark.skipif(missing is not None, reason=f"needs {missing}"))


def with_value(bad: float) -> list[float]:
    return [bad if v is None else v for v in NORMAL]


def pixels(frame) -> np.ndarray:
    return np.asarray(to_image(Image.open(io.BytesIO(frame)) if isinstance(frame, bytes) else frame))


def line_figure(y: list[float]):
    """A plot of one line, with its ranges computed from the data (``DataRange1d``)."""
    plot = figure(width=300, height=220, toolbar_location=None)
    plot.line("x", "y", source=ColumnDataSource({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": y}), line_width=3)
    return plot


def draw(graph, renderer: str) -> np.ndarray:
    drawer, _ = open_renderer(graph, renderer)
    try:
        return pixels(drawer.capture())
    finally:
        drawer.close()


def test_the_threshold_is_where_squares_of_values_overflow():
    assert PLOTTABLE == math.sqrt(np.finfo(float).max) and math.isfinite(PLOTTABLE ** 2 / 2)
    assert np.isnan(plottable([math.nextafter(PLOTTABLE, math.inf), math.nan, math.inf, -1e200])).all()
    assert plottable([PLOTTABLE, -PLOTTABLE, 3.4e38, 0.0]).tolist() == [PLOTTABLE, -PLOTTABLE, 3.4e38, 0.0]


@pytest.mark.parametrize("renderer", [available(name) for name in sorted(RENDERERS)])
def test_every_renderer_draws_them_as_gaps_within_the_normal_values_range(renderer):
    gap = draw(line_figure(with_value(math.nan)), renderer)
    for bad in BAD:
        drawn = draw(line_figure(with_value(bad)), renderer)
        assert drawn.shape == gap.shape and (drawn == gap).all(), f"{renderer} drew {bad!r} other than as a gap"


@pytest.mark.parametrize("renderer", [available(name) for name in sorted(RENDERERS)])
def test_a_value_within_the_threshold_is_drawn(renderer):
    gap = draw(line_figure(with_value(math.nan)), renderer)
    assert (draw(line_figure(with_value(1e150)), renderer) != gap).any()


@pytest.mark.parametrize("renderer", [available(name) for name in sorted(RENDERERS)])
def test_a_value_that_arrives_later_is_a_gap_too(renderer):
    source = ColumnDataSource({"x": [1.0, 2.0], "y": NORMAL[:2]})
    plot = figure(width=300, height=220, toolbar_location=None)
    plot.line("x", "y", source=source, line_width=3)
    drawer, _ = open_renderer(plot, renderer)
    try:
        drawer.capture()
        source.stream({"x": [3.0, 4.0, 5.0], "y": [1.7e308, *NORMAL[3:]]})
        drawn = pixels(drawer.capture())
    finally:
        drawer.close()
    assert (drawn == draw(line_figure(with_value(math.nan)), renderer)).all()


def loss_view(bad: float) -> LinePlotsCallback:
    """A line view fed five epochs whose third train loss is ``bad``."""
    view = LinePlotsCallback(epochs=6).replica()
    loss = with_value(bad)
    for epoch in range(5):
        history = {"train": {"loss": loss[:epoch + 1], "acc": [0.5 + e / 10 for e in range(epoch + 1)]}}
        view.on_epoch_end(epoch, "train", history)
    return view


@pytest.mark.parametrize("bad", [1e308, 1.7e308, math.inf, -math.inf, math.nan])
def test_the_final_picture_of_a_run_that_logged_them_is_drawn_with_gaps(bad):
    png = picture(loss_view(bad).graph)  # the notebook's final PNG (renderer policy "quick")
    assert png is not None and png.startswith(b"\x89PNG")
    assert (pixels(png) == pixels(picture(loss_view(math.nan).graph))).all()


@pytest.mark.parametrize("renderer", [available(name) for name in sorted(RENDERERS)])
def test_the_line_view_drawn_by_every_renderer_shows_gaps(renderer):
    gap = draw(loss_view(math.nan).graph, renderer)
    for bad in (1e308, 1.7e308):
        assert (draw(loss_view(bad).graph, renderer) == gap).all(), f"{renderer} drew a loss of {bad!r}"
