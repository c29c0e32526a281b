"""MatplotlibRenderer draws real livetrain views' Bokeh layouts with real matplotlib; checks are on the pixels."""
import sys

import numpy as np
import pytest
from bokeh.models import CDSView, ColumnDataSource, CustomJSFilter
from bokeh.plotting import figure

from livetrain import Dashboard, HBarPlotsCallback, ImagePlotsCallback, LinePlotsCallback, VBarPlotsCallback
from livetrain.frames.mpl import MatplotlibRenderer
from livetrain.frames.mpl.style import mpl

RED, BLUE, GOLD = (214, 39, 40), (31, 119, 180), (255, 215, 0)  # train line, test line, best-epoch star


def pixels(image, rgb, tol=8):
    """Where ``image`` has colour ``rgb`` (within ``tol`` per channel)."""
    return (np.abs(np.asarray(image).astype(int) - rgb).max(axis=2) <= tol)


def capture(graph, **kw):
    with MatplotlibRenderer(graph, **kw) as renderer:
        return renderer.capture()


def feed(cb, epochs, start=0, loss=None, acc=None, history=None):
    """Run ``epochs`` epochs of train and test through a line view; returns the history."""
    h = history or {p: {"loss": [], "acc": []} for p in ("train", "test")}
    for e in range(start, start + epochs):
        for phase, shift in (("train", 0.0), ("test", 0.1)):
            h[phase]["loss"].append(loss[e] if loss else 1 / (e + 1) + shift)
            h[phase]["acc"].append(acc[e] if acc else 1 - 1 / (e + 2) - shift)
            cb.on_epoch_end(e, phase, h)
    cb.flush()
    return h


def hide_legends(cb):
    """Hide the legends, whose glyphs share the lines' and star's colours (the renderer honours ``visible``)."""
    for fig, *_ in cb.graph.children:
        fig.legend.visible = False


def rightmost(mask):
    return int(np.flatnonzero(mask.any(axis=0)).max())


def runs(counts, least=3):
    """The largest count of each run of consecutive positions whose count is at least ``least``."""
    found, current = [], 0
    for c in list(counts) + [0]:
        if c >= least:
            current = max(current, c)
        elif current:
            found.append(current)
            current = 0
    return found


def test_line_view_has_bokehs_size_and_each_panel_shows_both_phases_and_the_best_star():
    cb = LinePlotsCallback(epochs=30)
    feed(cb, 20)
    image = capture(cb.graph)
    assert image.size == (700, 330)  # two 350 x 300 figures under the gridplot's 30-pixel toolbar
    for panel in (slice(0, 350), slice(350, 700)):  # Loss on the left, Accuracy on the right
        for colour, least in ((RED, 300), (BLUE, 300), (GOLD, 20)):
            assert pixels(image, colour)[:, panel].sum() > least


def test_lines_move_when_data_arrives_and_reach_further_right_with_more_epochs():
    cb = LinePlotsCallback(epochs=20)
    h = feed(cb, 5)
    hide_legends(cb)
    with MatplotlibRenderer(cb.graph) as renderer:
        before = renderer.capture()
        feed(cb, 10, start=5, history=h)
        after = renderer.capture()
    assert not np.array_equal(np.asarray(before), np.asarray(after))
    left = slice(0, 350)
    # 10 more epochs of a 20-epoch x range in a 300-pixel frame: about 150 pixels further right
    assert rightmost(pixels(after, RED)[:, left]) - rightmost(pixels(before, RED)[:, left]) > 120


def test_best_star_marks_the_best_finite_epoch_of_the_monitor_by_its_mode():
    loss = [0.9, 0.2, 0.5, 0.6, 0.7, -np.inf]  # lowest finite loss at epoch 2; -inf is not a best
    acc = [0.1, 0.2, 0.3, 0.4, 0.9, 0.5]  # highest accuracy at epoch 5
    stars = []
    for monitor in ("loss", "acc"):
        cb = LinePlotsCallback(epochs=6, monitor=monitor)
        feed(cb, 6, loss=loss, acc=acc)
        assert cb.best[0] == (2 if monitor == "loss" else 5)
        hide_legends(cb)
        stars.append(np.flatnonzero(pixels(capture(cb.graph), GOLD)[:, :350].any(axis=0)).mean())
    assert stars[1] - stars[0] > 80  # 3 epochs apart, 50 pixels per epoch


