"""The ``livetrain gif`` command re-draws a saved history, for every registered view (``livetrain.views.VIEWS``)."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from livetrain import History
from livetrain.cli import main
from livetrain.views import VIEWS


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved run of 4 epochs with lines, per-class counts and image batches (arrays become JSON lists)."""
    rng = np.random.default_rng(0)
    history = History()
    for epoch in range(4):
        for phase in ("train", "test"):
            history.append(phase, {"loss": 1 / (epoch + 1), "acc": epoch / 4, "corrects": rng.integers(0, 9, 3),
                                   "counts": np.full(3, 9), "recon": rng.random((4, 1, 6, 6))})
    return history.save(tmp_path_factory.mktemp("run") / "history.json")


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_registered_view_becomes_a_gif_with_a_frame_per_epoch(tmp_path, view, capsys):
    saved = VIEWS[view].demo_history(epochs=4).save(tmp_path / "history.json")
    assert main(["gif", str(saved), "--view", view, "--out", str(tmp_path / f"{view}.gif")]) == 0
    assert f"wrote {tmp_path / f'{view}.gif'} (4 frames)" in capsys.readouterr().out
    with Image.open(tmp_path / f"{view}.gif") as gif:
        assert gif.n_frames == 4 and gif.info["loop"] == 0


def test_the_view_choices_are_the_registry(capsys):
    with pytest.raises(SystemExit):
        main(["gif", "run.json", "--view", "pie", "--out", "x.gif"])
    assert f"--view {{{','.join(VIEWS)}}}" in capsys.readouterr().err  # the usage line lists the registry


def test_keys_pick_what_a_mixed_history_draws(saved, tmp_path, capsys):
    assert main(["gif", str(saved), "--view", "image", "--keys", "recon", "--cmap", "inferno",
                 "--out", str(tmp_path / "image.gif")]) == 0
    assert "(4 frames)" in capsys.readouterr().out


def test_the_command_is_installed_and_draws_without_a_browser_too(saved, tmp_path):
    done = subprocess.run([sys.executable, "-m", "livetrain.cli", "gif", str(saved), "--renderer", "matplotlib",
                           "--out", str(tmp_path / "line.gif"), "--frames-dir", str(tmp_path / "frames")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "frames drawn by matplotlib" in done.stdout
    assert len(list((tmp_path / "frames").glob("epoch_*.png"))) == 4


def test_mistakes_get_one_clear_line_and_exit_code_2(saved, tmp_path, capsys):
    assert main(["gif", str(saved), "--view", "image", "--out", str(tmp_path / "x.gif")]) == 2
    assert "needs ['target'] (choose with --keys)" in capsys.readouterr().err
    assert main(["gif", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x.gif")]) == 2
    assert "No such file" in capsys.readouterr().err
    bare = History({"train": {"recon": [np.zeros((2, 1, 3, 3))]}}).save(tmp_path / "bare.json")
    assert main(["gif", str(bare), "--out", str(tmp_path / "x.gif")]) == 2
    assert "the line view needs ['loss', 'acc'] (choose with --keys)" in capsys.readouterr().err
    assert main(["gif", str(saved), "--cmap", "inferno", "--out", str(tmp_path / "x.gif")]) == 2
    assert "--cmap does not apply to the line view" in capsys.readouterr().err
