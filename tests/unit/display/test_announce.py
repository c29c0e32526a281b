"""livetrain.display.announce: what an announcement holds, and how often one is made."""
import json
import time

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

from livetrain.display.announce import Announcer


def plot_with_source():
    source = ColumnDataSource({"epoch": [], "loss": [], "tag": []})
    p = figure()
    p.line("epoch", "loss", source=source)
    span = Span(location=0, dimension="height")
    p.add_layout(span)
    doc = Document()
    doc.add_root(p)
    return doc, source, span


def capture(announcer: Announcer) -> list:
    sent = []
    announcer.send = lambda data, buffers: sent.append((data, buffers))
    return sent


def test_an_announcement_is_the_document_once_then_a_patch_to_the_current_state():
    doc, source, span = plot_with_source()
    announcer = Announcer("p1", doc, every=0)
    sent = capture(announcer)
    announcer.announce(0)
    source.stream({"epoch": [1, 2], "loss": [0.5, 0.25], "tag": ["a", "b"]})
    span.location = 2
    announcer.announce(1)
    (first, _), (second, buffers) = sent
    assert second["doc"] is first["doc"]  # serialised once
    events = json.loads(second["patch"])["events"]
    changed = {e["kind"]: e for e in events}
    assert changed["ModelChanged"]["attr"] == "location" and changed["ModelChanged"]["new"] == 2
    columns = dict(changed["ColumnDataChanged"]["data"]["entries"])
    assert columns["tag"] == ["a", "b"]  # not numbers: JSON
    loss = columns["loss"]  # numbers: a binary buffer
    ref = loss["array"]["data"]["id"]
    assert np.frombuffer(buffers[second["buffers"].index(ref)], loss["dtype"]).tolist() == [0.5, 0.25]


def test_announcements_keep_to_their_interval_time_budget_and_byte_rate():
    doc, source, _ = plot_with_source()
    announcer = Announcer("p1", doc, every=0.05, budget=1.0, rate=1e12)
    capture(announcer)
    assert not announcer.due()  # the first one waits an interval too
    time.sleep(0.06)
    assert announcer.due()
    announcer.announce(0)
    assert not announcer.due()
    time.sleep(0.06)
    assert announcer.due()
    announcer.rate = 1000  # bytes a second: a ~20 KB announcement then waits ~20 s
    announcer.announce(1)
    time.sleep(0.06)
    assert not announcer.due()
