"""``watch``: a file or a folder of runs followed as another process writes it, into the history and the board; and
``livetrain watch`` writing the live page outside a notebook."""
import json
import subprocess
import sys
import textwrap
import time

import pytest

from livetrain import Watcher, watch

pytestmark = pytest.mark.usefixtures("no_display")


def append(path, *records):
    with open(path, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records))


def test_a_file_is_followed_and_its_tags_drawn_as_they_are(tmp_path):
    log = tmp_path / "run.jsonl"
    append(log, {"step": 1, "phase": "train", "metrics": {"loss": 0.5}})
    watcher = Watcher(log)
    assert watcher.poll() == 1
    append(log, {"step": 2, "phase": "train", "metrics": {"loss": 0.4}}, {"metrics": {"lr": 0.1}})
    assert watcher.poll() == 2
    assert watcher.history.steps["train/loss"].value.tolist() == [0.5, 0.4]
    assert watcher.history.steps["lr"].step.tolist() == [3]  # no step: one past the run's last
    watcher.board.flush()
    assert list(watcher.board.panels) == ["train/loss", "lr"]


def test_runs_that_appear_in_a_folder_share_a_plot_per_tag(tmp_path):
    append(tmp_path / "a.jsonl", {"step": 0, "metrics": {"loss": 1.0}})
    watcher = Watcher(tmp_path)
    watcher.poll()
    (tmp_path / "b").mkdir()
    append(tmp_path / "b" / "metrics.jsonl", {"step": 0, "metrics": {"loss": 2.0}}, {"metrics": {"loss": 1.5}})
    watcher._scanned = 0  # the folder is searched again at once rather than after RESCAN_S
    assert watcher.poll() == 2
    assert sorted(watcher.readers) == ["a", "b/metrics"]
    assert watcher.history.steps["loss · b/metrics"].value.tolist() == [2.0, 1.5]
    watcher.board.flush()
    assert list(watcher.board.panels) == ["loss"]
    assert watcher.board.panels["loss"].panel.tags == ("loss · a", "loss · b/metrics")


def test_the_thread_follows_until_stopped(tmp_path):
    log = tmp_path / "run.jsonl"
    watcher = watch(log, callbacks=[], poll=0.02)  # the file does not exist yet
    for step in range(5):
        append(log, {"step": step, "metrics": {"loss": 1 / (step + 1)}})
        time.sleep(0.03)
    deadline = time.monotonic() + 10
    while len(watcher.history.steps.get("loss", ())) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.stop()
    assert watcher.history.steps["loss"].step.tolist() == [0, 1, 2, 3, 4]
    assert not watcher._thread.is_alive()


def test_bad_arguments_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match="poll must be a number of seconds > 0, got 0"):
        Watcher(tmp_path, poll=0)
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match="cannot tell the format of"):
        Watcher(tmp_path / "notes.txt")


def test_the_command_keeps_a_live_page_of_a_log_another_process_writes(tmp_path):
    log = tmp_path / "run.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, time
        for step in range(20):
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps({{"step": step, "phase": "train", "metrics": {{"loss": 1 / (step + 1)}}}}) + "\\n")
            time.sleep(0.05)
    """)])
    done = subprocess.run([sys.executable, "-m", "livetrain.cli", "watch", str(log), "--html-dir", str(tmp_path),
                           "--idle", "2"], capture_output=True, text=True, timeout=120)
    writer.wait()
    assert done.returncode == 0, done.stderr
    assert "1 run(s), 20 values" in done.stdout
    page = (tmp_path / "livetrain-board.html").read_text()
    assert "train/loss" in page and 'http-equiv="refresh"' not in page  # the final page stops reloading