def test_best_filter_is_known_by_its_name_only_and_other_js_filters_show_nothing():
    def star_x(name, code="return [];"):
        source = ColumnDataSource({"x": [0, 1, 2], "y": [1.0, 5.0, 2.0]})
        p = figure(width=300, height=200, toolbar_location=None, x_range=(-1, 3))
        p.line("x", "y", source=source)
        p.scatter("x", "y", source=source, size=14, marker="star", color="gold",
                  view=CDSView(filter=CustomJSFilter(name=name, args={"key": "y"}, code=code)))
        gold = pixels(capture(p), GOLD)
        return np.flatnonzero(gold.any(axis=0)).mean() if gold.sum() > 10 else None

    low, high = star_x("livetrain:best:min"), star_x("livetrain:best:max")
    assert high - low > 50  # the max (x=1) is right of the min (x=0), 75 pixels apart
    assert star_x(None) is None  # an unknown browser-side filter: no rows
    best_code = "if (Number.isFinite(y[i]) && (best < 0 || y[i] > y[best])) best = i;"
    assert star_x(None, code=best_code) is None  # the best filter's code without its name: not recognised
    assert star_x("livetrain:best:other", code=best_code) is None


def test_vbar_heights_are_proportional_to_the_values():
    cb = VBarPlotsCallback(categories=4, keys=("counts",), phases=("train",))
    cb.on_epoch_end(0, "train", {"train": {"counts": [[1, 2, 3, 4]]}})
    cb.flush()
    image = capture(cb.graph)
    fill = pixels(image, (234, 147, 147), tol=4)  # #d62728 at alpha 0.5 over white
    fill[:85] = False  # the legend's glyph above the frame
    heights = runs(fill.sum(axis=0))
    assert len(heights) == 4
    assert heights == pytest.approx([heights[0] * k for k in (1, 2, 3, 4)], abs=4)


def test_hbar_bars_are_horizontal_and_their_lengths_proportional():
    cb = HBarPlotsCallback(categories=3, keys=("counts",), phases=("test",))
    cb.on_epoch_end(0, "test", {"test": {"counts": [[1, 2, 3]]}})
    cb.flush()
    fill = pixels(capture(cb.graph), (149, 207, 149), tol=4)  # #2ca02c at alpha 0.5 over white
    fill[:85] = False
    lengths = runs(fill.sum(axis=1))[::-1]  # from the bottom: category "0" first
    assert len(lengths) == 3
    assert lengths == pytest.approx([lengths[0] * k for k in (1, 2, 3)], abs=4)
    left = np.flatnonzero(fill.any(axis=0)).min() + 2
    thickness = np.diff(np.flatnonzero(np.diff(np.r_[0, fill[:, left], 0])))[::2]  # rows of each bar
    assert len(thickness) == 3 and max(thickness) < lengths[0]  # bars lie: wider than tall


def test_image_grid_shows_its_pixels_upright_in_the_gridplots_rows_and_columns():
    levels = {("train", "recon"): 0.2, ("train", "target"): 0.4, ("test", "recon"): 0.6, ("test", "target"): 0.8}
    cb = ImagePlotsCallback(keys=("recon", "target"), phases=("train", "test"), cmap="inferno")
    for phase in ("train", "test"):
        batch = {k: [np.full((64, 1, 28, 28), levels[phase, k])] for k in ("recon", "target")}
        cb.on_epoch_end(0, phase, {phase: batch})
    cb.flush()
    image = capture(cb.graph)
    assert image.size == (2 * 358, 30 + 2 * 379)  # 350-pixel frames, 4-pixel borders, titles; a row per phase
    for phase, key in levels:
        picture = cb.sources[phase][key].data["image"][0]
        rgb = tuple(picture.view(np.uint8).reshape(*picture.shape, 4)[5, 5, :3])  # inside the first image
        rows = slice(30, 409) if phase == "train" else slice(409, 788)
        cols = slice(0, 358) if key == "recon" else slice(358, 716)
        assert pixels(image, rgb, tol=3)[rows, cols].sum() > 0.7 * 350 * 350

    upright = ImagePlotsCallback(keys=("recon",), phases=("train",))
    one = np.zeros((1, 1, 28, 28))
    one[:, :, :14] = 1.0  # the top half white
    upright.on_epoch_end(0, "train", {"train": {"recon": [one]}})
    upright.flush()
    black = np.flatnonzero(pixels(capture(upright.graph), (0, 0, 0), tol=3).sum(axis=1) > 300)
    assert black.min() > 55 + 170 and len(black) == pytest.approx(175, abs=3)  # the frame's lower half


