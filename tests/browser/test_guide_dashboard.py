"""The guide views in one Dashboard, live in JupyterLab 4 (Chromium): every view updates in place, epoch by epoch,
and the page ends with the kernel's numbers."""
import json

from browser_harness import run_in_browser

EPOCHS = 6
CELLS = [
    """import json, time
import numpy as np
import torch
from livetrain import (Callback, ClassScoresCallback, ConfusionMatrixCallback, Dashboard, EmbeddingCallback,
                       HistogramsCallback, ImagePlotsCallback, LinePlotsCallback, ModelSummaryCallback,
                       PRCurvesCallback, PredictionSheetCallback, train_loop)

rng = np.random.default_rng(0)
CLASSES = ["zero", "one", "two", "<b>three</b>"]  # a class name that must stay text
images, labels = rng.random((32, 8, 8)), rng.integers(0, 4, 32)

def step(batch, phase):
    x, y = batch
    surer = 0.6 * step.epoch
    logits = rng.normal(size=(len(y), 4)) + surer * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    out = {"loss": 1 / (1 + surer), "acc": float((p.argmax(1) == y).mean())}
    if phase == "test":
        out |= {"y_true": y, "y_score": p, "images": x, "weights": rng.normal(0, 1 + surer, 500),
                "features": logits,
                "act/conv1": np.abs(rng.normal(size=(8, 6, 6)))}
    return out

step.epoch = 0
class Tick(Callback):  # the epoch the step reads, and time for the page to see each epoch
    def on_epoch_end(self, epoch, phase, history):
        if phase == "test":
            step.epoch = epoch + 1
            time.sleep(0.4)

board = Dashboard([LinePlotsCallback(keys=["loss", "f1_score"], phases=["test"]),
                   PredictionSheetCallback(rows=2, cols=4, class_names=CLASSES, sort="worst"),
                   PRCurvesCallback(CLASSES, phases=["test"]),
                   ConfusionMatrixCallback(CLASSES, phases=["test"]),
                   HistogramsCallback(keys=["weights"], phases=["test"], bins=16),
                   ImagePlotsCallback(keys=["act/conv1"], phases=["test"], cmap="Inferno256", normalize=True,
                                      scale_each=True),
                   EmbeddingCallback(CLASSES, phases=["test"]),
                   ModelSummaryCallback(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4)),
                                        torch.zeros(1, 8, 8), phases=["test"])],
                  ncols=2)
board""",
    f"""batches = [(images[i:i + 8], labels[i:i + 8]) for i in range(0, 32, 8)]
h = train_loop(step, {{"train": batches, "test": batches}}, epochs={EPOCHS}, progress=False,
               callbacks=[ClassScoresCallback(CLASSES), board, Tick()],
               reduce={{"y_true": "concat", "y_score": "concat", "images": "concat", "features": "concat",
                       "weights": "last",
                       "act/conv1": "last"}})
sheet, conf = board.views[1], board.views[3]
json.dump({{"captions": list(sheet.captions["test"].data["text"]),
           "count": [int(c) for c in conf.sources["test"].data["count"]],
           "f1": h["test"]["f1_score"], "labels_three": int((labels == 3).sum()),
           "caption": board.views[7].panel.caption.data["text"][0]}}, open("kernel.json", "w"))
open("done.txt", "w").write("done")""",
]
BOLD = "() => document.querySelectorAll('.jp-OutputArea b').length"  # a class name's tags, taken as HTML
WATCH = ("livetrain:sheet:test:captions", "livetrain:confusion:test", "livetrain:prcurves:test:3",
         "livetrain:histograms:weights (test)", "livetrain:image:test:act/conv1",
         "livetrain:embedding:Embedding (test)", "livetrain:model:caption")


def test_the_guide_views_update_in_place_in_jupyterlab_and_end_with_the_kernels_numbers():
    res = run_in_browser("lab", CELLS, "livetrain:line:test", EPOCHS, watch=WATCH,
                         after=lambda page, server: {**json.loads((server.notebook.parent / "kernel.json").read_text()),
                                                     "bold": page.evaluate(BOLD)})
    assert res["final"] == EPOCHS and res["lengths"] == sorted(res["lengths"]), res["lengths"]
    assert not res["comm_problems"]
    for name in WATCH:  # each view took several updates (in place), not one final render
        assert res["updates"][name] >= 2, (name, res["updates"])
    data = res["data"]
    assert data["livetrain:sheet:test:captions"]["text"] == res["captions"]
    assert res["bold"] == 0  # the class name "<b>three</b>" is text in every view
    assert data["livetrain:confusion:test"]["count"] == res["count"] and sum(res["count"]) == 32
    assert len(data["livetrain:histograms:weights (test)"]["x"]) >= EPOCHS  # a column per epoch
    (shape,) = data["livetrain:image:test:act/conv1"]["image"]
    assert len(shape) == 2 and min(shape) > 6  # one coloured grid of the 8 maps
    points = data["livetrain:embedding:Embedding (test)"]
    assert len(points["x"]) == 32 and points["label"].count("<b>three</b>") == res["labels_three"]
    assert data["livetrain:model:caption"]["text"] == [res["caption"]]  # the last epoch's, patched in place
