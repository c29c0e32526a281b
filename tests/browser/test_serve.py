"""``livetrain serve`` in a real page (headless Chromium): two runs another process writes grow live on two pages at
once, and a reloaded page shows the whole history, then grows on."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from browser_harness import CHROME_ARGS, CHROMIUM, JS_DATA, JS_LENGTH, TIMEOUT

RUNS = ("a", "b")
SOURCES = [f"livetrain:scalars:loss · {run}" for run in RUNS]
# Every length the named sources take on this page, from the moment they exist (updates in place: streams).
RECORD = """(names) => { window.__lengths = Object.fromEntries(names.map((n) => [n, []]));
  const t = setInterval(() => { const B = window.Bokeh; if (!B || !B.documents) return;
    for (const n of names) { if (window.__lengths[n].hooked) continue;
      for (const d of B.documents) { const m = d.get_model_by_name(n); if (!m) continue;
        const seen = window.__lengths[n]; seen.hooked = true; seen.push(m.get_length());
        m.connect(m.streaming, () => seen.push(m.get_length()));
        m.connect(m.properties.data.change, () => seen.push(m.get_length())); break; } }
    if (names.every((n) => window.__lengths[n].hooked)) clearInterval(t); }, 10); }"""


def writer(root: Path) -> subprocess.Popen:
    """Steps 0-9 of runs a and b at once, then, after the file ``go1``, steps 10-39 one every 0.1 s, then after
    ``go2`` steps 40-44; ``done1`` and ``done2`` mark the ends."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, os, time
        root = {str(root)!r}
        def write(step):
            for k, run in enumerate({RUNS!r}):
                with open(os.path.join(root, run + ".jsonl"), "a") as f:
                    f.write(json.dumps({{"step": step, "metrics": {{"loss": k + 1 / (step + 1)}}}}) + "\\n")
        def wait(name):
            while not os.path.exists(os.path.join(root, name)):
                time.sleep(0.02)
        for step in range(10):
            write(step)
        wait("go1")
        for step in range(10, 40):
            write(step); time.sleep(0.1)
        open(os.path.join(root, "done1"), "w").close()
        wait("go2")
        for step in range(40, 45):
            write(step); time.sleep(0.1)
        open(os.path.join(root, "done2"), "w").close()
    """)])


def wait_for(page, count: int) -> None:
    page.wait_for_function(f"(names) => names.every((n) => ({JS_LENGTH})(n) === {count})", arg=SOURCES)


def wait_file(path: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} after {TIMEOUT} s"
        time.sleep(0.05)


def test_two_pages_grow_live_and_a_reload_keeps_the_history():
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="livetrain-serve-"))
    proc = writer(root)
    server = subprocess.Popen([sys.executable, "-m", "livetrain.cli", "serve", str(root), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                              env={k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"})
    console: list[str] = []
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline())
        assert url, "livetrain serve printed no address"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.set_default_timeout(TIMEOUT * 1000)
                pages = [context.new_page(), context.new_page()]
                for page in pages:
                    page.on("console", lambda m: console.append(f"{m.type}: {m.text[:300]}"))
                    page.goto(url[0])
                    wait_for(page, 10)  # the history so far: both runs, ten steps each
                    page.evaluate(RECORD, SOURCES)
                (root / "go1").touch()
                wait_file(root / "done1")
                for page in pages:
                    wait_for(page, 40)
                    seen = page.evaluate("() => window.__lengths")
                    for name in SOURCES:  # grown in place, step by step, on both pages at once
                        assert len(set(seen[name])) >= 5, (name, seen[name])
                pages[0].reload()
                wait_for(pages[0], 40)  # the whole history again, at once
                for name in SOURCES:
                    assert pages[0].evaluate(JS_DATA, name)["x"] == list(range(40))
                pages[0].evaluate(RECORD, SOURCES)
                (root / "go2").touch()
                wait_file(root / "done2")
                for page in pages:  # the reloaded page grows on, as does the other
                    wait_for(page, 45)
                    assert page.evaluate(JS_DATA, SOURCES[1])["x"] == list(range(45))
                assert len(set(pages[0].evaluate("() => window.__lengths")[SOURCES[0]])) >= 2
                assert not [c for c in console if c.startswith("error")], console
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - any failure is reported with the page's console
        raise AssertionError(f"{type(exc).__name__}: {str(exc)[:2000]}\nconsole: {console[-15:]}") from None
    finally:
        proc.kill()
        proc.wait()
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out = server.communicate(timeout=TIMEOUT)[0]
        shutil.rmtree(root, ignore_errors=True)
    assert server.returncode == 0 and "livetrain serve: stopped (2 run(s))" in out, out
