"""livetrain.export: FrameExporter records each epoch cheaply and draws the frames when asked."""
import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageSequence

from livetrain import FrameExporter, ImagePlotsCallback, LinePlotsCallback, train_loop
from livetrain.frames.browser import BrowserRenderer


def step(batch, phase):
    return {"loss": 1.0 / (batch + 1), "acc": batch / 10}


def loaders():
    return {"train": [1, 2, 3], "test": [4]}


def pixels(frame):
    return np.asarray((Image.open(io.BytesIO(frame)) if isinstance(frame, bytes) else frame).convert("RGB"))


def test_a_frame_per_epoch_written_as_gif_and_pngs_when_training_ends(tmp_path, capsys):
    view = LinePlotsCallback()
    exporter = FrameExporter(view, gif=tmp_path / "fig" / "line.gif", frames_dir=tmp_path / "frames")
    history = train_loop(step, loaders(), epochs=4, callbacks=[view, exporter], progress=False)
    assert "frames drawn by BokehJS in headless Chromium" in capsys.readouterr().out
    gif = Image.open(tmp_path / "fig" / "line.gif")
    assert gif.n_frames == 4 and gif.info["loop"] == 0  # loops forever
    assert [f.info["duration"] for f in ImageSequence.Iterator(gif)] == [200, 200, 200, 1500]  # last one held
    pngs = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert pngs == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png", "epoch_0004.png"]
    assert len(history["test"]["loss"]) == 4


def test_each_frame_is_what_the_view_showed_at_that_epoch():
    view = LinePlotsCallback(epochs=5)
    exporter = FrameExporter(view, renderer="browser")
    history = train_loop(step, loaders(), epochs=5, callbacks=[view, exporter], progress=False)
    frames = [pixels(f) for f in exporter.frames()]
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))  # every epoch adds to the picture
    for epochs in (2, 5):  # a fresh copy of the view, fed the first epochs, looks the same
        copy = view.replica()
        for e in range(epochs):
            for phase in ("train", "test"):
                copy.on_epoch_end(e, phase, {p: {k: v[:e + 1] for k, v in s.items()} for p, s in history.items()})
        with BrowserRenderer(copy.graph) as renderer:
            assert (pixels(renderer.capture()) == frames[epochs - 1]).all()


def test_recording_draws_nothing_until_asked_and_eager_draws_during_training():
    lazy_view, eager_view = LinePlotsCallback(), LinePlotsCallback()
    lazy, eager = FrameExporter(lazy_view), FrameExporter(eager_view, eager=True)
    train_loop(step, loaders(), epochs=3, callbacks=[lazy_view, lazy, eager_view, eager], progress=False)
    assert (lazy.recorded, lazy.drawn) == (3, 0)
    assert (eager.recorded, eager.drawn) == (3, 3)  # done by its own thread while training went on
    assert len(lazy.frames()) == 3 and lazy.drawn == 3


def test_every_nth_epoch_and_the_last(tmp_path):
    view = LinePlotsCallback()
    exporter = FrameExporter(view, every=2)
    train_loop(step, loaders(), epochs=5, callbacks=[view, exporter], progress=False)
    assert [p.name for p in exporter.save_frames(tmp_path)] == ["epoch_0002.png", "epoch_0004.png", "epoch_0005.png"]


def test_without_chromium_matplotlib_draws_and_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("LIVETRAIN_CHROMIUM", "/nowhere/chromium")  # Chromium hidden
    view = ImagePlotsCallback(keys=("recon",), phases=("train",), cmap="inferno")
    exporter = FrameExporter(view, gif=tmp_path / "inferno_image.gif")
    history = {"train": {"recon": []}}
    for epoch in range(3):
        history["train"]["recon"].append(np.full((4, 1, 8, 8), epoch / 2))
        view.on_epoch_end(epoch, "train", history)
        exporter.on_epoch_end(epoch, "train", history)
    exporter.on_train_end(history)
    notice = capsys.readouterr().out
    assert "no Chromium found, so frames drawn by matplotlib" in notice and "renderer='browser'" in notice
    assert Image.open(tmp_path / "inferno_image.gif").n_frames == 3


def test_a_renderer_that_cannot_start_never_stops_training(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVETRAIN_CHROMIUM", "/nowhere/chromium")
    view = LinePlotsCallback()
    exporter = FrameExporter(view, renderer="browser", eager=True, gif=tmp_path / "line.gif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = train_loop(step, loaders(), epochs=3, callbacks=[view, exporter], progress=False)
    assert len(history["train"]["loss"]) == 3  # the run and its history are whole
    assert any("no Chromium found" in str(w.message) for w in caught)
    assert not (tmp_path / "line.gif").exists()


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(TypeError, match="records a livetrain view.*got dict"):
        FrameExporter({})
    with pytest.raises(ValueError, match="renderer must be one of 'auto', 'browser', 'matplotlib', 'quick'; got 'png'"):
        FrameExporter(LinePlotsCallback(), renderer="png")
    with pytest.raises(ValueError, match="every must be an int >= 1, got 0"):
        FrameExporter(LinePlotsCallback(), every=0)
    with pytest.raises(ValueError, match="nothing was recorded"):
        FrameExporter(LinePlotsCallback()).save_gif("never.gif")
