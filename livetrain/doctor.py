"""``livetrain.doctor()``: where the plots are drawn, how they are updated, and what to do when they freeze."""
from __future__ import annotations

from dataclasses import dataclass, field

from .display import env
from .display import transport as current_transport
from .display.base import resources


@dataclass
class Diagnosis:
    """What :func:`doctor` found: each finding with the reason for it, then what to do."""

    frontend: str
    frontend_why: str
    transport: str
    transport_why: str
    jupyter_bokeh: str
    widgets: str
    bokehjs: str
    advice: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"frontend:      {self.frontend} ({self.frontend_why})",
                 f"transport:     {self.transport} ({self.transport_why})",
                 f"jupyter_bokeh: {self.jupyter_bokeh}",
                 f"widgets:       {self.widgets}",
                 f"BokehJS:       {self.bokehjs}"]
        if self.advice:
            lines += ["", "If the plots do not update:"] + [f"- {a}" for a in self.advice]
        return "\n".join(lines)


def doctor(show: bool = True) -> Diagnosis:
    """Say which frontend and transport livetrain sees, whether jupyter_bokeh's extension is there and
    enabled (pushes need it in JupyterLab and Notebook 7), whether the widget transport's extensions are
    there, where BokehJS comes from, and what to do about each way live plots fail.

    Prints the report (unless ``show=False``) and returns it.

    Example:
        >>> d = doctor(show=False)
        >>> d.frontend
        'plain Python'
    """
    frontend, frontend_why = env.frontend()
    transport, transport_why = current_transport()
    extension, extension_ok = env.jupyter_bokeh()
    widgets, widgets_ok = env.widget_extensions()
    diagnosis = Diagnosis(frontend, frontend_why, transport, transport_why, extension, widgets, _bokehjs(),
                          _advice(frontend, transport, extension_ok, widgets_ok))
    if show:
        print(diagnosis)
    return diagnosis


def _bokehjs() -> str:
    from bokeh.io.state import curstate

    mode = resources().mode
    where = {"cdn": "Bokeh's CDN (cdn.bokeh.org; the browser needs internet)",
             "inline": "inline, inside the notebook (works offline; about 4 MB per load in a saved notebook)"}.get(
        mode, f"BOKEH_RESOURCES={mode}")
    loaded = " (loaded by output_notebook() in this kernel)" if curstate().notebook else ""
    return f"{where}{loaded}"


def _advice(frontend: str, transport: str, extension_ok: bool, widgets_ok: bool) -> list[str]:
    """What to do about each failure mode that applies here, most likely first."""
    if frontend in (env.PLAIN, env.TERMINAL):
        return ["Live plots need a Jupyter notebook, or a script run as `python train.py`, where each view writes "
                "livetrain-<view>.html (it reloads itself; a PNG at the end). Otherwise save the run "
                "(train_loop(..., history_path=...)) and draw it with FrameExporter or "
                "`livetrain gif HISTORY.json --out run.gif`."]
    advice = []
    if frontend == env.VSCODE:
        advice.append("VS Code does not deliver push_notebook updates (bokeh#11756), so livetrain uses its widget "
                      "channel there; VS Code must be able to load anywidget's JavaScript (its "
                      "\"jupyter.widgetScriptSources\" setting). If the plot still does not move, "
                      "livetrain.set_transport('static') shows a PNG redrawn once a second.")
    if frontend == env.COLAB:
        advice.append("Colab shows each output in its own frame; livetrain uses its widget channel there, which needs "
                      "`from google.colab import output; output.enable_custom_widget_manager()`. If the plot stays "
                      "empty, livetrain.set_transport('static') shows a PNG redrawn once a second.")
    if not extension_ok:
        advice.append("JupyterLab 4 and Notebook 7 need jupyter_bokeh's extension to receive pushes; without it "
                      "the plot freezes at its first state with no error, so livetrain uses its widget channel "
                      "instead. `pip install jupyter_bokeh` (or enable it: `jupyter labextension enable "
                      "@bokeh/jupyter_bokeh`), then restart Jupyter and reload, for pushes and for plots that "
                      "come back after a page reload during a run.")
    if transport == "widget" and not widgets_ok:
        advice.append("The widget transport needs anywidget's and ipywidgets' extensions in the Jupyter server's "
                      "environment (`pip install anywidget ipywidgets`, then restart Jupyter); without them the "
                      "cell says 'waiting for the widget channel'.")
    if resources().mode == "cdn":
        advice.append("'Loading BokehJS ...' forever, or 'Javascript Error: timeout': the browser cannot reach "
                      "cdn.bokeh.org. Set BOKEH_RESOURCES=inline before starting Jupyter, or call "
                      "bokeh.io.output_notebook(resources=bokeh.resources.INLINE) before the first plot.")
    advice += [
        "A blank output or 'Loading BokehJS ...' in a notebook edited outside Jupyter: it is not trusted; "
        "run `jupyter trust NOTEBOOK.ipynb` and reload.",
        "A page reload during training: a reloaded page shows only what was saved, so save after the plot "
        "appears (Ctrl+S; JupyterLab autosaves every 2 minutes). Then the plot comes back within about a second "
        "with the whole history, and is redrawn about once a second until the run ends (it needs jupyter_bokeh "
        "in JupyterLab and Notebook 7). Otherwise it comes back when the run ends, or with `cb.show()`.",
        "A saved notebook shows the final plot (and its PNG) once the run ended; a run cut short by a kernel "
        "restart leaves the plot as last saved (with the widget transport, 'waiting for the widget channel'): "
        "run the cell again. For reports, write GIFs or PNG frames with FrameExporter.",
        "'IOPub message rate exceeded' comes from other output: livetrain pushes at most about 10 times a second.",
    ]
    return advice
