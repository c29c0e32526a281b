"""PNG frames and GIFs of training progress: livetrain's renderers against bokeh's export_png, side by side.

Usage::

    python benchmarks/bench_frames.py [--quick] [--out DIR]

Three measurements, each in rounds that interleave the contenders:

1. **ms per frame** on the blog's layout, ``LinePlotsCallback``'s two 350 × 300 panels (700 × 330 px): 20 frames,
   frame k showing k epochs of train and test loss and accuracy. Contenders: ``bokeh.io.export_png`` with one
   reused selenium driver (Debian's chromedriver; warm: its first call, which starts Chromium, is reported
   apart), livetrain's ``BrowserRenderer`` (one page per round; its load is reported apart) and its
   ``MatplotlibRenderer`` (no browser). Every browser frame is also compared with export_png's, pixel by pixel.
2. **GIF assembly** of those 20 frames (PNG bytes in, GIF file out) with ``livetrain.frames.gif.save_gif``.
3. **FrameExporter's overhead** on a small CNN learning scikit-learn's digits (``livetrain.examples``):
   epoch time (train + test phase) with a ``LinePlotsCallback`` alone, with a ``FrameExporter`` after it
   (records only; frames drawn after training, timed apart), and with ``eager=True`` (frames drawn by a
   background thread during training).

Results go to ``frames.json`` and ``frames.md``. Medians; the machines are noisy, so the goals are ratios.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_updates import goal_lines, logger, machine, publish, run_line

from livetrain import Callback, FrameExporter, LinePlotsCallback, set_transport, train_loop
from livetrain.frames.browser import BrowserRenderer
from livetrain.frames.gif import save_gif
from livetrain.frames.mpl import MatplotlibRenderer

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 20


def run_history(epochs: int) -> dict[str, dict[str, list[float]]]:
    """A plausible 20-epoch run: falling losses, rising accuracies, a little noise."""
    rng = np.random.default_rng(0)
    e = np.arange(1, epochs + 1)
    return {phase: {"loss": list(2.3 / e ** (0.8 + 0.1 * k) + rng.random(epochs) * 0.05),
                    "acc": list(1 - 0.9 / e ** (0.7 + 0.1 * k) - rng.random(epochs) * 0.02)}
            for k, phase in enumerate(("train", "test"))}


def frames_round(driver: Any, times: dict[str, list[float]], extra: dict[str, list[float]]) -> dict[str, Any]:
    """One round of 20 frames per contender; returns the browser's frames and how many equal export_png's."""
    history = run_history(FRAMES)
    view = LinePlotsCallback(epochs=FRAMES).replica()  # one layout in one state per frame, drawn three ways
    start = time.perf_counter()
    browser = BrowserRenderer(view.graph)  # hides the toolbar, for export_png too
    extra["browser page load (once per layout)"].append(time.perf_counter() - start)
    drawer = MatplotlibRenderer(view.graph)  # builds its figure at the first capture, counted in the frames
    from bokeh.io import export_png

    ours, identical = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for epoch in range(FRAMES):
            past = {p: {k: v[:epoch + 1] for k, v in s.items()} for p, s in history.items()}
            for phase in ("train", "test"):
                view.on_epoch_end(epoch, phase, past)
            start = time.perf_counter()
            reference = export_png(view.graph, filename=Path(tmp) / f"{epoch}.png", webdriver=driver)
            times["export_png"].append(time.perf_counter() - start)
            start = time.perf_counter()
            png = browser.capture()
            times["browser"].append(time.perf_counter() - start)
            start = time.perf_counter()
            drawer.capture()
            times["matplotlib"].append(time.perf_counter() - start)
            ours.append(png)
            identical += bool((np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
                               == np.asarray(Image.open(reference).convert("RGB"))).all())
    browser.close()
    drawer.close()
    return {"frames": ours, "identical": identical}


def gif_times(frames: list[bytes], repeats: int) -> tuple[list[float], int]:
    """Seconds to assemble ``frames`` (PNG bytes) into a GIF file, ``repeats`` times, and the GIF's size."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            start = time.perf_counter()
            save_gif(frames, Path(tmp) / f"run{k}.gif")
            out.append(time.perf_counter() - start)
        size = (Path(tmp) / "run0.gif").stat().st_size
    return out, size


