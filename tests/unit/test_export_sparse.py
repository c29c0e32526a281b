"""FrameExporter draws what the live view showed: series logged only some epochs, and dashboards drawn eagerly."""
import io
import warnings

import numpy as np
from PIL import Image

from livetrain import Dashboard, FrameExporter, ImagePlotsCallback, LinePlotsCallback, train_loop


def columns(view):
    """Every source's columns of a line view, by phase, as plain lists (NaN compares equal in assert_equal)."""
    return {phase: {name: list(col) for name, col in source.data.items()} for phase, source in view.sources.items()}


def test_a_series_logged_every_5_epochs_is_drawn_where_the_live_view_drew_it():
    view = LinePlotsCallback(epochs=20, phases=("train", "test"))
    exporter = FrameExporter(view, renderer="matplotlib", every=10)
    history = {"train": {"loss": [], "acc": []}, "test": {"loss": [], "acc": []}}
    for epoch in range(20):  # a user's loop: the test phase runs every 5 epochs
        history["train"]["loss"].append(1 / (epoch + 1)); history["train"]["acc"].append(epoch / 20)
        view.on_epoch_end(epoch, "train", history)
        exporter.on_epoch_end(epoch, "train", history)
        if (epoch + 1) % 5 == 0:
            history["test"]["loss"].append(2 / (epoch + 1)); history["test"]["acc"].append(epoch / 40)
            view.on_epoch_end(epoch, "test", history)
            exporter.on_epoch_end(epoch, "test", history)
        if (epoch + 1) % 10 == 0:  # a frame epoch: the frame's data is the live view's now
            view.flush()
            exporter.frames()
            np.testing.assert_equal(columns(exporter._replica), columns(view))
    assert view.sources["test"].data["epoch"] == [5, 10, 15, 20]
    assert exporter._replica.sources["test"].data["epoch"] == [5, 10, 15, 20]
    assert len(exporter.frames()) == 2


def test_an_eager_exporter_draws_a_displayed_dashboard_as_each_epoch_ends():
    line = LinePlotsCallback(keys=("loss",))
    images = ImagePlotsCallback(keys=("recon",), phases=("train",))
    board = Dashboard([line, images])
    exporter = FrameExporter(board, renderer="matplotlib", eager=True)

    def step(batch, phase):
        return {"loss": 1 / (batch + 1), "recon": np.full((4, 1, 8, 8), batch / 9)}

    loaders = {"train": range(3), "test": range(2)}
    board.show()  # outside a kernel nothing is displayed, but the layout is fixed as on screen
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_loop(lambda b, p: step(b + len(exporter._marks), p), loaders, epochs=4, callbacks=[board, exporter],
                   progress=False, reduce={"recon": "last"})
    assert not [w for w in caught if "FrameExporter" in str(w.message) or "frame" in str(w.message)], \
        [str(w.message) for w in caught]
    assert (exporter.recorded, exporter.drawn) == (4, 4)  # drawn by its thread while training went on
    frames = [np.asarray(Image.open(io.BytesIO(f)).convert("RGB")) for f in exporter.frames()]
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))  # each epoch changes the picture
