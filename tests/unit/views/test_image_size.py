"""Image views send at most the pixels their plot shows: a large batch is shrunk by block averages first."""
import numpy as np
import pytest
from bokeh.document import Document
from bokeh.protocol import Protocol

from livetrain import ImagePlotsCallback
from livetrain.core.images import grid_picture, make_grid, shrink, to_batch, to_rgba_u32
from livetrain.views.board import ImagePanel

OVERHEAD = 2_000  # the patch's JSON around the pixels' buffer


def push_bytes(cb, history, epoch=0):
    """The bytes of the PATCH-DOC that one epoch of ``history`` makes: its JSON and its binary buffers."""
    if cb.graph.document is None:
        Document().add_root(cb.graph)
    seen = []
    cb.graph.document.callbacks.on_change(seen.append)
    cb.on_epoch_end(epoch, "train", history)
    cb.flush()
    msg = Protocol().create("PATCH-DOC", seen)
    return len(msg.content_json) + sum(len(b.to_bytes()) for b in msg.buffers)


def big_batch(seed=0):
    return np.random.default_rng(seed).random((64, 3, 256, 256), dtype=np.float32)


@pytest.mark.parametrize("scale", [1, 2])
def test_a_64x3x256x256_batch_sends_at_most_the_plots_pixels(scale):
    cb = ImagePlotsCallback(keys=("recon",), phases=("train",), size=350, scale=scale)
    history = {"train": {"recon": [big_batch()]}}
    push_bytes(cb, history)  # the first push also fits the figure to the grid
    history["train"]["recon"].append(big_batch(1))
    sent = push_bytes(cb, history, 1)
    side = 350 * scale
    assert sent <= side * side * 4 + OVERHEAD  # not the 2066 x 2066 x 4 = 17 MB of the full grid
    picture = cb.sources["train"]["recon"].data["image"][0]
    assert max(picture.shape) <= side and max(picture.shape) > side * 0.8  # as sharp as the plot allows
    fig = cb.figures["train", "recon"]
    assert (fig.frame_width, fig.frame_height) == (350, 350)  # the same plot on screen


def test_the_shrunk_picture_is_the_block_average_of_each_image_with_the_padding_kept():
    x = big_batch()
    picture = grid_picture(x, most=350)
    expected = to_rgba_u32(make_grid(shrink(to_batch(x), 7)))  # 256 // 7 = 36 px per image: 8 x 38 + 2 = 306
    assert picture.shape == (306, 306)
    np.testing.assert_array_equal(picture, expected)
    grey = grid_picture(x[:, :1], most=350)  # one channel: the colour-map path
    np.testing.assert_array_equal(grey, to_rgba_u32(make_grid(shrink(to_batch(x[:, :1]), 7)), "gray"))


def test_small_images_are_sent_as_they_are():
    x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
    cb = ImagePlotsCallback(keys=("recon",), phases=("train",))
    cb.on_epoch_end(0, "train", {"train": {"recon": [x]}})
    cb.flush()
    np.testing.assert_array_equal(cb.sources["train"]["recon"].data["image"][0],
                                  to_rgba_u32(make_grid(to_batch(x)), "gray"))


def test_uint8_and_normalized_batches_are_shrunk_as_drawn():
    x = np.random.default_rng(0).integers(0, 256, (16, 1, 512, 512), dtype=np.uint8)
    picture = grid_picture(x, nrow=4, most=300)
    assert max(picture.shape) <= 300
    np.testing.assert_array_equal(picture, grid_picture(shrink(to_batch(x), 8).transpose(0, 3, 1, 2), nrow=4))
    wide = np.linspace(-5, 5, 4 * 512 * 512, dtype=np.float32).reshape(4, 1, 512, 512)
    assert max(grid_picture(wide, normalize=True, most=100).shape) <= 100


def test_the_boards_image_batches_are_shrunk_too():
    panel = ImagePanel("samples", size=300)
    panel.stage("samples", 0, big_batch(), None)
    panel.apply()
    assert max(panel.source.data["image"][0].shape) <= 600


def test_a_bad_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="scale must be a number of device pixels per CSS pixel"):
        ImagePlotsCallback(scale=0)
