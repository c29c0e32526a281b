"""The display layer: how a view reaches its reader. Bokeh's ``push_notebook`` (``push``), livetrain's widget
channel (``widget``), a PNG redrawn in place (``static``), or an HTML page on disk (``script``).

The transport is chosen when a view is created: ``set_transport(...)`` in code, else the
``LIVETRAIN_TRANSPORT`` environment variable (``auto``, ``push``, ``widget``, ``static``, ``script`` or
``none``), else ``auto``: in a notebook push where it arrives (the classic Notebook, JupyterLab and
Notebook 7 with jupyter_bokeh), the widget elsewhere (VS Code, Colab, Lab without jupyter_bokeh); in a
Python script (``python train.py``) the script transport; elsewhere (a REPL, pytest) none.

A new transport is one module with an :class:`~livetrain.display.base.Output`, its test, and one line in
:data:`TRANSPORTS`.
"""
from __future__ import annotations

import itertools
import os

from ..core.registry import resolve
from . import env
from .base import Output

#: Each transport by name, as ``"module:Class"``, imported when a view first uses it (the widget needs anywidget).
TRANSPORTS: dict[str, str] = {
    "push": "livetrain.display.push:NotebookPush",
    "widget": "livetrain.display.widget:WidgetOutput",
    "static": "livetrain.display.static:StaticOutput",
    "script": "livetrain.display.script:ScriptOutput",
}
CHOICES = ("auto", *TRANSPORTS, "none")
_chosen_in_code: str | None = None
_scripts = itertools.count(1)


def set_transport(name: str | None) -> None:
    """Use transport ``name`` for the views created from now on (``None``: back to ``$LIVETRAIN_TRANSPORT``).

    Example:
        >>> set_transport("static"); transport()[0] in ("static", "none")
        True
        >>> set_transport(None)
    """
    if name is not None and name not in CHOICES:
        raise ValueError(f"transport must be one of {', '.join(map(repr, CHOICES))} or None; got {name!r}")
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
    if name not in CHOICES:
        name, note = "auto", f"LIVETRAIN_TRANSPORT={name!r} is not one of {', '.join(CHOICES)}; "
    else:
        note = ""
    if name in ("script", "none"):
        return name, note + f"{source}={name}"
    if not env.in_kernel():
        if name == "auto" and env.running_script():
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
    where = env.frontend()[0]
    if where == env.VSCODE:
        return "widget", note + widget + "VS Code does not deliver push_notebook updates"
    if where == env.COLAB:
        return "widget", note + widget + "push_notebook is not reliable in Colab"
    if where == env.JUPYTER and not env.jupyter_bokeh()[1]:
        return "widget", note + widget + "a Jupyter server without jupyter_bokeh's extension, which pushes need"
    return "push", note + why


def output_class(name: str) -> type[Output]:
    """The registered transport ``name``'s output class, imported now.

    Example:
        >>> output_class("static").__name__
        'StaticOutput'
    """
    return resolve(TRANSPORTS, name, "transport")


def open_output(name: str) -> Output | None:
    """The output for the transport in use (``None`` for ``none``); ``name`` names its files (``line``, ...).

    Example:
        >>> open_output("line") is None  # outside notebooks and scripts
        True
    """
    kind = transport()[0]
    if kind == "none":
        return None
    if kind == "script":  # a second view of the same name writes its own page
        count = next(_scripts)
        name = name if count == 1 else f"{name}-{count}"
    return output_class(kind)(name)
