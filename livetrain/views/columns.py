"""Sources that grow in place: columns that Bokeh compares in O(1) (:class:`StreamColumn`), and streams, patches and
refills of them that cost a tenth of ``ColumnDataSource.stream``, ``.patch`` and ``.data = ...`` (:func:`grow`,
:func:`patch_rows`, :func:`refill`): the columns change in place and the document gets the same events, without
Bokeh re-validating the whole ``data`` property, item by item (most of a push's CPU, measured in
``benchmarks/bench_adapters.py``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bokeh.document.events import ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent
from bokeh.models import ColumnDataSource


class StreamColumn(list):
    """A ``list`` that compares equal to itself without walking its items.

    On every ``ColumnDataSource.stream``, Bokeh compares each column before and after the
    change (``Property.matches``, plain ``==``). For lists that walks every item, so a
    stream's cost grows with the history. After a stream both sides are this same object,
    and identity settles it in O(1).

    Example:
        >>> from bokeh.models import ColumnDataSource
        >>> src = ColumnDataSource({"x": StreamColumn()})
        >>> src.stream({"x": [1, 2]}); type(src.data["x"]).__name__, src.data["x"]
        ('StreamColumn', [1, 2])
    """

    __slots__ = ()

    def __eq__(self, other: Any) -> bool:
        return self is other or list.__eq__(self, other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like list


def stream_columns(*columns: str) -> dict[str, StreamColumn]:
    """Empty columns for a streamed source.

    Example:
        >>> stream_columns("epoch", "loss")
        {'epoch': [], 'loss': []}
    """
    return {n: StreamColumn() for n in columns}


def stream_rows(source: ColumnDataSource, rows: list[tuple[Any, ...]], count: int | None = None) -> None:
    """Stream the first ``count`` of ``rows`` (default: all; one value per column of ``source``, in its order) and
    take them out of ``rows``, all or nothing: whatever stops it, even a ``KeyboardInterrupt``, the columns keep one
    length, and the rows not streamed stay in ``rows`` for the next call. Rows appended to ``rows`` meanwhile (by
    another thread) stay there.

    Example:
        >>> src, rows = ColumnDataSource(stream_columns("x", "y0")), [(1, 0.5), (2, 0.25)]
        >>> stream_rows(src, rows); src.data, rows
        ({'x': [1, 2], 'y0': [0.5, 0.25]}, [])
    """
    n, names = len(rows) if count is None else count, list(source.data)
    if not n:
        return
    before = len(source.data[names[0]])
    try:
        grow(source, {name: list(column) for name, column in zip(names, zip(*rows[:n]))})
        del rows[:n]
    except BaseException:
        if {len(column) for column in source.data.values()} == {before + n}:
            del rows[:n]  # streamed, only what followed was cut short (the caller holds the lock: no row came since)
        else:
            for column in source.data.values():
                del column[before:]
        raise


def _in_place(source: ColumnDataSource, names: Any) -> bool:
    """Whether ``source`` can change in place: every named column is one of its :class:`StreamColumn` columns, and
    no Python callback listens to its ``data`` (those need Bokeh's own path)."""
    data = source.data
    return (not source._callbacks.get("data")  # Bokeh's Python on_change callbacks, by attribute
            and all(type(data.get(name)) is StreamColumn for name in names))


def grow(source: ColumnDataSource, new: Mapping[str, list]) -> None:
    """``source.stream(new)`` for columns of equal length: the same result and the same event to the page, at a tenth
    of the cost where ``source``'s columns are :class:`StreamColumn` (elsewhere it is ``source.stream``).

    Example:
        >>> src = ColumnDataSource({"x": StreamColumn([1]), "y": StreamColumn([0.5])})
        >>> grow(src, {"x": [2], "y": [0.25]}); src.data
        {'x': [1, 2], 'y': [0.5, 0.25]}
    """
    if not _in_place(source, new) or len(new) != len(source.data):
        source.stream(new)
        return
    data = source.data
    for name, values in new.items():
        data[name].extend(values)
    doc = source.document
    if doc is not None:
        doc.callbacks.trigger_on_change(ColumnsStreamedEvent(doc, source, "data", dict(new)))


def patch_rows(source: ColumnDataSource, patches: Mapping[str, Sequence[tuple[int, Any]]]) -> None:
    """``source.patch(patches)`` for patches of single rows (``column -> [(index, value), ...]``): the same result and
    the same event to the page, at a tenth of the cost where ``source``'s columns are :class:`StreamColumn`.

    Example:
        >>> src = ColumnDataSource({"y": StreamColumn([1.0, 2.0])})
        >>> patch_rows(src, {"y": [(1, 3.0)]}); src.data
        {'y': [1.0, 3.0]}
    """
    if not _in_place(source, patches):
        source.patch(patches)
        return
    data = source.data
    for name, changes in patches.items():
        column = data[name]
        for index, value in changes:
            column[index] = value
    doc = source.document
    if doc is not None:
        event = ColumnsPatchedEvent(doc, source, "data", {name: list(changes) for name, changes in patches.items()})
        doc.callbacks.trigger_on_change(event)


def refill(source: ColumnDataSource, columns: Mapping[str, list]) -> None:
    """``source.data = columns`` where ``columns`` names the same columns: the same result and the same event to the
    page (the whole data again), at a fraction of the cost where ``source``'s columns are :class:`StreamColumn`.

    Example:
        >>> src = ColumnDataSource(stream_columns("x"))
        >>> refill(src, {"x": [1, 2]}); src.data, type(src.data["x"]).__name__
        ({'x': [1, 2]}, 'StreamColumn')
    """
    if not _in_place(source, columns) or len(columns) != len(source.data):
        source.data = {name: StreamColumn(values) for name, values in columns.items()}
        return
    data = source.data
    for name, values in columns.items():
        data[name][:] = values
    doc = source.document
    if doc is not None:
        doc.callbacks.trigger_on_change(ColumnDataChangedEvent(doc, source, "data"))
