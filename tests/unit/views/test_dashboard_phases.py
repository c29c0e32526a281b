"""Views that show different phases: an explicit ``phases=`` wins over ``train_loop``'s, a view ignores the phases
it does not show, and a Dashboard (live or replayed as frames) gets every phase one of its views shows."""
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from livetrain import Dashboard, FrameExporter, ImagePlotsCallback, LinePlotsCallback, train_loop
from livetrain.frames.mpl import MatplotlibRenderer

LOADERS = {"train": [1, 2], "test": [3], "sheet": [0]}


def step(batch, phase):
    """Losses in train and test; a picture, and nothing else, in the sheet phase (as seed 004 logs samples)."""
    if phase == "sheet":
        return {"samples": np.random.default_rng(batch).random((4, 1, 8, 8))}
    return {"loss": 1.0 / batch, "acc": 0.5, "recon": np.full((2, 1, 8, 8), batch / 3)}


def run(*callbacks, loaders=LOADERS, epochs=2):
    return train_loop(step, loaders, epochs=epochs, callbacks=list(callbacks), reduce={"samples": "last",
                      "recon": "last"}, progress=False)


def picture(view, phase, key):
    return view.sources[phase][key].data["image"][0]


def test_an_explicit_phases_wins_over_the_loops_and_the_others_are_ignored_quietly():
    line = LinePlotsCallback(phases=("train", "test"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(line)
    assert line.phases == ("train", "test")
    assert line.sources["test"].data["epoch"] == [1, 2]


def test_views_of_different_phases_share_a_dashboard():
    line = LinePlotsCallback(phases=("train", "test"))
    sheet = ImagePlotsCallback(keys=("samples",), phases=("sheet",))
    board = Dashboard([line, sheet])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a view switched off warns
        run(board)
    assert board.phases == ("train", "test", "sheet")
    assert line.sources["test"].data["epoch"] == [1, 2]
    assert picture(sheet, "sheet", "samples").shape == (12, 42)  # 4 images of 8x8, 2 pixels apart


def test_a_view_taking_the_loops_phases_skips_one_without_its_keys_with_one_warning():
    line, sheet = LinePlotsCallback(), ImagePlotsCallback(keys=("samples",), phases=("sheet",))
    with pytest.warns(RuntimeWarning) as caught:
        run(Dashboard([line, sheet]), epochs=3)
    assert [str(w.message) for w in caught] == [
        "livetrain: history['sheet'] has none of the plotted keys ['loss', 'acc']; it has ['samples']. Its lines "
        "stay empty; pass keys=(...) or phases=(...) to LinePlotsCallback"]
    assert line.phases == ("train", "test", "sheet")
    assert line.sources["test"].data["epoch"] == [1, 2, 3]


def test_an_image_logged_in_one_phase_only_leaves_the_image_view_on():
    images = ImagePlotsCallback(keys=("samples",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(images, loaders={"sheet": [0], "test": [3]})
    assert images.phases == ("sheet", "test")
    assert picture(images, "sheet", "samples").shape == (12, 42)
    assert picture(images, "test", "samples").shape == (1, 1)  # blank: the test phase logs no samples


def test_a_phase_a_view_was_not_told_about_is_ignored_with_one_warning():
    line = LinePlotsCallback()
    h = {"val": {"loss": [1.0], "acc": [0.5]}}
    with pytest.warns(RuntimeWarning) as caught:
        for _ in range(3):
            line.on_epoch_end(0, "val", h)
            line.on_batch_end(0, "val", {"loss": 1.0})
    assert [str(w.message) for w in caught] == [
        "livetrain: LinePlotsCallback shows phases ['train', 'test'], got phase 'val'; it is ignored. Pass "
        "phases=(...) to show it"]
    line.on_epoch_end(0, "train", {"train": {"loss": [1.0], "acc": [0.5]}})
    line.flush()
    assert line.sources["train"].data["epoch"] == [1]


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_frames_of_a_dashboard_show_each_epoch():
    board = Dashboard([LinePlotsCallback(), ImagePlotsCallback(keys=("recon",))])
    exporter = FrameExporter(board, renderer="matplotlib")
    run(board, exporter, loaders={"train": [1, 2], "test": [3]}, epochs=4)
    frames = [pixels(f) for f in exporter.frames()]
    with MatplotlibRenderer(board.replica().graph) as renderer:
        empty = np.asarray(renderer.capture().convert("RGB"))
    assert len(frames) == 4
    assert all(a.shape != b.shape or (a != b).any() for a, b in zip([empty, *frames], frames))  # each epoch adds
