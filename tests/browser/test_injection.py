"""Hostile names (metric keys, phases, titles, category labels) in every page livetrain's plots reach: the HTML
nbconvert makes of an executed notebook, a live JupyterLab page and the same page reloaded, and the script
transport's file. In a real headless Chromium: no dialog opens, the names are the plot's text, the plot is drawn."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_harness import CHROME_ARGS, CHROMIUM, JS_LENGTH, TIMEOUT, run_in_browser, write_notebook

KEY = "</script><script>alert(document.domain)</script>"
PHASE = "<img src=x onerror=alert(1)>"
TEMPLATE = "${alert(1)} @{x}"
SEPARATORS = "a\u2028b\u2029c"
LABEL = "<b onmouseover=alert(2)>cat</b>"
NAMES = [KEY, PHASE, TEMPLATE, SEPARATORS, LABEL]
TITLE = TEMPLATE.replace("{", "{{").replace("}", "}}") + " {phase}"  # a str.format template: shows TEMPLATE
CELLS = [f"""import json, time
from livetrain import Dashboard, LinePlotsCallback, VBarPlotsCallback
KEY, PHASE, TEMPLATE, SEPARATORS, LABEL, TITLE = json.loads({json.dumps(json.dumps(NAMES + [TITLE]))})
line = LinePlotsCallback(keys=(KEY, TEMPLATE, SEPARATORS), phases=(PHASE,))
bars = VBarPlotsCallback(categories=[LABEL, SEPARATORS], phases=(PHASE,), title=TITLE)
board = Dashboard([line, bars])
board""", """h = {PHASE: {KEY: [], TEMPLATE: [], SEPARATORS: [], "corrects": [], "counts": []}}
for e in range(EPOCHS):
    for k in (KEY, TEMPLATE, SEPARATORS):
        h[PHASE][k].append(1 / (e + 1))
    h[PHASE]["corrects"].append([e, 1]); h[PHASE]["counts"].append([EPOCHS, 2])
    board.on_epoch_end(e, PHASE, h)
    time.sleep(PAUSE)
board.on_train_end(h)
open("done.txt", "w").write("done")"""]
SOURCE = f"livetrain:line:{PHASE}"

# The plot as the page holds it: every string of the newest Bokeh documents, and whether each has been drawn.
JS_PLOT = """() => { const B = window.Bokeh; if (!B || !B.documents) return null;
  return B.documents.map((d) => ({text: JSON.stringify(d.to_json()),
                                  drawn: d.roots().length > 0 && d.views_manager?.get(d.roots()[0]) != null})); }"""


def check_page(page, dialogs: list[str], what: str) -> None:
    docs = page.evaluate(JS_PLOT)
    assert not dialogs, f"{what}: dialogs opened: {dialogs}"
    assert docs, f"{what}: no Bokeh document in the page"
    drawn = [d["text"] for d in docs if d["drawn"]]
    assert drawn, f"{what}: the plot is not drawn"
    for name in NAMES:  # as text in the plot's models: titles, legend labels, factors, source names
        assert any(json.dumps(name, ensure_ascii=False)[1:-1] in text for text in drawn), (what, name)


@pytest.fixture
def browser():
    """A headless Chromium to open a file in (per test: the Lab case's harness runs Playwright itself)."""
    from playwright.sync_api import sync_playwright

    if not (CHROMIUM and os.path.exists(CHROMIUM)):
        pytest.fail("chromium not found: install Debian's chromium package or set LIVETRAIN_CHROMIUM")
    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        yield chrome
        chrome.close()


def open_file(browser, path: Path) -> tuple:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_function(f"(n) => ({JS_LENGTH})(n) > 0", arg=SOURCE, timeout=TIMEOUT * 1000)
    time.sleep(0.5)  # any late handler (an image's onerror) has fired by now
    return page, dialogs


def test_nbconvert_html_of_an_executed_notebook_shows_the_names_as_text(browser, tmp_path):
    cells = [CELLS[0], f"EPOCHS, PAUSE = 3, 0\n{CELLS[1]}"]
    write_notebook(tmp_path / "hostile.ipynb", cells)
    env = {**os.environ, "BOKEH_RESOURCES": "inline", "LIVETRAIN_TRANSPORT": "push"}
    run = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--execute", "hostile.ipynb"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    page, dialogs = open_file(browser, tmp_path / "hostile.html")
    check_page(page, dialogs, "nbconvert")
    assert page.evaluate(JS_LENGTH, SOURCE) == 3


def test_the_script_transports_page_shows_the_names_as_text(browser, tmp_path):
    script = CELLS[0].rsplit("\n", 1)[0] + f"\nEPOCHS, PAUSE = 3, 0\n{CELLS[1]}\n"
    (tmp_path / "train.py").write_text(script)
    env = {**os.environ, "BOKEH_RESOURCES": "inline", "LIVETRAIN_TRANSPORT": "script"}
    run = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    (html,) = tmp_path.glob("livetrain-dashboard*.html")  # the dashboard's page (its views were made first)
    page, dialogs = open_file(browser, html)
    check_page(page, dialogs, "script transport")


RUN = 40
LIVE_CELLS = [CELLS[0].replace("import json, time", "import json, os, time"),
              f"EPOCHS, PAUSE = {RUN}, 0.1\n" + CELLS[1].replace("    time.sleep(PAUSE)\n", """    time.sleep(PAUSE)
    for _ in range(600 if e in (5, 30) else 0):
        if os.path.exists("reloaded.txt" if e == 5 else "redrawn.txt"):
            break
        time.sleep(0.1)
""")]


def live_then_reloaded(page, server) -> dict:
    """Check the live page once it shows 3 epochs; save, reload, check the reloaded page once it is redrawn."""
    dialogs: list[str] = []
    # JupyterLab asks before leaving a notebook that changed since its save (the run goes on): let the reload go
    page.on("dialog", lambda d: d.accept() if d.type == "beforeunload" else (dialogs.append(d.message), d.dismiss()))
    page.wait_for_function(f"(n) => ({JS_LENGTH})(n) >= 3", arg=SOURCE)
    check_page(page, dialogs, "live JupyterLab page")
    page.click(".jp-Notebook")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while "data-livetrain-plot" not in server.notebook.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_function("() => globalThis.__livetrain !== undefined")
    time.sleep(1)
    (server.notebook.parent / "reloaded.txt").write_text("")
    page.wait_for_function(f"(n) => ({JS_LENGTH})(n) > 5", arg=SOURCE, timeout=60_000)
    check_page(page, dialogs, "reloaded JupyterLab page")
    (server.notebook.parent / "redrawn.txt").write_text("")
    return {"dialogs": dialogs}


def test_a_live_and_a_reloaded_jupyterlab_page_show_the_names_as_text_and_end_with_every_epoch():
    """The reloaded page gets the plot from announcements only: it ends with every epoch as the run's end is
    announced once more."""
    res = run_in_browser("lab", LIVE_CELLS, SOURCE, RUN, env={"LIVETRAIN_TRANSPORT": "push"},
                         during=live_then_reloaded)
    assert res["final"] == RUN and not res["dialogs"], res
