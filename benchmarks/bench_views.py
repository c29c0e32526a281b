"""Per-update cost of the guide views (issue 14) in a real Jupyter kernel: livetrain against a matplotlib figure
redrawn as a PNG in the cell (the guides' way) and against seed 004's ``plot_classes_preds`` + ``add_figure``.

Usage::

    python benchmarks/bench_views.py [--quick] [--out DIR]

Sizes are the seeds': 10 classes, 100 images of 28 x 28 on the prediction sheet, 1,000 test predictions for the PR
curves and the confusion matrix, 4 tensors' 64-bin histograms, a 1,000-point embedding of 64 features, 16 feature
maps of 28 x 28, made before any timing (8 epochs' worth, used in turn). One update is one epoch's new data shown:

- ``livetrain``: the view (``PredictionSheetCallback``, ``PRCurvesCallback``, ``ConfusionMatrixCallback``,
  ``HistogramsCallback`` fed by ``on_log`` as ``HistogramCollector`` feeds it, ``EmbeddingCallback``,
  ``ImagePlotsCallback`` with a colour map for the feature maps), shown with ``show()``; ``on_epoch_end`` (or
  ``on_log``) then ``flush()``: the numbers computed, set, pushed.
- ``matplotlib``: the same picture drawn by matplotlib (the seeds' figures: subplots with coloured titles, PR
  curves with AP in the legend, ``imshow`` with counts, ``hist``/``bar``, ``scatter``, ``imshow`` of each map) at
  100 dpi, saved as a PNG and replacing the previous one in the cell (``display_id``), as ``%matplotlib inline``
  would show it, without leaving one picture per epoch behind.
- ``tensorboard``: seed 004's ``plot_classes_preds`` (4 images) and the same for the 100-image sheet, each sent
  with ``torch.utils.tensorboard.SummaryWriter.add_figure`` (matplotlib renders the figure to a PNG, the event file
  gets it; bytes are the event file's growth, what TensorBoard's server then reads and sends).

Each contender runs in its own ipykernel (``bench_updates.Kernel``: jupyter_client, ``BOKEH_RESOURCES=inline``);
the updates run in rounds that interleave them. Times are taken inside the kernel around each update; wire bytes
are all ZeroMQ frames of every IOPub message the updates emit. livetrain's bytes per update are also reported for
the first and the last round: a view whose update grew with the epochs shown would show it there. Results go to
``views.json`` and ``views.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_updates import KB, Kernel, Message, goal_lines, logger, machine, publish, run_line, split, times_ms

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = '''
import gc, io, json, os, tempfile, time
import numpy as np

_rng = np.random.default_rng(0)
CLASSES = [str(d) for d in range(10)]
_IMAGES = _rng.random((100, 28, 28), dtype=np.float32)
_Y100 = _rng.integers(0, 10, 100)
_Y = _rng.integers(0, 10, 1000)
_FEATURES = _rng.normal(size=(1000, 64)).astype(np.float32) + 3 * np.eye(10, 64, dtype=np.float32)[_Y]
_epoch = 0

def _made_scores(labels, epoch):
    logits = _rng.normal(size=(len(labels), 10)) + (1 + 0.2 * epoch) * np.eye(10)[labels]
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)

def _made_hists(epoch):
    """4 tensors' 64-bin histograms as HistogramCollector hands them over (TensorBoard's summary fields)."""
    out = {}
    for i, name in enumerate(("conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight")):
        counts = np.histogram(_rng.normal(0, 0.1 + 0.01 * epoch, 10_000), 64, (-1, 1))[0].astype(np.float64)
        limits = np.linspace(-1, 1, 65)
        out[name] = {"min": -1.0, "max": 1.0, "num": 10_000.0, "sum": 0.0, "sum_squares": 100.0,
                     "bucket_limit": limits, "bucket": np.r_[0.0, counts]}
    return out

# Each epoch's data is made before any timing (8 epochs' worth, in turn): the steps time the views, not numpy.
_CYCLE = 8
_SCORES = {n: [_made_scores(y, e) for e in range(_CYCLE)] for n, y in ((100, _Y100), (1000, _Y))}
_HISTS = [_made_hists(e) for e in range(_CYCLE)]
_MAPS = [np.maximum(_rng.normal(size=(16, 28, 28)) + 0.05 * e, 0).astype(np.float32) for e in range(_CYCLE)]
_FEATS = [_FEATURES + _rng.normal(0, 0.1, _FEATURES.shape).astype(np.float32) for e in range(_CYCLE)]

def _scores(labels, epoch):
    return _SCORES[len(labels)][epoch % _CYCLE]

def _hists(epoch):
    return _HISTS[epoch % _CYCLE]

def _maps(epoch):
    return _MAPS[epoch % _CYCLE]

def _features(epoch):
    return _FEATS[epoch % _CYCLE]

_STEPS = {}
_times = {}
_PAUSE = 0.055  # past livetrain's MIN_GAP (0.05 s), so each measured flush is sent

def _measure(mode, k):
    global _epoch
    step, out = _STEPS[mode], _times.setdefault(mode, [])
    gc.collect()
    for _ in range(k):
        _epoch += 1
        t0, c0 = time.perf_counter(), time.thread_time()
        step(_epoch)
        c1 = time.thread_time()
        out.append((time.perf_counter() - t0, c1 - c0))
        while time.perf_counter() < t0 + out[-1][0] + _PAUSE:
            pass
'''

LIVETRAIN = '''
from livetrain import (ConfusionMatrixCallback, EmbeddingCallback, HistogramsCallback, ImagePlotsCallback,
                       PRCurvesCallback, PredictionSheetCallback)
from livetrain.core.history import History

_views = {
    "sheet": PredictionSheetCallback(phases=("test",), class_names=CLASSES),
    "prcurves": PRCurvesCallback(CLASSES, phases=("test",)),
    "confusion": ConfusionMatrixCallback(CLASSES, phases=("test",)),
    "histograms": HistogramsCallback(keys=(), tags=tuple(_hists(0))),
    "embedding": EmbeddingCallback(CLASSES, phases=("test",)),
    "activations": ImagePlotsCallback(keys=("act/conv1",), phases=("test",), cmap="Inferno256", scale_each=True),
}
_h = History()
for _v in _views.values():
    _v.end_with_cell = False  # one run, measured over many cells
    _v.show()

def _epoch_view(name, values):
    view = _views[name]
    def step(epoch):
        _h.append("test", values(epoch), epoch=epoch)
        view.on_epoch_end(epoch, "test", _h)
        view.flush()
    return step

def _histograms(epoch):
    view = _views["histograms"]
    view.on_log(epoch, _hists(epoch), _h)
    view.flush()

_STEPS.update(
    sheet=_epoch_view("sheet", lambda e: {"images": _IMAGES, "y_true": _Y100, "y_score": _scores(_Y100, e)}),
    prcurves=_epoch_view("prcurves", lambda e: {"y_true": _Y, "y_score": _scores(_Y, e)}),
    confusion=_epoch_view("confusion", lambda e: {"y_true": _Y, "y_score": _scores(_Y, e)}),
    histograms=_histograms,
    embedding=_epoch_view("embedding", lambda e: {"features": _features(e), "y_true": _Y, "images": _IMAGES[_Y % 100]}),
    activations=_epoch_view("activations", lambda e: {"act/conv1": _maps(e)}),
)
'''

MATPLOTLIB = '''
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from IPython.display import Image, display

_handles = {}

def _show(name, fig):
    """The guides' picture in the cell: the figure as a 100-dpi PNG, replacing the previous one."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    picture = Image(buf.getvalue())
    if name in _handles:
        _handles[name].update(picture)
    else:
        _handles[name] = display(picture, display_id=True)