class EpochTimer(Callback):
    """Wall time of each whole epoch: from the train phase's start to the last phase's end."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, phase: str) -> None:
        if phase == "train":
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, phase: str, history: Any) -> None:
        if phase == "test":
            self.times.append(time.perf_counter() - self._start)


def overhead_round(epochs: int, loaders: Any, times: dict[str, list[float]], extra: dict[str, list[float]]) -> None:
    """Train the digits CNN once per variant (shuffled order), recording epoch times after the first epoch."""
    import torch

    from livetrain.examples import CLASSIFIER_REDUCE, DigitsCNN, make_step

    variants = ["view only", "view + FrameExporter", "view + FrameExporter(eager=True)"]
    for variant in np.random.default_rng(len(times["view only"])).permutation(variants):
        torch.manual_seed(0)
        model = DigitsCNN()
        step = make_step(model, torch.optim.Adam(model.parameters(), lr=3e-3), per_class=10)
        view, timer = LinePlotsCallback(), EpochTimer()
        callbacks = [view]
        if variant != "view only":
            exporter = FrameExporter(view, renderer="browser", eager="eager" in variant)
            callbacks.append(exporter)
            spent = timed(exporter)
        train_loop(step, loaders, epochs=epochs, callbacks=[timer, *callbacks], reduce=CLASSIFIER_REDUCE,
                   progress=False)
        times[variant].extend(timer.times[1:])
        if variant != "view only":
            times[f"{variant}: its own on_epoch_end, per epoch"].extend(spent[1:])
        if variant == "view + FrameExporter":
            start = time.perf_counter()
            exporter.frames()
            extra["drawing the recorded frames after training, per frame (page load included)"].append(
                (time.perf_counter() - start) / epochs)


def timed(exporter: FrameExporter) -> list[float]:
    """Wrap ``exporter.on_epoch_end``; the returned list gets the seconds it takes per epoch (all phases)."""
    spent: list[float] = []
    record = exporter.on_epoch_end

    def on_epoch_end(epoch: int, phase: str, history: Any) -> None:
        start = time.perf_counter()
        record(epoch, phase, history)
        if len(spent) <= epoch:
            spent.append(0.0)
        spent[epoch] += time.perf_counter() - start

    exporter.on_epoch_end = on_epoch_end
    return spent


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(1000 * s for s in seconds)
    return {"median": statistics.median(ms), "p10": ms[len(ms) // 10], "p90": ms[(len(ms) * 9) // 10],
            "n": len(ms)}


def goals(frames: dict[str, dict], gif: dict[str, float], epochs: dict[str, dict]) -> list[dict[str, Any]]:
    """The issue's targets: ≥ 10× export_png, GIF ≤ 150 ms, exporter ≤ 5 % of an epoch."""
    export, browser = frames["export_png"]["median"], frames["browser"]["median"]
    base = epochs["view only"]["median"]
    rows = [
        ("browser renderer ≥ 10× faster than export_png per frame (ratio of medians)", export / browser, 10, "×",
         "min", False),
        ("GIF assembly of the 20 frames ≤ 150 ms (median)", gif["median"], 150, "ms", "max", False),
        ("FrameExporter's overhead on the digits CNN ≤ 5 % of the epoch time (its on_epoch_end per epoch / epoch)",
         100 * epochs["view + FrameExporter: its own on_epoch_end, per epoch"]["median"] / base, 5, "%", "max", False),
        ("info: epoch time with a FrameExporter vs without (medians of separate runs: noisy)",
         100 * (epochs["view + FrameExporter"]["median"] / base - 1), 5, "%", "max", True),
        ("info: matplotlib renderer vs export_png per frame (ratio of medians)",
         export / frames["matplotlib"]["median"], 1, "×", "min", True),
        ("info: eager FrameExporter's overhead (frames drawn by a background thread during training)",
         100 * (epochs["view + FrameExporter(eager=True)"]["median"] / base - 1), 5, "%", "max", True),
    ]
    return [{"goal": g, "value": v, "limit": lim, "unit": u, "info": info,
             "passed": v <= lim if sense == "max" else v >= lim} for g, v, lim, u, sense, info in rows]


def environment(quick: bool) -> dict[str, Any]:
    """Versions, machine and source revision."""
    return machine(("livetrain", "bokeh", "selenium", "playwright", "matplotlib", "pillow", "torch"),
                   {"quick": quick, "rounds": 1 if quick else 3, "frames": FRAMES})


