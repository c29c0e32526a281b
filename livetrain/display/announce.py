"""Announcements: how a page reloaded during a run gets the plot back, whatever the transport.

The page side is ``page.js``: it keeps each plot's whole document and draws it into every element
marked ``data-livetrain-plot="<plot id>"``, whenever such an element appears (the widget transport's
channel, in :mod:`livetrain.display.widget`, feeds the same page code).

- :class:`Announcer` serves pages reloaded during a run. Such a page can ask a busy kernel nothing (its
  requests wait until the cell ends, and so does the widget manager), but the kernel can still open comms
  to it. So about once a second, while the plot changes, the kernel opens a comm to the target
  ``"livetrain"`` with the whole document; the stored output's script registers that target in the
  reloaded page (through the kernel handle jupyter_bokeh gives it), and draws the plot from it. A page
  where the plot is live ignores announcements, unless one shows that the page missed an update (each
  carries the number of updates sent before it, and each data source's length): then it draws the announced
  state, and heals.
- The end of a run announces the final state once more, marked ``final``: every page not live takes it,
  whatever the pacing of the announcements before.
"""
from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from pathlib import Path

from bokeh.document import Document
from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
    DocumentChangedEvent,
    ModelChangedEvent,
)
from bokeh.model import Model
from bokeh.models import ColumnDataSource
from bokeh.util.serialization import make_id

from ..core.throttle import run_again
from ..wire import binary, document_json, patch_message
from .base import script_json

PAGE_JS = Path(__file__).with_name("page.js").read_text()


def listen_script(key: str, plot: str) -> str:
    """JavaScript for the output of plot ``plot`` whose id (in jupyter_bokeh's terms) is ``key``: register the
    page for announcements (see :class:`Announcer`).

    Example:
        >>> 'listen("p1", "livetrain-p2")' in listen_script("p1", "livetrain-p2")
        True
    """
    key, plot = script_json(json.dumps(key)), script_json(json.dumps(plot))
    return f"{PAGE_JS}\nglobalThis.__livetrain.listen({key}, {plot});\n"


def anchor(plot: str, inner: str = "") -> str:
    """The HTML of an element the page draws plot ``plot`` into; ``inner`` (HTML) shows until it is drawn.

    Example:
        >>> anchor("p1", "wait")
        '<div class="livetrain-plot" data-livetrain-plot="p1">wait</div>'
    """
    return f'<div class="livetrain-plot" data-livetrain-plot="{html.escape(plot)}">{inner}</div>'


def new_plot_id() -> str:
    """A fresh id for a plot's marked elements, channel and announcements."""
    return f"livetrain-{make_id()}"


class Announcer:
    """Announces plot ``plot`` (the whole ``doc``) to reloaded pages, at most every ``every`` seconds, and less
    often when an announcement takes longer (it gets at most ``budget`` of the time) or is larger (at most
    ``rate`` bytes a second).

    An announcement is the document's JSON, serialised once (Bokeh takes ~50 ms for a small layout; ``base``: that
    JSON, if the caller has just serialised it),
    plus one patch that brings it to the current state: each data source's whole data and the latest
    value of every other property changed since. So its cost grows only with the data. ``send(data, buffers)``
    delivers one (default: :func:`open_comm`, a comm to the page's ``livetrain`` target).

    Example:
        >>> from bokeh.plotting import figure
        >>> doc = Document(); doc.add_root(figure())
        >>> announcer = Announcer("p1", doc, every=0)
        >>> announcer.due()
        True
    """

    def __init__(self, plot: str, doc: Document, every: float = 1.0, budget: float = 0.02,
                 rate: float = 250e3, send: Callable[[dict, list[bytes] | None], None] | None = None,
                 base: str | None = None) -> None:
        self.plot, self.doc, self.every, self.budget, self.rate = plot, doc, every, budget, rate
        self.send = send or open_comm
        self._next = time.monotonic() + every
        self._base = base
        self._sources: dict[str, Model] = {}
        self._changed: dict[tuple[str, str], Model] = {}
        self._announced = True  # whether the last announcement holds the current state
        doc.on_change(self._record)

    def _record(self, event: DocumentChangedEvent) -> None:
        self._announced = False
        if isinstance(event, (ColumnsStreamedEvent, ColumnsPatchedEvent, ColumnDataChangedEvent)):
            self._sources[event.model.id] = event.model
        elif isinstance(event, ModelChangedEvent) and not holds_models(event.new):
            self._changed[event.model.id, event.attr] = event.model
        else:  # anything else (a root added, a panel added to a layout): serialise the document afresh next time
            self._base = None

    def due(self) -> bool:
        """Whether the next announcement is due."""
        return time.monotonic() >= self._next

    def after_push(self, seq: int) -> None:
        """From a view's push, after update ``seq``: announce the document if the next announcement is due; else, if
        it changed since the last one, have the view's throttle come back when it is due
        (:func:`~livetrain.core.throttle.run_again`), so that the last state of a burst is announced even if nothing
        changes after it."""
        if self.due():
            self.announce(seq)
        elif not self._announced:
            run_again(max(0.0, self._next - time.monotonic()))

    def pushed(self) -> None:
        """Tell the page that shows the plot now that pushes keep it current (it then ignores announcements)."""
        self.send({"plot": self.plot, "mode": "push"}, None)

    def announce(self, seq: int, final: bool = False) -> None:
        """Announce the document as it is after ``seq`` updates; ``final``: the state the run ends with, which
        every page not live takes."""
        if self._base is None:  # once: not counted in the budget
            self._base, self._sources, self._changed = document_json(self.doc), {}, {}
        start = time.monotonic()
        events = [ColumnDataChangedEvent(self.doc, m, "data", data=binary(m.data)) for m in self._sources.values()]
        events += [ModelChangedEvent(self.doc, m, attr, getattr(m, attr)) for (_, attr), m in self._changed.items()]
        content, ids, buffers = patch_message(events) if events else (None, [], [])
        self.send({"plot": self.plot, "seq": seq, "final": final, "rows": rows(self.doc), "doc": self._base,
                   "patch": content, "buffers": ids}, buffers)
        self._announced = True
        spent = time.monotonic() - start
        size = len(self._base) + len(content or "") + sum(map(len, buffers))
        self._next = time.monotonic() + max(self.every, spent / self.budget, size / self.rate)

    def close(self) -> None:
        """Stop recording the document's changes."""
        self.doc.remove_on_change(self._record)


def holds_models(value: object) -> bool:
    """Whether a property's new ``value`` is or lists Bokeh models: a patch would name them by id only, and a page
    whose document predates them could not resolve them.

    Example:
        >>> from bokeh.models import Div
        >>> holds_models([Div()]), holds_models("text")
        (True, False)
    """
    return isinstance(value, Model) or isinstance(value, (list, tuple)) and any(isinstance(v, Model) for v in value)


def rows(doc: Document) -> dict[str, int]:
    """The length of each data source of ``doc``, by id: what a live page checks its own against.

    Example:
        >>> doc = Document(); source = ColumnDataSource({"x": [1, 2]}); doc.add_root(source)
        >>> rows(doc) == {source.id: 2}
        True
    """
    return {s.id: len(next(iter(s.data.values()), ())) for s in doc.select({"type": ColumnDataSource})}


def open_comm(data: dict, buffers: list[bytes] | None) -> None:
    """Open (and close at once) a comm to the page's ``livetrain`` target, carrying ``data`` and ``buffers``."""
    from comm import create_comm

    create_comm(target_name="livetrain", data=data, buffers=buffers).close()
