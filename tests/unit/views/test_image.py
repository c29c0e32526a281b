"""ImagePlotsCallback outside a kernel: what its Bokeh models hold and what each update changes."""
import numpy as np
import pytest
import torch
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent

from livetrain import History
from livetrain.core.images import colormap, make_grid, to_batch, to_rgba_u32
from livetrain.views.image import ImagePlotsCallback

WHITE = np.array([255, 255, 255, 255], np.uint8).view(np.uint32)[0]


def batch(n=64, seed=0, marker=True):
    """``n`` 28x28 single-channel images; image 0 has a white top-left corner."""
    x = np.random.default_rng(seed).random((n, 1, 28, 28)).astype(np.float32) * 0.5
    if marker:
        x[0, 0, :3, :3] = 1.0
    return x


def history(epochs=1, n=64, phases=("train", "test"), keys=("recon", "target")):
    return {p: {k: [batch(n, seed=e) for e in range(epochs)] for k in keys} for p in phases}


def events_of(cb):
    """Record the Bokeh change events of ``cb``'s models from now on."""
    doc = Document()
    doc.add_root(cb.graph)
    seen = []
    doc.callbacks.on_change(seen.append)
    return seen


def test_every_phase_and_key_gets_its_own_picture_after_a_flush():
    cb = ImagePlotsCallback()
    h = history()
    for phase in ("train", "test"):
        cb.on_epoch_end(0, phase, h)
    cb.flush()
    for phase in ("train", "test"):
        for key in ("recon", "target"):
            source = cb.sources[phase][key]
            assert source.name == f"livetrain:image:{phase}:{key}"
            [img] = source.data["image"]
            assert img.shape == (242, 242) and img.dtype == np.uint32 and img.flags.c_contiguous
            np.testing.assert_array_equal(img, to_rgba_u32(make_grid(to_batch(h[phase][key][-1])), "gray"))
            # image 0's top-left 3x3 corner is grid rows and columns 2-4 (after the padding): the last rows here
            assert img[-3, 2] == img[-5, 4] == WHITE and WHITE not in (img[-1, 2], img[-6, 5], img[2, 2])


def test_layout_is_the_blogs_two_by_two_with_its_titles():
    cb = ImagePlotsCallback()
    titles = {(row, col): fig.title.text for fig, row, col in cb.graph.children}
    assert titles == {(0, 0): "Reconstructed (train)", (0, 1): "Target (train)",
                      (1, 0): "Reconstructed (test)", (1, 1): "Target (test)"}
    cb = ImagePlotsCallback(keys=("recon", "fake_images", "x"), phases=("val",), titles={"recon": "Decoded"})
    assert [fig.title.text for fig, _, _ in cb.graph.children] == ["Decoded (val)", "Fake images (val)", "X (val)"]
    assert {col for _, _, col in cb.graph.children} == {0, 1, 2}


def test_the_picture_keeps_its_aspect_ratio():
    cb = ImagePlotsCallback(keys=("recon",), phases=("train",), size=350)
    fig = cb.figures["train", "recon"]
    assert (fig.frame_width, fig.frame_height) == (350, 350)  # square until the first images
    cb.on_epoch_end(0, "train", history(n=10, phases=("train",), keys=("recon",)))
    cb.flush()
    assert cb.sources["train"]["recon"].data["image"][0].shape == (62, 242)  # 10 images, 8 per row: 2 rows
    assert (fig.frame_width, fig.frame_height) == (350, round(62 * 350 / 242))
    assert (fig.x_range.start, fig.x_range.end, fig.y_range.start, fig.y_range.end) == (0, 242, 0, 62)
    assert (fig.x_range.reset_end, fig.y_range.reset_end) == (242, 62)  # the reset tool comes back here
    glyph = fig.renderers[0].glyph
    assert (glyph.x, glyph.y, glyph.dw, glyph.dh) == (0, 0, 242, 62)
    cb.on_epoch_end(1, "train", {"train": {"recon": [np.zeros((1, 1, 50, 20))]}})  # one image: no padding
    cb.flush()
    assert (fig.frame_width, fig.frame_height) == (140, 350)


def test_an_update_of_the_same_size_changes_only_the_pixels_once_per_source():
    cb = ImagePlotsCallback(interval=60)
    seen = events_of(cb)
    h = history()
    cb.on_epoch_end(0, "train", h)  # the first request pushes at once
    cb.on_epoch_end(0, "test", h)
    cb.flush()
    fitted = {(e.model.name or type(e.model).__name__, e.attr) for e in seen if e.attr != "data"}
    assert fitted == {("Range1d", "end"), ("Range1d", "reset_start"), ("Range1d", "reset_end"),
                      ("ImageRGBA", "dw"), ("ImageRGBA", "dh")}  # the first pictures fit each figure to the grid
    seen.clear()
    for e in range(1, 4):  # three epochs within the interval: coalesced into one push
        for phase in ("train", "test"):
            h[phase]["recon"].append(batch(seed=10 + e))
            h[phase]["target"].append(batch(seed=20 + e))
            cb.on_epoch_end(e, phase, h)
    assert seen == []
    cb.flush()
    assert all(isinstance(e, ColumnsPatchedEvent) and list(e.patches) == ["image"] for e in seen)
    assert sorted(e.model.name for e in seen) == sorted(f"livetrain:image:{p}:{k}" for p in ("train", "test")
                                                        for k in ("recon", "target"))
    expected = to_rgba_u32(make_grid(to_batch(batch(seed=13))), "gray")
    np.testing.assert_array_equal(cb.sources["test"]["recon"].data["image"][0], expected)  # the latest epoch's