def markdown(env: dict[str, Any], results: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    def row(label: str, s: dict[str, float]) -> str:
        digits = 1 if s["median"] >= 1 else 4
        return f"| {label} | {s['median']:.{digits}f} | {s['p10']:.{digits}f} | {s['p90']:.{digits}f} | {s['n']} |"

    frames, epochs = results["frames"], results["epochs"]
    lines = [
        "# PNG frames and GIFs: livetrain's renderers vs bokeh's export_png",
        "",
        run_line(env, "bench_frames.py", ("bokeh", "selenium", "playwright", "matplotlib")),
        "",
        "## ms per frame: 20 frames of the 700 × 330 two-panel line layout",
        "",
        "| contender | median ms | p10 | p90 | frames |",
        "|---|---:|---:|---:|---:|",
        row("bokeh `export_png` (selenium driver reused, warm)", frames["export_png"]),
        row("**livetrain `BrowserRenderer`** (one Chromium page, data patched in)", frames["browser"]),
        row("livetrain `MatplotlibRenderer` (no browser)", frames["matplotlib"]),
        *[row(label, s) for label, s in results["once"].items()],
        "",
        f"Browser frames identical to export_png's, pixel for pixel: **{results['identical']} of "
        f"{frames['browser']['n']}**.",
        "",
        "## GIF assembly of the 20 frames",
        "",
        "| step | median ms | p10 | p90 | runs |",
        "|---|---:|---:|---:|---:|",
        row(f"`save_gif` (PNG bytes in, {results['gif_bytes'] / 1000:.0f} KB GIF out)", results["gif"]),
        "",
        "## FrameExporter during training: digits CNN, epoch time (train + test)",
        "",
        "| variant | median ms | p10 | p90 | epochs |",
        "|---|---:|---:|---:|---:|",
        *[row(variant, s) for variant, s in epochs.items()],
    ]
    return "\n".join(lines + goal_lines(checks)) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure, write ``frames.json`` and ``frames.md``, print the report. Goals are reported, not enforced."""
    set_transport("none")  # views here are drawn by the renderers, not shown live
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where frames.json and frames.md go (default: %(default)s)")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    env = environment(args.quick)
    start = time.monotonic()
    log = logger(start)

    from bokeh.io import export_png
    from bokeh.io.webdriver import create_chromium_webdriver

    from livetrain.examples import load_loaders

    times: dict[str, list[float]] = {"export_png": [], "browser": [], "matplotlib": []}
    once: dict[str, list[float]] = {"export_png first call (starts Chromium)": [],
                                    "browser page load (once per layout)": [],
                                    "drawing the recorded frames after training, per frame (page load included)": []}
    epoch_times: dict[str, list[float]] = {
        "view only": [], "view + FrameExporter": [], "view + FrameExporter(eager=True)": [],
        "view + FrameExporter: its own on_epoch_end, per epoch": [],
        "view + FrameExporter(eager=True): its own on_epoch_end, per epoch": []}
    driver = create_chromium_webdriver(["--no-sandbox"])  # as root, Chromium needs it
    identical, browser_frames = 0, []
    loaders, _ = load_loaders(prefer="digits", batch_size=32)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            export_png(LinePlotsCallback().replica().graph, filename=Path(tmp) / "cold.png", webdriver=driver)
            once["export_png first call (starts Chromium)"].append(time.perf_counter() - t)
        for k in range(rounds):
            log(f"round {k + 1}/{rounds}: frames")
            done = frames_round(driver, times, once)
            identical += done["identical"]
            browser_frames = done["frames"]
            log(f"round {k + 1}/{rounds}: training")
            overhead_round(10, loaders, epoch_times, once)
    finally:
        driver.quit()
    gif, gif_bytes = gif_times(browser_frames, 5 * rounds)
    frames = {name: summary(ts) for name, ts in times.items()}
    epochs = {name: summary(ts) for name, ts in epoch_times.items()}
    results = {"frames": frames, "once": {k: summary(v) for k, v in once.items()}, "identical": identical,
               "gif": summary(gif), "gif_bytes": gif_bytes, "epochs": epochs}
    publish(args.out / "frames", env, results, goals(frames, results["gif"], epochs), markdown, start)


if __name__ == "__main__":
    main()
