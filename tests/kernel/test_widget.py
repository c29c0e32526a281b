"""In a real ipykernel: the widget transport's messages, and the announcements that serve reloaded pages."""
import json

import numpy as np
import pytest
from kernel_session import (
    KernelSession,
    announcements,
    bokeh_displays,
    bokeh_models,
    custom_messages,
    stdout,
    widget_opens,
)

TRAIN = """
import time
h = {{'train': {{'loss': [], 'acc': []}}}}
for e in range({epochs}):
    h['train']['loss'].append(1 / (e + 1)); h['train']['acc'].append(e / {epochs})
    cb.on_epoch_end(e, 'train', h)
    time.sleep({pause})
cb.on_train_end(h)
print(cb.sources['train'].id)
"""
SHOW = "from livetrain import *\ncb = LinePlotsCallback(epochs={epochs}, phases=('train',))\ncb"


@pytest.fixture(scope="module")
def widget_kernel():
    ks = KernelSession({"LIVETRAIN_TRANSPORT": "widget"})
    yield ks
    ks.close()


def epochs_in(doc_json: str, source_id: str) -> list:
    """The epochs the source ``source_id`` holds in a serialised document."""
    for model in bokeh_models(json.loads(doc_json)):
        if model["id"] == source_id:
            return dict(model["attributes"]["data"]["entries"])["epoch"]
    raise AssertionError(f"no source {source_id} in the document")


def announced_epochs(announcement, source_id: str) -> list:
    """The epochs an announcement gives the source: its patch's whole data for it (numbers travel as binary
    buffers), else the document's."""
    data = announcement.content["data"]
    buffers = dict(zip(data["buffers"], announcement.buffers, strict=True))
    for event in json.loads(data["patch"] or '{"events": []}')["events"]:
        if event["kind"] == "ColumnDataChanged" and event["model"]["id"] == source_id:
            column = dict(event["data"]["entries"])["epoch"]
            if isinstance(column, list):
                return column
            return np.frombuffer(buffers[column["array"]["data"]["id"]], dtype=column["dtype"]).tolist()
    return epochs_in(data["doc"], source_id)


def test_push_announces_the_whole_plot_about_once_a_second_and_at_the_end(kernel):
    shown = kernel.run(SHOW.format(epochs=16))
    trained = kernel.run(TRAIN.format(epochs=16, pause=0.2))
    source = stdout(trained).split()[-1]
    [live] = [m.content["data"] for m in announcements(shown)]
    assert live["mode"] == "push"
    sent = announcements(trained)
    assert all(a.content["data"]["plot"] == live["plot"] for a in sent)
    assert 3 <= len(sent) <= 6, len(sent)  # 3.2 s of training: about one a second, plus the final one
    held = [announced_epochs(a, source) for a in sent]
    assert held == sorted(held, key=len) and held[0] == list(range(1, len(held[0]) + 1))  # the whole history
    assert held[-1] == list(range(1, 17))  # the end of the run
    seqs = [a.content["data"]["seq"] for a in sent]
    assert [a.content["data"]["final"] for a in sent] == [False] * (len(sent) - 1) + [True]
    assert seqs[:-1] == sorted(set(seqs[:-1])) and seqs[-1] >= seqs[-2]  # the final may hold the last one's state


def test_the_widget_transport_sends_the_document_then_one_message_per_update(widget_kernel):
    shown = widget_kernel.run(SHOW.format(epochs=12))
    trained = widget_kernel.run(TRAIN.format(epochs=12, pause=0.25))
    source = stdout(trained).split()[-1]
    # shown once; its final state replaces it in place
    assert [m.msg_type for m in bokeh_displays(shown + trained)] == ["display_data", "update_display_data"]
    targets = {m.content["target_name"] for m in shown + trained if m.msg_type == "comm_open"}
    assert targets <= {"jupyter.widget", "livetrain"}  # no Bokeh comm: nothing is pushed
    [channel] = [s for s in widget_opens(shown) if s.get("_esm")]
    assert "globalThis.__livetrain.widget(model)" in channel["_esm"]
    assert channel["seq"] == 0 and epochs_in(channel["doc"], source) == []
    html = [m.content["data"]["text/html"] for m in shown
            if m.msg_type == "display_data" and "text/html" in m.content["data"]]
    assert any(f'data-livetrain-plot="{channel["plot"]}"' in h for h in html)
    updates = custom_messages(trained)
    assert [u.content["data"]["content"]["seq"] for u in updates] == list(range(1, len(updates) + 1))
    assert len(updates) >= 3  # 3 s of training: at least one a second (the budget may defer more), and the last
    received = []
    for u in updates:  # each update is whole in one message: the patch's JSON, then its buffers
        patch = json.loads(u.buffers[0])
        assert len(u.buffers) == 1 + len(u.content["data"]["content"]["buffers"])
        received += [e for ev in patch["events"] if ev["kind"] == "ColumnsStreamed" and ev["model"]["id"] == source
                     for col, e in ev["data"]["entries"] if col == "epoch"]
    assert [x for chunk in received for x in chunk] == list(range(1, 13))
    final = [m for m in trained if m.msg_type == "comm_msg" and isinstance(m.content["data"], dict)
             and m.content["data"].get("method") == "update" and "doc" in m.content["data"]["state"]]
    assert epochs_in(final[-1].content["data"]["state"]["doc"], source) == list(range(1, 13))  # for a restore
    assert [m.content["data"]["text/html"] for m in trained if m.msg_type == "update_display_data"
            and "text/html" in m.content["data"] and "livetrain-final" in m.content["data"]["text/html"]]


def test_a_view_shown_again_gets_a_new_channel_and_the_old_one_is_closed(widget_kernel):
    widget_kernel.run(SHOW.format(epochs=4))
    again = widget_kernel.run("cb.show()")
    assert len([s for s in widget_opens(again) if s.get("_esm")]) == 1
    assert [m for m in again if m.msg_type == "comm_close"]