def _ap(positive, scores):
    order = np.argsort(-scores, kind="stable")
    hits = positive[order]
    tp = np.cumsum(hits)
    precision, recall = tp / np.arange(1, len(hits) + 1), tp / max(hits.sum(), 1)
    return precision, recall, float(np.sum(np.diff(np.r_[0, recall]) * precision))

def _sheet(epoch):
    scores = _scores(_Y100, epoch)
    fig, axes = plt.subplots(10, 10, figsize=(10, 12))
    for i, ax in enumerate(axes.flat):
        p = int(scores[i].argmax())
        ax.imshow(_IMAGES[i], cmap="gray")
        ax.set_xticks([]); ax.set_yticks([])
        ax.set_title(f"{CLASSES[p]}, {scores[i, p] * 100:.1f}%\\n(label: {CLASSES[_Y100[i]]})", fontsize=6,
                     color="green" if p == _Y100[i] else "red")
    _show("sheet", fig)

def _prcurves(epoch):
    scores = _scores(_Y, epoch)
    fig, ax = plt.subplots(figsize=(3.5, 3.5))
    for k in range(10):
        precision, recall, ap = _ap(_Y == k, scores[:, k])
        ax.plot(recall, precision, label=f"{CLASSES[k]} (AP {ap:.2f})")
    ax.legend(fontsize=5); ax.set_xlabel("recall"); ax.set_ylabel("precision")
    _show("prcurves", fig)

