"""A page that lost updates heals, in a real JupyterLab page. ``flush()`` after each of 3,000 calls once put
Jupyter's server over its IOPub rate limit (1,000 messages a second), and the page stayed at 999 rows for good.
Now flushes keep a hard minimum time between pushes; and when the user's own output floods the server and it drops
pushes anyway, the page takes the next announced full state: it shows every row while the run still goes on."""
import time

from browser_harness import JS_LENGTH, run_in_browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROWS = 3000
CELLS = [
    """import os, time
from IPython.display import display
from livetrain import LinePlotsCallback
cb = LinePlotsCallback(keys=("loss",), phases=("train",))
cb""",
    f"""h = {{"train": {{"loss": []}}}}
def row():
    h["train"]["loss"].append(1 / (len(h["train"]["loss"]) + 1))
    cb.on_epoch_end(len(h["train"]["loss"]) - 1, "train", h)
    cb.flush()
for _ in range(2000):  # a flush after every call
    row()
noise = display("", display_id=True)
for i in range(6000):  # the user's own flood: the server drops messages, pushes among them
    noise.update(i)
    if i % 10 == 0:
        row()
while len(h["train"]["loss"]) < {ROWS}:
    row()
    time.sleep(0.01)
for _ in range(600):  # the run waits (60 s at most) for the test to have seen the page
    if os.path.exists("seen.txt"):
        break
    time.sleep(0.1)
cb.on_train_end(h)
open("done.txt", "w").write("done")""",
]
NAME = "livetrain:line:train"


def before_the_end(page, server) -> dict:
    """The rows the page shows while the run waits, before its end replaces the output."""
    try:
        page.wait_for_function(f"(n) => ({JS_LENGTH})(n) >= {ROWS}", arg=NAME, timeout=90_000)
    except PlaywrightTimeout:
        pass
    time.sleep(0.5)
    live = page.evaluate(JS_LENGTH, NAME)
    (server.notebook.parent / "seen.txt").write_text("")
    return {"live": live, "how": page.evaluate("() => [...globalThis.__livetrain.plots.values()].map((p) => p.live)")}


def test_a_page_that_lost_pushes_to_the_rate_limit_heals_with_the_next_full_state():
    res = run_in_browser("lab", CELLS, NAME, ROWS, env={"LIVETRAIN_TRANSPORT": "push"}, during=before_the_end)
    assert res["live"] == ROWS, res  # during the run, not only from the final output
    assert res["final"] == ROWS
