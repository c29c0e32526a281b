"""Outside notebooks: `python train.py` gets an HTML page rewritten at most once a second, then a final PNG."""
import json
import os
import re
import subprocess
import sys
import time

from PIL import Image

SCRIPT = """
import time
from livetrain import LinePlotsCallback, train_loop

def step(batch, phase):
    time.sleep(0.1)
    return {"loss": 1 / (batch + len(cb.sources["train"].data["epoch"]) + 1), "acc": 0.5}

cb = LinePlotsCallback()
train_loop(step, {"train": [0, 1], "test": [2]}, epochs=10, callbacks=[cb], progress=False)
"""


def run_script(tmp_path, env=None, watch=None):
    (tmp_path / "train.py").write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "LIVETRAIN_TRANSPORT": "auto", **(env or {})})
    versions = []
    while proc.poll() is None:
        if watch is not None and watch.exists():
            text = watch.read_text()
            if not versions or versions[-1] != text:
                versions.append(text)
        time.sleep(0.05)
    assert proc.returncode == 0
    return proc.stdout.read(), versions


def test_a_script_gets_a_self_reloading_page_rewritten_once_a_second_and_a_final_png(tmp_path):
    page = tmp_path / "livetrain-line.html"
    out, versions = run_script(tmp_path, watch=page)
    assert f"livetrain: the live plot is at {page.resolve().as_uri()}" in out
    assert 2 <= len(versions) <= 6  # about 3 s of training: at most one rewrite a second
    assert all('http-equiv="refresh"' in v for v in versions[:-1])
    final = page.read_text()
    assert 'http-equiv="refresh"' not in final  # the finished page stops reloading
    epochs = re.search(r'"name":"livetrain:line:test".*?\["epoch",(\[[^\]]*\])', final.replace(" ", "")).group(1)
    assert json.loads(epochs) == list(range(1, 11))
    assert Image.open(tmp_path / "livetrain-line.png").size == (700, 330)
    assert "livetrain: the final plot is at" in out


def test_none_writes_nothing(tmp_path):
    out, _ = run_script(tmp_path, env={"LIVETRAIN_TRANSPORT": "none"})
    assert out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