def test_dashboard_draws_every_view_in_its_column():
    line = LinePlotsCallback(epochs=5)
    bars = VBarPlotsCallback(categories=3, keys=("counts",), phases=("train",))
    images = ImagePlotsCallback(keys=("recon",), phases=("train",), cmap="inferno")
    board = Dashboard([line, bars, images])
    for e in range(3):
        board.on_epoch_end(e, "train", {"train": {"loss": [1.0, 0.5, 0.2][:e + 1], "acc": [0.1, 0.5, 0.7][:e + 1],
                                                  "counts": [[1, 2, 3]] * (e + 1),
                                                  "recon": [np.full((16, 1, 28, 28), 0.5)] * (e + 1)}})
    board.flush()
    image = capture(board.graph)
    assert image.size == (700, 330 + 330 + 30 + 25 + 90 + 4)  # the image view refits to the 62 x 242 grid
    assert pixels(image, RED)[:330].sum() > 200
    assert pixels(image, (234, 147, 147), tol=4)[330:660].sum() > 2000
    assert pixels(image, (187, 55, 84), tol=3)[660:].sum() > 0.7 * 350 * 90


@pytest.mark.parametrize("make, size", [
    (lambda: LinePlotsCallback(), (700, 330)),
    (lambda: VBarPlotsCallback(), (700, 330)),
    (lambda: HBarPlotsCallback(phases=("test",)), (350, 330)),
    (lambda: ImagePlotsCallback(), (716, 788)),
])
def test_a_view_without_data_renders(make, size):
    image = capture(make().graph)
    assert image.size == size and image.mode == "RGB"
    assert not pixels(image, RED).any() and not pixels(image, BLUE).any()


def test_captures_do_not_depend_on_earlier_captures():
    bars = VBarPlotsCallback(categories=3, phases=("train",))
    images = ImagePlotsCallback(keys=("recon",), phases=("train",))
    line = LinePlotsCallback(epochs=10)
    feed(line, 4)
    states = {
        bars: [{"train": {"corrects": [[1, 2, 3]], "counts": [[3, 3, 3]]}},
               {"train": {"corrects": [[1000, 20000, 300]], "counts": [[30000, 30000, 30000]]}}],  # wider y labels
        images: [{"train": {"recon": [np.full((16, 1, 28, 28), 0.3)]}},
                 {"train": {"recon": [np.full((64, 1, 28, 28), 0.9)]}}],  # another grid, another figure size
    }
    for view, (first, second) in states.items():
        with MatplotlibRenderer(view.graph) as renderer:
            frames = []
            for history in (first, second, first):
                view.on_epoch_end(0, "train", history)
                view.flush()
                frames.append(np.asarray(renderer.capture()))
        assert not np.array_equal(frames[0], frames[1])
        assert np.array_equal(frames[0], frames[2])

    test_lines = [fig.select_one({"name": "test"}) for fig, *_ in line.graph.children]
    with MatplotlibRenderer(line.graph) as renderer:
        frames = []
        for visible in (True, False, True):  # what a legend click does
            for renderer_ in test_lines:
                renderer_.visible = visible
            frames.append(renderer.capture())
    assert pixels(frames[0], BLUE).sum() > 200 and pixels(frames[1], BLUE).sum() < 20
    assert np.array_equal(np.asarray(frames[0]), np.asarray(frames[2]))


def test_a_stopped_run_shows_the_stop_line():
    cb = LinePlotsCallback(epochs=10)
    h = feed(cb, 4)
    before = capture(cb.graph)
    cb.on_exception(KeyboardInterrupt(), h)
    after = np.asarray(capture(cb.graph))
    assert not np.array_equal(np.asarray(before), after)
    dark = (after[:, :350].astype(int).sum(axis=2) < 100).sum(axis=0)
    assert dark.max() > 100  # a dashed vertical line across the frame, at epoch 4


def test_dpi_scales_the_picture():
    cb = LinePlotsCallback(epochs=5)
    feed(cb, 2)
    assert capture(cb.graph, dpi=200).size == (1400, 660)


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an environment without matplotlib imports
    mpl.cache_clear()
    try:
        with pytest.raises(ImportError, match="needs matplotlib: pip install matplotlib"):
            MatplotlibRenderer(LinePlotsCallback().graph)
    finally:
        monkeypatch.undo()
        mpl.cache_clear()
