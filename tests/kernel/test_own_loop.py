"""A user's own loop (the 2017 blog's: ``cb.on_epoch_end(epoch, phase, history)`` per epoch and phase, never
``on_train_end``) still leaves the end of its run in the notebook: when the cell that updated the plot ends, the
kernel replaces the plot's two outputs, through their display ids, by the final standalone plot with a PNG inside.
A cell that only displays the plot leaves it live, a later loop cell shows it again and finalises that showing, and
``train_loop`` finalises once (real ipykernel, real IOPub; the push and widget transports)."""
import base64
import io
import re

import pytest
from kernel_session import KernelSession, embedded_sources
from PIL import Image

E = 5
LOOP = """import time
for epoch in range({first}, {last}):
    for phase in ("train", "test"):
        history[phase]["loss"].append(1 / (epoch + 1 + (phase == "test")))
        history[phase]["acc"].append(epoch / 10)
        cb.on_epoch_end(epoch, phase, history)
    time.sleep({pause})
"""
NEW = f"""cb = LinePlotsCallback(epochs={E})
history = {{"train": {{"loss": [], "acc": []}}, "test": {{"loss": [], "acc": []}}}}
"""


@pytest.fixture(scope="module", params=["push", "widget"])
def kernel(request):
    ks = KernelSession()
    cell(ks, f"import livetrain\nfrom livetrain import *\nlivetrain.set_transport({request.param!r})\n"
           "def step(batch, phase):\n    return {'loss': 1 / batch, 'acc': batch / 10}")
    yield ks
    ks.close()


def cell(ks: KernelSession, code: str) -> list:
    return ks.run(code, settle=0.2)  # every message of a cell comes before its idle status


def shown_ids(messages) -> list[str]:
    return [m.content["transient"]["display_id"] for m in messages
            if m.msg_type == "display_data" and m.content.get("transient")]


def finals(messages) -> list:
    return [m for m in messages if m.msg_type == "update_display_data"]


def check_final(messages, ids: list[str], epochs: int) -> None:
    """The cell's last two messages of note replace outputs ``ids`` by the final plot of ``epochs`` epochs and a
    PNG, after every live update."""
    updates = finals(messages)
    assert [u.content["transient"]["display_id"] for u in updates] == ids, \
        "the cell ended without replacing the plot's outputs by its final state (post_run_cell finalisation)"
    first = messages.index(updates[0])
    assert not [m for m in messages[first:] if m.msg_type in ("comm_msg", "display_data")]  # nothing after it
    html, script = updates[0].content["data"]["text/html"], updates[1].content["data"]["application/javascript"]
    sources = embedded_sources(script)
    for phase in ("train", "test"):
        assert sources[f"livetrain:line:{phase}"]["epoch"] == list(range(1, epochs + 1))
        assert sources[f"livetrain:line:{phase}"]["y0"] == [1 / (e + 1 + (phase == "test")) for e in range(epochs)]
    assert "notebook_comms_target" not in script  # standalone: it draws without the kernel
    png = base64.b64decode(re.search(r'<img [^>]*src="data:image/png;base64,([^"]+)"', html).group(1))
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_the_cell_end_replaces_a_blog_loops_plot_by_its_final_state(kernel):
    run = cell(kernel, NEW + LOOP.format(first=0, last=E, pause=0))
    ids = shown_ids(run)
    assert len(ids) == 2  # shown by the first update, in this cell
    check_final(run, ids, E)


def test_a_displayed_plot_stays_live_until_the_loop_cell_ends_and_a_later_loop_shows_it_again(kernel):
    shown = cell(kernel, NEW + "cb")
    ids = shown_ids(shown)
    assert len(ids) == 2 and not finals(shown)  # displaying is not an update: the output stays live
    opened = {m.content["comm_id"] for m in shown if m.msg_type == "comm_open"}

    run = cell(kernel, LOOP.format(first=0, last=E, pause=0.12))
    assert not shown_ids(run)  # no new output: the one shown above is updated ...
    live = [m for m in run if m.msg_type == "comm_msg" and m.content["comm_id"] in opened]
    assert len(live) >= 3  # ... live, over the comm it opened, epoch after epoch
    check_final(run, ids, E)  # ... and holds the end of the run once the cell ends

    again = cell(kernel, LOOP.format(first=E, last=E + 2, pause=0))
    new = shown_ids(again)
    assert len(new) == 2 and not set(new) & set(ids)  # shown again, in this cell
    check_final(again, new, E + 2)  # and finalised there; the first output keeps its final state


def test_train_loop_finalises_once(kernel):
    run = cell(kernel, "cb = LinePlotsCallback(epochs=3)\n"
                     "train_loop(step, {'train': [1, 2], 'test': [3]}, epochs=3, callbacks=[cb], progress=False);")
    ids = shown_ids(run)
    assert len(ids) == 2
    assert [u.content["transient"]["display_id"] for u in finals(run)] == ids  # on_train_end's; the cell end adds none
