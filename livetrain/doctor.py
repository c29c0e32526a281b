"""``livetrain.doctor()``: where the plots are drawn, how they are updated, and what to do when they freeze."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .notebook import in_kernel, resources
from .transport import transport as current_transport

@dataclass
class Diagnosis:
    """What :func:`doctor` found: each finding with the reason for it, then what to do."""

    frontend: str
    frontend_why: str
    transport: str
    transport_why: str
    jupyter_bokeh: str
    bokehjs: str
    advice: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"frontend:      {self.frontend} ({self.frontend_why})",
                 f"transport:     {self.transport} ({self.transport_why})",
                 f"jupyter_bokeh: {self.jupyter_bokeh}",
                 f"BokehJS:       {self.bokehjs}"]
        if self.advice:
            lines += ["", "If the plots do not update:"] + [f"- {a}" for a in self.advice]
        return "\n".join(lines)


def doctor(show: bool = True) -> Diagnosis:
    """Say which frontend and transport livetrain sees, whether jupyter_bokeh's extension is there and
    enabled, where BokehJS comes from, and what to do about each way live plots fail.

    Prints the report (unless ``show=False``) and returns it.

    Example:
        >>> d = doctor(show=False)
        >>> d.frontend
        'plain Python'
    """
    frontend, frontend_why = _frontend()
    transport, transport_why = current_transport()
    extension, extension_ok = _jupyter_bokeh()
    diagnosis = Diagnosis(frontend, frontend_why, transport, transport_why, extension, _bokehjs(),
                          _advice(frontend, extension_ok))
    if show:
        print(diagnosis)
    return diagnosis


def _frontend() -> tuple[str, str]:
    try:
        from IPython import get_ipython
    except ImportError:
        return "plain Python", "IPython is not installed"
    shell = get_ipython()
    if shell is None:
        return "plain Python", "no IPython shell is running"
    if not in_kernel():
        return "terminal IPython", "an IPython shell without a Jupyter kernel"
    if "google.colab" in sys.modules:
        return "Google Colab", "google.colab is imported"
    if "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
        return "VS Code", "the kernel runs under VS Code (VSCODE_PID is set)"
    if "JPY_SESSION_NAME" in os.environ:
        return ("JupyterLab or Notebook", f"a Jupyter server started this kernel for "
                f"{os.environ['JPY_SESSION_NAME']}; a kernel cannot tell Lab, Notebook 7 and the classic Notebook apart")
    return ("Jupyter kernel, client unknown", "a kernel that no Jupyter server started: nbclient, papermill, "
            "nbconvert --execute, a console, or an editor")


def _jupyter_bokeh() -> tuple[str, bool]:
    """jupyter_bokeh's version and the state of its JupyterLab / Notebook 7 extension, and whether it is usable."""
    try:
        version = metadata.version("jupyter_bokeh")
    except metadata.PackageNotFoundError:
        return "not installed: JupyterLab 4 and Notebook 7 cannot receive pushes without it", False
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    found = [Path(d) / "@bokeh" / "jupyter_bokeh" for d in jupyter_path("labextensions")]
    found = [d for d in found if (d / "package.json").exists()]
    if not found:
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
    return f"{version}, extension installed ({found[0]}) and enabled", True


def _bokehjs() -> str:
    from bokeh.io.state import curstate

    mode = resources().mode
    where = {"cdn": "Bokeh's CDN (cdn.bokeh.org; the browser needs internet)",
             "inline": "inline, inside the notebook (works offline; about 4 MB per load in a saved notebook)"}.get(
        mode, f"BOKEH_RESOURCES={mode}")
    loaded = " (loaded by output_notebook() in this kernel)" if curstate().notebook else ""
    return f"{where}{loaded}"


def _advice(frontend: str, extension_ok: bool) -> list[str]:
    """What to do about each failure mode that applies here, most likely first."""
    if frontend in ("plain Python", "terminal IPython"):
        return ["Live plots need a Jupyter notebook, or a script run as `python train.py`, where each view writes "
                "livetrain-<view>.html (it reloads itself; a PNG at the end). Otherwise save the run "
                "(train_loop(..., history_path=...)) and draw it with FrameExporter or "
                "`livetrain gif HISTORY.json --out run.gif`."]
    advice = []
    if frontend == "VS Code":
        advice.append("VS Code does not deliver push_notebook updates (bokeh#11756), so livetrain shows a PNG "
                      "redrawn once a second there (the static transport); for the interactive live plot, open the "
                      "notebook in JupyterLab.")
    if frontend == "Google Colab":
        advice.append("Colab shows each output in its own frame and push_notebook there is not verified: if the "
                      "plot freezes, use FrameExporter to write frames and show the GIF.")
    if not extension_ok:
        advice.append("JupyterLab 4 and Notebook 7 need jupyter_bokeh's extension to receive pushes; without it "
                      "the plot freezes at its first state with no error. `pip install jupyter_bokeh` (or enable "
                      "it: `jupyter labextension enable @bokeh/jupyter_bokeh`), then restart Jupyter and reload.")
    if resources().mode == "cdn":
        advice.append("'Loading BokehJS ...' forever, or 'Javascript Error: timeout': the browser cannot reach "
                      "cdn.bokeh.org. Set BOKEH_RESOURCES=inline before starting Jupyter, or call "
                      "bokeh.io.output_notebook(resources=bokeh.resources.INLINE) before the first plot.")
    advice += [
        "A blank output or 'Loading BokehJS ...' in a notebook edited outside Jupyter: it is not trusted; "
        "run `jupyter trust NOTEBOOK.ipynb` and reload.",
        "A page reload during training freezes the plot for the rest of the run (the kernel goes on training); "
        "when the cell ends, `cb.show()` draws it again with the whole history.",
        "A saved notebook keeps the plot as first displayed; for reports, write GIFs or PNG frames with "
        "FrameExporter.",
        "'IOPub message rate exceeded' comes from other output: livetrain pushes at most about 10 times a second.",
    ]
    return advice
