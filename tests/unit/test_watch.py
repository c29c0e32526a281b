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


def line_colors(panel):
    """Each live line's colour in a board panel, by tag (the smoothed line's)."""
    return {r.name: r.glyph.line_color for r in panel.figure.renderers if "smoothed" in r.tags and r.level == "overlay"}


def test_each_run_of_a_folder_keeps_one_colour_in_every_panel_and_every_update(tmp_path):
    append(tmp_path / "b.jsonl", {"step": 0, "metrics": {"acc": 0.5}})  # b's first tag: a panel that a lacks
    append(tmp_path / "a.jsonl", {"step": 0, "metrics": {"loss": 1.0}})
    watcher = Watcher(tmp_path)
    watcher.poll()
    append(tmp_path / "b.jsonl", {"step": 1, "metrics": {"loss": 2.0, "acc": 0.6}})
    watcher.poll()
    board = watcher.board
    board.flush()
    colors = dict(board.run_colors)
    assert len(set(colors.values())) == 2
    assert line_colors(board.panels["acc"].panel) == {"acc · b": colors["b"]}  # b's colour, though b is alone there
    assert line_colors(board.panels["loss"].panel) == {"loss · a": colors["a"], "loss · b": colors["b"]}
    append(tmp_path / "c.jsonl", {"step": 0, "metrics": {"acc": 0.1, "loss": 3.0}})  # a run that starts later
    watcher._scanned = 0
    for step in range(1, 4):
        append(tmp_path / "a.jsonl", {"step": step, "metrics": {"acc": 0.2, "loss": 0.5}})
        watcher.poll()
        board.flush()
    assert set(board.run_colors) == {"a", "b", "c"} and {k: board.run_colors[k] for k in colors} == colors
    new = board.run_colors["c"]
    assert new not in colors.values()  # the next colour
    for tag in ("acc", "loss"):
        assert line_colors(board.panels[tag].panel) == {f"{tag} · {r}": board.run_colors[r] for r in "abc"}
    # a run's lines carry its name, for the legend's toggle of that run in every panel
    tagged = [r for tag in ("acc", "loss") for r in board.panels[tag].panel.figure.renderers
              if "livetrain-run:c" in r.tags]
    assert len(tagged) == 4 and all(r.js_property_callbacks.get("change:visible") for r in tagged)


def test_watch_draws_earlier_runs_under_the_folders_runs(tmp_path):
    old = tmp_path / "old.jsonl"
    append(old, *({"step": s, "metrics": {"loss": 5.0 - s}} for s in range(4)))
    (tmp_path / "runs").mkdir()
    append(tmp_path / "runs" / "a.jsonl", {"step": 0, "metrics": {"loss": 1.0}})
    watcher = Watcher(tmp_path / "runs", compare=[old])
    watcher.poll()
    watcher.board.flush()
    panel = watcher.board.panels["loss"].panel
    earlier = [r for r in panel.figure.renderers if "livetrain-compare:old" in r.tags]
    assert [(r.name, r.data_source.data["y"]) for r in earlier] == [("loss · old", [5.0, 4.0, 3.0, 2.0])]
    assert [str(i.label.value) for i in panel._legend.items] == ["loss · a", "old"]
    with pytest.raises(ValueError, match="compare= is for the default board"):
        Watcher(tmp_path / "runs", callbacks=[], compare=[old])
