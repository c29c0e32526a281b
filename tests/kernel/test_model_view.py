"""The model summary in a real ipykernel, in train_loop: one output holding the layer table (layer names as text,
never markup), then only the caption, patched in place at each epoch's end, and the final state at the end."""
import json
import re

from kernel_session import bokeh_displays, bokeh_models, embedded_sources, pushes

HOSTILE = "</script><img src=x onerror=alert(1)>"
SETUP = f"""
import time
import torch
from torch import nn
from livetrain import Callback, train_loop
from livetrain.views.model import ModelSummaryCallback

torch.manual_seed(0)
block = nn.Sequential()
block.add_module({HOSTILE!r}, nn.Conv2d(1, 4, 3))  # a nested layer with a hostile name
model = nn.Sequential(block, nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))

def step(batch, phase):
    time.sleep(0.2)  # flushes closer than display.base.MIN_GAP would go out as one
    return {{"loss": 1.0}}

class Flush(Callback):  # each epoch's caption goes out in a push of its own (interval=60 pushes none by itself)
    def on_epoch_end(self, epoch, phase, history):
        cb.flush()
"""
RUN = """
cb = ModelSummaryCallback(model, torch.zeros(1, 1, 8, 8), phases=("train",), interval=60)
h = train_loop(step, {"train": [0]}, epochs=3, callbacks=[cb, Flush()], progress=False)
"""
CELLS = [f"0.{HOSTILE}", "Conv2d", "1×4×6×6", "1", "ReLU", "1×4×6×6", "2", "Flatten", "1×144", "3", "Linear", "1×10"]
TOTALS = "1,490 parameters, 1,490 trainable"


def document(script: str) -> list[dict]:
    """Every model of a Bokeh notebook script's embedded document."""
    return list(bokeh_models(json.loads(re.search(r"const docs_json = (.*);\n", script).group(1))))


def test_the_table_is_shown_once_then_only_the_caption_changes_per_epoch_with_layer_names_as_text(kernel):
    kernel.run(SETUP)
    run = kernel.run(RUN)
    shown = bokeh_displays([m for m in run if m.msg_type == "display_data"])
    assert len(shown) == 1 and "clear_output" not in [m.msg_type for m in run]
    script = shown[0].content["data"]["application/javascript"]
    sources = embedded_sources(script)
    assert sources["livetrain:model:cells"]["text"] == CELLS  # the layer table, in the output from the start
    assert sources["livetrain:model:boxes"]["label"][0] == f"0.{HOSTILE}: Conv2d"
    assert sources["livetrain:model:caption"]["text"] == [TOTALS]
    caption_id = next(m["id"] for m in document(script) if m["attributes"].get("name") == "livetrain:model:caption")
    captions = []
    for p in pushes(run):
        for ev in p.events:  # in place: no new model, the table is not sent again
            assert ev["kind"] == "ColumnsPatched" and ev["model"]["id"] == caption_id, ev
            captions += [text for _, patches in ev["patches"]["entries"] for _, text in patches]
    assert captions == [f"after epoch {e} (train): {TOTALS}" for e in (1, 2, 3)]
    finals = [m.content["data"] for m in run if m.msg_type == "update_display_data"]
    assert len(finals) == 2  # train end: the output holds the final state (a PNG, then the standalone plot)
    html, final = finals
    final_sources = embedded_sources(final["application/javascript"])
    assert final_sources["livetrain:model:cells"]["text"] == CELLS
    assert final_sources["livetrain:model:caption"]["text"] == [f"after epoch 3 (train): {TOTALS}"]
    for page in (script, final["application/javascript"], html["text/html"]):  # text in JSON, never markup
        assert "<img src=x" not in page and HOSTILE not in page
    assert not [m for m in document(script) if m.get("name") == "Div"]
