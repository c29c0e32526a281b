"""Bokeh's wire format, as livetrain sends it: a document's JSON, and its changes as one ``PATCH-DOC``.

The notebook transports, the announcements for reloaded pages and the browser frames all speak it, so it
sits below them: it imports only Bokeh and numpy.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.io import doc as bokeh_doc
from bokeh.protocol import Protocol


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
