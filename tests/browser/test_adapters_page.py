"""Each framework adapter's example in a real JupyterLab page (Chromium): its default board grows live while the
framework trains, and the page ends with every point of the run's step trace."""
from pathlib import Path

import pytest
from browser_harness import run_in_browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Each example, and the step trace its board draws.
CASES = {"lightning": "train/loss", "keras": "train/loss (running mean)", "hf": "train/loss", "ignite": "train/loss",
         "fastai": "train/smooth_loss", "accelerate": "train/loss"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_adapter_draws_live_in_jupyterlab(name):
    tag = CASES[name]
    cell = (f"import runpy, time\n"
            f"h = runpy.run_path({str(EXAMPLES / f'{name}_digits.py')!r}, run_name='example')['main'](epochs=10)\n"
            f"open('points.txt', 'w').write(str(len(h.steps[{tag!r}])))\n"
            f"time.sleep(1.0)\nopen('done.txt', 'w').write('done')")

    def points(page, server):
        return {"points": int((server.notebook.parent / "points.txt").read_text())}

    source = f"livetrain:scalars:{tag}"
    res = run_in_browser("lab", [cell], source, 3, after=points, env={"KERAS_BACKEND": "torch"})
    assert not res["comm_problems"], res["comm_problems"]
    assert res["final"] == res["points"] >= 6, (res["final"], res["points"])
    assert len(set(res["lengths"])) >= 3, f"the page took the trace in {res['lengths']}: not live"
