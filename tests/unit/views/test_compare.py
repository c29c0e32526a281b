"""Compare runs: earlier runs (saved histories, JSONL, CSV and event logs, folders of them) drawn once under the live
lines of the board and the line view, named after the run; the live updates never send them again; a resumed run and
the run it resumes share the x axis; hiding a run from one panel's legend hides it in every panel (real Chromium)."""
import os
import subprocess
import sys
import textwrap
import time

import pytest
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.resources import INLINE

from livetrain import Board, History, LinePlotsCallback, train_loop
from livetrain.views.compare import COMPARE_TAG, RUN_TAG, load_runs
from livetrain.views.scalars import ScalarsView
from livetrain.wire import patch_message

HOSTILE = "</script><img src=x onerror=alert(1)>"

pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder of earlier runs, one per format, written by a real process."""
    return write_runs(tmp_path_factory.mktemp("runs"))


def write_runs(root):
    """A real process writes one run per format: a JSONL log, a CSV log, a TensorBoard event file (tensorboardX), a
    saved history (train_loop), and a JSON file that is not a run."""
    script = textwrap.dedent(f"""
        import json, pathlib
        from tensorboardX import SummaryWriter
        from livetrain import train_loop
        root = pathlib.Path({str(root)!r})
        with open(root / "a.jsonl", "w") as f:
            for step in range(3000):
                f.write(json.dumps({{"step": step, "phase": "train", "metrics": {{"loss": 1 / (1 + step)}}}}) + "\\n")
        (root / "b.csv").write_text("step,epoch,train/loss\\n" + "".join(f"{{s}},{{s / 10}},{{2 / (1 + s)}}\\n"
                                                                        for s in range(50)))
        with SummaryWriter(str(root / "c")) as w:
            for step in range(20):
                w.add_scalar("train/loss", 3 / (1 + step), step)
        train_loop(lambda batch, phase: {{"loss": float(batch)}}, {{"train": [1.0, 3.0], "test": [5.0]}}, epochs=3,
                   progress=False, history_path=root / "d.json")
        (root / "config.json").write_text(json.dumps({{"lr": 0.1}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return root


def overlays(figure):
    """The earlier runs' renderers of a figure, by name."""
    return {r.name: r for r in figure.renderers if any(str(t).startswith(COMPARE_TAG) for t in r.tags)}


def test_load_runs_reads_every_format_into_runs_named_after_their_files(folder):
    with pytest.warns(RuntimeWarning, match="config.json"):
        runs = load_runs(folder)
    assert list(runs) == ["a", "b", "c", "d"]
    assert runs["a"].steps["train/loss"].value[[0, -1]].tolist() == [1.0, 1 / 3000]
    assert runs["b"].steps["train/loss"].epoch[:2].tolist() == [0.0, 0.1]
    assert runs["c"].steps["train/loss"].step.tolist() == list(range(20))
    assert runs["d"]["train"]["loss"] == [2.0, 2.0, 2.0] and runs["d"]["test"]["loss"] == [5.0, 5.0, 5.0]
    named = load_runs([folder / "a.jsonl", folder / "a.jsonl", folder / "d.json"])
    assert list(named) == ["a", "a (2)", "d"]
    assert list(load_runs({"base": folder / "c", HOSTILE: folder / "d.json"})) == ["base", HOSTILE]


def test_bad_earlier_runs_say_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="'missing.json' does not exist; expected a saved history"):
        load_runs("missing.json")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="cannot tell what .*notes.txt.* is; expected a saved history"):
        load_runs(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="no run in the folder"):
        load_runs(tmp_path)
    with pytest.raises(TypeError, match="compare takes paths and Histories; got int"):
        load_runs([3])


def pushes(view, feed, steps):
    """The bytes of each push after the first, while ``feed(step)`` logs and the view is in a document; and every
    model an update changed."""
    doc = Document()
    doc.add_root(view.graph)
    feed(0)
    view.flush()
    sizes, changed = [], set()
    for step in range(1, steps):
        events = []
        doc.on_change(events.append)
        feed(step)
        view.flush()
        doc.remove_on_change(events.append)
        content, _, buffers = patch_message(events)
        sizes.append(len(content) + sum(map(len, buffers)))
        changed |= {getattr(e, "model", None) for e in events} | {getattr(e, "attr", None) for e in events}
    return sizes, changed


def test_the_board_draws_earlier_runs_once_under_the_live_lines(folder):
    board = Board(compare=[folder / "a.jsonl", folder / "c"])

    def log(step, into=board):
        into.log({"train/loss": 1 / (2 + step)}, step)

    sizes, changed = pushes(board, log, 150)
    panel = board.panels["train/loss"].panel
    lines = overlays(panel.figure)
    assert list(lines) == ["train/loss · a", "train/loss · c"]
    a, c = (lines[n].data_source.data for n in lines)
    assert len(a["x"]) <= panel.budget and (a["x"][0], a["x"][-1], a["y"][0], a["y"][-1]) == (0, 2999, 1, 1 / 3000)
    assert c["x"] == list(range(20)) and c["y"] == pytest.approx([3 / (1 + s) for s in range(20)])  # float32 events
    assert [str(i.label.value) for i in panel._legend.items] == ["train/loss", "a", "c"]
    live = panel.figure.renderers[1]
    for line in lines.values():
        assert line.glyph.line_alpha < 1 and line.glyph.line_width < live.glyph.line_width
        assert line.glyph.line_dash and line.level == "glyph" and live.level == "overlay"  # drawn under
        assert line.data_source not in changed and line not in changed  # never sent again
    plain = Board()
    alone, _ = pushes(plain, lambda step: log(step, plain), 150)
    assert sizes == alone  # the live pushes do not grow with the earlier runs
    assert max(sizes[-10:]) <= 1.25 * max(sizes[:10]) + 300


def test_the_line_view_draws_earlier_epochs_once_per_phase(folder):
    def fed(view):
        history = {"train": {"loss": []}, "test": {"loss": []}}

        def epoch(e):
            for phase in history:
                history[phase]["loss"].append(1 / (1 + e))
                view.on_epoch_end(e, phase, history)
        return pushes(view, epoch, 60)

    view = LinePlotsCallback(100, keys=("loss",), compare={"before": folder / "d.json"})
    sizes, changed = fed(view)
    lines = [r for r in view.figures[0].renderers if r.name == "before"]
    assert [(r.glyph.line_color, r.data_source.data["x"], r.data_source.data["y"]) for r in lines] == [
        ("#d62728", [1, 2, 3], [2, 2, 2]), ("#1f77b4", [1, 2, 3], [5, 5, 5])]  # each phase's colour, at its epochs
    legend = view.figures[0].legend[0]
    assert [(str(i.label.value), i.renderers) for i in legend.items][-1] == ("before", lines)
    assert not ({*lines, *(r.data_source for r in lines)} & changed)  # never sent again
    assert sizes == fed(LinePlotsCallback(100, keys=("loss",)))[0]  # the live pushes do not grow with the earlier runs


@pytest.mark.parametrize("x", ["epoch", "step"])
def test_a_resumed_run_and_the_run_it_resumes_share_the_x_axis(tmp_path, x):
    def step(batch, phase):
        return {"loss": batch}

    loaders = {"train": [1.0, 2.0, 3.0, 4.0], "test": [5.0]}
    saved = tmp_path / "first.json"
    train_loop(step, loaders, epochs=3, progress=False, history_path=saved)
    line = LinePlotsCallback(keys=("loss",), x=x, compare=[saved])
    board = Board(x=x, compare=[saved])
    train_loop(step, loaders, epochs=2, progress=False, history=History.load(saved), callbacks=[line, board])
    for phase in loaders:  # the first run's epochs are where the resumed run drew them
        live = line.sources[phase].data[x]
        earlier = next(r for r in line.figures[0].renderers if r.name == "first" and
                       r.glyph.line_color == line.figures[0].select_one({"name": phase}).glyph.line_color)
        assert len(live) == 5 and earlier.data_source.data["x"] == live[:3]
    assert line.sources["train"].data["step" if x == "step" else "epoch"][-1] == (20 if x == "step" else 5)
    panel = board.panels["train/loss"].panel
    live, earlier = panel.sources["train/loss"].data, overlays(panel.figure)["train/loss · first"].data_source.data
    assert len(live["x"]) == 20 and earlier["x"] == live["x"][:12] and earlier["y"] == live["y"][:12]


def test_the_scalars_view_takes_earlier_runs_too(folder):
    view = ScalarsView(compare=folder / "c")
    view.log({"train/loss": 0.5}, 0)
    view.flush()
    assert overlays(view.panels["train/loss"].figure)["train/loss · c"].data_source.data["x"] == list(range(20))


@pytest.mark.browser
def test_hiding_a_run_from_one_legend_hides_it_in_every_panel(tmp_path):
    """In a real Chromium: a run's legend click (what BokehJS's legend does: its renderers' ``visible`` flipped)
    hides that run in every panel of the board, for a watched folder's runs and for an earlier run alike."""
    from browser_harness import CHROME_ARGS, CHROMIUM, TIMEOUT
    from playwright.sync_api import sync_playwright

    earlier = History()
    for step in range(5):
        earlier.log({"loss": 1.0, "acc": 0.5}, step)
    board = Board(interval=0, compare={HOSTILE: earlier})
    for run in ("a", HOSTILE):
        for tag in ("loss", "acc"):
            board.group(tag, [f"{tag} · {run}"], run=run)
            board.log({f"{tag} · {run}": 0.5}, 0)
    board.flush()
    page_file = tmp_path / "board.html"
    page_file.write_text(file_html(board.graph, INLINE, "board"))
    assert "<img src=x" not in page_file.read_text()  # the name only as escaped data
    hide = """([run, prefix]) => { const d = window.Bokeh.documents[0], models = [...d.all_models];
      const of = (m) => Array.isArray(m.tags) && m.tags.includes(prefix + run);
      models.find((m) => of(m) && m.visible !== undefined).visible = false;  // one renderer in one panel
      const runs = models.filter((m) => m.visible !== undefined && Array.isArray(m.tags)
        && m.tags.some((t) => /^livetrain-(run|compare):/.test(String(t))));
      return new Promise((r) => setTimeout(() => r(runs.map((m) => [m.tags.at(-1), m.visible])), 200)); }"""
    if not (CHROMIUM and os.path.exists(CHROMIUM)):
        pytest.fail("chromium not found: install Debian's chromium package or set LIVETRAIN_CHROMIUM")
    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            page = chrome.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("() => window.Bokeh?.documents?.length > 0", timeout=TIMEOUT * 1000)
            after = page.evaluate(hide, [HOSTILE, RUN_TAG])
            hidden = {(tag, visible) for tag, visible in after}
            assert hidden == {(RUN_TAG + HOSTILE, False), (RUN_TAG + "a", True), (COMPARE_TAG + HOSTILE, True)}
            assert len([1 for tag, _ in after if tag == RUN_TAG + HOSTILE]) == 4  # raw and smoothed, in both panels
            after = page.evaluate(hide, [HOSTILE, COMPARE_TAG])
            assert {(tag, visible) for tag, visible in after if tag.startswith(COMPARE_TAG)} == {
                (COMPARE_TAG + HOSTILE, False)}
            assert len([1 for tag, _ in after if tag == COMPARE_TAG + HOSTILE]) == 2  # in both panels
        finally:
            chrome.close()


def test_a_replica_shares_the_earlier_runs_read_and_does_not_read_their_files_again(tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_text('{"step": 1, "phase": "train", "metrics": {"loss": 0.5}}\n')
    for view in (Board(compare=log), LinePlotsCallback(compare=log), ScalarsView(compare=log)):
        log.unlink()  # a frame export long after: the file may be gone
        copy = view.replica()
        assert copy.compare == view.compare and copy.compare["a"] is view.compare["a"]
        log.write_text('{"step": 1, "phase": "train", "metrics": {"loss": 0.5}}\n')


def test_a_served_page_draws_the_earlier_runs_under_the_live_ones(tmp_path, folder):
    from bokeh.client import pull_session
    from bokeh.models import GlyphRenderer

    from livetrain.serve import serve

    (tmp_path / "live.jsonl").write_text('{"step": 1, "phase": "train", "metrics": {"loss": 0.5}}\n')
    server = serve(tmp_path, port=0, poll=0.05, compare=folder / "c")
    names: set = set()
    try:
        deadline = time.monotonic() + 60
        while "train/loss · live" not in names and time.monotonic() < deadline:  # the live run's panel, once read
            session = pull_session(url=server.url)
            try:
                names = {r.name for r in session.document.select({"type": GlyphRenderer})}
            finally:
                session.close()
    finally:
        server.stop()
    assert {"train/loss · live", "train/loss · c"} <= names
    with pytest.raises(FileNotFoundError, match="does not exist"):
        serve(tmp_path, port=0, compare=tmp_path / "missing")
