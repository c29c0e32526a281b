"""The notebook push's wire: small arrays inside the PATCH-DOC's JSON (gzip, base64: what BokehJS decodes; the
browser tests watch the page apply them), large ones as buffers apart."""
import base64
import gzip
import json

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource

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
