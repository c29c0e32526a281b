"""livetrain.core.images: batches, grids, colour maps and the packed RGBA that Bokeh's image_rgba draws."""
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from livetrain.core import images
from livetrain.core.images import colormap, grid_picture, make_grid, to_batch, to_rgba_u32


def torchvision_make_grid(tensor, nrow=8, padding=2, pad_value=0.0):
    """The layout code of ``torchvision.utils.make_grid`` (BSD-3; normalize omitted), as the reference."""
    if tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k = k + 1
    return grid


# --- to_batch ---

@pytest.mark.parametrize("shape, expected", [
    ((5, 1, 28, 28), (5, 28, 28, 1)),   # torch's (N, C, H, W)
    ((5, 3, 8, 6), (5, 8, 6, 3)),
    ((5, 4, 8, 6), (5, 8, 6, 4)),
    ((5, 8, 6, 3), (5, 8, 6, 3)),       # channels last
    ((5, 28, 28), (5, 28, 28, 1)),      # (N, H, W)
    ((28, 20), (1, 28, 20, 1)),         # one image
    ((2, 3, 4, 3), (2, 4, 3, 3)),       # both fit: channels first wins
])
def test_shapes_become_n_h_w_c_float32(shape, expected):
    out = to_batch(np.zeros(shape, np.float32))
    assert out.shape == expected and out.dtype == np.float32 and out.flags.c_contiguous


def test_channels_first_and_last_hold_the_same_pixels():
    x = np.random.default_rng(0).random((4, 3, 5, 7))
    np.testing.assert_array_equal(to_batch(x), to_batch(x.transpose(0, 2, 3, 1)))
    np.testing.assert_array_equal(to_batch(x)[2, 1, 6], x[2, :, 1, 6].astype(np.float32))


def test_torch_tensors_are_read_without_copying_the_users_grad():
    t = torch.rand(6, 1, 4, 4, requires_grad=True)
    np.testing.assert_array_equal(to_batch(t)[..., 0], t.detach().numpy()[:, 0])


def test_uint8_is_scaled_and_floats_are_clipped_with_nan_as_zero():
    np.testing.assert_allclose(to_batch(np.array([[0, 51, 255]], np.uint8))[0, 0, :, 0], [0, 0.2, 1])
    x = np.array([[-0.5, 0.25, 1.5, np.nan, np.inf, -np.inf]])
    assert to_batch(x)[0, 0, :, 0].tolist() == [0.0, 0.25, 1.0, 0.0, 1.0, 0.0]
    assert to_batch(np.array([[True, False]]))[0, 0, :, 0].tolist() == [1.0, 0.0]


def test_the_input_is_never_modified():
    x = np.array([[[2.0, np.nan]]], np.float32)
    to_batch(x)
    assert x[0, 0, 0] == 2.0 and np.isnan(x[0, 0, 1])


@pytest.mark.parametrize("array, got", [
    (np.zeros(5), "got float64 array of shape (5,)"),
    (np.zeros((2, 5, 6, 7)), "got float64 array of shape (2, 5, 6, 7)"),
    (np.zeros((1, 2, 3, 4, 5)), "got float64 array of shape (1, 2, 3, 4, 5)"),
    (np.zeros((2, 1, 4, 4), np.int64), "got int64 array of shape (2, 1, 4, 4)"),
    (np.zeros((0, 1, 4, 4)), "got an empty float64 array of shape (0, 1, 4, 4)"),
    (np.array([["a"]]), "got <U1 array of shape (1, 1)"),
])
def test_bad_input_says_what_was_expected_and_what_was_given(array, got):
    with pytest.raises(ValueError) as err:
        to_batch(array)
    assert str(err.value) == ("expected images shaped (N, C, H, W), (N, H, W) or (N, H, W, C) with C in 1, 3, 4, "
                              "or one (H, W) image, as floats in [0, 1] or uint8; " + got)


# --- make_grid ---

def test_grid_layout_matches_a_hand_drawn_one():
    batch = np.array([[[1, 2]], [[3, 4]], [[5, 6]]], np.float32)[..., None]  # three 1x2 images
    expected = [[9, 9, 9, 9, 9, 9, 9],
                [9, 1, 2, 9, 3, 4, 9],
                [9, 9, 9, 9, 9, 9, 9],
                [9, 5, 6, 9, 9, 9, 9],
                [9, 9, 9, 9, 9, 9, 9]]
    assert make_grid(batch, nrow=2, padding=1, pad_value=9)[..., 0].tolist() == expected


