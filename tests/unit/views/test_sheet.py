"""PredictionSheetCallback: captions, colours, sorting, the picture, its bytes, and its frames."""
import numpy as np
import pytest
from bokeh.document import Document

from livetrain.core.images import to_batch, to_rgba_u32
from livetrain.frames import open_renderer
from livetrain.views.sheet import RIGHT, WRONG, PredictionSheetCallback
from livetrain.wire import patch_message

CLASSES = ["cat", "dog", "bird"]


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def batch(n=6, size=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    probs = rng.dirichlet(np.ones(3), n)
    return rng.random((n, 1, size, size)).astype(np.float32), labels, probs


def sheet(images, labels, scores, phase="test", **options):
    view = PredictionSheetCallback(phases=(phase,), **options)
    view.on_epoch_end(0, phase, {phase: {"images": [images], "y_true": [labels], "y_score": [scores]}})
    view.flush()
    return view


def test_captions_show_prediction_probability_and_label_in_green_or_red():
    images, labels, probs = batch()
    view = sheet(images, labels, probs, rows=2, cols=3, class_names=CLASSES)
    data = view.captions["test"].data
    pred = probs.argmax(axis=1)
    assert data["text"] == [f"{CLASSES[p]}, {100 * probs[i, p]:.0f}%\n(label: {CLASSES[labels[i]]})"
                            for i, p in enumerate(pred)]
    assert data["color"] == [RIGHT if p == t else WRONG for p, t in zip(pred, labels)]
    assert RIGHT in data["color"] and WRONG in data["color"]


def test_worst_first_sorts_by_the_probability_of_the_true_class():
    images, labels, probs = batch(n=12)
    view = sheet(images, labels, probs, rows=2, cols=2, sort="worst")
    order = np.argsort(probs[np.arange(12), labels], kind="stable")[:4]
    assert view.captions["test"].data["text"] == [
        f"{probs[i].argmax()}, {100 * probs[i].max():.0f}%\n(label: {labels[i]})" for i in order]
    first = view.pictures["test"].data["image"][0]
    h = first.shape[0]
    cell = to_rgba_u32(to_batch(images[order[0]])[0])  # the worst image, upright, in the top-left cell
    assert any(np.array_equal(first[y:y + 8, 1:9], cell) for y in range(h - 8))


def test_logits_go_through_a_softmax_and_predicted_classes_alone_sort_wrong_first():
    images, labels, probs = batch(n=4)
    logits = np.log(probs) + 5.0
    assert sheet(images, labels, logits, rows=1, cols=4).captions["test"].data["text"] == \
        sheet(images, labels, probs, rows=1, cols=4).captions["test"].data["text"]
    preds = np.array([labels[0], (labels[1] + 1) % 3, labels[2], labels[3]])
    data = sheet(images, labels, preds, rows=1, cols=4, sort="worst").captions["test"].data
    assert data["color"] == [WRONG, RIGHT, RIGHT, RIGHT]
    assert data["text"][0] == f"{preds[1]}\n(label: {labels[1]})"  # no probability without scores


def test_fewer_images_than_cells_leave_blank_cells_and_bigger_ones_are_shrunk_to_the_cell():
    images, labels, probs = batch(n=3, size=200)
    view = sheet(images, labels, probs, rows=2, cols=2, cell=50)
    assert view.captions["test"].data["text"][3] == ""
    picture = view.pictures["test"].data["image"][0]
    fig = view.figures["test"]
    assert picture.dtype == np.uint32 and picture.shape[1] <= fig.frame_width and picture.shape[0] <= fig.frame_height
    assert fig.frame_width == 2 * 50 + 2 * 4 + 4  # two 50-pixel images and their gaps


def test_an_update_is_one_picture_buffer_and_a_caption_patch_of_constant_size():
    view = PredictionSheetCallback(phases=("test",))
    doc = Document()
    doc.add_root(view.graph)
    events = []
    doc.on_change(events.append)
    history = {"test": {"images": [], "y_true": [], "y_score": []}}
    sizes = []
    for epoch in range(60):
        images, labels, probs = batch(n=100, seed=epoch)
        for key, value in zip(("images", "y_true", "y_score"), (images, labels, probs)):
            history["test"][key].append(value)
        view.on_epoch_end(epoch, "test", history)
        view.flush()
        content, _, buffers = patch_message(events)
        if epoch:
            assert {type(e).__name__ for e in events} == {"ColumnsPatchedEvent"} and len(buffers) == 1
            assert len(buffers[0]) == view.pictures["test"].data["image"][0].nbytes
            sizes.append(len(content) + len(buffers[0]))
        events.clear()
    assert max(sizes) - min(sizes) < 200  # caption texts vary by a few characters


def test_bad_inputs_say_what_was_expected():
    images, labels, probs = batch(n=4)
    with pytest.raises(ValueError, match="one image, true class and score per sample; got 3 images"):
        sheet(images[:3], labels, probs)
    with pytest.raises(ValueError, match="y_true holds classes 0..7; y_score has 3"):
        sheet(images, np.array([0, 1, 2, 7]), probs)
    with pytest.raises(KeyError, match=r"has no \['y_score'\]"):
        PredictionSheetCallback(phases=("test",)).on_epoch_end(0, "test", {"test": {"images": [1], "y_true": [1]}})
    with pytest.raises(ValueError, match="sort must be None or 'worst'"):
        PredictionSheetCallback(sort="best")


def test_the_matplotlib_renderer_draws_the_captions():
    images, labels, probs = batch(n=4)
    right = PredictionSheetCallback(phases=("test",), rows=1, cols=4).replica()
    frames = []
    for scores in (np.eye(3)[labels], np.eye(3)[(labels + 1) % 3]):  # all right, then all wrong
        right.on_epoch_end(0, "test", {"test": {"images": [images], "y_true": [labels], "y_score": [scores]}})
        drawer, _ = open_renderer(right.graph, "matplotlib")
        try:
            frames.append(np.asarray(drawer.capture().convert("RGB"), dtype=int))
        finally:
            drawer.close()
    green = [((f[..., 1] - f[..., 0] > 60) & (f[..., 1] - f[..., 2] > 60)).sum() for f in frames]
    red = [((f[..., 0] - f[..., 1] > 60) & (f[..., 0] - f[..., 2] > 60)).sum() for f in frames]
    assert green[0] > 50 and red[0] == 0  # the captions' text in green
    assert red[1] > 50 and green[1] == 0  # then in red
