"""The end of a run stays in the notebook: at train end (or on an error or Ctrl-C) the plot's outputs are
replaced, through their display ids, by the final state and a PNG of it (real ipykernel, real IOPub)."""
import base64
import io
import re

import pytest
from kernel_session import KernelSession, embedded_sources
from PIL import Image

RUN = ("h = train_loop(step, {{'train': [1, 2], 'test': [3]}}, epochs={epochs}, callbacks=[cb], progress=False)\n"
       "print(len(h['test']['loss']))")


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run("from livetrain import *\n"
           "def step(batch, phase):\n"
           "    global calls\n"
           "    calls += 1\n"
           "    if calls == STOP_AT:\n"
           "        raise KeyboardInterrupt\n"
           "    return {'loss': 1 / (batch + calls), 'acc': batch / 10}\n"
           "calls, STOP_AT = 0, -1")
    yield ks
    ks.close()


def final_state(messages):
    """The (html, script) of the two update_display_data messages, after checking they replace the shown outputs."""
    updates = [m for m in messages if m.msg_type == "update_display_data"]
    assert len(updates) == 2 and not [m for m in messages if m.msg_type == "display_data"]
    html, script = updates[0].content["data"]["text/html"], updates[1].content["data"]["application/javascript"]
    return [u.content["transient"]["display_id"] for u in updates], html, script


def test_train_end_replaces_the_outputs_with_the_final_plot_and_a_png(kernel):
    shown = kernel.run("cb = LinePlotsCallback(epochs=5)\ncb")
    ids = [m.content["transient"]["display_id"] for m in shown
           if m.msg_type == "display_data" and m.content.get("transient")]
    assert len(ids) == 2
    run = kernel.run(RUN.format(epochs=5))
    updated, html, script = final_state(run)
    assert updated == ids  # the same two outputs, now holding the end of the run
    assert embedded_sources(script)["livetrain:line:test"]["epoch"] == [1, 2, 3, 4, 5]
    assert "notebook_comms_target" not in script  # standalone: no comm to a kernel that may be gone
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1))
    assert Image.open(io.BytesIO(png)).size == (700, 330)  # for renderers without JavaScript
    marker = re.search(r'<img class="(livetrain-final-\w+)"', html).group(1)
    assert f'querySelectorAll("img.{marker}")' in script  # where the script runs, the PNG gives way to the plot


def test_an_interrupt_leaves_the_plot_marked_at_the_epoch_it_stopped(kernel):
    kernel.run("cb = LinePlotsCallback(epochs=6)\ncb")
    run = kernel.run("calls, STOP_AT = 0, 8\n" + RUN.format(epochs=6))
    _, _, script = final_state(run)
    assert embedded_sources(script)["livetrain:line:test"]["epoch"] == [1, 2]
    assert "Loss (interrupted at epoch 2)" in script


def test_a_later_update_shows_the_plot_again_in_its_own_cell(kernel):
    kernel.run("calls, STOP_AT = 0, -1\ncb = LinePlotsCallback(epochs=4)\ncb")
    kernel.run(RUN.format(epochs=2))
    again = kernel.run("cb.on_epoch_end(2, 'train', h); cb.flush()")
    assert len([m for m in again if m.msg_type == "display_data" and m.content.get("transient")]) == 2
