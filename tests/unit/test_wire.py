"""The notebook push's wire: small arrays inside the PATCH-DOC's JSON (gzip, base64: what BokehJS decodes; the
browser tests watch the page apply them), large ones as buffers apart."""
import base64
import gzip
import json

import numpy as np
from bokeh.document import Document
from bokeh.models import Column, ColumnDataSource
from bokeh.plotting import figure

from livetrain.wire import INLINE_MOST, notebook_fragments


def test_small_arrays_travel_inline_and_large_ones_apart_with_every_value():
    small, large = np.arange(10, dtype=np.float32), np.arange(INLINE_MOST, dtype=np.float32)  # 40 B and 4x the limit
    source = ColumnDataSource({"small": small[:0], "large": large[:0]})
    doc = Document()
    doc.add_root(source)
    doc.models.flush_synced()
    events = []
    doc.on_change(events.append)
    source.data = {"small": small, "large": large}
    parts = notebook_fragments(events)
    header = json.loads(parts[0])
    assert header["num_buffers"] == 1 and len(parts) == 5  # header, metadata, content; the large array's id, bytes
    assert parts[4] == large.tobytes() and len(parts[2]) < 1000
    inline = json.loads(parts[2])["events"][0]["data"]["entries"][0][1]["array"]["data"]
    assert np.array_equal(np.frombuffer(gzip.decompress(base64.b64decode(inline)), np.float32), small)


def test_rows_streamed_into_a_source_the_page_does_not_have_yet_go_once_with_the_source():
    layout = Column()
    doc = Document()
    doc.add_root(layout)
    doc.models.flush_synced()  # the page has the layout
    events = []
    doc.on_change(events.append)
    source = ColumnDataSource({"x": [0.0]})
    plot = figure()
    plot.line("x", "x", source=source)
    layout.children = [plot]  # the plot and its source join the document, new to the page
    source.stream({"x": [1.0, 2.0]})  # rows added before the push that brings the source
    parts = notebook_fragments(events)
    content = json.loads(parts[2])
    assert "ColumnsStreamed" not in {ev["kind"] for ev in content["events"]}
    assert '"ndarray"' not in parts[2] and "[0.0,1.0,2.0]" in parts[2].replace(" ", "")  # the rows, once

    source.stream({"x": [3.0]})  # the page has the source now: a stream travels as a stream
    events.clear()
    source.stream({"x": [4.0]})
    assert [ev["kind"] for ev in json.loads(notebook_fragments(events)[2])["events"]] == ["ColumnsStreamed"]
