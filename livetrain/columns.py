"""Columns for streamed Bokeh sources, so that a stream costs the same at any length."""
from __future__ import annotations

from typing import Any


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


def stream_columns(*names: str) -> dict[str, StreamColumn]:
    """Empty columns ``names`` for a streamed source.

    Example:
        >>> stream_columns("epoch", "loss")
        {'epoch': [], 'loss': []}
    """
    return {n: StreamColumn() for n in names}
