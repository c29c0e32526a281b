"""livetrain.frames.browser: BokehJS draws the frames in one headless Chromium page, as export_png would."""
import asyncio
import io

import numpy as np
import pytest
from bokeh.io import export_png
from bokeh.io.webdriver import create_chromium_webdriver
from PIL import Image

from livetrain import Dashboard, HBarPlotsCallback, ImagePlotsCallback, LinePlotsCallback, VBarPlotsCallback
from livetrain.frames.browser import BrowserRenderer, find_chromium


def pixels(png: bytes | str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).convert("RGB"))


class Run:
    """A made-up run with every key the views know, fed to a view epoch by epoch."""

    def __init__(self, view, seed=0):
        self.view, self.rng, self.epochs = view, np.random.default_rng(seed), 0
        keys = ("loss", "acc", "corrects", "counts", "recon")
        self.history = {p: {k: [] for k in keys} for p in ("train", "test")}

    def until(self, epochs):
        for e in range(self.epochs, epochs):
            for p, series in self.history.items():
                series["loss"].append(1 / (e + 1) + self.rng.random() / 10)
                series["acc"].append(1 - 1 / (e + 2))
                series["corrects"].append(self.rng.integers(0, 20, 4))
                series["counts"].append(np.full(4, 20))
                series["recon"].append(self.rng.random((16, 1, 28, 28)))
                self.view.on_epoch_end(e, p, self.history)
        self.epochs = epochs


@pytest.fixture(scope="module")
def driver():
    """bokeh's own export_png machinery: selenium and Debian's chromedriver (root needs --no-sandbox)."""
    drv = create_chromium_webdriver(["--no-sandbox"])
    yield drv
    drv.quit()


def test_chromium_is_found_and_its_path_can_be_chosen(monkeypatch):
    assert find_chromium() is not None
    monkeypatch.setenv("LIVETRAIN_CHROMIUM", "/nowhere/chromium")
    assert find_chromium() is None
    with pytest.raises(RuntimeError, match="no Chromium found.*LIVETRAIN_CHROMIUM"):
        BrowserRenderer(LinePlotsCallback().replica().graph)


@pytest.mark.parametrize("views", [
    lambda: [LinePlotsCallback(epochs=12)],
    lambda: [VBarPlotsCallback(categories=4), HBarPlotsCallback(categories=4),
             ImagePlotsCallback(keys=("recon",), cmap="inferno")],
], ids=["line", "bars-and-images"])
def test_frames_are_export_pngs_pixels_at_every_epoch(driver, views, tmp_path):
    view = Dashboard(views()).replica()
    run = Run(view)
    with BrowserRenderer(view.graph) as renderer:
        for epochs in (1, 2, 6):  # the page gets only what changed since the previous frame
            run.until(epochs)
            ours = pixels(renderer.capture())
            reference = export_png(view.graph, filename=tmp_path / f"{epochs}.png", webdriver=driver)
            theirs = pixels(reference)
            assert ours.shape == theirs.shape
            assert not (ours != theirs).any(), f"after {epochs} epochs: {(ours != theirs).any(axis=2).sum()} px differ"


def test_a_frame_shows_the_state_at_capture_time():
    view = LinePlotsCallback(epochs=10).replica()
    with BrowserRenderer(view.graph) as renderer:
        run = Run(view)
        run.until(2)
        first = pixels(renderer.capture())
        assert (pixels(renderer.capture()) == first).all()  # nothing changed, nothing moves
        run.until(5)
        later = pixels(renderer.capture())
    assert first.shape == later.shape == (330, 700, 3)
    assert (first != later).any()

    def train_line_end(frame):  # the rightmost red pixel of the loss panel, left of its legend
        red = (frame[..., 0] > 180) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
        return np.nonzero(red[:, :195].any(axis=0))[0].max()

    assert train_line_end(later) > train_line_end(first) + 60  # 3 more epochs of 10, on ~300 px


def test_it_works_inside_a_running_event_loop_as_in_a_notebook():
    view = ImagePlotsCallback(keys=("recon",), phases=("train",)).replica()

    async def in_loop():
        with BrowserRenderer(view.graph) as renderer:
            view.on_epoch_end(0, "train", {"train": {"recon": [np.ones((4, 1, 8, 8))]}})
            return pixels(renderer.capture())

    frame = asyncio.run(in_loop())
    white = (frame == 255).all(axis=2)
    assert white.sum() > 0.3 * white.size  # the white images fill the figure, kept square
