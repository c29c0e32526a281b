"""In a real ipykernel: an ImagePlotsCallback's updates travel as binary buffers of the grid's RGBA bytes."""
import json
import statistics

import numpy as np
import pytest
from kernel_session import bokeh_displays, pushes, stdout

from livetrain.core.images import make_grid, to_batch, to_rgba_u32

RAW = 242 * 242 * 4  # bytes of one 64-image 28x28 grid as RGBA
SETUP = """
import json, time
import numpy as np
from livetrain.views.image import ImagePlotsCallback

def images(seed):
    return np.random.default_rng(seed).random((64, 1, 28, 28), dtype=np.float32)

def epochs(start, stop, flush=True):
    for e in range(start, stop):
        for ph in ('train', 'test'):
            h[ph]['recon'].append(images(e)); h[ph]['target'].append(images(e + 1000))
            cb.on_epoch_end(e, ph, h)
            if flush:  # one push each: flushes closer than display.base.MIN_GAP would go out as one
                cb.flush(); time.sleep(0.06)

h = {ph: {'recon': [], 'target': []} for ph in ('train', 'test')}
cb = ImagePlotsCallback()
cb.end_with_cell = False  # one run, spread over the test's cells
cb
"""
IDS = "print(json.dumps({f'{p}:{k}': s.id for p, d in cb.sources.items() for k, s in d.items()}))"


@pytest.fixture
def shown(kernel):
    first = kernel.run(SETUP)
    return first, json.loads(stdout(kernel.run(IDS)))


def images(seed):
    return np.random.default_rng(seed).random((64, 1, 28, 28), dtype=np.float32)


def pictures(p):
    """``(source id, buffer bytes)`` for each picture a push carries, checking the wire format on the way."""
    header = json.loads(p.messages[0].comm_text)
    content = p.messages[2].comm_text
    assert header["num_buffers"] == len(p.messages[3:]) // 2 >= 1
    assert len(content) < 4000  # references to the buffers, never the pixels as JSON lists (600+ KB per picture)
    buffers = {json.loads(h.comm_text)["id"]: m.buffers[0] for h, m in zip(p.messages[3::2], p.messages[4::2])}
    out = []
    for ev in p.events:
        if ev["kind"] == "ColumnsPatched":
            [(column, [(row, array)])] = ev["patches"]["entries"]
            assert row == 0  # the whole picture, at row 0
            assert (column, array["dtype"], array["shape"]) == ("image", "uint32", [242, 242])
            out.append((ev["model"]["id"], buffers[array["array"]["data"]["id"]]))
    assert len(out) == header["num_buffers"]
    return out


def test_shown_once_then_every_update_is_one_binary_buffer_per_picture(kernel, shown):
    first, ids = shown
    assert len(bokeh_displays(first)) == 1
    assert [m.content["target_name"] for m in first if m.msg_type == "comm_open"].count("livetrain") == 1
    run = kernel.run("epochs(0, 6)")
    assert not {"display_data", "update_display_data", "clear_output"} & {m.msg_type for m in run}
    ps = pushes(run)
    assert len(ps) == 12  # one per on_epoch_end + flush: the phase's two pictures
    for i, p in enumerate(ps):
        sent = pictures(p)
        assert len(sent) == 2
        assert p.wire_bytes <= 1.1 * RAW * len(sent), (i, p.wire_bytes)
    last = dict(pictures(ps[-1]))
    expected = to_rgba_u32(make_grid(to_batch(images(5 + 1000))), "gray")  # test-phase target of epoch 5
    assert last[ids["test:target"]] == expected.tobytes()


def test_bytes_per_push_do_not_depend_on_the_epoch(kernel, shown):
    early = pushes(kernel.run("epochs(0, 5)"))[-4:]
    kernel.run("""
for series in h.values():
    for batches in series.values():
        batches.extend(batches[-1:] * 195)  # epochs 5 to 199, sharing one array each
cb.on_epoch_end(199, 'train', h); cb.on_epoch_end(199, 'test', h); cb.flush()
""")
    late = pushes(kernel.run("epochs(200, 202)"))
    early_bytes = statistics.median(p.wire_bytes for p in early)
    late_bytes = statistics.median(p.wire_bytes for p in late)
    assert len(early) == len(late) == 4
    assert abs(late_bytes - early_bytes) <= 0.01 * early_bytes, (early_bytes, late_bytes)
    assert late_bytes <= 1.1 * 2 * RAW


def test_back_to_back_epochs_are_coalesced_to_the_latest_pictures(kernel, shown):
    _, ids = shown
    run = kernel.run("epochs(0, 30, flush=False); cb.on_train_end(h)")
    ps = pushes(run)
    assert len(ps) < 30
    final = {}
    for p in ps:
        final.update(pictures(p))
    assert final[ids["train:recon"]] == to_rgba_u32(make_grid(to_batch(images(29))), "gray").tobytes()
