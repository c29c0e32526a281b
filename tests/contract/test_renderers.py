"""The renderer contract: every renderer registered in ``livetrain.frames.RENDERERS`` can start here (``missing()`` is
``None``), is what ``open_renderer`` returns by its name, draws an empty line view and a ``Dashboard`` of every
registered view as frames ``to_image`` takes, of the same size as the other renderers draw them (the layout's size),
and closes (twice is harmless); each policy in ``ORDERS`` picks its first renderer that can start.

A new renderer registered in ``RENDERERS`` is tested here without editing this file.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from bokeh.model import Model
from bokeh.model.util import collect_models
from bokeh.models import Plot
from PIL import Image, ImageChops

from livetrain import Dashboard, LinePlotsCallback
from livetrain.frames import ORDERS, RENDERERS, open_renderer, renderer_class
from livetrain.frames.png import to_image
from livetrain.views import VIEWS, LiveView

SLACK_PX = 4  # how far two renderers' frames of one layout may differ in width or height


def empty_line() -> LiveView:
    return LinePlotsCallback().replica()


def dashboard() -> LiveView:
    """A dashboard of every registered view, each showing the first epoch of its demo history."""
    board = Dashboard([VIEWS[kind]() for kind in sorted(VIEWS)]).replica()
    for view, kind in zip(board.views, sorted(VIEWS)):
        history = VIEWS[kind].demo_history(1)
        for phase in history:
            view.on_epoch_end(0, phase, history)
    return board


LAYOUTS: dict[str, Callable[[], LiveView]] = {"empty line view": empty_line, "dashboard": dashboard}


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


@pytest.fixture(scope="module")
def frames():
    """``frames(renderer, layout)``: the renderer's frame of the layout, drawn once per module (Chromium is slow
    to start), through ``open_renderer(graph, renderer)``."""
    drawn: dict[tuple[str, str], Image.Image] = {}

    def draw(renderer: str, layout: str) -> Image.Image:
        if (renderer, layout) not in drawn:
            graph = LAYOUTS[layout]().graph
            drawer, notice = open_renderer(graph, renderer)
            try:
                assert isinstance(drawer, renderer_class(renderer)) and drawer.name == renderer, \
                    f"open_renderer(graph, {renderer!r}) gave a {type(drawer).__name__} named {drawer.name!r}"
                assert isinstance(notice, str) and notice
                frame = drawer.capture()
            finally:
                drawer.close()
                drawer.close()  # a second close (a `with` block after an explicit close) does nothing
            drawn[renderer, layout] = to_image(frame)
        return drawn[renderer, layout]

    return draw


def least_size(graph: Model) -> tuple[int, int]:
    """The largest figure's width and height: the least a frame of the layout must hold."""
    plots = [m for m in collect_models(graph) if isinstance(m, Plot)]
    return (max((p.frame_width or p.width or 0) for p in plots), max((p.frame_height or p.height or 0) for p in plots))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_the_renderer_can_start_here(name: str) -> None:
    cls = renderer_class(name)
    assert cls.missing() is None, f"renderer {name!r} says it needs {cls.missing()}; it is installed here and in CI"
    assert cls.name == name


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_the_renderer_draws_the_layout_at_its_size(frames, name: str, layout: str) -> None:
    image = frames(name, layout)
    least = least_size(LAYOUTS[layout]().graph)
    assert image.width >= least[0] and image.height >= least[1], \
        f"{name} drew {layout} as {image.size}, smaller than its largest figure {least}"
    corner = Image.new("RGB", image.size, image.getpixel((0, 0)))
    assert ImageChops.difference(image, corner).getbbox() is not None, f"{name} drew {layout} as a blank frame"
    for other in sorted(RENDERERS):
        size = frames(other, layout).size
        assert all(abs(a - b) <= SLACK_PX for a, b in zip(image.size, size)), \
            f"{name} drew {layout} as {image.size}, {other} as {size}: a frame has the layout's size"


@pytest.mark.parametrize("policy", sorted(ORDERS))
def test_the_policy_takes_its_first_renderer_that_can_start(policy: str) -> None:
    assert set(ORDERS[policy]) <= set(RENDERERS), f"policy {policy!r} names unregistered renderers"
    first = next(n for n in ORDERS[policy] if renderer_class(n).missing() is None)
    drawer, notice = open_renderer(LinePlotsCallback().replica().graph, policy)
    try:
        assert drawer.name == first, f"policy {policy!r} ({ORDERS[policy]}) took {drawer.name!r}, not {first!r}"
        assert isinstance(drawer, renderer_class(first)) and notice
    finally:
        drawer.close()
