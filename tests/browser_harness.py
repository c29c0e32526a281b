"""A real Jupyter server (Lab 4, Notebook 7 or classic nbclassic) and headless Debian Chromium, driven by Playwright.

Everything runs on 127.0.0.1 with a free port, fresh config directories and a process group
this harness owns; it is stopped by PID, never by name.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("LIVETRAIN_CHROMIUM") or shutil.which("chromium") or ""
CHROME_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = float(os.environ.get("LIVETRAIN_BROWSER_TIMEOUT", "90"))

# The length of the newest BokehJS source with this name (-2: no BokehJS, -1: no such source).
JS_LENGTH = """(name) => { const B = window.Bokeh; if (!B || !B.documents) return -2;
  for (let i = B.documents.length - 1; i >= 0; i--) { const m = B.documents[i].get_model_by_name(name);
    if (m) return m.get_length(); } return -1; }"""
# Records every length the named source takes, from the moment it exists.
JS_RECORD = """(name) => { window.__lengths = [];
  const t = setInterval(() => { const B = window.Bokeh; if (!B || !B.documents) return;
    for (const d of B.documents) { const m = d.get_model_by_name(name); if (!m) continue;
      clearInterval(t); window.__lengths.push(m.get_length());
      m.connect(m.streaming, () => window.__lengths.push(m.get_length()));
      m.connect(m.properties.data.change, () => window.__lengths.push(m.get_length())); return; } }, 10); }"""
# Counts the updates (streams, patches, replacements) each named source receives.
JS_COUNT = """(names) => { window.__updates = {};
  const t = setInterval(() => { const B = window.Bokeh; if (!B || !B.documents) return;
    for (const n of names) { if (n in window.__updates) continue;
      for (const d of B.documents) { const m = d.get_model_by_name(n); if (!m) continue;
        window.__updates[n] = 0; const bump = () => window.__updates[n]++;
        m.connect(m.patching, bump); m.connect(m.streaming, bump); m.connect(m.properties.data.change, bump); break; } }
    if (names.every((n) => n in window.__updates)) clearInterval(t); }, 10); }"""
# The columns of the newest source with this name: numbers as lists, arrays of images as their shapes.
JS_DATA = """(name) => { const B = window.Bokeh;
  for (let i = B.documents.length - 1; i >= 0; i--) {
    const m = B.documents[i].get_model_by_name(name); if (!m) continue;
    const out = {}, data = m.data instanceof Map ? [...m.data.entries()] : Object.entries(m.data);
    for (const [k, v] of data) out[k] = Array.from(v, (x) => (x && x.shape) ? Array.from(x.shape) : x);
    return out; } return null; }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """``jupyter lab``, ``notebook`` or ``nbclassic`` from this environment, isolated in a temporary folder."""

    def __init__(self, app: str, env: dict[str, str] | None = None, disabled: tuple[str, ...] = ()) -> None:
        self.app, self.disabled = app, disabled
        self.base = Path(tempfile.mkdtemp(prefix=f"livetrain-{app}-"))
        self.root = self.base / "nb"
        self.root.mkdir()
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "server.log"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.notebook = self.root / "check.ipynb"  # the notebook of the current run_in_browser

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(self.url + path, method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def start(self) -> None:
        env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", **self.extra_env)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "ws"),
                         ("IPYTHONDIR", "ipython")]:
            env[var] = str(self.base / sub)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        settings = self.base / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        if self.disabled:  # as `jupyter labextension disable` would (the kernel sees the same config folder)
            (self.base / "config" / "labconfig").mkdir(parents=True)
            (self.base / "config" / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {name: True for name in self.disabled}}))
        cmd = [str(Path(sys.executable).parent / "jupyter"), self.app, "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                     start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("/api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"jupyter {self.app} did not answer in {TIMEOUT}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            pid = self.proc.pid
            try:
                self.api("/api/shutdown", method="POST")
                self.proc.wait(timeout=15)
            except Exception:  # noqa: BLE001 - fall through to signals
                pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(pid, sig)  # the group this harness created, by PID
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self._log.close()
            self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(cells)]}
    path.write_text(json.dumps(nb))


_servers: dict[tuple[str, tuple[str, ...]], JupyterServer] = {}


def shared_server(app: str, disabled: tuple[str, ...] = ()) -> JupyterServer:
    """One running server per app and set of disabled extensions, started on first use (see stop_servers)."""
    server = _servers.get((app, disabled))
    if server is None or server.proc is None or server.proc.poll() is not None:
        server = _servers[app, disabled] = JupyterServer(app, env={"BOKEH_RESOURCES": "inline"}, disabled=disabled)
        server.start()
    return server


def stop_servers() -> None:
    """Stop every server shared_server started."""
    while _servers:
        _servers.popitem()[1].stop()


