"""The quickstart notebook runs end to end in a real kernel, as `make demo` runs it."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_notebook_runs_headlessly_and_saves_its_history():
    done = subprocess.run([sys.executable, "scripts/run_demo.py", "--epochs", "3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dataset: digits" in done.stdout
    executed = json.loads((ROOT / "notebooks/executed/01_quickstart.ipynb").read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("application/vnd.bokehjs_exec.v0+json" in o.get("data", {}) for o in outputs)
    history = json.loads((ROOT / "notebooks/executed/01_quickstart_history.json").read_text())["history"]
    assert len(history["test"]["acc"]) == 3 and history["test"]["acc"][-1] > 0.5
