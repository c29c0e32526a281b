"""The live plot in a real page: JupyterLab 4 and Notebook 7 (through jupyter_bokeh), and the classic Notebook."""
import pytest

from browser_harness import run_in_browser

EPOCHS = 20
CELLS = [
    f"""import time
from livetrain import LinePlotsCallback
cb = LinePlotsCallback(epochs={EPOCHS}, phases=("train",))
cb""",
    f"""h = {{"train": {{"loss": [], "acc": []}}}}
for e in range({EPOCHS}):
    h["train"]["loss"].append(1 / (e + 1)); h["train"]["acc"].append(e / {EPOCHS})
    cb.on_epoch_end(e, "train", h)
    time.sleep(0.25)
cb.on_train_end(h)
print("sent", len(cb.sources["train"].data["epoch"]))
open("done.txt", "w").write("done")""",
]


@pytest.mark.parametrize("app", ["lab", "notebook", "nbclassic"])
def test_plot_updates_in_place_in_the_page(app):
    res = run_in_browser(app, CELLS, "livetrain:line:train", EPOCHS)
    assert res["final"] == EPOCHS
    assert len(set(res["lengths"])) >= EPOCHS // 4, res  # grew step by step, not one final render
    assert res["lengths"] == sorted(res["lengths"])
    assert not res["comm_problems"], res
