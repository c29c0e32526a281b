"""The static transport in a real kernel: a PNG in the cell, redrawn in place at most once a second, and at the end."""
import base64
import io

import numpy as np
from kernel_session import KernelSession, bokeh_displays
from PIL import Image

TRAIN = """
import time
h = {'train': {'loss': [], 'acc': []}}
for e in range(12):
    h['train']['loss'].append(1 / (e + 1)); h['train']['acc'].append(e / 12)
    cb.on_epoch_end(e, 'train', h)
    time.sleep(0.25)
cb.on_train_end(h)
"""


def pictures(messages, kind):
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(m.content["data"]["image/png"]))).convert("RGB"))
            for m in messages if m.msg_type == kind and "image/png" in m.content.get("data", {})]


def run_static(setup: str, env: dict[str, str]):
    kernel = KernelSession(env)
    try:
        view = "cb = LinePlotsCallback(epochs=12, phases=('train',))"
        shown = kernel.run(f"from livetrain import *\n{setup}\n{view}\ncb")
        trained = kernel.run(TRAIN)
    finally:
        kernel.close()
    return shown, trained


def test_a_png_redrawn_in_place_at_most_once_a_second_then_the_final_state():
    shown, trained = run_static("", {"LIVETRAIN_TRANSPORT": "static"})
    first = pictures(shown, "display_data")
    assert len(first) == 1 and first[0].shape == (330, 700, 3)
    assert not bokeh_displays(shown + trained)  # no JavaScript needed
    assert not [m for m in shown + trained if m.msg_type == "comm_open" and "bokeh" in str(m.content)]
    updates = pictures(trained, "update_display_data")
    took = trained[-1].sent_at - trained[0].sent_at  # 3 s of training, longer on a loaded machine
    assert 3 <= len(updates) <= took + 2, (len(updates), took)  # about one redraw a second, plus the final one
    assert not [m for m in trained if m.msg_type == "display_data"]
    red = [((u[..., 0] > 180) & (u[..., 1] < 80)).sum() for u in updates]  # the train line grows
    assert red == sorted(red) and red[-1] > red[0]


def test_set_transport_in_code_chooses_it_too():
    shown, trained = run_static("set_transport('static')", {})
    assert len(pictures(shown, "display_data")) == 1 and not bokeh_displays(shown + trained)
    assert pictures(trained, "update_display_data")
