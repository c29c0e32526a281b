"""The ``push`` transport: a layout shown in a notebook cell, its changes pushed over the cell's own comm handle."""
from __future__ import annotations

from bokeh.document import Document
from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
    DocumentChangedEvent,
    ModelChangedEvent,
)
from bokeh.io.notebook import CommsHandle, get_comms
from bokeh.model import Model
from bokeh.util.serialization import make_id

from ..wire import forget_dead_curdocs, notebook_fragments
from .announce import Announcer, anchor, listen_script, new_plot_id
from .base import (
    Output,
    Pace,
    display_ids,
    ensure_bokehjs,
    final_output,
    notebook_parts,
    own_document,
    publish_plot,
)

PUSHED = (ColumnsStreamedEvent, ColumnsPatchedEvent, ColumnDataChangedEvent, ModelChangedEvent)  # what a push sends


class _Handle(CommsHandle):
    """Bokeh's comm handle, holding every change of the plot's own document for the next push, also those of models
    added after the plot was shown (a panel for a new tag): Bokeh's own drops them, as not in its copy of the
    document, so the page would never get their data."""

    def _document_model_changed(self, event: DocumentChangedEvent) -> None:
        self.doc.callbacks.trigger_on_change(event)

    _column_data_changed = _columns_streamed = _columns_patched = _document_model_changed


class NotebookPush(Output):
    """One layout in one output, updated by ``push_notebook`` on this object's own handle.

    Each :meth:`show` gives the layout a fresh private document and handle, so a re-displayed
    view stops feeding the old output and nothing piles up on abandoned handles. The output is
    published with display ids, so :meth:`finish` can replace it with the final state: what a saved
    notebook, a reloaded page or ``nbconvert`` then shows.

    Pushes keep a hard minimum time between them (:class:`~livetrain.display.base.Pace`). Each announcement
    says how many pushes were sent before it, so a page that lost one (to the server's rate limit) draws the
    announced state instead, and follows the announcements from then on.

    Chosen for the views created after ``livetrain.set_transport("push")``; used as any
    :class:`~livetrain.display.base.Output` is.
    """

    def __init__(self, name: str = "plot") -> None:
        super().__init__(name)
        self._doc: Document | None = None
        self._handle: CommsHandle | None = None
        self._ids: tuple[str, str] = ("", "")
        self._announcer: Announcer | None = None
        self._pace = Pace()
        self._pushes = 0
        self._unsent = False

    def show(self, layout: Model) -> None:
        """Display ``layout`` in the current cell, with a comm handle for later pushes.

        The two outputs are those of Bokeh's ``show(..., notebook_handle=True)`` (the div, then the
        script), each with a display id of its own. The div is marked with a plot id, and the script
        also registers the page for announcements: a page reloaded during the run gets the whole plot
        from them (see :mod:`livetrain.display.announce`).
        """
        self.close()
        self._doc = own_document(layout)
        ensure_bokehjs()
        target, plot = make_id(), new_plot_id()
        forget_dead_curdocs()  # a Ctrl-C in an earlier push may have left one
        script, div, doc_json = notebook_parts(self._doc, target)
        self._ids = display_ids()
        publish_plot(self._ids, layout.id, anchor(plot, div), script + listen_script(layout.id, plot))
        self._handle = _Handle(get_comms(target), Document())  # it holds the changes of self._doc until pushed
        self._doc.models.flush_synced()  # the page has every model now: a later change names them, not resends them
        self._doc.callbacks.on_change_dispatch_to(self._handle)
        self._doc.on_change(self._changed)
        self._announcer = Announcer(plot, self._doc, base=doc_json)
        self._announcer.pushed()
        self._pushes, self._unsent = 0, False

    def _changed(self, event: DocumentChangedEvent) -> None:
        self._unsent = self._unsent or isinstance(event, PUSHED)

    def _send(self) -> None:
        """Push the changes made since the last push, if any, as one PATCH-DOC."""
        if self._handle is not None and self._unsent:
            callbacks = self._handle.doc.callbacks
            events, callbacks._held_events = list(callbacks._held_events), []  # as push_notebook takes them
            if events:  # parts: none when every event was about models the page gets whole
                for part in notebook_fragments(events):
                    self._handle.comms.send(part) if isinstance(part, str) else self._handle.comms.send(buffers=[part])
            self._pushes, self._unsent = self._pushes + 1, False
            self._pace.sent()

    def push(self) -> None:
        """Send the changes made since the last push, as one PATCH-DOC (or, sooner than the pace allows after
        the last, when the view's throttle asks again); about once a second, announce the whole plot for pages
        reloaded since, or that lost a push (the last state of a burst too, a second later at most)."""
        if self._handle is None or self._announcer is None or not self._pace.ready():
            return
        self._send()
        self._announcer.after_push(self._pushes)

    def finish(self) -> None:
        """Replace the output with the layout's final state (see :func:`~livetrain.display.base.final_output`),
        and announce it to pages reloaded during the run."""
        if self._handle is None or self._announcer is None or self._doc is None:
            return
        layout = self._doc.roots[0]
        self._send()
        self._announcer.announce(self._pushes, final=True)
        publish_plot(self._ids, layout.id, *final_output(layout, self.scale), update=True)
        self.close()

    def close(self) -> None:
        """Stop updating the output: later pushes do nothing; the page keeps what it shows."""
        if self._announcer is not None:
            self._announcer.close()
        if self._handle is not None and self._doc is not None:
            self._doc.remove_on_change(self._changed)
        self._handle = self._announcer = None