def run_in_browser(app: str, cells: list[str], source: str | None, expected: int, done_file: str = "done.txt",
                   watch: tuple[str, ...] = (), after: Callable[[Any, JupyterServer], dict] | None = None,
                   env: dict[str, str] | None = None, before: str | None = None,
                   during: Callable[[Any, JupyterServer], dict] | None = None,
                   disabled: tuple[str, ...] = ()) -> dict:
    """Open a notebook of ``cells`` in ``app``, Run All, and watch the BokehJS source named ``source``.

    The notebook gets a folder of its own on the app's shared server (``server.notebook`` is its path);
    its last cell must write ``done_file`` into that folder when it ends. Returns the final
    length, every length seen, the console's comm problems, and for each source named in ``watch``
    how many updates it received and its final data; then whatever ``after(page, server)`` returns,
    called with the page and the server still up. ``env`` is set in the kernel's environment (by a line
    added at the top of the first cell); ``before``, a JavaScript function,
    runs in the page just before Run All; ``during(page, server)`` runs right after Run All, while the cells
    run, and what it returns is added to the result; ``disabled`` names lab extensions to disable; with
    ``source=None`` no BokehJS source is watched (e.g. for the static transport) and ``after`` does the checking.
    """
    from playwright.sync_api import sync_playwright

    if not (CHROMIUM and os.path.exists(CHROMIUM)):
        raise RuntimeError("chromium not found: install Debian's chromium package or set LIVETRAIN_CHROMIUM")
    server = shared_server(app, disabled)
    folder = f"run{secrets.token_hex(4)}"
    (server.root / folder).mkdir()
    server.notebook = server.root / folder / "check.ipynb"
    if env:
        cells = [f"import os; os.environ.update({env!r})\n{cells[0]}", *cells[1:]]
    profile = tempfile.mkdtemp(prefix="livetrain-chrome-")
    console: list[str] = []
    try:
        write_notebook(server.notebook, cells)
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                        args=CHROME_ARGS, viewport={"width": 1280, "height": 900})
            try:
                page = ctx.new_page()
                page.set_default_timeout(TIMEOUT * 1000)
                page.on("console", lambda m: console.append(f"{m.type}: {m.text[:300]}"))
                page.goto(server.url + {
                    "lab": f"/lab/workspaces/lt{secrets.token_hex(4)}/tree/{folder}/check.ipynb?reset&",
                    "notebook": f"/notebooks/{folder}/check.ipynb?",
                    "nbclassic": f"/nbclassic/notebooks/{folder}/check.ipynb?"}[app] + f"token={server.token}")
                page.wait_for_selector(".cell" if app == "nbclassic" else ".jp-Notebook .jp-Cell")
                deadline = time.monotonic() + TIMEOUT
                while not any(s["path"] == f"{folder}/check.ipynb" and s["kernel"]["execution_state"] == "idle"
                              for s in server.api("/api/sessions")):
                    if time.monotonic() > deadline:
                        raise TimeoutError("the kernel never became idle")
                    time.sleep(0.2)
                page.evaluate(JS_RECORD, source or "")
                page.evaluate(JS_COUNT, list(watch))
                if before is not None:
                    page.evaluate(before)
                if app == "nbclassic":
                    page.wait_for_function("() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
                                           " && Jupyter.notebook.kernel.is_connected()")
                    page.evaluate("() => Jupyter.notebook.execute_all_cells()")
                else:
                    page.click(".jp-Notebook")
                    page.click(".lm-MenuBar-item:has-text('Run')")
                    page.click(".lm-Menu-item:has-text('Run All Cells')")
                early = during(page, server) if during else {}
                done, deadline = server.notebook.parent / done_file, time.monotonic() + TIMEOUT
                while not done.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
                if source is not None:
                    page.wait_for_function(f"(n) => ({JS_LENGTH})(n) >= {expected}", arg=source, timeout=10_000)
                final = page.evaluate(JS_LENGTH, source)
                lengths = page.evaluate("() => window.__lengths")
                updates = page.evaluate("() => window.__updates")
                data = {name: page.evaluate(JS_DATA, name) for name in watch}
                extra = after(page, server) if after else {}
            except Exception as exc:  # noqa: BLE001 - any failure in the page is reported with the page's state
                raise AssertionError(f"{app}: {type(exc).__name__}: {str(exc)[:2000]}\n"
                                     f"page had {page.evaluate(JS_LENGTH, source)} rows of {expected}; "
                                     f"console: {console[-15:]}\nserver log:\n{server.log_tail()}") from None
            finally:
                ctx.close()
    finally:
        for session in server.api("/api/sessions"):  # this notebook's kernel: stopped, by the server
            if session["path"] == f"{folder}/check.ipynb":
                server.api(f"/api/sessions/{session['id']}", method="DELETE")
        shutil.rmtree(profile, ignore_errors=True)
    return {**early, **extra, "final": final, "lengths": lengths, "updates": updates, "data": data,
            "comm_problems": [c for c in console if "comms not available" in c or "Exception opening new comm" in c]}