def _confusion(epoch):
    cm = np.bincount(_Y * 10 + _scores(_Y, epoch).argmax(1), minlength=100).reshape(10, 10)
    fig, ax = plt.subplots(figsize=(3.5, 3.5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), n in np.ndenumerate(cm):
        ax.text(j, i, n, ha="center", va="center", fontsize=6)
    _show("confusion", fig)

def _histograms(epoch):
    fig, axes = plt.subplots(2, 2, figsize=(6, 4))
    for ax, (name, s) in zip(axes.flat, _hists(epoch).items()):
        ax.stairs(s["bucket"][1:], s["bucket_limit"], fill=True)
        ax.set_title(name, fontsize=8)
    _show("histograms", fig)

def _embedding(epoch):
    x = _features(epoch)
    x = x - x.mean(0)
    xy = x @ np.linalg.svd(x, full_matrices=False)[2][:2].T
    fig, ax = plt.subplots(figsize=(3.5, 3.5))
    ax.scatter(xy[:, 0], xy[:, 1], c=_Y, cmap="tab10", s=4)
    _show("embedding", fig)

def _activations(epoch):
    maps = _maps(epoch)
    fig, axes = plt.subplots(4, 4, figsize=(4, 4))
    for ax, m in zip(axes.flat, maps):
        ax.imshow(m, cmap="inferno"); ax.axis("off")
    _show("activations", fig)

_STEPS.update(sheet=_sheet, prcurves=_prcurves, confusion=_confusion, histograms=_histograms,
              embedding=_embedding, activations=_activations)
'''

TENSORBOARD = '''
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
import torch
from torch.utils.tensorboard import SummaryWriter

torch.set_num_threads(1)
_dir = tempfile.mkdtemp()
_writer = SummaryWriter(_dir)

def _event_bytes():
    return sum(os.path.getsize(os.path.join(_dir, f)) for f in os.listdir(_dir))

def plot_classes_preds(images, labels, scores, n):
    """Seed 004's figure: one subplot per image with its predicted class, probability and true class."""
    preds = scores.argmax(1)
    cols = min(n, 10)
    fig = plt.figure(figsize=(12, 48) if n == 4 else (10, 12))
    for idx in np.arange(n):
        ax = fig.add_subplot((n + cols - 1) // cols, cols, idx + 1, xticks=[], yticks=[])
        ax.imshow(images[idx], cmap="Greys")
        ax.set_title(f"{CLASSES[preds[idx]]}, {scores[idx, preds[idx]] * 100.0:.1f}%\\n(label: {CLASSES[labels[idx]]})",
                     color=("green" if preds[idx] == labels[idx] else "red"))
    return fig

_sizes = {}

def _figure(n):
    def step(epoch):
        before = _event_bytes()
        fig = plot_classes_preds(_IMAGES, _Y100, _scores(_Y100, epoch), n)
        _writer.add_figure("predictions vs. actuals", fig, global_step=epoch)
        _writer.flush()
        _sizes.setdefault(n, []).append(_event_bytes() - before)
    return step

_STEPS.update(seed4=_figure(4), sheet=_figure(100))
'''


@dataclass(frozen=True)
class Mode:
    """One update: a contender's kernel code, a step name in it, and a label."""

    contender: str
    name: str
    label: str
    repeats: int  # measured updates in a full run


VIEWS = ("sheet", "prcurves", "confusion", "histograms", "embedding", "activations")
LABELS = {"sheet": "prediction sheet, 100 images", "prcurves": "PR curves, 10 classes × 1,000 predictions",
          "confusion": "confusion matrix, 10 classes × 1,000 predictions", "histograms": "histograms, 4 × 64 bins",
          "embedding": "embedding, 1,000 points × 64 features (PCA)", "activations": "feature maps, 16 × 28 × 28"}
CONTENDERS = {"livetrain": LIVETRAIN, "matplotlib": MATPLOTLIB, "tensorboard": TENSORBOARD}
MODES = (*(Mode("livetrain", v, f"livetrain: {LABELS[v]}", 100) for v in VIEWS),
         *(Mode("matplotlib", v, f"matplotlib PNG in the cell: {LABELS[v]}", 24) for v in VIEWS),
         Mode("tensorboard", "seed4", "seed 004: `plot_classes_preds` (4 images) + `add_figure`", 24),
         Mode("tensorboard", "sheet", "seed 004's way at 100 images: `plot_classes_preds` + `add_figure`", 16))
ROUNDS = 8


@dataclass
class Sample:
    """Everything measured for one mode."""

    mode: Mode
    rounds: list[int] = field(default_factory=list)  # wire bytes of each round's cell
    updates: list[int] = field(default_factory=list)  # updates in each round
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    event_bytes: list[int] = field(default_factory=list)

    def record(self, traffic: list[Message], count: int) -> None:
        """Add one round's IOPub traffic, less livetrain's announcements for reloaded pages."""
        self.rounds.append(sum(m.wire_bytes for m in traffic if not m.announces))
        self.updates.append(count)

    def summary(self) -> dict[str, Any]:
        """Times in ms, and bytes per update: on the wire, in the first and last rounds, and in event files."""
        count = len(self.wall_s)
        return {
            "contender": self.mode.contender, "mode": self.mode.name, "label": self.mode.label, "updates": count,
            "time_ms": times_ms(self.wall_s), "cpu_ms": {"median": statistics.median(self.cpu_s) * 1e3},
            "wire": {"bytes_per_update": sum(self.rounds) / count,
                     "first_round": self.rounds[0] / self.updates[0], "last_round": self.rounds[-1] / self.updates[-1]},
            "event_bytes_per_update": statistics.fmean(self.event_bytes) if self.event_bytes else None,
            "wall_ms": [round(t * 1e3, 5) for t in self.wall_s],
        }


def measure(scale: float, log: Callable[[str], None]) -> list[Sample]:
    """Run every mode in its contender's kernel, interleaving kernels and modes round by round."""
    samples = [Sample(m) for m in MODES]
    kernels: dict[str, Kernel] = {}
    try:
        for name, setup in CONTENDERS.items():
            kernels[name] = Kernel()
            kernels[name].run(PRELUDE)
            kernels[name].run(setup, timeout=600)
            log(f"ready: {name}")
        for s in samples:  # one unmeasured warm-up update each
            kernels[s.mode.contender].run(f"_STEPS[{s.mode.name!r}](0)")
        for r in range(ROUNDS):
            for s in samples:
                counts = split(max(ROUNDS, round(s.mode.repeats * scale)), ROUNDS)
                if r < len(counts):
                    s.record(kernels[s.mode.contender].run(f"_measure({s.mode.name!r}, {counts[r]})")[0], counts[r])
            log(f"round {r + 1}/{ROUNDS}")
        for name, kernel in kernels.items():
            times = json.loads(kernel.run("print(json.dumps(_times))")[1])
            sizes = json.loads(kernel.run("print(json.dumps(globals().get('_sizes', {})))")[1])
            for s in samples:
                if s.mode.contender == name:
                    s.wall_s, s.cpu_s = (list(column) for column in zip(*times[s.mode.name], strict=True))
                    n = {"seed4": "4", "sheet": "100"}.get(s.mode.name)
                    if name == "tensorboard" and n in sizes:
                        s.event_bytes = sizes[n][1:]  # less the warm-up
    finally:
        for kernel in kernels.values():
            kernel.close()
    return samples


def goals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each view ≤ 5 ms per update, O(update) bytes (the last round's bytes per update within 10 % of the first
    round's), and the sheet against seed 004's way of showing it."""
    by = {(r["contender"], r["mode"]): r for r in results}
    rows: list[tuple[str, float, float, str, str, bool]] = []
    for v in VIEWS:
        ours = by["livetrain", v]
        rows.append((f"livetrain {LABELS[v]}: ≤ 5 ms per update (median)", ours["time_ms"]["median"], 5.0, "ms",
                     "max", False))
        rows.append((f"livetrain {LABELS[v]}: bytes per update in the last round ÷ the first (O(update))",
                     ours["wire"]["last_round"] / ours["wire"]["first_round"], 1.1, "×", "max", False))
        rows.append((f"matplotlib PNG ÷ livetrain, {LABELS[v]} (time, ratio of medians)",
                     by["matplotlib", v]["time_ms"]["median"] / ours["time_ms"]["median"], 1.0, "×", "min", True))
    sheet = by["livetrain", "sheet"]["time_ms"]["median"]
    rows.append(("seed 004's `plot_classes_preds` + `add_figure` at 100 images ÷ livetrain's sheet (time)",
                 by["tensorboard", "sheet"]["time_ms"]["median"] / sheet, 1.0, "×", "min", True))
    return [{"goal": g, "value": v, "limit": lim, "unit": u, "info": info,
             "passed": v <= lim if sense == "max" else v >= lim} for g, v, lim, u, sense, info in rows]


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    """The results as a small markdown report: one table, then the goals."""
    lines = [
        "# Per-update cost of the guide views: livetrain vs a matplotlib PNG and seed 004's `add_figure`",
        "",
        run_line(env, "bench_views.py", ("bokeh", "matplotlib", "torch")),
        "",
        "One update shows one epoch's new data (see the script's docstring for the sizes). ms: wall clock per update "
        "inside the kernel; CPU ms: the kernel main thread's CPU time. KB: 1000 bytes on the wire (all ZeroMQ frames "
        "of the IOPub messages) per update, over the run and in its first and last rounds; event KB: what "
        "`add_figure` adds to the event file, which TensorBoard's server then sends to the page.",
        "",
        "| update | median ms | p90 ms | median CPU ms | updates | KB / update | first round | last round | event KB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t, w, e = r["time_ms"], r["wire"], r["event_bytes_per_update"]
        lines.append(f"| {r['label']} | {t['median']:.2f} | {t['p90']:.2f} | {r['cpu_ms']['median']:.2f} | "
                     f"{r['updates']} | {w['bytes_per_update'] / KB:.2f} | {w['first_round'] / KB:.2f} | "
                     f"{w['last_round'] / KB:.2f} | {'' if e is None else f'{e / KB:.1f}'} |")
    return "\n".join(lines + goal_lines(checks)) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure, write ``views.json`` and ``views.md``, print the report. Goals are reported, not enforced."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the repeats")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where views.json and views.md go (default: %(default)s)")
    args = parser.parse_args(argv)
    env = machine(("livetrain", "bokeh", "numpy", "matplotlib", "torch", "tensorboard", "ipykernel"),
                  {"quick": args.quick, "rounds": ROUNDS, "repeats": {f"{m.contender}/{m.name}": m.repeats
                                                                       for m in MODES}})
    start = time.monotonic()
    results = [s.summary() for s in measure(0.25 if args.quick else 1.0, logger(start))]
    publish(args.out / "views", env, results, goals(results), markdown, start)


if __name__ == "__main__":
    main()