def test_64_mnist_digits_make_the_blogs_242_square():
    batch = np.random.default_rng(1).random((64, 28, 28, 1)).astype(np.float32)
    grid = make_grid(batch)
    assert grid.shape == (242, 242, 1)
    for k in (0, 9, 63):
        y, x = (k // 8) * 30 + 2, (k % 8) * 30 + 2
        np.testing.assert_array_equal(grid[y:y + 28, x:x + 28], batch[k])
    assert not grid[:2].any() and not grid[:, 30:32].any()


def test_one_image_comes_back_without_padding_as_in_torchvision():
    batch = np.ones((1, 3, 4, 1), np.float32)
    np.testing.assert_array_equal(make_grid(batch), batch[0])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), h=st.integers(1, 6), w=st.integers(1, 6), c=st.sampled_from([1, 3, 4]),
       nrow=st.integers(1, 10), padding=st.integers(0, 3), pad_value=st.sampled_from([0.0, 0.5, 1.0]))
def test_numpy_grid_equals_torchvisions_layout(n, h, w, c, nrow, padding, pad_value):
    batch = np.random.default_rng(n * h + w).random((n, h, w, c)).astype(np.float32)
    ours = make_grid(batch, nrow=nrow, padding=padding, pad_value=pad_value)
    theirs = torchvision_make_grid(torch.from_numpy(batch.transpose(0, 3, 1, 2).copy()), nrow, padding, pad_value)
    np.testing.assert_array_equal(ours, theirs.numpy().transpose(1, 2, 0)[..., :c])


@pytest.mark.parametrize("c", [1, 3])
def test_with_torchvision_its_make_grid_is_used_and_gives_the_same_grid(monkeypatch, c):
    calls = []

    def fake(tensor, **kwargs):
        calls.append((tuple(tensor.shape), kwargs))
        return torchvision_make_grid(tensor, **kwargs)

    batch = np.random.default_rng(2).random((10, 5, 4, c)).astype(np.float32)
    expected = make_grid(batch, nrow=4, padding=1)
    monkeypatch.setattr(images, "_torchvision_make_grid", lambda: fake)
    np.testing.assert_array_equal(make_grid(batch, nrow=4, padding=1), expected)
    assert calls == [((10, c, 5, 4), {"nrow": 4, "padding": 1, "pad_value": 0.0})]


def test_a_torchvision_that_fails_to_import_counts_as_absent(monkeypatch):
    images._torchvision_make_grid.cache_clear()
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import raises ImportError
    try:
        assert images._torchvision_make_grid() is None
    finally:
        images._torchvision_make_grid.cache_clear()


def test_grid_rejects_non_batches():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\).*got shape \(28, 28\)"):
        make_grid(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="nrow must be >= 1"):
        make_grid(np.zeros((2, 2, 2, 1)), nrow=0)


# --- colormap ---

def test_gray_goes_from_black_to_white_like_matplotlib():
    import matplotlib

    lut = colormap("gray")
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    assert lut[0].tolist() == [0, 0, 0, 255] and lut[255].tolist() == [255, 255, 255, 255]
    np.testing.assert_array_equal(lut, colormap("grey"))
    np.testing.assert_array_equal(lut, colormap(matplotlib.colormaps["gray"]))


@pytest.mark.parametrize("name", ["inferno", "magma", "plasma", "viridis", "turbo", "gray_r", "cividis"])
def test_bokeh_palettes_stand_in_for_matplotlibs_maps(name):
    import matplotlib

    ours, theirs = colormap(name).astype(int), colormap(matplotlib.colormaps[name]).astype(int)
    assert np.abs(ours - theirs).max() <= 1


def test_inferno_starts_near_black_and_bokeh_names_work():
    assert colormap("inferno")[0].tolist() == [0, 0, 3, 255]  # Inferno256[0] == "#000003"
    np.testing.assert_array_equal(colormap("Inferno256"), colormap("inferno"))
    np.testing.assert_array_equal(colormap("Viridis256"), colormap("viridis"))


def test_short_palettes_fill_equal_bins_and_hex_forms_parse():
    lut = colormap(("#f00", "#00ff0080", "#0000FF"))
    assert lut[0].tolist() == [255, 0, 0, 255] and lut[85].tolist() == [255, 0, 0, 255]
    assert lut[86].tolist() == [0, 255, 0, 128] and lut[255].tolist() == [0, 0, 255, 255]
    assert colormap("Category10_3")[0].tolist() == [0x1f, 0x77, 0xb4, 255]


def test_other_matplotlib_names_and_tables_pass_through():
    import matplotlib

    np.testing.assert_array_equal(colormap("coolwarm"), colormap(matplotlib.colormaps["coolwarm"]))
    lut = colormap("magma")
    assert colormap(lut) is lut


def test_unknown_names_and_bad_colours_are_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown colour map 'nope'.*gray, grey, inferno.*matplotlib's"):
        colormap("nope")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    np.testing.assert_array_equal(colormap("gray")[128], [128, 128, 128, 255])  # no matplotlib needed
    with pytest.raises(ValueError, match="one of gray, grey, inferno, magma, plasma, viridis, turbo"):
        colormap("coolwarm")
    with pytest.raises(ValueError, match="hex colours like '#1f77b4'.*got 'red'"):
        colormap(["red"])
    with pytest.raises(ValueError, match="sequence of hex colours"):
        colormap(3)