def test_the_update_serialises_as_one_binary_buffer_per_picture():
    from bokeh.protocol import Protocol

    cb = ImagePlotsCallback(keys=("recon",), phases=("train",))
    seen = events_of(cb)
    cb.on_epoch_end(0, "train", history(phases=("train",), keys=("recon",)))
    cb.on_epoch_end(1, "train", history(phases=("train",), keys=("recon",)))
    seen.clear()
    cb.flush()
    msg = Protocol().create("PATCH-DOC", seen)
    [buffer] = msg.buffers
    assert buffer.to_bytes() == cb.sources["train"]["recon"].data["image"][0].tobytes()
    [event] = msg.content["events"]
    [(column, [(row, array)])] = event["patches"]["entries"]
    assert row == 0  # the whole picture, at row 0
    assert (column, array["dtype"], array["shape"], array["order"]) == ("image", "uint32", [242, 242], "little")


def test_torch_tensors_max_images_nrow_and_cmap():
    cb = ImagePlotsCallback(keys=("samples",), phases=("train",), cmap="inferno", nrow=4, max_images=8)
    x = torch.zeros(100, 1, 28, 28, requires_grad=True)
    cb.on_epoch_end(0, "train", {"train": {"samples": [x]}})
    cb.flush()
    img = cb.sources["train"]["samples"].data["image"][0]
    assert img.shape == (2 * 30 + 2, 4 * 30 + 2)  # 8 images, 4 per row
    assert img[-3, 3] == colormap("inferno").view(np.uint32)[0, 0]
    assert cb.graph.children[0][0].title.text == "Samples (train)"


def test_unknown_phase_missing_key_and_bad_images_are_clear_errors():
    cb = ImagePlotsCallback()
    with pytest.warns(RuntimeWarning, match=r"shows phases \['train', 'test'\], got phase 'val'; it is ignored"):
        cb.on_epoch_end(0, "val", history(phases=("val",)))
    with pytest.raises(KeyError, match=r"history\['train'\] has no images for \['target'\]; "
                                       r"it has \['recon', 'loss'\]"):
        cb.on_epoch_end(0, "train", {"train": {"recon": [batch()], "loss": [0.1]}})
    with pytest.raises(KeyError, match=r"no images for \['recon'\]"):
        cb.on_epoch_end(0, "train", {"train": {"recon": [], "target": [batch()]}})
    with pytest.raises(ValueError, match=r"history\['train'\]\['target'\]\[-1\]: expected images shaped .* got int64"):
        cb.on_epoch_end(0, "train", {"train": {"recon": [batch()], "target": [np.zeros((2, 1, 4, 4), np.int64)]}})
    with pytest.raises(TypeError, match=r"history\['train'\] is list"):
        cb.on_epoch_end(0, "train", {"train": [1, 2]})
    with pytest.raises(TypeError, match="keys must be a non-empty sequence of str"):
        ImagePlotsCallback(keys="recon")
    with pytest.raises(ValueError, match="unknown colour map"):
        ImagePlotsCallback(cmap="nope")
    with pytest.raises(ValueError, match="nrow, max_images and size must be >= 1.*max_images=0"):
        ImagePlotsCallback(max_images=0)


def test_train_loops_phases_replace_the_defaults_until_shown():
    cb = ImagePlotsCallback()
    cb.set_params({"epochs": 3, "phases": ["train", "val"], "steps": {}})
    assert cb.phases == ("train", "val") and set(cb.sources) == {"train", "val"}
    assert cb.graph.children[2][0].title.text == "Reconstructed (val)"
    cb.show()  # outside a kernel: nothing is displayed, but the layout is now fixed
    cb.set_params({"epochs": 3, "phases": ["a"], "steps": {}})
    assert cb.phases == ("train", "val")


def test_a_resumed_run_shows_its_last_images_at_once():
    cb = ImagePlotsCallback(phases=("train",))
    cb.on_train_begin(History(history(epochs=3, phases=("train",))))
    cb.on_train_end(History())
    np.testing.assert_array_equal(cb.sources["train"]["target"].data["image"][0],
                                  to_rgba_u32(make_grid(to_batch(batch(seed=2))), "gray"))
    assert repr(cb) == "ImagePlotsCallback(keys=['recon', 'target'], phases=['train'])"
