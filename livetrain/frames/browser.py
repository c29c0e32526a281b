"""Frames of a livetrain layout drawn by BokehJS itself, in one headless Chromium page loaded once.

Each capture sends the layout's changes since the previous one as a Bokeh ``PATCH-DOC`` (what a live
notebook receives), repaints the paused plot views synchronously and takes a screenshot of the layout
through the DevTools protocol: the pixels of ``bokeh.io.export_png`` of the same state (HTML legends
included, which BokehJS's own ``export("png")`` redraws differently), in tens of milliseconds instead of
hundreds. Toolbars are set to hide while no mouse is over them, so frames show none. Needs the
``playwright`` package and a Chromium executable (``$LIVETRAIN_CHROMIUM``, or ``chromium`` on ``PATH``);
``playwright install`` is not needed.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.model import Model
from bokeh.models import Toolbar
from bokeh.resources import INLINE

from ..wire import patch_message
from .base import PLOTTABLE

CHROMIUM_ARGS = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-color-profile=srgb",
                 "--force-device-scale-factor=1", "--disable-gpu-vsync", "--disable-frame-rate-limit"]
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

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


class BrowserRenderer:
    """Captures ``graph``'s current state as PNG bytes, drawn by BokehJS in headless Chromium.

    ``graph`` is a layout that is not displayed anywhere else (e.g. a view's :meth:`~livetrain.LiveView.replica`);
    it is put in a document of its own if it has none (a layout already in a document, such as a notebook's live
    one, is drawn from a copy taken when the renderer is made). The page is loaded once; each :meth:`capture`
    sends what changed since the previous one. Playwright runs in a worker thread of the renderer,
    so it works inside a Jupyter kernel's event loop too.

    Example (needs Chromium and playwright)::

        cb = LinePlotsCallback(epochs=3).replica()
        with BrowserRenderer(cb.graph) as renderer:
            cb.on_epoch_end(0, "train", {"train": {"loss": [0.5], "acc": [0.8]}})
            png = renderer.capture()
    """

    name = "browser"
    notice = ("frames drawn by BokehJS in headless Chromium, as export_png draws them; renderer='matplotlib' draws "
              "them without a browser.")

    def __init__(self, graph: Model, *, executable: str | None = None, timeout: float = 30.0) -> None:
        executable = executable or find_chromium()
        if executable is None:
            raise RuntimeError("no Chromium found: install it (e.g. `apt-get install chromium`) or set "
                               "LIVETRAIN_CHROMIUM to its path")
        if graph.document is None:
            Document().add_root(graph)
        else:  # shown elsewhere (a notebook's live document): draw a copy, taken now
            graph = Document.from_json(graph.document.to_json(deferred=False)).get_model_by_id(graph.id)
        for toolbar in graph.select({"type": Toolbar}):
            toolbar.autohide = True
        self._doc = graph.document
        self._events: list[Any] = []
        self._collect = self._events.append
        self._doc.on_change(self._collect)
        self._timeout_ms = int(timeout * 1000)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="livetrain-chromium")
        self._closed = False
        self._playwright = self._browser = self._page = None
        html = file_html(graph, resources=INLINE, title="livetrain frames")
        try:
            self._call(self._open, executable, html)
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

    def _call(self, fn: Any, *args: Any) -> Any:
        return self._thread.submit(fn, *args).result()

    def _open(self, executable: str, html: str) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise ImportError("drawing frames with Chromium needs playwright: pip install playwright "
                              "(and no `playwright install`: a system Chromium is used)") from exc
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True,
                                                         args=CHROMIUM_ARGS)
        self._page = self._browser.new_page(device_scale_factor=1)
        self._page.set_content(html, wait_until="load", timeout=self._timeout_ms)
        self._page.evaluate(_SETUP, [self._timeout_ms, PLOTTABLE])
        self._cdp = self._page.context.new_cdp_session(self._page)

    def capture(self) -> bytes:
        """The layout as it is now, as PNG bytes."""
        events, self._events[:] = list(self._events), []
        patch, buffers = None, []
        if events:
            patch, ids, data = patch_message(events)
            buffers = [(i, base64.b64encode(b).decode("ascii")) for i, b in zip(ids, data, strict=True)]
        return self._call(self._shoot, patch, buffers)

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
        clip = self._evaluate(_FRAME, [patch, buffers, self._timeout_ms])
        size = {"width": round(clip["width"]) + 100, "height": round(clip["height"]) + 100}
        if size != self._page.viewport_size:  # the layout changed size: lay it out as export_png would
            self._page.set_viewport_size(size)
            clip = self._evaluate(_FRAME, [None, [], self._timeout_ms])
        shot = self._cdp.send("Page.captureScreenshot", {"format": "png", "clip": clip, "fromSurface": True,
                                                          "optimizeForSpeed": True})
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        """Close the page and Chromium; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._shut)
        finally:
            self._thread.shutdown(wait=True)
            self._doc.remove_on_change(self._collect)

    def _shut(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._playwright = self._browser = self._page = None

    def __enter__(self) -> BrowserRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
