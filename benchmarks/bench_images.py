"""Per-update cost of a live image grid in a real Jupyter kernel: livetrain against the blog's update.

Usage::

    python benchmarks/bench_images.py [--quick] [--out DIR]

One update shows a new batch of 64 MNIST-sized images (a float32 torch tensor ``(64, 1, 28, 28)``) as
an 8-per-row grid with 2 px padding, 242 x 242 pixels, through a gray colour map, in one figure:
build the grid, colour it, set it, push it. Each contender runs in its own ipykernel, driven with
``bench_updates.Kernel`` (jupyter_client, ``BOKEH_RESOURCES=inline``), so the comm traffic is real.

- ``livetrain``: ``ImagePlotsCallback(keys=("recon",), phases=("train",))``, shown with ``cb.show()``;
  one update is ``on_epoch_end`` then ``flush()`` (mode ``pushed``). Mode ``render`` times the
  conversion alone: ``grid_picture(x, lut)``, no Bokeh.
- ``blog``: the blog's ``_to_img`` (``make_grid``, then ``matplotlib.cm.gray(grid) * 255`` as uint8
  ``(H, W, 4)``, flipped) into an ``image_rgba`` source shown with ``show(..., notebook_handle=True)``,
  then ``push_notebook``. torchvision is optional, so its grid comes from ``livetrain.core.images.make_grid``
  (same layout, and 0.1 ms of the cost). Four ways to set the picture:

  - ``ndarray3d``: ``data["image"] = [img]``, the blog's own line. Bokeh 3 sends it as a binary buffer,
    but BokehJS draws nothing ("expected a 2D array, not 3D");
  - ``list3d``: ``[img.tolist()]``, the picture as nested lists of bytes (JSON; draws nothing either);
  - ``list2d``: ``[img.view(np.uint32).reshape(h, w).tolist()]``, nested lists of packed pixels (JSON;
    draws nothing either: BokehJS 3 wants an ndarray);
  - ``u32``: the blog's picture as the 2-D uint32 ndarray that draws, i.e. the blog fixed by hand;
  - ``floor``: a picture converted beforehand, set and pushed: Bokeh's and ipykernel's share of any update.

The updates run in rounds that interleave the kernels and modes. Times are taken inside the kernel
around each update (wall clock and main-thread CPU time); wire bytes are all ZeroMQ frames of every
IOPub message the updates emit. Results go to ``images.json`` and ``images.md``.
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
from bench_updates import (
    Kernel,
    Message,
    goal_lines,
    logger,
    machine,
    publish,
    push_sizes,
    run_line,
    split,
    times_ms,
    timing_cells,
)

ROOT = Path(__file__).resolve().parent.parent
RAW = 242 * 242 * 4  # bytes of the grid as RGBA

PRELUDE = '''
import gc, json, time
import numpy as np
import torch

torch.manual_seed(0)
_BATCHES = [torch.rand(64, 1, 28, 28) for _ in range(8)]  # what a VAE's decoder returns: floats in [0, 1]
_n = 0

def _next_batch():
    global _n
    _n += 1
    return _BATCHES[_n % len(_BATCHES)]

_STEPS = {}
_times = {}
# Between two measured updates that push, every contender computes (busy, as training does; not measured) for a bit
# longer than livetrain's display.base.MIN_GAP: livetrain sends at most one update per 0.05 s, flush() included,
# so each measured flush is sent, and every contender pushes under the same conditions.
_PAUSE = 0.055

def _measure(mode, k):
    """Run ``k`` updates of ``mode``, recording each one's (wall, main-thread CPU) seconds."""
    step, out = _STEPS[mode], _times.setdefault(mode, [])
    gc.collect()
    for _ in range(k):
        t0, c0 = time.perf_counter(), time.thread_time()
        step()
        c1 = time.thread_time()
        out.append((time.perf_counter() - t0, c1 - c0))
        while mode != "render" and time.perf_counter() < t0 + out[-1][0] + _PAUSE:
            pass
'''

LIVETRAIN = '''
from livetrain.views.image import ImagePlotsCallback
from livetrain.core.images import grid_picture

cb = ImagePlotsCallback(keys=("recon",), phases=("train",))
cb.end_with_cell = False  # one run, measured over many cells
cb.show()
_history = {"train": {"recon": []}}

def _pushed():
    _history["train"]["recon"].append(_next_batch())
    cb.on_epoch_end(len(_history["train"]["recon"]) - 1, "train", _history)
    cb.flush()

def _render():
    grid_picture(_next_batch(), cb.lut)

