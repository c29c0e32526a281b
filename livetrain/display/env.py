"""Where the code runs: a kernel or not, which frontend, and which Jupyter extensions the page can load.

The one frontend detection: the transport choice (:func:`livetrain.display.transport`) and
:func:`livetrain.doctor` both read it.
"""
from __future__ import annotations

import json
import os
import sys
import sysconfig
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

VSCODE, COLAB, JUPYTER = "VS Code", "Google Colab", "JupyterLab or Notebook"
PLAIN, TERMINAL, KERNEL = "plain Python", "terminal IPython", "Jupyter kernel, client unknown"


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


def frontend() -> tuple[str, str]:
    """Which frontend runs this code, and how that is known: one of :data:`PLAIN`, :data:`TERMINAL`,
    :data:`COLAB`, :data:`VSCODE`, :data:`JUPYTER` (a Jupyter server's kernel) or :data:`KERNEL`.

    Example:
        >>> frontend()
        ('plain Python', 'no IPython shell is running')
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return PLAIN, "IPython is not installed"
    if get_ipython() is None:
        return PLAIN, "no IPython shell is running"
    if not in_kernel():
        return TERMINAL, "an IPython shell without a Jupyter kernel"
    if "google.colab" in sys.modules:
        return COLAB, "google.colab is imported"
    if "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
        return VSCODE, "the kernel runs under VS Code (VSCODE_PID is set)"
    if "JPY_SESSION_NAME" in os.environ:
        return JUPYTER, (f"a Jupyter server started this kernel for {os.environ['JPY_SESSION_NAME']}; a kernel cannot "
                         f"tell Lab, Notebook 7 and the classic Notebook apart")
    return KERNEL, ("a kernel that no Jupyter server started: nbclient, papermill, nbconvert --execute, a console, "
                    "or an editor")


def running_script() -> bool:
    """Whether this is ``python some_script.py`` (not a REPL, and not a tool run from site-packages, like pytest).

    Example:
        >>> running_script()
        False
    """
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main or not main.endswith(".py") or sys.flags.interactive or hasattr(sys, "ps1"):
        return False
    installed = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    return not any(os.path.realpath(main).startswith(p + os.sep) for p in installed)


def after_cell(action: Callable[[], Any]) -> bool:
    """Run ``action`` once when the running notebook cell ends (IPython's ``post_run_cell``); ``False`` outside
    IPython, where there are no cells.

    Example:
        >>> after_cell(lambda: None)
        False
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def once(result: Any = None) -> None:
        shell.events.unregister("post_run_cell", once)
        action()

    shell.events.register("post_run_cell", once)
    return True


def lab_extension(name: str) -> Path | None:
    """Where JupyterLab / Notebook 7 would load the prebuilt extension ``name`` from, if it is installed.

    Example:
        >>> lab_extension("no-such-extension") is None
        True
    """
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:  # no Jupyter server in this environment
        return None
    return next((Path(d) / name for d in jupyter_path("labextensions") if (Path(d) / name / "package.json").exists()),
                None)


def installed(package: str) -> str | None:
    """``package``'s installed version, or ``None``.

    Example:
        >>> installed("no-such-package") is None
        True
    """
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def jupyter_bokeh() -> tuple[str, bool]:
    """jupyter_bokeh's version and the state of its JupyterLab / Notebook 7 extension, and whether pushes can
    arrive there (the extension is installed and not disabled).

    Example:
        >>> text, usable = jupyter_bokeh()
        >>> isinstance(text, str) and isinstance(usable, bool)
        True
    """
    version = installed("jupyter_bokeh")
    if version is None:
        return "not installed: JupyterLab 4 and Notebook 7 cannot receive pushes without it", False
    found = lab_extension("@bokeh/jupyter_bokeh")
    if found is None:
        return f"{version} installed, but its lab extension is missing from Jupyter's labextensions folders", False
    from jupyter_core.paths import jupyter_config_path  # there, since lab_extension found the extension

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


def widget_extensions() -> tuple[str, bool]:
    """Whether the widget transport's page side is installed where Jupyter looks for it: anywidget's and
    ipywidgets' JupyterLab / Notebook 7 extensions.

    Example:
        >>> text, usable = widget_extensions()
        >>> isinstance(text, str) and isinstance(usable, bool)
        True
    """
    version = installed("anywidget")
    if version is None:
        return "anywidget is not installed: the widget transport cannot work", False
    wanted = {"anywidget": "anywidget", "ipywidgets": "@jupyter-widgets/jupyterlab-manager"}
    missing = [name for name, ext in wanted.items() if lab_extension(ext) is None]
    if missing:
        return f"anywidget {version}; lab extensions missing for {', '.join(missing)}", False
    return f"anywidget {version}, with anywidget's and ipywidgets' lab extensions", True
