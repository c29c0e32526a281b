"""Frames of a livetrain layout drawn by BokehJS itself, in one headless Chromium page loaded once.

Each capture sends the layout's changes since the previous one as a Bokeh ``PATCH-DOC`` (what a live
notebook receives), repaints the paused plot views synchronously and takes a screenshot of the layout
through the DevTools protocol: the pixels of ``bokeh.io.export_png`` of the same state (HTML legends
included, which BokehJS's own ``export("png")`` redraws differently), in tens of milliseconds instead of
hundreds. Toolbars are set to hide while no mouse is over them, so frames show none. Needs the
``playwright`` package and a Chromium executable (``$LIVETRAIN_CHROMIUM``, or ``chromium`` on ``PATH``);
``playwright install`` is not needed.

Each step (starting Chromium and loading the page, a frame, closing) has :func:`step_timeout` seconds (30, or
``$LIVETRAIN_RENDER_TIMEOUT``). A Chromium that takes longer counts as hung: its processes are killed, one warning
says so, and matplotlib draws this renderer's frames from then on.
"""
from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import math
import os
import queue
import shutil
import signal
import threading
import warnings
from concurrent.futures import Future
from typing import Any

from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.model import Model
from bokeh.models import Toolbar
from bokeh.resources import INLINE

from ..wire import forget_dead_curdocs, patch_message
from .base import PLOTTABLE, pixel_scale

CHROMIUM_ARGS = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-color-profile=srgb",
                 "--force-device-scale-factor=1", "--disable-gpu-vsync", "--disable-frame-rate-limit"]
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Seconds each step of a browser renderer may take, unless ``$LIVETRAIN_RENDER_TIMEOUT`` says otherwise: a first
#: frame of a large dashboard on a busy machine takes a few seconds; a hung Chromium never ends.
TIMEOUT = 30.0

# Finds the root view and pauses every plot view, so no throttled paint is ever scheduled (an orphaned
# one can leave `ready` unresolved for good); each frame then repaints synchronously. `gaps` turns the numbers
# of every data source that are beyond `limit` (PLOTTABLE) or infinite into NaN, which BokehJS draws as gaps and
# leaves out of ranges: a column with such numbers is replaced by a copy, so the glyphs read it again.
_SETUP = """async ([timeout, limit]) => {
  const t0 = performance.now();
  while (!(window.Bokeh && Bokeh.documents.length && Bokeh.index.roots.length)) {
    if (performance.now() - t0 > timeout) throw new Error("BokehJS did not render the layout");
    await new Promise(r => setTimeout(r, 10));
  }
  const gaps = () => {
    for (const source of Bokeh.documents[0].all_models) {
      if (typeof source.get_column !== "function") continue;
      const fixed = {};
      for (const name of source.columns()) {
        const column = source.get_column(name);
        if (!(Array.isArray(column) || column instanceof Float64Array || column instanceof Float32Array)) continue;
        if (column.some(v => typeof v === "number" && Math.abs(v) > limit))
          fixed[name] = column.map(v => typeof v === "number" && Math.abs(v) > limit ? NaN : v);
      }
      if (Object.keys(fixed).length)
        source.data = source.data instanceof Map ? new Map([...source.data, ...Object.entries(fixed)])
                                                 : {...source.data, ...fixed};
    }
  };
  gaps();
  const root = Bokeh.index.roots[0];
  await root.ready;
  const plots = [...Bokeh.index.all_views()].filter(
    v => typeof v.pause === "function" && typeof v.repaint === "function");
  plots.forEach(v => v.pause());
  window.livetrain = {root, plots, gaps};
}"""

