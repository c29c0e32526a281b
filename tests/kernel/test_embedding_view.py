"""The embedding view in a real ipykernel: in place, coordinates as binary buffers, thumbnails and labels once, bytes
independent of the epoch count."""
import statistics

from kernel_session import bokeh_displays, pushes

SETUP = """
import time
import numpy as np
from livetrain.views.embedding import EmbeddingCallback

rng = np.random.default_rng(0)
labels = rng.integers(0, 10, 1000)
images = rng.random((1000, 1, 28, 28)).astype(np.float32)
centres = rng.normal(size=(10, 64))

def epochs(start, stop, flush=True):
    for e in range(start, stop):
        for ph in ('train', 'test'):
            noise = np.random.default_rng(e).normal(size=(1000, 64))
            h[ph]['features'].append(centres[labels] * (1 - 0.9 ** (e + 1)) + noise)
            h[ph]['y_true'].append(labels.copy()); h[ph]['images'].append(images.copy())
            del h[ph]['images'][:-1]  # the history need not hold 300 copies
            view.on_epoch_end(e, ph, h)
        if flush:  # one push each: flushes closer than display.base.MIN_GAP would go out as one
            view.flush(); time.sleep(0.2)

h = {ph: {'features': [], 'y_true': [], 'images': []} for ph in ('train', 'test')}
view = EmbeddingCallback(interval=60)
view.end_with_cell = False  # one run, spread over the test's cells
view
"""


def test_updates_are_in_place_binary_send_thumbnails_once_and_do_not_grow(kernel):
    first = kernel.run(SETUP)
    assert len(bokeh_displays(first)) == 1
    early = kernel.run("epochs(0, 6)")
    kernel.run("epochs(6, 300, flush=False)", timeout=600)  # throttled: interval=60 pushes none of these by itself
    late = kernel.run("epochs(300, 306)")
    thumbs = [p for p in pushes(early) if "data:image/png;base64," in p.messages[2].comm_text]
    assert thumbs and all(p in pushes(early)[:2] for p in thumbs)  # the first epoch's samples, then never again
    assert sum(p.messages[2].comm_text.count("data:image/png;base64,") for p in thumbs) == 2000  # 1,000 per phase
    for run in (early, late):
        assert not bokeh_displays(run) and "clear_output" not in [m.msg_type for m in run]
        for p in pushes(run):
            assert {ev["kind"] for ev in p.events} <= {"ColumnDataChanged", "ModelChanged"}
            if p in thumbs:
                continue
            changed = [ev for ev in p.events if ev["kind"] == "ColumnDataChanged"]
            assert changed and all(set(ev["cols"]) == {"x", "y"} for ev in changed)
            arrays = [value for ev in changed for _, value in ev["data"]["entries"]]
            assert all(a["type"] == "ndarray" and a["array"]["type"] == "bytes" and a["dtype"] == "float32"
                       for a in arrays)
            assert sorted(len(raw) for _, raw in p.arrays()) == sorted(4 * a["shape"][0] for a in arrays)  # as bytes
    early_bytes = statistics.median(p.wire_bytes for p in pushes(early)[2:])  # the first two may hold 1 or 3 phases
    late_bytes = statistics.median(p.wire_bytes for p in pushes(late)[2:])
    assert 0.9 <= late_bytes / early_bytes <= 1.1, (early_bytes, late_bytes)
    assert late_bytes < 26_000  # x and y of 2 x 1,000 points as float32 (base64: 4/3 of 16 KB), the axes' titles
    kernel.run("view.on_train_end(h)")
