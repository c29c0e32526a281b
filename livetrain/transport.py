"""How a view reaches the notebook: Bokeh's ``push_notebook``, or a PNG redrawn in place (``static``).

The transport is chosen when a view is created: ``set_transport(...)`` in code, else the
``LIVETRAIN_TRANSPORT`` environment variable (``auto``, ``push`` or ``static``), else ``auto``: push,
or static in VS Code, which does not deliver pushes.
"""
from __future__ import annotations

import importlib.util
import io
import os
import time

from bokeh.model import Model

from .notebook import NotebookPush, in_kernel

TRANSPORTS = ("auto", "push", "static")
_chosen_in_code: str | None = None


def set_transport(name: str | None) -> None:
    """Use transport ``name`` for the views created from now on (``None``: back to ``$LIVETRAIN_TRANSPORT``).

    Example:
        >>> set_transport("static"); transport()[0] in ("static", "none")
        True
        >>> set_transport(None)
    """
    if name is not None and name not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(map(repr, TRANSPORTS))} or None; got {name!r}")
    global _chosen_in_code
    _chosen_in_code = name


def transport() -> tuple[str, str]:
    """The transport views use now (``push``, ``static``, or ``none`` outside a kernel) and why.

    Example:
        >>> transport()
        ('none', 'not in a Jupyter kernel: views print their repr; FrameExporter still writes frames and GIFs')
    """
    if not in_kernel():
        return "none", "not in a Jupyter kernel: views print their repr; FrameExporter still writes frames and GIFs"
    name, source = _chosen_in_code, "set_transport()"
    if name is None:
        name, source = os.environ.get("LIVETRAIN_TRANSPORT", "auto"), "LIVETRAIN_TRANSPORT"
    if name not in TRANSPORTS:
        return "push", (f"LIVETRAIN_TRANSPORT={name!r} is not one of {', '.join(TRANSPORTS)} (the widget "
                        f"transport is not in this version), so push is used")
    if name == "static":
        return "static", f"a PNG of the plot, redrawn in place at most once a second ({source})"
    if name == "auto" and ("VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ):
        return "static", "VS Code does not deliver push_notebook updates, but it does update outputs in place"
    why = "bokeh's push_notebook over a comm, on each view's own handle, at most about 10 pushes a second"
    return "push", why + (f" ({source}=push)" if name == "push" else "")


def open_output() -> NotebookPush | StaticOutput | None:
    """The output object for the transport in use (``None`` outside a kernel)."""
    name = transport()[0]
    return {"push": NotebookPush, "static": StaticOutput}.get(name, lambda: None)()


class StaticOutput:
    """The layout as a PNG in the cell, redrawn in place at most every ``every`` seconds, and at the end.

    For frontends without JavaScript (nbconvert, papermill) and frontends that cannot receive pushes.
    One renderer is kept for the layout: matplotlib's when it is installed (quick to start), else
    Chromium's; without either, the cell says what to install.

    Example, in a notebook::

        out = StaticOutput()
        out.show(fig)
        src.stream({"x": [1], "y": [2.0]})
        out.push()
        out.finish()
    """

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._drawer = None
        self._handle = None
        self._drawn = 0.0

    def show(self, layout: Model) -> None:
        """Display the layout's picture in the current cell."""
        from IPython.display import display

        if self._drawer is not None:
            self._drawer.close()
        self._drawer = _drawer(layout)
        self._handle = display(self._image(), display_id=True)

    def push(self) -> None:
        """Redraw the picture, unless it was drawn less than ``every`` seconds ago."""
        if self._handle is not None and time.monotonic() - self._drawn >= self.every:
            self._handle.update(self._image())

    def finish(self) -> None:
        """Draw the final state."""
        if self._handle is not None:
            self._handle.update(self._image())
            self._handle = None

    def _image(self):
        from IPython.display import Image, Markdown

        self._drawn = time.monotonic()
        if self._drawer is None:
            return Markdown("*livetrain: the static transport needs matplotlib or Chromium to draw the plot: "
                            "`pip install matplotlib`*")
        frame = self._drawer.capture()
        if not isinstance(frame, bytes):
            out = io.BytesIO()
            frame.save(out, format="PNG")
            frame = out.getvalue()
        return Image(data=frame, format="png")


def _drawer(layout: Model):
    """A renderer kept for ``layout``: matplotlib's, else Chromium's, else ``None``."""
    try:
        from .mpl_frames import MatplotlibRenderer

        return MatplotlibRenderer(layout)
    except ImportError:
        from .browser_frames import BrowserRenderer, find_chromium

        if find_chromium() is None or importlib.util.find_spec("playwright") is None:
            return None
        if layout.document is not None:
            layout.document.remove_root(layout)
        return BrowserRenderer(layout)