# Applies one PATCH-DOC, waits until it settled (`ready` awaited again while new work was chained to it,
# and every glyph holding its view's rows) and repaints. Returns the layout's box for the screenshot.
_FRAME = """async ([patch, buffers, timeout]) => {
  const {root, plots, gaps} = window.livetrain;
  if (patch !== null) {
    const bufs = new Map(buffers.map(([id, b64]) => [id, Uint8Array.from(atob(b64), c => c.charCodeAt(0)).buffer]));
    Bokeh.documents[0].apply_json_patch(JSON.parse(patch), bufs);
    gaps();
  }
  const wait = ms => new Promise(r => setTimeout(() => r("timeout"), ms));
  for (let i = 0; i < 20; i++) {
    const ready = root.ready;
    if (await Promise.race([ready.then(() => "ok"), wait(timeout)]) === "timeout")
      throw new Error("frame did not settle");
    if (ready === root.ready) break;
  }
  const glyphs = [...Bokeh.index.all_views()].filter(v => v.glyph && v.model.data_source);
  const loaded = () => glyphs.every(v => v.glyph.data_size === v.model.view.indices.count);
  for (let t = 0; t < 200 && !loaded(); t++) await new Promise(r => setTimeout(r, 5));
  for (const p of plots) { p.unpause(true); p.invalidate_dataranges = true; p.repaint(); p.pause(); }
  for (const legend of Bokeh.index.all_views()) {
    if (typeof legend._paint_glyphs !== "function") continue;
    for (const {glyph} of legend.entries) {
      glyph.ctx.save(); glyph.ctx.setTransform(1, 0, 0, 1, 0, 0);
      glyph.ctx.clearRect(0, 0, glyph.canvas.width, glyph.canvas.height); glyph.ctx.restore();
    }
    legend._paint_glyphs(); legend._paint_glyphs();
  }
  const box = root.el.getBoundingClientRect();
  return {x: box.left, y: box.top, width: box.width, height: box.height, scale: 1};
}"""


def find_chromium() -> str | None:
    """The Chromium executable to draw frames with: ``$LIVETRAIN_CHROMIUM``, else the first of
    ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH``; ``None`` if there is none.

    Example:
        >>> find_chromium() is None or os.path.exists(find_chromium())
        True
    """
    configured = os.environ.get("LIVETRAIN_CHROMIUM")
    if configured is not None:
        return shutil.which(configured) or None
    return next(filter(None, map(shutil.which, _NAMES)), None)


def step_timeout() -> float:
    """Seconds a step of the browser renderer may take: ``$LIVETRAIN_RENDER_TIMEOUT``, else :data:`TIMEOUT`.

    Example:
        >>> step_timeout() == float(os.environ.get("LIVETRAIN_RENDER_TIMEOUT", TIMEOUT))
        True
    """
    value = os.environ.get("LIVETRAIN_RENDER_TIMEOUT")
    if value is None:
        return TIMEOUT
    with contextlib.suppress(ValueError):
        if 0 < float(value) < math.inf:
            return float(value)
    raise ValueError(f"LIVETRAIN_RENDER_TIMEOUT must be a number of seconds > 0; got {value!r}")


