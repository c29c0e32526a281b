"""Bars and dashboards in a real ipykernel: in place, one push, bytes independent of the epoch count."""
import json
import statistics

import pytest
from kernel_session import KernelSession, bokeh_displays, pushes, stdout


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run("import json, time\nimport numpy as np\nfrom livetrain import *")
    yield ks
    ks.close()


UPDATE = """
for e in range({start}, {start} + {n}):
    for ph in ('train', 'test'):
        for k in ('loss', 'acc'):
            h[ph][k].append(1 / (e + 2))
        h[ph]['corrects'].append(np.arange(10) + e % 7); h[ph]['counts'].append(np.full(10, 100))
        view.on_epoch_end(e, ph, h)
    view.flush(); time.sleep(0.2)  # flushes closer than display.base.MIN_GAP go out as one push
"""
FILL = """
h = {ph: {'loss': [], 'acc': [], 'corrects': [], 'counts': []} for ph in ('train', 'test')}
"""


# interval=60: only flush() pushes, so each push holds one epoch, both phases (the throttled run below is sent by
# the next flush)
@pytest.mark.parametrize("make", ["VBarPlotsCallback(interval=60)", "HBarPlotsCallback(interval=60)"])
def test_bars_update_in_place_with_constant_bytes(kernel, make):
    first = kernel.run(f"view = {make}\nview.end_with_cell = False  # one run over several cells\nview")
    assert len(bokeh_displays(first)) == 1
    kernel.run(FILL)
    early = kernel.run(UPDATE.format(start=0, n=6))
    kernel.run(UPDATE.format(start=6, n=500).replace("view.flush(); time.sleep(0.2)", ""))  # throttled
    late = kernel.run(UPDATE.format(start=506, n=6))
    for run in (early, late):
        assert not bokeh_displays(run) and "clear_output" not in [m.msg_type for m in run]
        for p in pushes(run):  # only the bar lengths travel: one patch per phase's source, two where the page's
            assert {ev["kind"] for ev in p.events} == {"ColumnsPatched"}  # pace held a flush back (a stalled kernel)
            sources = [ev["model"]["id"] for ev in p.events]
            assert len(set(sources)) <= 2 and len(sources) <= 4
    early_bytes = statistics.median(p.wire_bytes for p in pushes(early)[1:])
    late_bytes = statistics.median(p.wire_bytes for p in pushes(late)[1:])
    assert 0.9 <= late_bytes / early_bytes <= 1.1, (early_bytes, late_bytes)


def test_dashboard_shows_once_and_sends_all_views_in_one_push(kernel):
    first = kernel.run("line, bars = LinePlotsCallback(epochs=50), VBarPlotsCallback()\n"
                       "view = Dashboard([line, bars])\nview.end_with_cell = False\nview")
    assert len(bokeh_displays(first)) == 1
    ids = json.loads(stdout(kernel.run("print(json.dumps([line.sources['test'].id, bars.sources['test'].id]))")))
    kernel.run(FILL)
    run = kernel.run(UPDATE.format(start=0, n=5))
    assert not bokeh_displays(run)
    flushed = [p for p in pushes(run) if {ev["model"]["id"] for ev in p.events} >= set(ids)]
    assert len(flushed) == 5  # each epoch's line rows and bars left together
