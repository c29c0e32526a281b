"""FrameExporter for runs that only log steps (a SummaryWriter, History.log or ScalarsView.log): a frame every few
logged steps, recorded in O(tags), each showing what the live board showed when that step was over."""
import io

import numpy as np
import pytest
from PIL import Image

from livetrain import FrameExporter, History, SummaryWriter
from livetrain.core.steps import Records
from livetrain.core.tbvalues import image_hwc
from livetrain.views.board import upright_rgba
from livetrain.views.scalars import ScalarsView

pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def sheet(step):
    """The image logged at ``step``: one grey level per step, so each frame's picture tells which one it shows."""
    return np.full((3, 8, 8), step / 200, np.float32)


def seed_001_run(writer, steps=200):
    """Seed 001's cadences, at a small scale: loss every step, accuracy every 10, an image every 50."""
    for step in range(steps):
        writer.add_scalar("train/loss", 1 / (step + 1), step)
        if step % 10 == 0:
            writer.add_scalar("test/accuracy", step / steps, step)
        if step % 50 == 0:
            writer.add_image("test sheet", sheet(step), step)


def pixels(frame):
    return np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))


def points(board, tag):
    return len(board.panels[tag].panel.sources[tag].data["x"])


@pytest.mark.parametrize("renderer", ["matplotlib", "quick"])
def test_a_writers_board_gets_a_frame_every_n_steps_and_at_the_last_each_as_it_was_then(tmp_path, renderer):
    history = History()
    history.records["test sheet"] = Records("image", keep=1)  # older images leave memory: the frames keep theirs
    writer = SummaryWriter(write_to_disk=False, history=history)
    exporter = FrameExporter(writer, renderer=renderer, every_steps=50, gif=tmp_path / "board.gif")
    seed_001_run(writer)
    assert exporter.recorded == 3 and exporter.drawn == 0  # steps 49, 99 and 149 so far; nothing drawn yet
    assert [e[0] for e in history.records["test sheet"].entries] == [150]
    for step in (49, 99, 149, 199):  # step by step, the replica shows what the board showed when each step was over
        if step < 199:
            exporter._draw([step])
        else:  # the last step's frame is recorded when the frames are asked for
            exporter.frames()
        replica = exporter._replica
        assert points(replica, "train/loss") == step + 1
        assert points(replica, "test/accuracy") == step // 10 + 1
        shown = step // 50 * 50
        assert replica.panels["test sheet"].root.title.text == f"test sheet (step {shown})"
        picture = upright_rgba(image_hwc(sheet(shown), "CHW"))  # as the writer records it
        assert (replica.panels["test sheet"].source.data["image"][0] == picture).all()
        assert list(replica.sections) == ["train", "test", "test sheet"]  # in the order the tags came
    frames = [pixels(f) for f in exporter.frames()]
    assert len(frames) == 4 and all((a != b).any() for a, b in zip(frames, frames[1:]))
    writer.close()  # writes the GIF
    assert Image.open(tmp_path / "board.gif").n_frames == 4


def test_the_last_frame_shows_the_last_step_and_eager_draws_while_logging_goes_on(tmp_path):
    writer = SummaryWriter(write_to_disk=False)
    exporter = FrameExporter(writer, renderer="matplotlib", every_steps=80, eager=True)
    seed_001_run(writer, steps=170)
    for step in range(170, 175):  # a plot of two tags that comes late, after the replica was made
        writer.add_scalars("loss", {"a": 1.0, "b": 2.0}, step)
    writer.close()
    assert exporter.recorded == exporter.drawn == 3  # steps 79, 159 and the last, 174
    assert exporter._replica.panels["loss"].panel.tags == ("loss/a", "loss/b")
    assert [p.name for p in exporter.save_frames(tmp_path)] == \
        ["step_0000079.png", "step_0000159.png", "step_0000174.png"]
    assert points(exporter._replica, "train/loss") == 170 and points(exporter._replica, "test/accuracy") == 17


def test_by_default_a_run_of_any_length_gets_50_to_100_frames_recorded_cheaply():
    view = ScalarsView()
    exporter = FrameExporter(view)
    for step in range(3000):  # seed 001: loss every step, accuracy every 10 steps, in a loop without hooks
        metrics = {"train/loss": 1 / (step + 1), **({"test/accuracy": step / 3000} if step % 10 == 0 else {})}
        view.log(metrics, step)
        exporter.on_log(step, metrics, view.history)
    exporter._last_step()
    assert exporter.recorded == 94  # one every 32 steps, and the last
    history, longer = History(), FrameExporter(ScalarsView())
    for step in range(100_000):
        history.log({"loss": 1.0}, step)
        longer.on_log(step, {"loss": 1.0}, history)
    longer._last_step()
    assert 50 <= longer.recorded <= 100


def test_a_scalars_view_logged_without_hooks_is_drawn_step_by_step():
    view = ScalarsView()
    exporter = FrameExporter(view, renderer="quick", every_steps=25)
    for step in range(60):
        metrics = {"train/loss": 1 / (step + 1)}
        view.log(metrics, step)
        exporter.on_log(step, metrics, view.history)
    frames = exporter.frames()
    assert len(frames) == 3 and exporter.unit == "step"  # steps 24, 49 and 59
    assert exporter._replica.panels["train/loss"].sources["train/loss"].data["x"] == list(range(60))


def test_a_writer_without_a_board_says_so():
    with pytest.raises(ValueError, match="show=False"):
        FrameExporter(SummaryWriter(write_to_disk=False, show=False))