_STEPS.update(pushed=_pushed, render=_render)
'''

BLOG = '''
import itertools
from bokeh.io import output_notebook, push_notebook, show
from bokeh.plotting import figure
from bokeh.resources import INLINE
from matplotlib import cm
from livetrain.core.images import make_grid

def _to_img(batch, cmap=cm.gray):
    """The blog's ``_to_img``, with livetrain's make_grid standing in for torchvision's (same layout)."""
    batch = batch[:64].view(-1, 1, 28, 28)
    grid = make_grid(batch.numpy().transpose(0, 2, 3, 1), nrow=8)[..., 0]
    return np.uint8(cmap(grid) * 255)

output_notebook(INLINE, hide_banner=True)
_p = figure(width=350, height=350, x_range=(0, 242), y_range=(0, 242))
_r = _p.image_rgba(image=[np.zeros((242, 242), np.uint32)], x=[0], y=[0], dw=[242], dh=[242])
_handle = show(_p, notebook_handle=True)

def _setter(convert):
    def step():
        _r.data_source.data["image"] = [convert(_to_img(_next_batch())[::-1])]
        push_notebook(handle=_handle)
    return step

_ready = itertools.cycle([np.ascontiguousarray(_to_img(b)[::-1]).view(np.uint32)[..., 0] for b in _BATCHES])

def _floor():
    """Set a picture made beforehand and push it: what any image update pays Bokeh and ipykernel."""
    _r.data_source.data["image"] = [next(_ready)]
    push_notebook(handle=_handle)

