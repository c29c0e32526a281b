"""``livetrain.watch`` in a real JupyterLab page (Chromium): a JSONL log that another process writes while the
kernel is busy elsewhere is drawn live, row after row, and the page ends with every value written. The log grows
for 8 s: a page under load may take a few seconds to draw the first panel (the kernel sends it within 0.1 s)."""
from browser_harness import run_in_browser

SOURCE = "livetrain:scalars:train/loss"
STEPS = 80
CELLS = [f"""
import json, subprocess, sys, time
import livetrain
w = livetrain.watch("run.jsonl", poll=0.05)
writer = subprocess.Popen([sys.executable, "-c", '''
import json, time
for step in range({STEPS}):
    with open("run.jsonl", "a") as f:
        f.write(json.dumps({{"step": step, "phase": "train", "metrics": {{"loss": 1 / (step + 1)}}}}) + "\\\\n")
    time.sleep(0.1)
'''])
writer.wait()
time.sleep(1.0)
w.stop()
open("done.txt", "w").write("done")
"""]


def test_a_watched_log_grows_live_in_the_page():
    res = run_in_browser("lab", CELLS, SOURCE, STEPS, watch=(SOURCE,))
    assert not res["comm_problems"], res["comm_problems"]
    assert res["final"] == STEPS
    growing = sorted(set(res["lengths"]))
    assert len(growing) >= 5 and growing[0] < STEPS * 3 // 4, f"the page took the rows in {res['lengths']}, not live"
    assert res["data"][SOURCE]["y"] == [1 / (step + 1) for step in range(STEPS)]