class _Worker:
    """One daemon thread that runs calls in order (Playwright's sync API stays in the thread that started it). A
    call that overruns its time is left running: a daemon thread never holds up the interpreter's exit."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future, Any, tuple] | None] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="livetrain-chromium", daemon=True).start()

    def call(self, timeout: float, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in the thread; ``TimeoutError`` if it has not returned after ``timeout`` seconds."""
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future.result(timeout)

    def stop(self) -> None:
        """End the thread once the calls before are done."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)


class BrowserRenderer:
    """Captures ``graph``'s current state as PNG bytes, drawn by BokehJS in headless Chromium.

    ``graph`` is a layout that is not displayed anywhere else (e.g. a view's :meth:`~livetrain.LiveView.replica`);
    it is put in a document of its own if it has none (a layout already in a document, such as a notebook's live
    one, is drawn from a copy taken when the renderer is made). The page is loaded once; each :meth:`capture`
    sends what changed since the previous one. Playwright runs in a worker thread of the renderer,
    so it works inside a Jupyter kernel's event loop too.

    ``scale`` is the page's device pixel ratio: at 2 the frames have twice the pixels each way, the same layout
    (BokehJS draws its canvases at that ratio, as on a HiDPI screen).

    Starting, each frame and closing may take ``timeout`` seconds each (default :func:`step_timeout`). A step that
    takes longer means Chromium hangs: its processes are killed, a ``RuntimeWarning`` says so in one line, and a
    :class:`~livetrain.frames.mpl.MatplotlibRenderer` draws the frames from then on (``name`` and ``notice`` become
    its own); without matplotlib, the step raises ``TimeoutError``.

    Example (needs Chromium and playwright)::

        cb = LinePlotsCallback(epochs=3).replica()
        with BrowserRenderer(cb.graph) as renderer:
            cb.on_epoch_end(0, "train", {"train": {"loss": [0.5], "acc": [0.8]}})
            png = renderer.capture()
    """

    name = "browser"
    notice = ("frames drawn by BokehJS in headless Chromium, as export_png draws them; renderer='matplotlib' draws "
              "them without a browser.")

    def __init__(self, graph: Model, *, scale: float = 1.0, executable: str | None = None,
                 timeout: float | None = None) -> None:
        self.scale = pixel_scale(scale)
        executable = executable or find_chromium()
        if executable is None:
            raise RuntimeError("no Chromium found: install it (e.g. `apt-get install chromium`) or set "
                               "LIVETRAIN_CHROMIUM to its path")
        self.timeout = step_timeout() if timeout is None else timeout
        if not 0 < self.timeout < math.inf:
            raise ValueError(f"timeout must be a number of seconds > 0; got {timeout!r}")
        if graph.document is None:
            Document().add_root(graph)
        else:  # shown elsewhere (a notebook's live document): draw a copy, taken now
            graph = Document.from_json(graph.document.to_json(deferred=False)).get_model_by_id(graph.id)
        for toolbar in graph.select({"type": Toolbar}):
            toolbar.autohide = True
        self._graph, self._doc = graph, graph.document
        self._events: list[Any] = []
        self._collect = self._events.append
        self._doc.on_change(self._collect)
        self._worker: _Worker | None = _Worker()
        self._closed = False
        self._playwright = self._browser = self._page = None
        self._pid: int | None = None  # Chromium's browser process, whose process group is killed if it hangs
        self._stand_in: Any = None  # the matplotlib renderer that draws once Chromium has hung
        forget_dead_curdocs()  # a Ctrl-C in an earlier push may have left one
        html = file_html(graph, resources=INLINE, title="livetrain frames")
        try:
            self._step("starting Chromium and loading the page", self._open, executable, html)
        except BaseException:
            self.close()
            raise

    @classmethod
    def missing(cls) -> str | None:
        """``"Chromium"`` or ``"playwright"`` when that is not installed, else ``None``.

        Example:
            >>> BrowserRenderer.missing() in (None, "Chromium", "playwright")
            True
        """
        if find_chromium() is None:
            return "Chromium"
        return "playwright" if importlib.util.find_spec("playwright") is None else None

    def _step(self, step: str, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in Playwright's thread, within ``timeout``; past it, matplotlib takes over (``None``)."""
        try:
            return self._worker.call(self.timeout, fn, *args)
        except TimeoutError:
            self._take_over(step)
            return None

    def _open(self, executable: str, html: str) -> None:
        try:
            from playwright.sync_api import TimeoutError as PlaywrightTimeout
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise ImportError("drawing frames with Chromium needs playwright: pip install playwright "
                              "(and no `playwright install`: a system Chromium is used)") from exc
        timeout_ms = self.timeout * 1000
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True,
                                                             args=CHROMIUM_ARGS, timeout=timeout_ms)
            session = self._browser.new_browser_cdp_session()
            self._pid = next(p["id"] for p in session.send("SystemInfo.getProcessInfo")["processInfo"]
                             if p["type"] == "browser")
            session.detach()
            self._page = self._browser.new_page(device_scale_factor=self.scale)
            self._page.set_content(html, wait_until="load", timeout=timeout_ms)
            self._page.evaluate(_SETUP, [timeout_ms, PLOTTABLE])
            self._cdp = self._page.context.new_cdp_session(self._page)
            if self.scale != 1:  # also in this session: a screenshot with a clip resets the ratio to its session's
                self._cdp.send("Emulation.setDeviceMetricsOverride", {"width": 0, "height": 0, "mobile": False,
                                                                      "deviceScaleFactor": self.scale})
        except PlaywrightTimeout as exc:  # Playwright's own limits (launch, load) are the step's
            raise TimeoutError(str(exc)) from exc

    def capture(self) -> Any:
        """The layout as it is now: PNG bytes (a PIL image once matplotlib has taken over)."""
        if self._stand_in is None:
            events, self._events[:] = list(self._events), []
            patch, buffers = None, []
            if events:
                patch, ids, data = patch_message(events)
                buffers = [(i, base64.b64encode(b).decode("ascii")) for i, b in zip(ids, data, strict=True)]
            shot = self._step("drawing a frame", self._shoot, patch, buffers)
            if shot is not None:
                return shot
        return self._stand_in.capture()

    def _evaluate(self, function: str, *args: Any) -> Any:
        """``function(...args)`` in the page, awaited; straight over the DevTools protocol (a third of
        ``page.evaluate``'s round trip)."""
        reply = self._cdp.send("Runtime.evaluate", {"expression": f"({function})(...{json.dumps(args)})",
                                                    "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise RuntimeError(f"drawing a frame failed in the page: "
                               f"{details.get('exception', {}).get('description', details)}")
        return reply["result"].get("value")

    def _shoot(self, patch: str | None, buffers: list[tuple[str, str]]) -> bytes:
        timeout_ms = self.timeout * 1000
        clip = self._evaluate(_FRAME, [patch, buffers, timeout_ms])
        size = {"width": round(clip["width"]) + 100, "height": round(clip["height"]) + 100}
        if size != self._page.viewport_size:  # the layout changed size: lay it out as export_png would
            self._page.set_viewport_size(size)
            clip = self._evaluate(_FRAME, [None, [], timeout_ms])
        shot = self._cdp.send("Page.captureScreenshot", {"format": "png", "clip": clip, "fromSurface": True,
                                                          "optimizeForSpeed": True})
        return base64.b64decode(shot["data"])

    def _take_over(self, step: str) -> None:
        """Chromium hung at ``step``: kill it, and let matplotlib draw from now on, saying so once."""
        self._stop_chromium(hung=True)
        from .mpl import MatplotlibRenderer  # only once Chromium has failed

        if MatplotlibRenderer.missing() is not None:
            raise TimeoutError(f"Chromium hung ({step} took over {self.timeout:g} s) and was stopped; matplotlib, "
                               f"which would draw instead, is not installed: pip install matplotlib")
        warnings.warn(f"livetrain: Chromium hung ({step} took over {self.timeout:g} s, LIVETRAIN_RENDER_TIMEOUT) "
                      f"and was stopped; matplotlib draws the frames from here on.", RuntimeWarning, stacklevel=4)
        self._stand_in = MatplotlibRenderer(self._graph, scale=self.scale)
        self.name, self.notice = self._stand_in.name, self._stand_in.notice

    def _stop_chromium(self, hung: bool = False) -> None:
        """Close the page, Chromium and Playwright, within ``timeout``; a hung Chromium's processes are killed
        first, and so are those of one that does not close in time. Stopping again does nothing."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if hung:
            self._kill()
        try:
            worker.call(self.timeout, self._shut)
        except TimeoutError:
            self._kill()  # the worker ends Playwright once it is free; nothing waits for it
        except Exception:
            if not hung:
                raise
        finally:
            worker.stop()

    def _kill(self) -> None:
        """Kill Chromium's process group (the browser and its renderers): SIGKILL ends stopped processes too."""
        if self._pid is None:  # still starting: Playwright's own launch limit ends it
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(self._pid) if hasattr(os, "getpgid") else None
            if group is not None and group != os.getpgid(0):
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(self._pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    def close(self) -> None:
        """Close the page and Chromium (or the matplotlib renderer that took over); closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._stand_in is not None:
                self._stand_in.close()
            self._stop_chromium()
        finally:
            self._doc.remove_on_change(self._collect)

    def _shut(self) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._playwright is not None:
                self._playwright.stop()
            self._playwright = self._browser = self._page = None

    def __enter__(self) -> BrowserRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