_STEPS.update(
    floor=_floor,
    ndarray3d=_setter(lambda img: img),
    list3d=_setter(lambda img: img.tolist()),
    list2d=_setter(lambda img: np.ascontiguousarray(img).view(np.uint32)[..., 0].tolist()),
    u32=_setter(lambda img: np.ascontiguousarray(img).view(np.uint32)[..., 0]),
)
'''


@dataclass(frozen=True)
class Mode:
    """One way to update the picture: a contender's kernel code, a step name in it, and a label."""

    contender: str
    name: str
    label: str
    repeats: int  # measured updates in a full run
    pushes: bool = True


CONTENDERS = {"livetrain": LIVETRAIN, "blog": BLOG}
MODES = (
    Mode("livetrain", "pushed", "livetrain `ImagePlotsCallback`: on_epoch_end + flush (draws)", 200),
    Mode("livetrain", "render", "livetrain conversion only: `grid_picture` (no push)", 200,
         pushes=False),
    Mode("blog", "ndarray3d", "blog as written: `[img]`, 3-D uint8 ndarray (draws nothing)", 200),
    Mode("blog", "list3d", "blog, nested lists: `[img.tolist()]`, 3-D uint8 (draws nothing)", 20),
    Mode("blog", "list2d", "blog, nested lists: 2-D uint32 `.tolist()` (draws nothing)", 20),
    Mode("blog", "u32", "blog fixed by hand: 2-D uint32 ndarray (draws)", 200),
    Mode("blog", "floor", "floor: set a ready 2-D uint32 picture + push_notebook (no conversion)", 200),
)
ROUNDS = 8


@dataclass
class Sample:
    """Everything measured for one mode."""

    mode: Mode
    message_bytes: list[int] = field(default_factory=list)
    push_bytes: list[int] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def record(self, traffic: list[Message]) -> None:
        """Add the IOPub traffic of one measuring cell, less livetrain's announcements for reloaded pages (about
        one a second; ``bench_updates.py`` measures them apart)."""
        traffic = [m for m in traffic if not m.announces]
        self.message_bytes += [m.wire_bytes for m in traffic]
        self.push_bytes += push_sizes(traffic)
        self.kinds |= {m.kind for m in traffic}

    def summary(self) -> dict[str, Any]:
        """Times in ms and wire traffic per update, plus the raw times."""
        count = len(self.wall_s)
        return {
            "contender": self.mode.contender, "mode": self.mode.name, "label": self.mode.label, "updates": count,
            "time_ms": times_ms(self.wall_s),
            "cpu_ms": {"median": statistics.median(self.cpu_s) * 1e3},
            "wire": {"bytes_per_update": sum(self.message_bytes) / count,
                     "messages_per_update": len(self.message_bytes) / count, "pushes": len(self.push_bytes),
                     "message_types": sorted(self.kinds)},
            "wall_ms": [round(t * 1e3, 5) for t in self.wall_s],
            "thread_cpu_ms": [round(t * 1e3, 5) for t in self.cpu_s],
        }


def measure(scale: float, log: Callable[[str], None]) -> list[Sample]:
    """Run every mode in its contender's kernel, interleaving kernels and modes round by round."""
    samples = [Sample(m) for m in MODES]
    kernels: dict[str, Kernel] = {}
    try:
        for name, setup in CONTENDERS.items():
            kernels[name] = Kernel()
            kernels[name].run(PRELUDE)
            kernels[name].run(setup)
            log(f"ready: {name}")
        for s in samples:  # one unmeasured warm-up update each
            kernels[s.mode.contender].run(f"_STEPS[{s.mode.name!r}]()")
        for r in range(ROUNDS):
            for s in samples:
                counts = split(max(2, round(s.mode.repeats * scale)), ROUNDS)
                if r < len(counts):
                    s.record(kernels[s.mode.contender].run(f"_measure({s.mode.name!r}, {counts[r]})")[0])
            log(f"round {r + 1}/{ROUNDS}")
        for name, kernel in kernels.items():
            times = json.loads(kernel.run("print(json.dumps(_times))")[1])
            for s in samples:
                if s.mode.contender == name:
                    s.wall_s, s.cpu_s = (list(column) for column in zip(*times[s.mode.name], strict=True))
    finally:
        for kernel in kernels.values():
            kernel.close()
    return samples


def check(results: list[dict[str, Any]]) -> None:
    """Fail loudly if an update did not push exactly once (or a conversion pushed): every number would be suspect."""
    for r, mode in zip(results, MODES, strict=True):
        pushes = r["wire"]["pushes"]
        if pushes != (r["updates"] if mode.pushes else 0) or (pushes and r["wire"]["message_types"] != ["comm_msg"]):
            raise RuntimeError(f"{r['label']}: {pushes} pushes for {r['updates']} updates, "
                               f"messages {r['wire']['message_types']}")


def goals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """livetrain's targets for one image update, and how it compares with the blog's update."""
    by = {r["mode"]: r for r in results}
    ours = by["pushed"]

    def speedup(mode: str) -> float:
        return by[mode]["time_ms"]["median"] / ours["time_ms"]["median"]

    rows = [
        ("livetrain ≤ 2 ms per image update, end to end (median)", ours["time_ms"]["median"], 2.0, "ms", "max",
         False),
        ("livetrain ≤ 1.1 × the raw RGBA bytes (242 × 242 × 4 = 234,256 B) on the wire per update",
         ours["wire"]["bytes_per_update"] / RAW, 1.1, "×", "max", False),
        ("livetrain ≥ 10× faster than the blog with nested lists (2-D uint32 `.tolist()`; ratio of medians)",
         speedup("list2d"), 10, "×", "min", False),
        ("info: livetrain's own share, median livetrain − median floor (conversion, fresh arrays per update)",
         ours["time_ms"]["median"] - by["floor"]["time_ms"]["median"], 1.0, "ms", "max", True),
    ]
    return [{"goal": g, "value": v, "limit": lim, "unit": u, "info": info,
             "passed": v <= lim if sense == "max" else v >= lim} for g, v, lim, u, sense, info in rows]


def environment(quick: bool) -> dict[str, Any]:
    """Versions, machine and source revision."""
    return machine(("livetrain", "bokeh", "numpy", "torch", "matplotlib", "ipykernel", "jupyter_client", "pyzmq"),
                   {"quick": quick, "rounds": ROUNDS,
                    "repeats": {f"{m.contender}/{m.name}": m.repeats for m in MODES}})


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    """The results as a small markdown report: one table, then the goals."""
    lines = [
        "# Per-update cost of a live image grid: livetrain vs the blog's update",
        "",
        run_line(env, "bench_images.py", ("bokeh", "torch")),
        "",
        "One update: a new batch of 64 images 28 × 28 (a float32 torch tensor) becomes a 242 × 242 grid (8 per "
        "row, 2 px padding) through a gray colour map, is set on a Bokeh source and pushed. ms: wall clock per "
        "update inside the kernel; CPU ms: the kernel main thread's CPU time. KB: 1000 bytes on the wire (all "
        "ZeroMQ frames of the IOPub messages) per update; the raw RGBA grid is 234.26 KB.",
        "",
        "| update | median ms | p90 ms | mean ms | median CPU ms | updates | KB / update | messages / update |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['label']} | {timing_cells(r)} |" for r in results]
    return "\n".join(lines + goal_lines(checks)) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure, write ``images.json`` and ``images.md``, print the report. Goals are reported, not enforced."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the repeats")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where images.json and images.md go (default: %(default)s)")
    args = parser.parse_args(argv)
    env = environment(args.quick)
    start = time.monotonic()
    log = logger(start)

    results = [s.summary() for s in measure(0.2 if args.quick else 1.0, log)]
    check(results)
    publish(args.out / "images", env, results, goals(results), markdown, start)


if __name__ == "__main__":
    main()
