"""The widget transport: a plot drawn and updated through livetrain's widget channel (anywidget).

For frontends where ``push_notebook`` does not arrive (VS Code, Colab, JupyterLab or Notebook 7
without jupyter_bokeh). Unlike jupyter_bokeh's ``BokehModel`` it has neither of its two races:
the page keeps the whole document, so a view that appears late starts from the current state, and
each update is one message, so no view can start in the middle of one.
"""
from __future__ import annotations

import sys

from bokeh.document import Document
from bokeh.model import Model
from bokeh.util.serialization import make_id

from .notebook import ensure_bokehjs, final_output, publish_plot

WAITING = ("<i>livetrain: waiting for the widget channel. If this stays, the page lacks anywidget's or "
           "ipywidgets' extension: run <code>livetrain.doctor()</code>.</i>")


class WidgetOutput:
    """One layout in one output, drawn and updated by the page from a :class:`~livetrain.channel.Channel`.

    The channel stays open after the run with the final state, so a page reloaded during the run gets the
    plot back once the kernel is idle; with jupyter_bokeh's extension there, announcements bring it back
    during the run too.

    Example, in a notebook::

        out = WidgetOutput()
        out.show(fig)
        src.stream({"x": [1], "y": [2.0]})
        out.push()
        out.finish()
    """

    def __init__(self) -> None:
        self._doc: Document | None = None
        self._events: list = []
        self._channel = self._announcer = None
        self._seq = 0
        self._ids = ("", "")

    def show(self, layout: Model) -> None:
        """Display ``layout`` in the current cell: an element the page draws the plot into."""
        from .channel import Announcer, Channel, anchor, document_json, listen_script, new_plot_id
        from .transport import jupyter_bokeh

        self.close()
        if layout.document is not None:
            layout.document.remove_root(layout)
        if "google.colab" in sys.modules:  # Colab draws third-party widgets only with its custom manager
            from google.colab import output

            output.enable_custom_widget_manager()
        ensure_bokehjs()
        self._doc = Document()
        self._doc.add_root(layout)
        self._doc.on_change(self._events.append)
        self._seq, plot = 0, new_plot_id()
        self._channel = Channel(plot=plot, seq=0, doc=document_json(self._doc))
        self._ids = (f"livetrain-{make_id()}", f"livetrain-{make_id()}")
        publish_plot(self._ids, plot, anchor(plot, WAITING), listen_script(plot, plot))
        # announcements reach a reloaded page only through jupyter_bokeh's kernel handle
        self._announcer = Announcer(plot, self._doc) if jupyter_bokeh()[1] else None

    def push(self) -> None:
        """Send the changes made since the last push as one message; about once a second, announce the whole
        plot for pages reloaded since."""
        from .channel import send_patch

        if self._channel is None:
            return
        if self._events:
            events, self._events[:] = list(self._events), []
            self._seq += 1
            send_patch(self._channel, events, self._seq)
        if self._announcer is not None and self._announcer.due():
            self._announcer.announce(self._seq)

    def finish(self) -> None:
        """Send what is pending; leave the final state in the channel (a page reloaded during the run gets it
        when the kernel is idle again) and in the output (see :func:`~livetrain.notebook.final_output`)."""
        from .channel import document_json

        if self._channel is None:
            return
        self.push()
        if self._announcer is not None:
            self._announcer.announce(self._seq)
            self._announcer.close()
        with self._channel.hold_sync():
            self._channel.doc, self._channel.seq = document_json(self._doc), self._seq
        publish_plot(self._ids, self._channel.plot, *final_output(self._doc.roots[0]), update=True)
        self._announcer = None

    def close(self) -> None:
        """Close the channel: the page keeps what it drew."""
        if self._announcer is not None:
            self._announcer.close()
            self._announcer = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._doc.remove_on_change(self._events.append)

