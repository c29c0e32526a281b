"""The notebooks run end to end in a real kernel, as `make demo` runs the quickstart."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BOKEH_EXEC = "application/vnd.bokehjs_exec.v0+json"


def run_demo(*args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run scripts/run_demo.py (nbclient, BOKEH_RESOURCES=inline); the result and the executed notebook's outputs."""
    done = subprocess.run([sys.executable, "scripts/run_demo.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    notebook = Path(args[args.index("--notebook") + 1]).name if "--notebook" in args else "01_quickstart.ipynb"
    executed = nbformat.read(ROOT / "notebooks/executed" / notebook, as_version=4)  # multi-line strings joined
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    return done, outputs


def bokeh_displays(outputs: list[dict]) -> list[str]:
    """The document JSON (in its JavaScript) of each Bokeh plot displayed."""
    return [o["data"].get("application/javascript", "") for o in outputs if BOKEH_EXEC in o.get("data", {})]


def glyphs(plot: str, name: str) -> int:
    """How many renderers of a displayed plot draw glyph ``name`` (``Line``, ``VBar``, ``ImageRGBA``, ...)."""
    return plot.count(f'"glyph":{{"type":"object","name":"{name}"')


def test_quickstart_notebook_runs_headlessly_and_saves_its_history():
    done, outputs = run_demo("--epochs", "3")
    assert "dataset: digits" in done.stdout
    assert bokeh_displays(outputs)
    history = json.loads((ROOT / "notebooks/executed/01_quickstart_history.json").read_text())["history"]
    assert len(history["test"]["acc"]) == 3 and history["test"]["acc"][-1] > 0.5


def gif_frames(path: Path) -> int:
    with Image.open(path) as gif:
        assert gif.info["loop"] == 0
        return gif.n_frames


def test_classifier_notebook_shows_lines_bars_and_a_dashboard(tmp_path):
    done, outputs = run_demo("--notebook", "notebooks/02_classifier.ipynb", "--epochs", "2", "-p", "DATASET=digits",
                             "-p", f"FIG_DIR={tmp_path}")
    assert "dataset: digits" in done.stdout
    assert "bokeh plots shown:   4" in done.stdout
    line, vbar, hbar, board = bokeh_displays(outputs)
    assert glyphs(line, "Line") and not glyphs(line, "VBar")
    assert glyphs(vbar, "VBar") == 4 and glyphs(hbar, "HBar") == 4  # corrects and counts, train and test
    assert glyphs(board, "Line") == glyphs(line, "Line") and glyphs(board, "VBar") == glyphs(board, "HBar") == 4
    assert any("image/png" in o.get("data", {}) for o in outputs)  # section 0's matplotlib figure
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    assert printed.count("test acc:") == 5  # sections 0 to 4 each train once
    assert "test counts per class:   [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]" in printed  # summed over the epoch
    assert {name: gif_frames(tmp_path / name) for name in ("line.gif", "vbar.gif", "hbar.gif")} == \
        {"line.gif": 2, "vbar.gif": 2, "hbar.gif": 2}  # the post's GIFs, a frame per epoch


def test_vae_notebook_shows_gray_and_inferno_image_grids(tmp_path):
    done, outputs = run_demo("--notebook", "notebooks/03_vae_images.ipynb", "--epochs", "2", "-p", "DATASET=digits",
                             "-p", f"FIG_DIR={tmp_path}")
    assert "dataset: digits" in done.stdout
    assert "bokeh plots shown:   2" in done.stdout
    gray, inferno = bokeh_displays(outputs)
    for plot in (gray, inferno):
        assert glyphs(plot, "ImageRGBA") == 4  # recon and target, train and test
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    assert printed.count("test loss:") == 2
    assert gif_frames(tmp_path / "gray_image.gif") == gif_frames(tmp_path / "inferno_image.gif") == 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_stored_clean_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert all(c.get("id") for c in nb.cells)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c for c in code if c.outputs or c.execution_count is not None], "store notebooks without outputs"
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "EPOCHS = " in parameters[0].source


def test_run_demo_parses_parameter_overrides():
    spec = importlib.util.spec_from_file_location("run_demo", ROOT / "scripts/run_demo.py")
    run_demo_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_demo_module)
    parse = run_demo_module.parse_param
    assert parse("DATASET=digits") == ("DATASET", "digits")
    assert parse("DATASET='mnist'") == ("DATASET", "mnist")
    assert parse("LR=1e-3") == ("LR", 1e-3)
    assert parse("EPOCHS=4") == ("EPOCHS", 4)
    with pytest.raises(Exception, match="NAME=VALUE"):
        parse("no equals sign")


