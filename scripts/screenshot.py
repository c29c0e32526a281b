"""Render the quickstart's live plot, as it looks at the end of training, to a PNG for the README.

Usage:
    python scripts/screenshot.py [--out fig/quickstart.png] [--history PATH]

By default it replays the quickstart notebook's code cells in this process, up to and including the
``train_loop`` cell (seeded, so the run matches ``scripts/run_demo.py``), and takes the notebook's
own ``cb``: the picture has everything the live plot has, per-batch lines included. With
``--history PATH`` it instead rebuilds the callback from a saved history JSON (fast, but epoch
lines only). The plot is written to a standalone HTML file with BokehJS inline and screenshotted
with Playwright driving the system Chromium (``--chromium``; nothing is downloaded).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_quickstart.ipynb"
OUT = ROOT / "fig" / "quickstart.png"


def replay_notebook(path: Path, last: str = "train_loop(") -> dict:
    """Run the notebook's code cells in a fresh namespace, in its folder, up to the first cell containing ``last``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    ns: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"<{path.name} cell {cell.get('id', '?')}>", "exec"), ns)  # noqa: S102 - the notebook's own cells, replayed
                if last in cell.source:
                    return ns
    finally:
        os.chdir(cwd)
    raise SystemExit(f"{path}: no code cell contains {last!r}")


def from_history(history_path: Path, epochs: int | None):
    """A ``LinePlotsCallback`` holding every epoch of a saved history (no per-batch lines)."""
    from livetrain import History, LinePlotsCallback

    history = History.load(history_path)
    cb = LinePlotsCallback(epochs=epochs or max(history.epochs(p) for p in history), phases=tuple(history))
    cb.on_train_begin(history)  # ingests every recorded epoch, as when resuming a run
    cb.on_train_end(history)  # applies the pending rows to the Bokeh models
    return cb


def build_html(cb) -> str:
    """A standalone HTML page (BokehJS inline) with the callback's plot."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    return file_html(cb.graph, INLINE, title="livetrain quickstart")


def screenshot(html: str, out: Path, chromium: str, scale: float) -> tuple[int, int]:
    """Load ``html`` in headless Chromium and save the plot's bounding box as ``out``; returns its CSS size."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "plot.html"
        page_path.write_text(html, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium,
                                         args=["--headless=new", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 800}, device_scale_factor=scale)
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(page_path.as_uri())
                page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 "
                                       "&& Bokeh.documents[0].is_idle", timeout=30_000)
                if errors:
                    raise RuntimeError(f"BokehJS errors in the page: {errors}")
                root = page.locator("div[data-root-id] > *").first  # the root div itself is display: contents
                root.screenshot(path=str(out))
                box = root.bounding_box() or {"width": 0, "height": 0}
            finally:
                browser.close()
    return round(box["width"]), round(box["height"])


def main(argv: list[str] | None = None) -> int:
    from livetrain import set_transport

    set_transport("none")  # this script draws its own pictures: no live HTML page
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="PNG to write (default fig/quickstart.png)")
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help="notebook to replay")
    parser.add_argument("--history", type=Path,
                        help="draw this saved history instead of replaying the notebook, e.g. "
                             "notebooks/executed/01_quickstart_history.json")
    parser.add_argument("--epochs", type=int, help="with --history: the x range (default: its epochs)")
    parser.add_argument("--scale", type=float, default=2.0, help="device pixel ratio (default 2, for HiDPI)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    args = parser.parse_args(argv)
    from livetrain import LinePlotsCallback

    if args.history is not None:
        cb = from_history(args.history, args.epochs)
    else:
        ns = replay_notebook(args.notebook.resolve())
        cb = ns.get("cb")
        if not isinstance(cb, LinePlotsCallback):
            print(f"screenshot: {args.notebook} defines no LinePlotsCallback named cb", file=sys.stderr)
            return 1
        acc = ns["history"]["test"]["acc"]
        print(f"screenshot: replayed {len(acc)} epochs, final test accuracy {acc[-1]:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    width, height = screenshot(build_html(cb), args.out, args.chromium, args.scale)
    print(f"screenshot: wrote {args.out} ({width}x{height} CSS px at scale {args.scale:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
