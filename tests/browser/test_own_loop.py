"""A user's own loop (the 2017 blog's: ``cb.on_epoch_end`` per epoch and phase, never ``on_train_end``) run in a
real JupyterLab 4 and Notebook 7 page: once its cell has ended and the notebook is saved, the stored file holds the
final plot (every epoch in the embedded document, and a PNG), and the reloaded page draws every epoch."""
import base64
import io
import json
import time

import pytest
from browser_harness import JS_LENGTH, run_in_browser
from kernel_session import embedded_sources
from PIL import Image

EPOCHS = 12
PHASES = ("train", "test")
CELLS = [f"""import time
from livetrain import LinePlotsCallback
cb = LinePlotsCallback(epochs={EPOCHS})
history = {{"train": {{"loss": [], "acc": []}}, "test": {{"loss": [], "acc": []}}}}
for epoch in range({EPOCHS}):
    for phase in ("train", "test"):
        history[phase]["loss"].append(1 / (epoch + 1)); history[phase]["acc"].append(epoch / {EPOCHS})
        cb.on_epoch_end(epoch, phase, history)
    time.sleep(0.05)
open("done.txt", "w").write("done")"""]
# The cell has ended, in the page: its prompt shows its execution count once its reply and idle status are in.
CELL_ENDED = "() => /\\[\\d+\\]/.test(document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt')?.textContent)"
LENGTHS = f"() => Object.fromEntries({list(PHASES)}.map((p) => [p, ({JS_LENGTH})('livetrain:line:' + p)]))"


def saved_and_reloaded(page, server) -> dict:
    """When the cell has ended: save (Ctrl+S), read the stored notebook, reload the page, read BokehJS's sources."""
    page.wait_for_function(CELL_ENDED, timeout=30_000)
    page.click(".jp-Notebook")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    while '"output_type"' not in server.notebook.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # the written notebook had no outputs: this is the saved one
    stored = json.loads(server.notebook.read_text())
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_function(f"() => Object.values(({LENGTHS})()).every((n) => n >= 0)", timeout=30_000)
    return {"stored": stored, "reloaded": page.evaluate(LENGTHS),
            "leftover_png": page.evaluate("() => document.querySelectorAll('img[class^=livetrain-final]').length")}


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_a_blog_loops_end_is_saved_and_drawn_again_after_a_reload(app):
    res = run_in_browser(app, CELLS, "livetrain:line:train", EPOCHS, after=saved_and_reloaded)
    assert not res["comm_problems"], res["comm_problems"]
    outputs = [o for c in res["stored"]["cells"] for o in c.get("outputs", [])]
    scripts = ["".join(o["data"]["application/javascript"]) for o in outputs
               if "livetrain:line:train" in "".join(o.get("data", {}).get("application/javascript", ""))]
    assert len(scripts) == 1, "the saved notebook should hold the plot's output once"
    assert "notebook_comms_target" not in scripts[0], \
        "the saved output is still the live plot of show() time: the cell's end did not finalise it"
    sources = embedded_sources(scripts[0])
    for phase in PHASES:
        assert sources[f"livetrain:line:{phase}"]["epoch"] == list(range(1, EPOCHS + 1))
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    png = html.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    assert Image.open(io.BytesIO(base64.b64decode(png))).format == "PNG"  # for renderers without JavaScript
    assert res["reloaded"] == dict.fromkeys(PHASES, EPOCHS), res["reloaded"]  # BokehJS draws every epoch again
    assert res["leftover_png"] == 0  # where the script ran, the PNG gave way to the plot
