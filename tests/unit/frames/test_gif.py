import io
import os

import numpy as np
import pytest
from PIL import Image, ImageSequence

from livetrain.frames.gif import save_gif
from livetrain.frames.png import to_image


def plot_like(k, size=(120, 80)):
    """A white frame with a red curve that grows with k and a blue flat band: flat colours, like a plot."""
    a = np.full((size[1], size[0], 3), 255, np.uint8)
    a[60:64, :] = (31, 119, 180)
    for x in range(min(k * 10, size[0])):
        a[40 - x // 4: 42 - x // 4, x] = (214, 39, 40)
    return a


def test_frames_loop_last_frame_held_and_one_shared_palette(tmp_path):
    out = save_gif([plot_like(k) for k in range(1, 8)], tmp_path / "fig" / "line.gif", duration_ms=100, last_ms=900)
    gif = Image.open(out)
    assert gif.n_frames == 7 and gif.info["loop"] == 0
    durations, palettes, colours = [], set(), set()
    for frame in ImageSequence.Iterator(gif):
        durations.append(frame.info["duration"])
        palettes.add(bytes(frame.getpalette() or []))
        colours |= {c for _, c in frame.convert("RGB").getcolors(1 << 16)}
    assert durations == [100] * 6 + [900]
    assert len(palettes - {b""}) == 1  # the global colour table; no frame brings its own
    assert colours <= {(255, 255, 255), (31, 119, 180), (214, 39, 40)}  # no dithering: only the plot's colours


def test_accepts_png_bytes_paths_images_and_rgba(tmp_path):
    png = io.BytesIO()
    Image.fromarray(plot_like(2)).save(png, format="PNG")
    path = tmp_path / "f.png"
    Image.fromarray(plot_like(3)).save(path)
    rgba = np.zeros((80, 120, 4), np.uint8)  # fully transparent: shows as white
    out = save_gif([png.getvalue(), path, Image.fromarray(plot_like(4)), rgba, plot_like(5, size=(100, 60))],
                   tmp_path / "mixed.gif")
    gif = Image.open(out)
    assert gif.n_frames == 5 and gif.size == (120, 80)
    gif.seek(3)
    assert gif.convert("RGB").getpixel((5, 5)) == (255, 255, 255)
    assert to_image(rgba).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("frames, kwargs, match", [
    ([], {}, "at least one frame"),
    ([np.zeros((4, 4), np.uint8)], {}, r"\(H, W, 3\|4\) uint8 array; got ndarray of shape \(4, 4\)"),
    ([np.zeros((4, 4, 3), np.float32)], {}, "uint8 array"),
    ([plot_like(1)], {"duration_ms": 5}, "durations must be >= 20 ms"),
    ([plot_like(1)], {"colors": 1}, "colors must be between 2 and 255"),
])
def test_bad_input_gets_a_clear_error(tmp_path, frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        save_gif(frames, tmp_path / "x.gif", **kwargs)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_the_gif_gets_a_normal_file_mode_and_no_temporary_file_stays(tmp_path):
    umask = os.umask(0o022)
    try:
        out = save_gif([plot_like(1), plot_like(2)], tmp_path / "line.gif")
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~0o022
    assert [p.name for p in tmp_path.iterdir()] == ["line.gif"]


def test_white_stays_white_next_to_near_whites(tmp_path):
    """Pillow's own palette mapping would give white's pixels to a near-white entry (a legend's background)."""
    rng = np.random.default_rng(0)
    frames = []
    for k in range(3):
        a = np.full((60, 80, 3), 255, np.uint8)
        a[5:25, 40:75] = (253, 253, 253)  # a legend box at 95 % opacity over white
        a[30:50] = rng.integers(200, 256, (20, 80, 3))  # many near-white shades, like anti-aliasing
        a[55, : 20 * (k + 1)] = (214, 39, 40)
        frames.append(a)
    gif = Image.open(save_gif(frames, tmp_path / "w.gif", colors=16))
    for k, frame in enumerate(ImageSequence.Iterator(gif)):
        rgb = np.asarray(frame.convert("RGB"))
        assert (rgb[:5] == 255).all() and (rgb[5:25, 40:75] == 253).all()
        assert (rgb[55, : 20 * (k + 1)] == (214, 39, 40)).all()
