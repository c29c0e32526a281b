"""Streams and patches in place: the page gets exactly the events Bokeh's own ``stream`` and ``patch`` send, and the
columns end the same; a source they cannot serve in place goes through Bokeh."""
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from livetrain.views.columns import StreamColumn, grow, patch_rows, refill, stream_columns


def shown(columns: dict) -> tuple[ColumnDataSource, Document, list]:
    """A source drawn in a document, and the list of the document's change events."""
    source, doc, events = ColumnDataSource(columns), Document(), []
    plot = figure()
    plot.line("x", "y", source=source)
    doc.add_root(plot)
    doc.on_change(events.append)
    return source, doc, events


def wire(events: list) -> list:
    """The events as the page gets them: their JSON, with the source named by a stand-in for its id."""
    out = []
    for event in events:
        out.append(str(event.to_serializable(Serializer())).replace(event.model.id, "SOURCE"))
    return out


def test_grow_patch_rows_and_refill_send_what_bokehs_stream_patch_and_data_send():
    ours, _, ours_events = shown(stream_columns("x", "y"))
    bokehs, _, bokehs_events = shown(stream_columns("x", "y"))
    for new in ({"x": [1.0, 2.0], "y": [0.5, 0.25]}, {"x": [3.0], "y": [float("nan")]}):
        grow(ours, new)
        bokehs.stream(new)
    patches = {"x": [(2, 3.5)], "y": [(0, 0.75), (2, 0.125)]}
    patch_rows(ours, patches)
    bokehs.patch(patches)
    assert [type(e).__name__ for e in ours_events] == ["ColumnsStreamedEvent"] * 2 + ["ColumnsPatchedEvent"]
    assert wire(ours_events) == wire(bokehs_events)
    assert dict(ours.data) == dict(bokehs.data) == {"x": [1.0, 2.0, 3.5], "y": [0.75, 0.25, 0.125]}
    refill(ours, {"x": [0.0, 9.0], "y": [1.0, 2.0]})  # the buckets doubled: the page gets the whole copy again
    bokehs.data = {"x": StreamColumn([0.0, 9.0]), "y": StreamColumn([1.0, 2.0])}
    assert type(ours_events[-1]).__name__ == "ColumnDataChangedEvent"
    assert wire(ours_events) == wire(bokehs_events) and dict(ours.data) == dict(bokehs.data)
    assert all(type(c) is StreamColumn for c in ours.data.values())  # still compared in O(1) by the next stream


def test_a_held_document_collects_the_events_and_sends_them_when_released():
    source, doc, events = shown(stream_columns("x", "y"))
    doc.hold("collect")
    grow(source, {"x": [1], "y": [2]})
    patch_rows(source, {"y": [(0, 3)]})
    assert events == []
    doc.unhold()
    assert [type(e).__name__ for e in events] == ["ColumnsStreamedEvent", "ColumnsPatchedEvent"]


def test_a_source_they_cannot_serve_in_place_goes_through_bokeh():
    listened = []
    source, _, events = shown({"x": StreamColumn([1]), "y": StreamColumn([2])})
    source.on_change("data", lambda attr, old, new: listened.append(attr))  # a Python callback: Bokeh's own path
    grow(source, {"x": [2], "y": [3]})
    patch_rows(source, {"y": [(0, 5)]})
    assert listened == ["data", "data"] and dict(source.data) == {"x": [1, 2], "y": [5, 3]}
    plain, _, plain_events = shown({"x": [1], "y": [2]})  # plain lists
    grow(plain, {"x": [2], "y": [3]})
    assert dict(plain.data) == {"x": [1, 2], "y": [2, 3]} and len(plain_events) == 1
    alone = ColumnDataSource(stream_columns("x", "y"))  # in no document: the columns still grow
    grow(alone, {"x": [1], "y": [2]})
    patch_rows(alone, {"y": [(0, 4)]})
    assert dict(alone.data) == {"x": [1], "y": [4]}
