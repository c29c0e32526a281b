"""PR curves and confusion matrices in a real ipykernel: in place, numbers as binary buffers, bytes independent of the
epoch count."""
import math
import statistics

import numpy as np
import pytest
from kernel_session import bokeh_displays, pushes

SETUP = """
import time
import numpy as np
from livetrain.views.prcurves import PRCurvesCallback
from livetrain.views.confusion import ConfusionMatrixCallback

def predictions(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, 1000)
    logits = rng.normal(size=(1000, 10)) + 2 * np.eye(10)[labels]
    return labels, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

def epochs(start, stop, flush=True):
    for e in range(start, stop):
        for ph in ('train', 'test'):
            labels, probs = predictions(e)
            h[ph]['y_true'].append(labels); h[ph]['y_score'].append(probs)
            view.on_epoch_end(e, ph, h)
        if flush:  # one push each: flushes closer than display.base.MIN_GAP would go out as one
            view.flush(); time.sleep(0.2)

h = {ph: {'y_true': [], 'y_score': []} for ph in ('train', 'test')}
view = {make}
view.end_with_cell = False  # one run, spread over the test's cells
view
"""


@pytest.mark.parametrize("make, columns", [
    ("PRCurvesCallback(interval=60)", {"recall", "precision"}),  # per phase and class
    ("ConfusionMatrixCallback(interval=60)", {"count", "share", "fill", "ink"}),  # per phase: K² cells
    ("ConfusionMatrixCallback(normalize='row', interval=60)", {"count", "share", "fill", "ink", "label"}),
])
def test_updates_are_in_place_binary_and_do_not_grow(kernel, make, columns):
    first = kernel.run(SETUP.replace("{make}", make))
    assert len(bokeh_displays(first)) == 1
    early = kernel.run("epochs(0, 6)")
    kernel.run("epochs(6, 300, flush=False)")  # throttled: interval=60 pushes none of these by itself
    late = kernel.run("epochs(300, 306)")
    for run in (early, late):
        assert not bokeh_displays(run) and "clear_output" not in [m.msg_type for m in run]
        for p in pushes(run):
            assert {ev["kind"] for ev in p.events} <= {"ColumnDataChanged", "ModelChanged"}
            arrays = [value for ev in p.events if ev["kind"] == "ColumnDataChanged" for _, value in
                      ev["data"]["entries"] if set(ev["cols"]) == columns]
            assert arrays and all(a["type"] == "ndarray" and a["array"]["type"] == "bytes" for a in arrays)
            assert all(len(raw) == math.prod(a["shape"]) * np.dtype(a["dtype"]).itemsize
                       for a, raw in p.arrays())  # bytes (inline or apart), no number as JSON text
    early_bytes = statistics.median(p.wire_bytes for p in pushes(early)[2:])  # the first two may hold 1 or 3 phases
    late_bytes = statistics.median(p.wire_bytes for p in pushes(late)[2:])
    assert 0.9 <= late_bytes / early_bytes <= 1.1, (early_bytes, late_bytes)
    kernel.run("view.on_train_end(h)")
