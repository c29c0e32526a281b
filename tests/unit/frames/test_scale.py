"""Frames and PNGs at a chosen scale (device pixels per CSS pixel): twice the pixels each way, the same layout."""
import io

import numpy as np
import pytest
from PIL import Image

from livetrain import LinePlotsCallback, train_loop
from livetrain.cli import main
from livetrain.core.history import History
from livetrain.export import FrameExporter
from livetrain.frames import open_renderer, picture
from livetrain.frames.base import pixel_scale
from livetrain.frames.mpl import MatplotlibRenderer


def size(png):
    return Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).size


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def fed(epochs=3):
    view = LinePlotsCallback(epochs=5)
    for e in range(epochs):
        view.on_epoch_end(e, "train", {"train": {"loss": [1 / (i + 1) for i in range(e + 1)],
                                                 "acc": [i / 4 for i in range(e + 1)]}})
    view.flush()
    return view


def run(exporter_options, view_options=None):
    view = LinePlotsCallback(**(view_options or {}))
    exporter = FrameExporter(view, renderer="matplotlib", **exporter_options)
    train_loop(lambda batch, phase: {"loss": 1 / (batch + 1), "acc": 0.5}, {"train": [1, 2]}, epochs=2,
               callbacks=[view, exporter], progress=False)
    return exporter.frames()


def test_the_matplotlib_renderer_draws_twice_the_pixels_at_scale_2_and_the_same_at_1():
    view = fed()
    with MatplotlibRenderer(view.graph) as plain, MatplotlibRenderer(view.graph, scale=1) as one, \
            MatplotlibRenderer(view.graph, scale=2) as two:
        base = plain.capture()
        assert base.size == (700, 330) and two.capture().size == (1400, 660)
        assert (np.asarray(one.capture()) == np.asarray(base)).all()
        sharp = np.asarray(two.capture().resize(base.size, Image.BILINEAR)).astype(int)
    # the same layout: halved, the 2x picture is close to the 1x one everywhere
    assert np.abs(sharp - np.asarray(base)).mean() < 12


def test_frame_exporters_scale_gives_larger_frames_and_scale_1_todays_pixels():
    today, one, two = run({}), run({"scale": 1}), run({"scale": 2})
    assert [size(f) for f in today] == [(700, 330)] * 2
    assert [size(f) for f in two] == [(1400, 660)] * 2
    assert all((pixels(a) == pixels(b)).all() for a, b in zip(today, one))


def test_the_gif_command_takes_scale(tmp_path, capsys):
    saved = History({"train": {"loss": [1.0, 0.5], "acc": [0.5, 0.7]}}).save(tmp_path / "history.json")
    out = tmp_path / "line.gif"
    assert main(["gif", str(saved), "--out", str(out), "--renderer", "matplotlib", "--scale", "2"]) == 0
    assert size(out) == (1400, 660)
    assert main(["gif", str(saved), "--out", str(out), "--scale", "0"]) == 2
    assert "scale must be a number of device pixels per CSS pixel in (0, 8]" in capsys.readouterr().err


def test_open_renderer_and_picture_pass_the_scale_on():
    view = fed()
    drawer, _ = open_renderer(view.graph, "matplotlib", scale=3)
    try:
        assert drawer.capture().size == (2100, 990)
    finally:
        drawer.close()
    assert size(picture(view.graph, scale=2)) == (1400, 660)


def test_a_views_own_png_at_a_scale():
    view = fed()
    assert size(view.picture()) == (700, 330)
    assert size(view.picture(scale=2)) == (1400, 660)


def test_the_final_png_of_a_script_is_drawn_at_the_views_picture_scale(tmp_path, monkeypatch):
    from livetrain.display import set_transport

    monkeypatch.setenv("LIVETRAIN_HTML_DIR", str(tmp_path))
    set_transport("script")
    try:
        view = LinePlotsCallback(epochs=2)
    finally:
        set_transport(None)
    view.picture_scale = 2
    view.on_epoch_end(0, "train", {"train": {"loss": [0.5], "acc": [0.7]}})
    view.on_train_end(History())
    [png] = tmp_path.glob("livetrain-line*.png")
    assert size(png) == (1400, 660)


def test_the_notebooks_final_picture_is_drawn_at_the_scale_and_shown_at_the_plots_size():
    from livetrain.display.base import final_output

    div, _ = final_output(fed().graph, 2)
    assert 'width="700"' in div


@pytest.mark.parametrize("scale", [0, -1, 9, "2", True, float("nan")])
def test_a_bad_scale_is_a_clear_error(scale):
    with pytest.raises(ValueError, match=r"scale must be a number of device pixels per CSS pixel in \(0, 8\]"):
        pixel_scale(scale)
    with pytest.raises(ValueError, match="scale must be"):
        FrameExporter(LinePlotsCallback(), scale=scale)


def test_the_browser_renderer_draws_at_the_device_pixel_ratio_frame_after_frame():
    from livetrain.frames.browser import BrowserRenderer

    view = LinePlotsCallback(epochs=5).replica()
    with BrowserRenderer(view.graph) as one, BrowserRenderer(view.graph, scale=2) as two:
        for e in range(2):  # a screenshot must not reset the ratio for the next frame
            view.on_epoch_end(e, "train", {"train": {"loss": [0.5] * (e + 1), "acc": [0.8] * (e + 1)}})
            base, sharp = Image.open(io.BytesIO(one.capture())), Image.open(io.BytesIO(two.capture()))
            assert base.size == (700, 330) and sharp.size == (1400, 660)
    halved = np.asarray(sharp.convert("RGB").resize(base.size, Image.BILINEAR)).astype(int)
    assert np.abs(halved - np.asarray(base.convert("RGB"))).mean() < 12  # the same layout
