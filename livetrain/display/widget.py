"""The ``widget`` transport: a plot drawn and updated through livetrain's widget channel (anywidget).

For frontends where ``push_notebook`` does not arrive (VS Code, Colab, JupyterLab or Notebook 7
without jupyter_bokeh). Unlike jupyter_bokeh's ``BokehModel`` it has neither of its two races:
the page keeps the whole document, so a view that appears late starts from the current state, and
each update is one message, so no view can start in the middle of one.
"""
from __future__ import annotations

import sys

import anywidget
import traitlets
from bokeh.document import Document
from bokeh.model import Model

from ..wire import document_json, patch_message
from .announce import PAGE_JS, Announcer, anchor, listen_script, new_plot_id
from .base import Output, Pace, display_ids, ensure_bokehjs, final_output, own_document, publish_plot
from .env import jupyter_bokeh

WAITING = ("<i>livetrain: waiting for the widget channel. If this stays, the page lacks anywidget's or "
           "ipywidgets' extension: run <code>livetrain.doctor()</code>.</i>")


class Channel(anywidget.AnyWidget):
    """A plot's widget channel: ``doc`` is its document after ``seq`` updates; updates follow as custom messages
    (see :func:`send_patch`). Never displayed itself: the page draws the plot into the output's marked element."""

    _esm = PAGE_JS + "\nexport default {initialize({model}) { globalThis.__livetrain.widget(model); }};\n"
    plot = traitlets.Unicode().tag(sync=True)
    seq = traitlets.Int(0).tag(sync=True)
    doc = traitlets.Unicode("").tag(sync=True)


def send_patch(channel: Channel, events: list, seq: int) -> None:
    """Send ``events`` (Bokeh document changes) as update number ``seq``: one message holding the
    PATCH-DOC's JSON and its buffers."""
    content, ids, buffers = patch_message(events)
    channel.send({"seq": seq, "buffers": ids}, [content.encode(), *buffers])


class WidgetOutput(Output):
    """One layout in one output, drawn and updated by the page from a :class:`Channel`.

    The channel stays open after the run with the final state, so a page reloaded during the run gets the
    plot back once the kernel is idle; with jupyter_bokeh's extension there, announcements bring it back
    during the run too. Updates keep a hard minimum time between them (:class:`~livetrain.display.base.Pace`);
    a page that lost one (to the server's rate limit) waits for the next full state: an announcement, or the
    channel's state at the end of the run.

    Chosen for the views created after ``livetrain.set_transport("widget")``; used as any
    :class:`~livetrain.display.base.Output` is.
    """

    def __init__(self, name: str = "plot") -> None:
        super().__init__(name)
        self._doc: Document | None = None
        self._events: list = []
        self._channel: Channel | None = None
        self._announcer: Announcer | None = None
        self._pace = Pace()
        self._seq = 0
        self._ids = ("", "")

    def show(self, layout: Model) -> None:
        """Display ``layout`` in the current cell: an element the page draws the plot into."""
        self.close()
        if "google.colab" in sys.modules:  # Colab draws third-party widgets only with its custom manager
            from google.colab import output

            output.enable_custom_widget_manager()
        self._doc = own_document(layout)
        ensure_bokehjs()
        self._doc.on_change(self._events.append)
        self._seq, plot = 0, new_plot_id()
        self._channel = Channel(plot=plot, seq=0, doc=document_json(self._doc))
        self._doc.models.flush_synced()  # the page has every model now: a later change names them, not resends them
        self._ids = display_ids()
        publish_plot(self._ids, plot, anchor(plot, WAITING), listen_script(plot, plot))
        # announcements reach a reloaded page only through jupyter_bokeh's kernel handle
        self._announcer = Announcer(plot, self._doc, base=self._channel.doc) if jupyter_bokeh()[1] else None

    def _send(self) -> None:
        """Send the changes made since the last update, if any, as one message."""
        if self._channel is not None and self._events:
            events, self._events[:] = list(self._events), []
            self._seq += 1
            send_patch(self._channel, events, self._seq)
            self._pace.sent()

    def push(self) -> None:
        """Send the changes made since the last push as one message (or, sooner than the pace allows after the
        last, when the view's throttle asks again); about once a second, announce the whole plot for pages
        reloaded since, or that lost a message."""
        if self._channel is None or not self._pace.ready():
            return
        self._send()
        if self._announcer is not None:
            self._announcer.after_push(self._seq)

    def finish(self) -> None:
        """Send what is pending; leave the final state in the channel (a page reloaded during the run gets it
        when the kernel is idle again) and in the output (see :func:`~livetrain.display.base.final_output`)."""
        if self._channel is None or self._doc is None:
            return
        self._send()
        if self._announcer is not None:
            self._announcer.announce(self._seq, final=True)
            self._announcer.close()
        with self._channel.hold_sync():
            self._channel.doc, self._channel.seq = document_json(self._doc), self._seq
        publish_plot(self._ids, self._channel.plot, *final_output(self._doc.roots[0], self.scale), update=True)
        self._announcer = None

    def close(self) -> None:
        """Close the channel: the page keeps what it drew."""
        if self._announcer is not None:
            self._announcer.close()
            self._announcer = None
        if self._channel is not None and self._doc is not None:
            self._channel.close()
            self._channel = None
            self._doc.remove_on_change(self._events.append)