def event_tags(log_dir: Path) -> dict[str, int]:
    """How many values each tag has in the event files under ``log_dir``, read by TensorBoard's own loader."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    tags: dict[str, int] = {}
    for path in log_dir.rglob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    return tags


def test_jax_notebook_logs_three_cadences_live_and_to_tensorboard_files(tmp_path):
    done, outputs = run_demo("--notebook", "notebooks/04_jax_tensorboard.ipynb", "--epochs", "300",
                             "-p", "SHEET_EVERY=100", "-p", f"LOG_DIR={tmp_path}")
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    assert "Loss: 300 values, steps 1..300" in printed  # every step
    assert "Accuracy: 31 values, steps 1..300" in printed  # step 1, then every 10: one axis, no padding
    assert "'Step 1 Accuracy Testsheet', 'Step 100 Accuracy Testsheet'" in printed
    boards = bokeh_displays(outputs)
    assert len(boards) == 2  # the data image's cell, then the training cell
    assert glyphs(boards[-1], "Line") >= 4 and glyphs(boards[-1], "ImageRGBA") == 5  # raw and smoothed lines; sheets
    tags = event_tags(tmp_path)
    assert tags["Loss"] == 300 and tags["Accuracy"] == 31 and tags["Training Data"] == 1


def test_pytorch_notebook_runs_the_tutorial_with_livetrains_summary_writer(tmp_path):
    done, outputs = run_demo("--notebook", "notebooks/05_pytorch_tensorboard.ipynb", "--epochs", "1",
                             "-p", f"LOG_DIR={tmp_path}")
    assert "dataset: digits (1436 train / 361 test)" in done.stdout
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    assert "Finished Training" in printed and "training loss: 8 values" in printed  # every 44 of 359 mini-batches
    board = bokeh_displays(outputs)[-1]
    assert glyphs(board, "Line") >= 2 and glyphs(board, "ImageRGBA") == 2  # the loss; the grid and the predictions
    tags = event_tags(tmp_path)
    assert tags["training loss"] == 8 and tags["predictions vs. actuals"] == 8
    assert tags["four_fashion_mnist_images"] == 1


def test_guide_views_notebook_shows_every_view_in_one_dashboard_and_saves_their_pictures(tmp_path):
    done, outputs = run_demo("--notebook", "notebooks/06_guide_views.ipynb", "--epochs", "2",
                             "-p", f"FIG_DIR={tmp_path}")
    assert "dataset: digits (1437 train / 360 test)" in done.stdout
    assert "bokeh plots shown:   1" in done.stdout  # one dashboard, updated in place
    (board,) = bokeh_displays(outputs)
    assert glyphs(board, "ImageRGBA") == 3  # the prediction sheet; two layers' activation maps
    assert glyphs(board, "Line") >= 2 + 1 + 4 + 10  # loss (train, test), lr, the metrics grid, a PR curve per class
    assert "livetrain:embedding" in board and "livetrain:model:cells" in board and "livetrain:confusion:test" in board
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    assert "after 2 epochs" in printed
    names = ("architecture", "schedule", "metrics", "sheet", "pr_curves", "confusion", "weights", "embedding",
             "activations")
    for name in names:
        with Image.open(tmp_path / f"guide_{name}.png") as picture:
            assert picture.width > 150 and picture.height > 100, name
    assert gif_frames(tmp_path / "guide_views.gif") == 2  # a frame per epoch
