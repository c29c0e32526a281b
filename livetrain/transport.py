"""How a view reaches its reader: Bokeh's ``push_notebook``, livetrain's widget channel (``widget``), a PNG
redrawn in place (``static``), or an HTML page on disk (``script``).

The transport is chosen when a view is created: ``set_transport(...)`` in code, else the
``LIVETRAIN_TRANSPORT`` environment variable (``auto``, ``push``, ``widget``, ``static``, ``script`` or
``none``), else ``auto``: in a notebook push where it arrives (the classic Notebook, JupyterLab and
Notebook 7 with jupyter_bokeh), the widget elsewhere (VS Code, Colab, Lab without jupyter_bokeh); in a
Python script (``python train.py``) the script transport; elsewhere (a REPL, pytest) none.
"""
from __future__ import annotations

import importlib.util
import io
import itertools
import json
import os
import sys
import sysconfig
import time
from importlib import metadata
from pathlib import Path

from bokeh.model import Model

from .notebook import NotebookPush, in_kernel
from .script_output import ScriptOutput
from .widget_output import WidgetOutput

TRANSPORTS = ("auto", "push", "widget", "static", "script", "none")
_chosen_in_code: str | None = None
_outputs = itertools.count(1)


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
    """The transport views created now use (``push``, ``widget``, ``static``, ``script`` or ``none``) and why.

    Example:
        >>> transport()
        ('none', 'not in a notebook nor in a Python script: views print their repr; FrameExporter still draws frames')
    """
    name, source = _chosen_in_code, "set_transport()"
    if name is None:
        name, source = os.environ.get("LIVETRAIN_TRANSPORT", "auto"), "LIVETRAIN_TRANSPORT"
    if name not in TRANSPORTS:
        name, note = "auto", f"LIVETRAIN_TRANSPORT={name!r} is not one of {', '.join(TRANSPORTS)}; "
    else:
        note = ""
    if name in ("script", "none"):
        return name, note + f"{source}={name}"
    if not in_kernel():
        if name == "auto" and _running_script():
            return "script", note + "a Python script: an HTML page rewritten at most once a second, then a PNG"
        return "none", note + ("not in a notebook nor in a Python script: views print their repr; "
                               "FrameExporter still draws frames")
    if name == "static":
        return "static", note + f"a PNG of the plot, redrawn in place at most once a second ({source})"
    if name == "widget":
        return "widget", note + f"livetrain's widget channel (anywidget) ({source})"
    why = "bokeh's push_notebook over a comm, on each view's own handle, at most about 10 pushes a second"
    if name == "push":
        return "push", note + why + f" ({source}=push)"
    widget = "livetrain's widget channel (anywidget): "
    if "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
        return "widget", note + widget + "VS Code does not deliver push_notebook updates"
    if "google.colab" in sys.modules:
        return "widget", note + widget + "push_notebook is not reliable in Colab"
    if "JPY_SESSION_NAME" in os.environ and not jupyter_bokeh()[1]:
        return "widget", note + widget + "a Jupyter server without jupyter_bokeh's extension, which pushes need"
    return "push", note + why


def jupyter_bokeh() -> tuple[str, bool]:
    """jupyter_bokeh's version and the state of its JupyterLab / Notebook 7 extension, and whether pushes can
    arrive there (the extension is installed and not disabled).

    Example:
        >>> text, usable = jupyter_bokeh()
        >>> isinstance(text, str) and isinstance(usable, bool)
        True
    """
    try:
        version = metadata.version("jupyter_bokeh")
    except metadata.PackageNotFoundError:
        return "not installed: JupyterLab 4 and Notebook 7 cannot receive pushes without it", False
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    found = lab_extension("@bokeh/jupyter_bokeh")
    if found is None:
        return f"{version} installed, but its lab extension is missing from {jupyter_path('labextensions')}", False
    for config in jupyter_config_path():
        page = Path(config) / "labconfig" / "page_config.json"
        try:
            disabled = json.loads(page.read_text()).get("disabledExtensions", {})
        except (OSError, ValueError):
            continue
        if "@bokeh/jupyter_bokeh" in disabled and (not isinstance(disabled, dict)
                                                    or disabled["@bokeh/jupyter_bokeh"]):
            return f"{version} installed, but its extension is disabled in {page}", False
    return f"{version}, extension installed ({found}) and enabled", True


def lab_extension(name: str) -> Path | None:
    """Where JupyterLab / Notebook 7 would load the prebuilt extension ``name`` from, if it is installed.

    Example:
        >>> lab_extension("no-such-extension") is None
        True
    """
    from jupyter_core.paths import jupyter_path

    return next((Path(d) / name for d in jupyter_path("labextensions") if (Path(d) / name / "package.json").exists()),
                None)


def widget_extensions() -> tuple[str, bool]:
    """Whether the widget transport's page side is installed where Jupyter looks for it: anywidget's and
    ipywidgets' JupyterLab / Notebook 7 extensions.

    Example:
        >>> text, usable = widget_extensions()
        >>> isinstance(text, str) and isinstance(usable, bool)
        True
    """
    try:
        version = metadata.version("anywidget")
    except metadata.PackageNotFoundError:
        return "anywidget is not installed: the widget transport cannot work", False
    wanted = {"anywidget": "anywidget", "ipywidgets": "@jupyter-widgets/jupyterlab-manager"}
    missing = [name for name, ext in wanted.items() if lab_extension(ext) is None]
    if missing:
        return f"anywidget {version}; lab extensions missing for {', '.join(missing)}", False
    return f"anywidget {version}, with anywidget's and ipywidgets' lab extensions", True


def _running_script() -> bool:
    """Whether this is ``python some_script.py`` (not a REPL, and not a tool run from site-packages, like pytest)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main or not main.endswith(".py") or sys.flags.interactive or hasattr(sys, "ps1"):
        return False
    installed = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    return not any(os.path.realpath(main).startswith(p + os.sep) for p in installed)


def open_output(name: str) -> Output | None:
    """The output object for the transport in use; ``name`` names a script transport's files."""
    kind = transport()[0]
    if kind == "push":
        return NotebookPush()
    if kind == "widget":
        return WidgetOutput()
    if kind == "static":
        return StaticOutput()
    if kind == "script":
        count = next(_outputs)
        return ScriptOutput(name if count == 1 else f"{name}-{count}")
    return None


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


Output = NotebookPush | WidgetOutput | StaticOutput | ScriptOutput


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
