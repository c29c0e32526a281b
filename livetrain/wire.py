"""Bokeh's wire format, as livetrain sends it: a document's JSON, and its changes as one ``PATCH-DOC``.

The notebook transports, the announcements for reloaded pages and the browser frames all speak it, so it
sits below them: it imports only Bokeh and numpy.
"""
from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from bokeh.core.json_encoder import serialize_json
from bokeh.core.serialization import Buffer, Serializer
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent
from bokeh.io import doc as bokeh_doc
from bokeh.protocol import Protocol
from bokeh.protocol.messages.patch_doc import PatchJson, patch_doc

#: Arrays up to this many bytes travel inside a push's JSON, base64 (BokehJS reads them as it reads buffers): each
#: buffer apart costs two comm messages, about 0.15 ms each in a kernel, more than the base64's third more bytes.
INLINE_MOST = 16_384
_COLUMN_EVENTS = (ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent)


def patch_message(events: list) -> tuple[str, list[str], list[bytes]]:
    """Bokeh document change ``events`` as one PATCH-DOC: its content JSON, its buffers' ids and their bytes.

    Example:
        >>> from bokeh.models import ColumnDataSource
        >>> from bokeh.document.events import ColumnsStreamedEvent
        >>> source = ColumnDataSource({"x": [1]}); doc = Document(); doc.add_root(source)
        >>> content, ids, buffers = patch_message([ColumnsStreamedEvent(doc, source, "data", {"x": [2]}, None)])
        >>> '"ColumnsStreamed"' in content, ids, buffers
        (True, [], [])
    """
    msg = Protocol().create("PATCH-DOC", events)
    return msg.content_json, [b.id for b in msg.buffers], [b.to_bytes() for b in msg.buffers]


def notebook_fragments(events: list, inline_most: int = INLINE_MOST) -> list[str | bytes]:
    """Bokeh document change ``events`` as one PATCH-DOC in the comm messages BokehJS's notebook receiver reads,
    as ``push_notebook`` sends them: header, metadata, content, then each buffer's id and bytes. Arrays of at most
    ``inline_most`` bytes are in the content (gzip-stored, base64, as BokehJS decodes them), so a push of many
    small columns is three messages, not two more per column. Data changes of a model the page does not have yet
    are left out: the model goes with its data as it is now, and they would add their rows to it a second time.
    No events to send: no messages.

    Example:
        >>> from bokeh.models import ColumnDataSource
        >>> from bokeh.document.events import ColumnDataChangedEvent
        >>> source = ColumnDataSource({"x": np.arange(3.0)}); doc = Document(); doc.add_root(source)
        >>> doc.models.flush_synced(); source.data = {"x": np.arange(3.0)}
        >>> parts = notebook_fragments([ColumnDataChangedEvent(doc, source, "data", source.data)])
        >>> len(parts), '"num_buffers": 0' in parts[0], '"type":"bytes","data":"' in parts[2]
        (3, True, True)
    """
    (doc,) = {event.document for event in events}
    synced = doc.models.synced_references
    events = [e for e in events if not (isinstance(e, _COLUMN_EVENTS) and e.model not in synced)]  # see below
    if not events:
        return []
    serializer = Serializer(references=synced)
    encoded = serializer.encode(events)
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    small = {b.id for b in serializer.buffers if memoryview(b.data).nbytes <= inline_most}
    msg = patch_doc(patch_doc.create_header(), {}, PatchJson(events=_inlined(encoded, small) if small else encoded))
    msg.add_buffers(*(b for b in serializer.buffers if b.id not in small))
    parts: list[str | bytes] = [msg.header_json, msg.metadata_json, msg.content_json]
    for buffer in msg.buffers:
        parts += [serialize_json(buffer.ref), buffer.to_bytes()]
    return parts


def _inlined(rep: Any, small: set[str]) -> Any:
    """``rep`` with each buffer whose id is in ``small`` replaced by its bytes as base64 text (gzip, stored: BokehJS
    gunzips inline bytes)."""
    if isinstance(rep, Buffer):
        return base64.b64encode(gzip.compress(rep.to_bytes(), compresslevel=0, mtime=1)).decode() \
            if rep.id in small else rep
    if isinstance(rep, dict):
        return {k: _inlined(v, small) for k, v in rep.items()}
    if isinstance(rep, (list, tuple)):
        return [_inlined(v, small) for v in rep]
    return rep


def document_json(doc: Document) -> str:
    """``doc`` as JSON, arrays inline: what ``Document.from_json`` takes in the page.

    Example:
        >>> from bokeh.models import ColumnDataSource
        >>> doc = Document(); doc.add_root(ColumnDataSource({"x": [1]}))
        >>> '"roots"' in document_json(doc)
        True
    """
    return serialize_json(doc.to_json(deferred=False))


def binary(data: dict) -> dict:
    """A source's columns, numeric lists as arrays: Bokeh sends those as binary buffers, ~20× faster than JSON.

    Example:
        >>> binary({"x": [1.0, 2.0], "label": ["a", "b"]})["x"].dtype.kind, binary({"label": ["a"]})["label"]
        ('f', ['a'])
    """
    out = {}
    for key, column in data.items():
        array = np.asarray(column) if isinstance(column, list) else column
        out[key] = array if isinstance(array, np.ndarray) and array.dtype.kind in "fiub" else column
    return out


@contextmanager
def curdocs_kept() -> Iterator[None]:
    """Around a change to Bokeh models: if it is cut short (a Ctrl-C), take off Bokeh's ``curdoc()`` stack what
    the change left there.

    Bokeh pushes a document on that stack while it runs the document's callbacks and pops it only if they
    return. One left behind is what ``curdoc()`` then returns, in the user's own Bokeh code too, and once that
    document is collected, ``file_html``, ``export_png`` and ``show`` fail with "Patched curdoc has been
    previously destroyed".

    Example:
        >>> with curdocs_kept():
        ...     pass
    """
    depth = len(bokeh_doc._PATCHED_CURDOCS)
    try:
        yield
    except BaseException:
        del bokeh_doc._PATCHED_CURDOCS[depth:]
        raise


def forget_dead_curdocs() -> None:
    """Drop the documents Bokeh's ``curdoc()`` stack still names after they are gone.

    A Ctrl-C inside a document's callbacks outside :func:`curdocs_kept` (in the user's own Bokeh code) leaves
    the document there; once it is collected, every later ``notebook_content`` and ``file_html`` fails. Call
    this before them.

    Example:
        >>> forget_dead_curdocs()
    """
    bokeh_doc._PATCHED_CURDOCS[:] = [ref for ref in bokeh_doc._PATCHED_CURDOCS if ref() is not None]
