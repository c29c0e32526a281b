"""Showing a Bokeh layout in a notebook cell and pushing its changes over the cell's own comm handle."""
from __future__ import annotations

from bokeh.io.notebook import CommsHandle, load_notebook, push_notebook, show_doc
from bokeh.io.state import State, curstate
from bokeh.model import Model
from bokeh.resources import Resources

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
    view stops feeding the old output and nothing piles up on abandoned handles.

    Example, in a notebook::

        out = NotebookPush()
        out.show(fig)
        src.stream({"x": [1], "y": [2.0]})
        out.push()
    """

    def __init__(self) -> None:
        self._state: State | None = None
        self._handle: CommsHandle | None = None

    def show(self, layout: Model) -> None:
        """Display ``layout`` in the current cell, with a comm handle for later pushes."""
        if layout.document is not None:
            layout.document.remove_root(layout)
        ensure_bokehjs()
        self._state = State()
        self._handle = show_doc(layout, self._state, notebook_handle=True)

    def push(self) -> None:
        """Send the changes made since the last push, as one PATCH-DOC."""
        if self._handle is not None:
            push_notebook(handle=self._handle)
