"""livetrain.core.images reads one picture as one picture, and says when it clips values instead of hiding it."""
import warnings

import matplotlib
import numpy as np
import pytest
import torch

from livetrain.core.images import colormap, grid_picture, make_grid, to_batch, to_rgba_u32

matplotlib.use("Agg")
from matplotlib import pyplot as plt

WHITE = colormap("gray").view(np.uint32)[255, 0]


def rendered_figure():
    """A matplotlib figure drawn to its (H, W, 4) uint8 RGBA buffer, as a user logs a plot as an image."""
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1], [1, 0], color="red")
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return rgba


def quiet(fn, *args, **kwargs):
    """``fn``'s result, and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught]


def test_one_rendered_figure_is_one_picture_of_its_size():
    rgba = rendered_figure()
    assert rgba.shape == (100, 150, 4)
    picture = grid_picture(rgba)
    assert picture.shape == (100, 150)  # not 100 images of 150 x 4 tiled into 8 columns
    np.testing.assert_array_equal(picture, rgba[::-1].copy().view(np.uint32)[..., 0])  # upright, same pixels


@pytest.mark.parametrize("layout", ["hw", "hwc1", "chw1", "hwc3", "chw3", "hwc4", "chw4"])
def test_every_single_image_layout_gives_the_same_picture(layout):
    rng = np.random.default_rng(0)
    c = 1 if layout in ("hw", "hwc1", "chw1") else int(layout[-1])
    hwc = rng.random((20, 30, c)).astype(np.float32)
    x = {"hw": hwc[..., 0], "hwc": hwc, "chw": hwc.transpose(2, 0, 1)}[layout.rstrip("134")]
    np.testing.assert_array_equal(to_batch(x), hwc[None])
    np.testing.assert_array_equal(grid_picture(x), to_rgba_u32(hwc))


def test_a_chw_tensor_is_one_image_as_tensorboards_add_image_reads_it():
    t = torch.rand(3, 32, 24)
    np.testing.assert_array_equal(grid_picture(t), to_rgba_u32(t.numpy().transpose(1, 2, 0)))


@pytest.mark.parametrize("shape, n", [((5, 28, 28), 5), ((2, 28, 28), 2), ((5, 1, 28, 28), 5), ((5, 28, 28, 3), 5),
                                      ((5, 3, 28, 28), 5), ((3, 1, 28, 28), 3)])
def test_batches_stay_batches(shape, n):
    assert to_batch(np.zeros(shape, np.float32)).shape[0] == n


def test_max_images_counts_images_not_rows_of_one_picture():
    rgba = rendered_figure()
    assert grid_picture(rgba, max_images=8).shape == (100, 150)
    assert grid_picture(np.zeros((20, 1, 4, 4)), nrow=8, padding=0, max_images=3).shape == (4, 12)


def test_floats_outside_0_1_warn_and_name_the_way_out():
    digits = np.arange(17, dtype=np.float64).reshape(1, 1, 17)  # sklearn's digits: 0 to 16
    batch, said = quiet(to_batch, digits)
    assert batch.max() == 1.0 and (batch == 1.0).sum() == 16  # 16 of 17 saturate
    assert len(said) == 1 and "values from 0 to 16 lie outside [0, 1] and are clipped" in said[0]
    assert "normalize=True" in said[0] and "value_range=(low, high)" in said[0]
    _, said = quiet(grid_picture, np.linspace(-1, 1, 10).reshape(1, 1, 10))
    assert len(said) == 1 and "from -1 to 1 lie outside [0, 1]" in said[0]
    _, said = quiet(grid_picture, np.array([[0, 128, 255]], np.uint8))  # uint8 is 0..255: nothing to say
    assert said == []


def test_value_range_and_normalize_as_torchvisions_make_grid():
    tensor = np.linspace(-1, 1, 5, dtype=np.float32).reshape(1, 1, 5)
    (batch, said) = quiet(to_batch, tensor, value_range=(-1, 1))
    assert batch[0, 0, :, 0].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and said == []
    digits = np.array([[0.0, 4.0, 8.0, 16.0]])
    assert to_batch(digits, normalize=True)[0, 0, :, 0].tolist() == [0.0, 0.25, 0.5, 1.0]
    assert to_batch(digits, value_range=(0, 8))[0, 0, :, 0].tolist() == [0.0, 0.5, 1.0, 1.0]
    two = np.stack([np.full((2, 2), 1.0), np.array([[2.0, 4.0], [6.0, 10.0]])])[:, None]  # (2, 1, 2, 2)
    assert to_batch(two, normalize=True).max() == 1.0 and to_batch(two, normalize=True)[0].max() == 0.0
    each = to_batch(two, normalize=True, scale_each=True)
    assert each[1, :, :, 0].tolist() == [[0.0, 0.25], [0.5, 1.0]] and each[0].max() == 0.0  # flat: black
    assert to_batch(np.array([[np.nan, -np.inf, 0.0, 2.0, np.inf]]), normalize=True)[0, 0, :, 0].tolist() == \
        [0.0, 0.0, 0.0, 1.0, 1.0]  # the finite min..max; NaN black


def test_uint8_keeps_0_255_and_value_range_is_in_its_units():
    x = np.array([[0, 64, 128, 255]], np.uint8)
    assert grid_picture(x)[0].tolist() == colormap("gray").view(np.uint32)[[0, 64, 128, 255], 0].tolist()
    (picture, said) = quiet(grid_picture, x, value_range=(0, 128))
    assert picture[0, 2:].tolist() == [WHITE, WHITE] and len(said) == 1 and "outside [0, 128]" in said[0]


def test_make_grid_normalizes_the_batch_before_padding():
    batch = np.array([[[[2.0], [4.0]]], [[[6.0], [10.0]]]], np.float32)  # two 1x2 images
    grid = make_grid(batch, nrow=2, padding=1, pad_value=0.5, normalize=True)[..., 0]
    assert grid[1].tolist() == [0.5, 0.0, 0.25, 0.5, 0.5, 1.0, 0.5]
    np.testing.assert_array_equal(make_grid(batch, nrow=2), make_grid(batch.copy(), nrow=2))  # as it is by default
    assert make_grid(batch, nrow=2, padding=0).max() == 10.0


def test_the_fast_grey_path_equals_the_steps_with_scaling():
    x = np.random.default_rng(3).normal(0, 3, (7, 1, 5, 6)).astype(np.float32)
    for options in ({"normalize": True}, {"value_range": (-2, 2)}, {"normalize": True, "scale_each": True}):
        batch, _ = quiet(to_batch, x, **options)
        steps = to_rgba_u32(make_grid(batch, 3, 1))
        fast, _ = quiet(grid_picture, x, nrow=3, padding=1, **options)
        assert (fast != steps).mean() < 0.01, options  # the same up to float rounding at a colour's edge


@pytest.mark.parametrize("options, message", [
    ({"value_range": (1, 0)}, r"value_range must be \(low, high\), two finite numbers with low < high; got \(1, 0\)"),
    ({"value_range": (0, float("nan"))}, r"value_range must be .*got \(0, nan\)"),
    ({"value_range": 5}, r"value_range must be .*got 5"),
    ({"normalize": "yes"}, r"normalize must be True or False; got 'yes'"),
    ({"scale_each": 1}, r"scale_each must be True or False; got 1"),
])
def test_bad_scaling_arguments_are_named(options, message):
    for fn in (to_batch, grid_picture, lambda x, **o: make_grid(to_batch(x), **o)):
        with pytest.raises(ValueError, match=message):
            fn(np.zeros((2, 1, 4, 4)), **options)