# --- to_rgba_u32 ---

def test_the_pictures_top_left_pixel_lands_in_the_last_row():
    grid = np.zeros((3, 4, 1), np.float32)
    grid[0, 0] = 1.0  # top left of the picture
    img = to_rgba_u32(grid, "gray")
    assert img.shape == (3, 4) and img.dtype == np.uint32 and img.flags.c_contiguous
    white = np.array([255, 255, 255, 255], np.uint8).view(np.uint32)[0]
    assert img[-1, 0] == white  # Bokeh draws row 0 at the bottom
    assert (img == white).sum() == 1


def test_uint32_pixels_are_the_rgba_bytes():
    grid = np.random.default_rng(3).random((5, 6, 1)).astype(np.float32)
    img = to_rgba_u32(grid, "viridis")
    rgba = img.view(np.uint8).reshape(5, 6, 4)
    lut = colormap("viridis")
    np.testing.assert_array_equal(rgba, lut[np.minimum(grid[::-1, :, 0] * 256, 255).astype(int)])
    np.testing.assert_array_equal(rgba.view(np.uint32).reshape(5, 6), img)


def test_uint8_levels_survive_the_gray_map_exactly():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgba = to_rgba_u32(make_grid(to_batch(levels)), "gray").view(np.uint8).reshape(16, 16, 4)
    np.testing.assert_array_equal(rgba[::-1, :, 0], levels)


def test_rgb_gets_opaque_alpha_and_rgba_is_kept():
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[0, 1] = (1.0, 0.5, 0.0)
    px = to_rgba_u32(rgb).view(np.uint8).reshape(2, 2, 4)
    assert px[1, 1].tolist() == [255, 128, 0, 255] and px[0, 0].tolist() == [0, 0, 0, 255]
    rgba = np.concatenate([rgb, np.full((2, 2, 1), 0.2, np.float32)], axis=2)
    assert to_rgba_u32(rgba).view(np.uint8).reshape(2, 2, 4)[1, 1].tolist() == [255, 128, 0, 51]


def test_to_rgba_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\(H, W, C\) with C in 1, 3, 4; got shape \(2, 2, 2\)"):
        to_rgba_u32(np.zeros((2, 2, 2)))


# --- grid_picture ---

@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 11), h=st.integers(1, 6), w=st.integers(1, 6), layout=st.sampled_from(["nchw", "nhw", "nhwc"]),
       dtype=st.sampled_from(["float32", "float64", "uint8", "bool"]), nrow=st.integers(1, 5),
       padding=st.integers(0, 3),
       cmap=st.sampled_from(["gray", "inferno", "viridis_r"]), seed=st.integers(0, 2**16))
@example(n=1, h=3, w=1, layout="nhwc", dtype="float32", nrow=1, padding=0, cmap="gray", seed=0)  # read as 3 channels
def test_grid_picture_equals_the_three_steps(n, h, w, layout, dtype, nrow, padding, cmap, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 0.6, (n, h, w))  # values outside [0, 1] and NaN too
    x[rng.random(x.shape) < 0.1] = np.nan
    x = {"uint8": lambda: rng.integers(0, 256, x.shape).astype(np.uint8), "bool": lambda: x > 0.5}.get(
        dtype, lambda: x.astype(dtype))()
    x = {"nchw": x[:, None], "nhw": x, "nhwc": x[..., None]}[layout]
    expected = to_rgba_u32(make_grid(to_batch(x), nrow, padding), cmap)
    np.testing.assert_array_equal(grid_picture(x, cmap, nrow, padding), expected)


def test_grid_picture_of_colour_images_and_tensors():
    rgb = torch.rand(6, 3, 5, 4)
    np.testing.assert_array_equal(grid_picture(rgb, nrow=4), to_rgba_u32(make_grid(to_batch(rgb), 4)))
    gray = torch.rand(64, 1, 28, 28)
    picture = grid_picture(gray)
    assert picture.shape == (242, 242) and picture.dtype == np.uint32 and picture.flags.c_contiguous
    np.testing.assert_array_equal(picture, to_rgba_u32(make_grid(to_batch(gray))))


def test_grid_picture_rejects_bad_input_like_the_steps_do():
    with pytest.raises(ValueError, match=r"got int64 array of shape \(2, 3, 3\)"):
        grid_picture(np.zeros((2, 3, 3), np.int64))
    with pytest.raises(ValueError, match="nrow must be >= 1"):
        grid_picture(np.zeros((2, 3, 3)), nrow=0)
