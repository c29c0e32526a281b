"""A GIF of many frames costs no more memory than one of few: ``save_gif`` decodes a few frames at a time and writes
each as it comes (a 2,000-frame GIF used to hold every frame decoded, 1.35 MB each: 2.8 GB). Measured as the peak
resident memory of a fresh process that makes N frames as PNG bytes (as ``FrameExporter`` holds them) and writes
their GIF; the GIF decodes to the frames, each shown for its duration."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageSequence

from livetrain.frames.gif import save_gif

WIDTH, HEIGHT = 600, 400  # a frame decoded: 720 KB of RGB

MAKE_AND_SAVE = textwrap.dedent("""
    import io, resource, sys
    import numpy as np
    from PIL import Image
    from livetrain.frames.gif import save_gif

    def frame(k, width, height):  # a plot's look: white, a grid, a curve that grows with k, a band that moves
        a = np.full((height, width, 3), 255, np.uint8)
        a[::40, :] = a[:, ::40] = (230, 230, 230)
        x = np.arange(min(width, 20 + k * width // 400))
        a[(height // 2 - 100 * np.sin(x / 50)).astype(int), x] = (214, 39, 40)
        a[10 + k % 300: 14 + k % 300, 50:150] = (31, 119, 180)
        out = io.BytesIO()
        Image.fromarray(a).save(out, format="PNG", compress_level=1)
        return out.getvalue()

    n, width, height, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    frames = [frame(k, width, height) for k in range(n)]
    save_gif(frames, path)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux: KiB
""")


def peak_bytes(n: int, path) -> int:
    """The peak resident memory of a fresh process that writes a GIF of ``n`` frames to ``path``."""
    done = subprocess.run([sys.executable, "-c", MAKE_AND_SAVE, str(n), str(WIDTH), str(HEIGHT), str(path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's")
def test_memory_stays_flat_in_the_number_of_frames(tmp_path):
    few, many = peak_bytes(50, tmp_path / "few.gif"), peak_bytes(400, tmp_path / "many.gif")
    decoded = WIDTH * HEIGHT * 3
    grown = many - few
    assert grown < 0.05 * 350 * decoded, \
        f"350 more frames took {grown / 2**20:.0f} MiB more ({grown / 350 / 1000:.0f} KB a frame; decoded, one is " \
        f"{decoded / 1000:.0f} KB)"
    assert Image.open(tmp_path / "many.gif").n_frames == 400


def rgb_frames(gif: Image.Image) -> list[np.ndarray]:
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]


def test_each_frame_decodes_to_its_colours_and_identical_ones_are_merged(tmp_path):
    rng = np.random.default_rng(0)
    colours = np.array([(255, 255, 255), (31, 119, 180), (214, 39, 40), (44, 160, 44)], np.uint8)
    frames = [colours[rng.integers(0, 4, (30, 40))]]
    for k in range(6):  # each frame changes a small rectangle, one of them nothing
        frame = frames[-1].copy()
        if k != 3:
            frame[5 + k:9 + k, 10 + 3 * k:12 + 4 * k] = colours[k % 4]
        frames.append(frame)
    save_gif(frames, tmp_path / "run.gif", duration_ms=100, last_ms=900)
    gif = Image.open(tmp_path / "run.gif")
    expected = [f for k, f in enumerate(frames) if k != 4]  # frame 4 is frame 3 again: shown twice as long
    assert [f.info["duration"] for f in ImageSequence.Iterator(gif)] == [100, 100, 100, 200, 100, 900]
    assert all((a == b).all() for a, b in zip(rgb_frames(Image.open(tmp_path / "run.gif")), expected, strict=True))
