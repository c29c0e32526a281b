"""Showing a Bokeh layout in a notebook cell and pushing its changes over the cell's own comm handle."""
from __future__ import annotations

import base64
import importlib.util
import io

from bokeh.document import Document
from bokeh.embed.notebook import notebook_content
from bokeh.io.notebook import (EXEC_MIME_TYPE, HTML_MIME_TYPE, JS_MIME_TYPE, CommsHandle, get_comms, load_notebook,
                               push_notebook)
from bokeh.io.state import State, curstate
from bokeh.model import Model
from bokeh.protocol import Protocol
from bokeh.resources import Resources
from bokeh.util.serialization import make_id
from IPython.display import publish_display_data

_bokehjs_loaded = False


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (as opposed to a script or a terminal IPython).

    Example:
        >>> in_kernel()
        False
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def resources() -> Resources:
    """Where BokehJS comes from: Bokeh's own ``BOKEH_RESOURCES`` setting (``cdn`` by default, ``inline`` offline).

    Example:
        >>> resources().mode in ("cdn", "inline", "server", "relative", "absolute")
        True
    """
    return Resources()


def ensure_bokehjs() -> None:
    """Load BokehJS into the page once per kernel, unless ``bokeh.io.output_notebook()`` already did."""
    global _bokehjs_loaded
    if not (_bokehjs_loaded or curstate().notebook):
        load_notebook(resources(), hide_banner=True)
    _bokehjs_loaded = True


class NotebookPush:
    """One layout in one output, updated by ``push_notebook`` on this object's own handle.

    Each :meth:`show` gives the layout a fresh private document and handle, so a re-displayed
    view stops feeding the old output and nothing piles up on abandoned handles. The output is
    published with display ids, so :meth:`finish` can replace it with the final state: what a saved
    notebook, a reloaded page or ``nbconvert`` then shows.

    Example, in a notebook::

        out = NotebookPush()
        out.show(fig)
        src.stream({"x": [1], "y": [2.0]})
        out.push()
        out.finish()
    """

    def __init__(self) -> None:
        self._state: State | None = None
        self._handle: CommsHandle | None = None
        self._ids: tuple[str, str] = ("", "")
        self._announcer = None
        self._pushes = 0

    def show(self, layout: Model) -> None:
        """Display ``layout`` in the current cell, with a comm handle for later pushes.

        The two outputs are those of Bokeh's ``show(..., notebook_handle=True)`` (the div, then the
        script), each with a display id of its own. The div is marked with a plot id, and the script
        also registers the page for announcements: a page reloaded during the run gets the whole plot
        from them (see :mod:`livetrain.channel`).
        """
        from .channel import Announcer, anchor, listen_script, new_plot_id

        self.close()
        if layout.document is not None:
            layout.document.remove_root(layout)
        ensure_bokehjs()
        self._state = State()
        self._state.document.add_root(layout)
        target, plot = make_id(), new_plot_id()
        script, div, cell_doc = notebook_content(layout, target)
        self._ids = (f"livetrain-{make_id()}", f"livetrain-{make_id()}")
        publish_plot(self._ids, layout.id, anchor(plot, div), script + listen_script(layout.id, plot))
        self._handle = CommsHandle(get_comms(target), cell_doc)
        self._state.document.callbacks.on_change_dispatch_to(self._handle)
        self._announcer = Announcer(plot, self._state.document)
        self._announcer.pushed()
        self._pushes = 0

    def push(self) -> None:
        """Send the changes made since the last push, as one PATCH-DOC; about once a second, announce the
        whole plot for pages reloaded since."""
        if self._handle is not None:
            push_notebook(handle=self._handle)
            self._pushes += 1
            if self._announcer.due():
                self._announcer.announce(self._pushes)

    def finish(self) -> None:
        """Replace the output with the layout's final state (see :func:`final_output`), and announce it to
        pages reloaded during the run."""
        if self._handle is None:
            return
        layout = self._state.document.roots[0]
        self._announcer.announce(self._pushes + 1)
        publish_plot(self._ids, layout.id, *final_output(layout), update=True)
        self.close()

    def close(self) -> None:
        """Stop updating the output: later pushes do nothing; the page keeps what it shows."""
        if self._handle is not None:
            self._announcer.close()
            self._handle = None


def publish_plot(ids: tuple[str, str], key: str, div: str, script: str, update: bool = False) -> None:
    """Publish (or with ``update``, replace) a plot as Bokeh's two notebook outputs, the div then the script,
    under display ids ``ids``; ``key`` is the script's id for jupyter_bokeh."""
    publish_display_data({HTML_MIME_TYPE: div}, transient={"display_id": ids[0]}, update=update)
    publish_display_data({JS_MIME_TYPE: script, EXEC_MIME_TYPE: ""}, metadata={EXEC_MIME_TYPE: {"id": key}},
                         transient={"display_id": ids[1]}, update=update)


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


def final_output(layout: Model) -> tuple[str, str]:
    """``layout`` standalone (no comm) as a notebook output's div and script, plus a PNG of it inside the div
    for renderers without JavaScript; the script removes the PNG where it runs.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> div, script = final_output(LinePlotsCallback().graph)
        >>> "data-root-id" in div and "embed_items_notebook" in script
        True
    """
    script, div, _ = notebook_content(layout)
    png = picture(layout)
    if png is not None:
        marker = f"livetrain-final-{make_id()}"
        div += (f'<img class="{marker}" alt="the plot at the end of the run" '
                f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')
        script += f'\ndocument.querySelectorAll("img.{marker}").forEach(img => img.remove());\n'
    return div, script


def picture(layout: Model) -> bytes | None:
    """A PNG of ``layout`` as it is now, drawn by matplotlib (quick, no browser), else by Chromium on a copy
    of its document; ``None`` when neither is installed.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> png = picture(LinePlotsCallback().graph)
        >>> png is None or png.startswith(b"\\x89PNG")
        True
    """
    try:
        from .mpl_frames import MatplotlibRenderer

        drawer = MatplotlibRenderer(layout)
    except ImportError:
        from .browser_frames import BrowserRenderer, find_chromium

        if find_chromium() is None or importlib.util.find_spec("playwright") is None:
            return None
        copy = Document.from_json(layout.document.to_json(deferred=False)) if layout.document else None
        drawer = BrowserRenderer(copy.roots[0] if copy else layout)
    try:
        frame = drawer.capture()
    finally:
        drawer.close()
    if isinstance(frame, bytes):
        return frame
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()
