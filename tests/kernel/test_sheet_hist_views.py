"""The prediction sheet and the histograms in a real ipykernel: in place, binary buffers, bytes independent of the
epoch."""
import statistics

import pytest
from kernel_session import KernelSession, bokeh_displays, pushes

SETUP = """
import time
import numpy as np
from livetrain.views.sheet import PredictionSheetCallback
from livetrain.views.histograms import HistogramsCallback

def batch(e):
    rng = np.random.default_rng(e)
    return rng.random((100, 8, 8)), rng.integers(0, 10, 100), rng.dirichlet(np.ones(10), 100)

def run(view, start, n, flush=True):
    for e in range(start, start + n):
        images, labels, probs = batch(e)
        for k, v in (('images', images), ('y_true', labels), ('y_score', probs),
                     ('fc.weight', np.random.default_rng(e).normal(0, 1 + e / 100, 5000))):
            h['test'][k].append(v)
        view.on_epoch_end(e, 'test', h)
        if flush:  # one push each: flushes closer than display.base.MIN_GAP would go out as one
            view.flush(); time.sleep(0.06)

h = {'test': {'images': [], 'y_true': [], 'y_score': [], 'fc.weight': []}}
"""
VIEWS = {"sheet": ("PredictionSheetCallback(phases=('test',), interval=60)", {"ColumnsPatched"}),
         "histograms": ("HistogramsCallback(keys=('fc.weight',), phases=('test',), interval=60)", {"ColumnsStreamed"})}


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run(SETUP)
    yield ks
    ks.close()


def binary(push):
    """The bytes of the push's arrays, checking that they travel as bytes (small ones inline), never as JSON lists."""
    content = push.messages[2].comm_text
    assert len(content) < 24_000, len(content)  # 100 captions, small arrays as base64; never pixels or bins as lists
    return [raw for _, raw in push.arrays()]


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_updates_are_in_place_binary_and_as_large_at_epoch_300_as_at_epoch_5(kernel, name):
    make, kinds = VIEWS[name]
    kernel.run("for series in h['test'].values(): series.clear()")
    first = kernel.run(f"view = {make}\nview.end_with_cell = False  # one run over several cells\nview")
    assert len(bokeh_displays(first)) == 1
    early = kernel.run("run(view, 0, 6)")
    kernel.run("run(view, 6, 290, flush=False); view.flush(); time.sleep(0.06)")
    late = kernel.run("run(view, 296, 6)")
    sizes = {}
    for label, run in (("early", early), ("late", late)):
        assert not bokeh_displays(run) and "clear_output" not in [m.msg_type for m in run]
        ps = pushes(run)[1:]  # the first early push may still refit the figure
        assert len(ps) >= 4
        for p in ps:
            assert {ev["kind"] for ev in p.events} == kinds
            assert binary(p)
        sizes[label] = statistics.median(p.wire_bytes for p in ps)
    assert 0.9 <= sizes["late"] / sizes["early"] <= 1.1, sizes
