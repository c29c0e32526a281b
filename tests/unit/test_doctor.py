"""livetrain.doctor(): the frontend, the transport, jupyter_bokeh and BokehJS, and what to do, in real kernels."""
import json

import pytest
from kernel_session import KernelSession, stdout

from livetrain import doctor


def doctor_in_kernel(**env: str) -> str:
    """What doctor() prints in a fresh kernel started with ``env`` added to this process's environment."""
    kernel = KernelSession({k: v for k, v in env.items() if v is not None})
    try:
        return stdout(kernel.run("import livetrain; _ = livetrain.doctor()"))
    finally:
        kernel.close()


@pytest.fixture(autouse=True)
def no_frontend_markers(monkeypatch):
    for name in ("JPY_SESSION_NAME", "VSCODE_PID", "VSCODE_CWD", "LIVETRAIN_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)


def test_outside_jupyter_it_says_live_plots_need_a_notebook(capsys):
    d = doctor()
    assert (d.frontend, d.transport) == ("plain Python", "none")
    assert "livetrain gif HISTORY.json" in capsys.readouterr().out


def test_under_a_jupyter_server_with_the_cdn():
    report = doctor_in_kernel(JPY_SESSION_NAME="runs/train.ipynb", BOKEH_RESOURCES="cdn")
    assert "frontend:      JupyterLab or Notebook (a Jupyter server started this kernel for runs/train.ipynb" in report
    assert "transport:     push (bokeh's push_notebook over a comm" in report
    assert "extension installed" in report and "and enabled" in report
    assert "BokehJS:       Bokeh's CDN" in report
    assert "Set BOKEH_RESOURCES=inline before starting Jupyter" in report  # the offline timeout, explained
    assert "jupyter trust NOTEBOOK.ipynb" in report and "A page reload during training" in report
    assert "need jupyter_bokeh's extension" not in report


def test_a_disabled_extension_is_reported_with_the_fix(tmp_path):
    (tmp_path / "labconfig").mkdir()
    (tmp_path / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@bokeh/jupyter_bokeh": True}}))
    report = doctor_in_kernel(JPY_SESSION_NAME="a.ipynb", JUPYTER_CONFIG_DIR=str(tmp_path))
    assert f"its extension is disabled in {tmp_path / 'labconfig' / 'page_config.json'}" in report
    assert "jupyter labextension enable @bokeh/jupyter_bokeh" in report
    assert "transport:     widget (livetrain's widget channel (anywidget): a Jupyter server without" in report
    assert "BokehJS:       inline, inside the notebook" in report and "cdn.bokeh.org" not in report


def test_vs_code_gets_the_widget_and_an_unknown_transport_is_explained():
    report = doctor_in_kernel(VSCODE_PID="4242", LIVETRAIN_TRANSPORT="pigeon")
    assert "frontend:      VS Code" in report and "bokeh#11756" in report
    assert "LIVETRAIN_TRANSPORT='pigeon' is not one of auto, push, widget, static" in report
    assert "transport:     widget (" in report and "jupyter.widgetScriptSources" in report
    assert "widgets:       anywidget" in report and "lab extensions" in report


def test_a_kernel_without_a_jupyter_server():
    report = doctor_in_kernel()
    assert "frontend:      Jupyter kernel, client unknown" in report and "nbclient, papermill" in report
