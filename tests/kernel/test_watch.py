"""``livetrain.watch`` in a real kernel: a log that another process writes (JSONL, CSV, TensorBoard events, and the
Rust example compiled with rustc) is drawn live, in place, while a later cell runs; the board ends with exactly the
values written, and a writer killed mid-line costs only that line."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kernel_session import KernelSession, bokeh_displays, pushes, stdout

STEPS = 30
ROOT = Path(__file__).resolve().parents[2]
WRITERS = {
    "jsonl": """
        import json, os, signal, time
        with open(PATH, "a") as f:
            for step in range(STEPS):
                f.write(json.dumps({"step": step, "phase": "train", "metrics": {"loss": 1 / (step + 1)}}) + "\\n")
                f.flush(); time.sleep(0.05)
            f.write('{"step": 99, "phase": "train", "metr'); f.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # killed mid-line
    """,
    "csv": """
        import time
        with open(PATH, "a") as f:
            f.write("step,train/loss\\n")
            for step in range(STEPS):
                f.write(f"{step},{1 / (step + 1)!r}\\n"); f.flush(); time.sleep(0.05)
    """,
    "tfevents": """
        import time
        from tensorboardX import SummaryWriter
        w = SummaryWriter(PATH)
        for step in range(STEPS):
            w.add_scalar("train/loss", 1 / (step + 1), step); w.flush(); time.sleep(0.05)
        w.close()
    """,
}


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run("import json, subprocess, sys, time\nimport livetrain")
    yield ks
    ks.close()


def follow(kernel, target: Path, command: list[str]) -> tuple[list, list, dict]:
    """Watch ``target`` and start the writer ``command`` in one cell, wait for it in the next; the first cell's
    messages, the pushes of both (the first collects while pushes keep coming), and what the kernel's board and
    history hold at the end."""
    first = kernel.run(f"w = livetrain.watch({str(target)!r}, poll=0.05)\n"
                       f"proc = subprocess.Popen({command!r})")
    during = pushes(first) + pushes(kernel.run("proc.wait(); time.sleep(1.0)", timeout=120))
    out = stdout(kernel.run(textwrap.dedent("""
        w.stop()
        (key, panel), = w.board.panels.items()
        tag, = panel.panel.tags
        print(json.dumps({"tag": tag, "history": w.history.steps[tag].value.tolist(),
                          "steps": w.history.steps[tag].step.tolist(),
                          "drawn": list(panel.panel.sources[tag].data["y"]), "source": panel.panel.sources[tag].id}))
    """)))
    return first, during, json.loads(out)


def check_live(first, during, final, values):
    assert len(bokeh_displays(first)) == 1  # the board appears in the cell that starts the watch
    assert final["history"] == pytest.approx(values, rel=1e-6)
    assert final["drawn"] == pytest.approx(values, rel=1e-6)  # every point: fewer than the panel's budget
    assert_live(during)


def assert_live(during):
    """The board took the new rows in place, many times over the writer's run (about 1.5 s), not once at its end."""
    live = [p.messages[0].sent_at for p in during if any(e["kind"].startswith("Columns") for e in p.events)]
    assert len(live) >= 5 and max(live) - min(live) >= 0.5, f"{len(live)} in-place updates over " \
        f"{max(live, default=0) - min(live, default=0):.2f} s; expected the board to follow the log live"


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_log_written_by_another_process_is_drawn_live(kernel, tmp_path, fmt):
    target = tmp_path / {"jsonl": "run.jsonl", "csv": "run.csv", "tfevents": "run"}[fmt]
    code = f"PATH, STEPS = {str(target)!r}, {STEPS}\n" + textwrap.dedent(WRITERS[fmt])
    watched = target.parent if fmt == "tfevents" else target
    first, during, final = follow(kernel, watched, [sys.executable, "-c", code])
    values = [1 / (step + 1) for step in range(STEPS)]
    check_live(first, during, final, values)
    assert final["steps"] == list(range(STEPS))
    assert final["tag"] == ("train/loss · run" if fmt == "tfevents" else "train/loss")


def test_the_rust_example_is_watched_live(kernel, tmp_path):
    rustc = shutil.which("rustc")
    assert rustc, "rustc is needed: .ci/run installs Debian's rustc"
    binary = tmp_path / "train_log"
    subprocess.run([rustc, "-O", str(ROOT / "examples" / "rust" / "train_log.rs"), "-o", str(binary)], check=True,
                   capture_output=True, timeout=300)
    log = tmp_path / "rust" / "metrics.jsonl"
    first = kernel.run(f"w = livetrain.watch({str(log.parent)!r}, poll=0.05)\n"
                       f"proc = subprocess.Popen([{str(binary)!r}, {str(log)!r}, '3', '40'])")
    during = pushes(first) + pushes(kernel.run("proc.wait(); time.sleep(1.0)", timeout=120))
    final = json.loads(stdout(kernel.run(textwrap.dedent("""
        w.stop()
        print(json.dumps({tag: w.history.steps[tag].value.tolist() for tag in w.history.steps}))
    """))))
    written = [json.loads(line) for line in log.read_text().splitlines()]
    for phase in ("train", "test"):
        for key in ("loss", "acc"):
            expected = [r["metrics"][key] for r in written if r["phase"] == phase]
            assert final[f"{phase}/{key} · metrics"] == pytest.approx(expected)
    assert len(bokeh_displays(first)) == 1
    assert_live(during)
    assert final["test/acc · metrics"][-1] > 0.8  # it learned: the plotted run is a real training
