"""livetrain's ``SummaryWriter`` against torch's and tensorboardX's, and its live page against a TensorBoard server.

Usage::

    python benchmarks/bench_writer.py [--quick] [--out DIR]

Three measurements, in one run:

1. **add_scalar cost per call.** One ipykernel per writer (started with jupyter_client, ``BOKEH_RESOURCES=inline``,
   so the board's comm traffic is real): livetrain's ``SummaryWriter`` with its board shown (no files), with the board
   and event files, with files only (``show=False``); ``torch.utils.tensorboard.SummaryWriter`` and
   ``tensorboardX.SummaryWriter`` with their defaults. Calls run back to back in batches of 100, timed per batch,
   with a Python float and with a 0-d torch tensor; rounds interleave the kernels.
2. **Time from add_scalar to the value in the page.** livetrain: a real JupyterLab page in headless Chromium
   (``tests/browser_harness.py``); the kernel logs distinct values, keeping each call's ``time.time()``, and the
   page notes when each value first sits in a BokehJS data source (same host, same clock). TensorBoard: its server
   (``tensorboard --logdir``, defaults, 127.0.0.1) reading a run that ``torch.utils.tensorboard.SummaryWriter`` (its
   defaults) writes at 10 steps a second, polled over its HTTP API every 0.1 s until each step appears, or until it
   is ``TB_CAP`` s late. It runs in the background while the other measurements run.
3. **A million points.** Kernels whose board already holds 1,000 and 1,000,000 points of one tag: Python time per
   update (``add_scalar`` + ``flush()``, and back-to-back calls through the throttle) and wire bytes per push; and in
   the JupyterLab page of item 2 (one page per length), BokehJS's time per update (``Document.apply_json_patch``
   plus the plot views' ``paint``) and the points the page's data sources hold. The points before the measured
   ones are recorded with ``w.history.log`` (what ``add_scalar`` records), then one ``add_scalar`` makes the board
   read them all: the fill is setup, not measured.

In the page, the kernel starts logging the measured values only once the page holds the panel and no patch came for
a second (BokehJS loaded, backlog applied): the figures are the steady state, not the page's start.

Results go to ``writer.json`` (raw numbers) and ``writer.md`` (tables and goals). Medians; ratios are the figures
to quote on a loaded machine.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_updates import KB, Kernel, Message, goal_lines, logger, machine, publish, push_sizes, run_line

BATCH = 100  # add_scalar calls per timed batch
SIZES = (1_000, 1_000_000)  # points already on the board in item 3
TB_CAP = 150.0  # seconds: a TensorBoard step not seen this long after its call counts as ">= TB_CAP"
TAG = "train/loss"


@dataclass(frozen=True)
class Plan:
    """How much of everything: rounds interleave the kernels; the rest is per round, per kernel and mode."""

    rounds: int
    seconds: float  # of back-to-back calls per measuring cell, in timed batches of BATCH (items 1 and 3)
    pushes: int  # add_scalar + flush() updates (item 3)
    tb_seconds: float  # how long torch's writer logs for TensorBoard (10 steps a second)
    slow: int  # page: values logged one every 0.1 s
    fast_seconds: float  # page: seconds of logging one value every 2 ms


FULL = Plan(rounds=8, seconds=0.4, pushes=25, tb_seconds=60, slow=40, fast_seconds=4)
QUICK = Plan(rounds=2, seconds=0.3, pushes=15, tb_seconds=20, slow=20, fast_seconds=2)

IMPORT_LIVETRAIN = '''
try:
    from livetrain import SummaryWriter
except ImportError:  # before the package exports it
    from livetrain.writer import SummaryWriter
'''

# Run in every kernel first. Values are precomputed (floats and 0-d tensors), so the calls time only the writer.
PRELUDE = '''
import gc, json, math, shutil, tempfile, time
import torch
_FLOATS = [0.1 + 2.0 * math.exp(-i / 300) + 0.01 * ((i * 7919) % 101) / 101 for i in range(1024)]
_VALUES = {"float": _FLOATS, "throttled": _FLOATS, "tensor": [torch.tensor(v) for v in _FLOATS]}
_DIR = tempfile.mkdtemp(prefix="bench-writer-")
_step = 0
_times = {}
_PAUSE = 0.055  # compute between two measured pushes (livetrain sends at most one update per 0.05 s)

def _batches(mode, seconds, size):
    """Batches of ``size`` add_scalar calls back to back for ``seconds`` (at least 3 batches), long enough for the
    pushes of a throttled board to fall inside; record each batch's (wall, CPU) seconds per call."""
    global _step
    values, add, out = _VALUES[mode], w.add_scalar, _times.setdefault(mode, [])
    end, k = time.perf_counter() + seconds, 0
    while k < 3 or time.perf_counter() < end:
        k += 1
        s = _step
        t0, c0 = time.perf_counter(), time.thread_time()
        for i in range(s, s + size):
            add("train/loss", values[i & 1023], i)
        c1 = time.thread_time()
        out.append(((time.perf_counter() - t0) / size, (c1 - c0) / size))
        _step = s + size

def _fill(n):
    """Record ``n`` points as add_scalar does (not measured; the board reads them at the last call) and push them."""
    global _step
    log = w.history.log
    for i in range(n - 1):
        log({"train/loss": _FLOATS[i & 1023]}, i)
    w.add_scalar("train/loss", _FLOATS[(n - 1) & 1023], n - 1)
    _step = n
    w.flush()
    gc.collect()

def _pushed(k):
    """``k`` updates, each timed: add_scalar then flush(); then compute (not timed) until the next may push."""
    global _step
    out = _times.setdefault("pushed", [])
    for _ in range(k):
        t0, c0 = time.perf_counter(), time.thread_time()
        w.add_scalar("train/loss", _FLOATS[_step & 1023], _step)
        w.flush()
        c1 = time.thread_time()
        out.append((time.perf_counter() - t0, c1 - c0))
        _step += 1
        while time.perf_counter() < t0 + out[-1][0] + _PAUSE:
            pass

def _close():
    w.close()
    shutil.rmtree(_DIR, ignore_errors=True)
'''


@dataclass(frozen=True)
class Writer:
    """One writer in its own kernel: the code that makes ``w``, what it is called, what it measures."""

    name: str
    label: str
    setup: str
    fill: int = 0  # points logged before measuring (item 3); 0: item 1

    @property
    def modes(self) -> tuple[str, ...]:
        return ("pushed", "throttled") if self.fill else ("float", "tensor")


# One run measured over many cells: the board stays live across them (as bench_updates.py's views), instead of
# leaving its final state at each cell's end and being shown again in the next.
LIVE = "w.board.end_with_cell = False\n"
LIVETRAIN_BOARD = IMPORT_LIVETRAIN + "w = SummaryWriter(write_to_disk=False)\n" + LIVE
WRITERS = (
    Writer("livetrain", "livetrain, board shown (no files)", LIVETRAIN_BOARD),
    Writer("livetrain+files", "livetrain, board shown + event files",
           IMPORT_LIVETRAIN + "w = SummaryWriter(_DIR)\n" + LIVE),
    Writer("livetrain-files", "livetrain, event files only (`show=False`)",
           IMPORT_LIVETRAIN + "w = SummaryWriter(_DIR, show=False)\n"),
    Writer("torch", "torch.utils.tensorboard",
           "from torch.utils.tensorboard import SummaryWriter\nw = SummaryWriter(_DIR)\n"),
    Writer("tensorboardX", "tensorboardX", "from tensorboardX import SummaryWriter\nw = SummaryWriter(_DIR)\n"),
    *(Writer(f"livetrain@{n}", f"livetrain, board shown, {n:,} points", LIVETRAIN_BOARD, fill=n) for n in SIZES),
)


@dataclass
class Sample:
    """One writer and mode: per-call (item 1) or per-update (item 3) times, and the IOPub traffic."""

    writer: Writer
    mode: str
    message_bytes: list[int] = field(default_factory=list)
    message_kinds: Counter[str] = field(default_factory=Counter)
    push_bytes: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def record(self, traffic: list[Message]) -> None:
        traffic = [m for m in traffic if not m.announces]
        self.message_bytes += [m.wire_bytes for m in traffic]
        self.message_kinds.update(m.kind for m in traffic)
        self.push_bytes += push_sizes(traffic)

    def summary(self) -> dict[str, Any]:
        """Times in µs per call (each sample a batch's mean) or, for "pushed", ms per update; wire traffic; raw
        times."""
        pushed = self.mode == "pushed"
        scale = 1e3 if pushed else 1e6
        wall = sorted(t * scale for t in self.wall_s)
        wire = sum(self.message_bytes)
        calls = len(wall) * (1 if pushed else BATCH)
        return {
            "writer": self.writer.name, "label": self.writer.label, "mode": self.mode, "points": self.writer.fill,
            "unit": "ms per update" if pushed else "us per call", "samples": len(wall), "calls": calls,
            "time": {"median": statistics.median(wall), "mean": statistics.fmean(wall), "min": wall[0],
                     "p90": wall[min(len(wall) - 1, int(0.9 * len(wall)))], "max": wall[-1]},
            "cpu": {"median": statistics.median(self.cpu_s) * scale, "mean": statistics.fmean(self.cpu_s) * scale},
            "wire": {"bytes_per_call": wire / calls, "messages": len(self.message_bytes),
                     "message_types": dict(self.message_kinds), "pushes": len(self.push_bytes),
                     "bytes_per_push": statistics.fmean(self.push_bytes) if self.push_bytes else None},
            "raw": [round(t, 4) for t in wall],
        }


def start(writer: Writer, plan: Plan) -> Kernel:
    """A kernel with ``w`` made (and filled), warmed up by one unmeasured batch or update per mode."""
    kernel = Kernel()
    try:
        kernel.run(PRELUDE)
        kernel.run(writer.setup)
        if writer.fill:
            kernel.run(f"_fill({writer.fill})", timeout=900)
        for mode in writer.modes:
            kernel.run("_pushed(3)" if mode == "pushed" else f"_batches({mode!r}, 0.1, {BATCH})")
        kernel.run("_times.clear()")
    except BaseException:
        kernel.close()
        raise
    return kernel


def measure(plan: Plan, log: Callable[[str], None]) -> list[Sample]:
    """Items 1 and 3 (Python side): every writer in its own kernel, the kernels interleaved round by round."""
    kernels: dict[str, Kernel] = {}
    samples = {w.name: [Sample(w, mode) for mode in w.modes] for w in WRITERS}
    try:
        for writer in WRITERS:
            t0 = time.monotonic()
            kernels[writer.name] = start(writer, plan)
            log(f"ready: {writer.name} ({time.monotonic() - t0:.1f} s)")
        for r in range(plan.rounds):
            t0 = time.monotonic()
            for writer in WRITERS:
                kernel = kernels[writer.name]
                for sample in samples[writer.name]:
                    code = (f"_pushed({plan.pushes})" if sample.mode == "pushed"
                            else f"_batches({sample.mode!r}, {plan.seconds}, {BATCH})")
                    sample.record(kernel.run(code)[0])
            log(f"round {r + 1}/{plan.rounds} ({time.monotonic() - t0:.1f} s)")
        for name, kernel in kernels.items():
            times = json.loads(kernel.run("print(json.dumps(_times))")[1])
            for sample in samples[name]:
                sample.wall_s, sample.cpu_s = (list(c) for c in zip(*times[sample.mode], strict=True))
            kernel.run("_close()")
    finally:
        for kernel in kernels.values():
            kernel.close()
    return [s for group in samples.values() for s in group]


# -- TensorBoard: a server reading what torch's writer writes ------------------------------------------------------

TB_WRITER = '''
import json, sys, time
from torch.utils.tensorboard import SummaryWriter
log_dir, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
w = SummaryWriter(log_dir)  # torch's defaults: max_queue=10, flush_secs=120
calls, step = [], 0
end = time.time() + seconds
while time.time() < end:  # a training step every 0.1 s
    t = time.time()
    w.add_scalar("train/loss", 1 + (step + 0.5) / 8192, step)
    calls.append((step, t))
    step += 1
    time.sleep(0.1)
with open(out + ".tmp", "w") as f:
    json.dump(calls, f)
import os; os.replace(out + ".tmp", out)
time.sleep(3600)  # training goes on; the writer is neither flushed nor closed (its owner stops it by PID)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen) -> None:
    """Stop the process group ``proc`` leads (started with ``start_new_session``), by its PID."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def tensorboard_latency(seconds: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Seconds from each of torch's ``add_scalar`` calls to its step in TensorBoard's HTTP API (None: not by TB_CAP)."""
    base = Path(tempfile.mkdtemp(prefix="bench-tb-"))
    (base / "logs").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tensorboard = [str(Path(sys.executable).parent / "tensorboard"), "--logdir", str(base / "logs"),
                   "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(tensorboard, stdout=open(base / "tb.log", "w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    writer = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get_json(url + "/data/runs")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tensorboard did not start: {(base / 'tb.log').read_text()[-2000:]}") from None
                time.sleep(0.2)
        log(f"tensorboard up on port {port}; torch's writer logs for {seconds:.0f} s")
        out = base / "calls.json"
        writer = subprocess.Popen([sys.executable, "-c", TB_WRITER, str(base / "logs" / "run"), str(seconds), str(out)],
                                  start_new_session=True)
        seen: dict[int, float] = {}
        calls: list[tuple[int, float]] | None = None
        first_poll = time.time()
        while True:
            try:
                points = get_json(f"{url}/data/plugin/scalars/scalars?tag=train%2Floss&run=run")
            except (OSError, ValueError):  # 404 until the run has the tag
                points = []
            now = time.time()
            for _, step, _ in points:
                seen.setdefault(int(step), now)
            if calls is None and out.exists():
                calls = json.loads(out.read_text())
            if calls is not None and (all(s in seen for s, _ in calls) or now > calls[-1][1] + TB_CAP):
                break
            if now > first_poll + seconds + TB_CAP + 120:
                raise RuntimeError("the torch writer for TensorBoard never finished")
            time.sleep(0.1)
    finally:
        for proc in (writer, server):
            if proc is not None:
                stop_group(proc)
        shutil.rmtree(base, ignore_errors=True)
    latencies = [seen[s] - t if s in seen and seen[s] - t <= TB_CAP else None for s, t in calls]
    return {"steps": len(calls), "latency_s": latencies, "rate_hz": 10, "cap_s": TB_CAP,
            "summary": latency_summary(latencies, TB_CAP)}


def latency_summary(latencies: list[float | None], cap: float | None = None) -> dict[str, Any]:
    """Median, p90, min, max (seconds), how many were seen and the first one. A value never seen (None) counts as
    ``cap`` (TensorBoard: it may come later), or, without a cap, is left out (a decimated page that drew the next
    value first may never show this one: it is counted in ``censored``)."""
    values = sorted(v if v is not None else cap for v in latencies if v is not None or cap is not None)
    if not values:
        return {"count": len(latencies), "seen": 0, "censored": len(latencies)}
    return {"count": len(latencies), "seen": sum(v is not None for v in latencies), "first": latencies[0],
            "median": statistics.median(values), "p90": values[min(len(values) - 1, int(0.9 * len(values)))],
            "min": values[0], "max": values[-1], "censored": sum(v is None for v in latencies)}


# -- livetrain's page: JupyterLab in Chromium --------------------------------------------------------------------------

# The notebook's one cell: a board, N points, then values one every 0.1 s, then one every 2 ms (busy in between,
# as training). Value k is 1 + (k + 0.5) / 8192: exact in float32 and float64, never one of the filled values.
PAGE_CELL = IMPORT_LIVETRAIN + '''
import json, math, os, time
N, SLOW, FAST = {n}, {slow}, {fast}
mark = lambda k: 1 + (k + 0.5) / 8192
w = SummaryWriter(write_to_disk=False)
t0 = time.perf_counter()
for i in range(N - 1):  # recorded as add_scalar records them; the board reads them all at the last call
    w.history.log({{"train/loss": 0.1 + 2.0 * math.exp(-5 * i / N) + 0.01 * ((i * 7919) % 101) / 101}}, i)
w.add_scalar("train/loss", 0.1 + 2.0 * math.exp(-5), N - 1)
w.flush()
fill_s = time.perf_counter() - t0
wait = time.monotonic() + 300
while not os.path.exists("go.txt") and time.monotonic() < wait:  # the page has the panel and went quiet
    time.sleep(0.05)
calls, step = [], N
for k in range(SLOW):
    t = time.time(); w.add_scalar("train/loss", mark(k), step); calls.append((k, t, "slow")); step += 1
    time.sleep(0.1)
time.sleep(1)
k, end = SLOW, time.time() + FAST
while time.time() < end and k < 8192:
    t = time.time(); w.add_scalar("train/loss", mark(k), step); calls.append((k, t, "fast")); step += 1; k += 1
    while time.time() < t + 0.002:
        pass
time.sleep(1.5)
json.dump({{"calls": calls, "fill_s": fill_s, "kernel_points": len(w.history.steps["train/loss"]),
           "went": os.path.exists("go.txt")}},
          open("calls.json", "w"))
open("done.txt", "w").write("done")
'''

# Installed before Run All. Times every Document.apply_json_patch and every plot view's paint; notes when each marked
# value (see PAGE_CELL) first sits among the last 4 entries of a column of any data source, and at each change of a
# source the newest marked value it holds.
PAGE_HOOKS = """() => {
  const S = window.__bench = {patches: [], paints: [], seen: {}, newest: [], docs: []};
  const now = () => performance.timeOrigin + performance.now();
  const wrapped = new WeakSet(), hooked = new WeakSet();
  const markOf = (x) => { if (typeof x !== "number") return -1; const k = (x - 1) * 8192 - 0.5;
    return Number.isInteger(k) && k >= 0 && k < 8192 ? k : -1; };
  const check = (m) => { const t = now(); let top = -1;
    const data = m.data instanceof Map ? [...m.data.values()] : Object.values(m.data);
    for (const col of data) { if (!col || typeof col.length !== "number") continue;
      for (let i = Math.max(0, col.length - 4); i < col.length; i++) { const k = markOf(col[i]);
        if (k < 0) continue; if (!(k in S.seen)) S.seen[k] = t; top = Math.max(top, k); } }
    if (top >= 0) S.newest.push([t, top]); };
  const timed = (obj, name, into, which) => { const orig = obj[name];
    obj[name] = function (...a) { const t = performance.now();
      try { return orig.apply(this, a); }
      finally { into.push([performance.timeOrigin + t, performance.now() - t, which(this, a)]); } }; };
  const kinds = (patch) => (patch?.events || []).map((e) => `${e.kind}:${e.attr ?? ""}`).join(" ");
  setInterval(() => {
    const B = window.Bokeh; if (!B || !B.require || !B.documents) return;
    while (S.docs.length < B.documents.length) S.docs.push(now());
    for (const d of B.documents) {  // each document's own method: livetrain's page script wraps it per document
      if (wrapped.has(d.apply_json_patch)) continue;
      timed(d, "apply_json_patch", S.patches, (doc, a) => [B.documents.indexOf(doc), kinds(a[0])]);
      wrapped.add(d.apply_json_patch); }
    for (const d of B.documents) for (const m of d.all_models) {
      if (typeof m.get_length !== "function" || hooked.has(m)) continue; hooked.add(m);
      const f = () => check(m);
      m.connect(m.streaming, f); m.connect(m.patching, f); m.connect(m.properties.data.change, f); f(); }
    if (B.index) for (const v of B.index.all_views()) {
      if (typeof v.paint !== "function" || !v.repainted || wrapped.has(v)) continue;
      wrapped.add(v); let depth = 0;  // repaint (layout check + paint) and direct paints, outermost call only
      for (const name of ["repaint", "paint"]) { const orig = v[name];
        v[name] = function (...a) { const t = performance.now(); depth++;
          try { return orig.apply(this, a); } finally { depth--;
            if (!depth) S.paints.push([performance.timeOrigin + t, performance.now() - t,
                                       B.documents.indexOf(this.model.document)]); } }; } }
  }, 20);
}"""

# Whether a data source with this name has rows.
PAGE_READY = """(name) => (window.Bokeh?.documents || []).some((d) => { const m = d.get_model_by_name(name);
  return m && m.get_length() > 0; })"""

# Every data source of every document: its name and length.
PAGE_SOURCES = """() => { const out = [];
  (window.Bokeh?.documents || []).forEach((d, i) => { for (const m of d.all_models)
    if (typeof m.get_length === "function") out.push({doc: i, name: m.name, points: m.get_length()}); });
  return out; }"""


def settled(page: Any, server: Any) -> dict[str, Any]:
    """Once the page holds the panel's source with the filled points and no patch came for a second (BokehJS loaded,
    backlog applied; 60 s at most), let the kernel start logging the marked values (it waits for ``go.txt``)."""
    t0 = time.monotonic()
    page.wait_for_function(PAGE_READY, arg=f"livetrain:scalars:{TAG}", timeout=300_000, polling=100)
    ready = time.monotonic() - t0
    quiet = "() => { const p = window.__bench.patches; return !p.length || Date.now() - p[p.length - 1][0] > 1000; }"
    page.wait_for_function(quiet, timeout=60_000, polling=100)
    (server.notebook.parent / "go.txt").write_text("go")
    return {"ready_s": ready, "settled_s": time.monotonic() - t0}


def page_run(n: int, plan: Plan) -> dict[str, Any]:
    """livetrain's board in a JupyterLab page, filled with ``n`` points, then the marked values (see PAGE_CELL)."""
    from browser_harness import run_in_browser

    cell = PAGE_CELL.format(n=n, slow=plan.slow, fast=plan.fast_seconds)

    def collect(page: Any, server: Any) -> dict[str, Any]:
        state = page.evaluate("() => window.__bench")
        return {"page": state, "sources": page.evaluate(PAGE_SOURCES),
                "kernel": json.loads((server.notebook.parent / "calls.json").read_text())}

    # The harness watches a named source; none has this name (its length, -1, is all it expects).
    res = run_in_browser("lab", [cell], "bench:no-such-source", -1, before=PAGE_HOOKS, after=collect, during=settled)
    return analyse_page(n, res)


def analyse_page(n: int, res: dict[str, Any]) -> dict[str, Any]:
    """Latency per marked value, BokehJS ms per update (apply + the paints before the next patch), points held."""
    calls, page = res["kernel"]["calls"], res["page"]
    seen = {int(k): t / 1e3 for k, t in page["seen"].items()}
    slow = [seen[k] - t if k in seen else None for k, t, phase in calls if phase == "slow"]
    when = {k: t for k, t, _ in calls}
    fast_start = min((t for _, t, phase in calls if phase == "fast"), default=None)
    newest = [t / 1e3 - when[k] for t, k in page["newest"] if fast_start is not None and when.get(k, 0) >= fast_start]
    start = calls[0][1] * 1e3
    patches = sorted(p for p in page["patches"] if p[0] >= start)
    paints = sorted(page["paints"])
    updates = []
    for i, (t, apply_ms, what) in enumerate(patches):
        end = patches[i + 1][0] if i + 1 < len(patches) else float("inf")
        paint_ms = sum(d for s, d, _ in paints if t <= s < end)
        updates.append({"apply_ms": apply_ms, "paint_ms": paint_ms, "total_ms": apply_ms + paint_ms, "events": what[1]})
    sources = res["sources"]
    last_doc = max((s["doc"] for s in sources), default=-1)
    held = [s for s in sources if s["doc"] == last_doc]
    return {
        "points": n, "kernel_points": res["kernel"]["kernel_points"], "fill_s": res["kernel"]["fill_s"],
        "page_ready_s": res["ready_s"], "page_settled_s": res["settled_s"], "went": res["kernel"]["went"],
        "latency_slow_s": slow, "latency_slow": latency_summary(slow),
        "newest_age_fast_s": newest, "newest_age_fast": latency_summary(newest),
        "updates": updates, "update_ms": {key: stats([u[key] for u in updates])
                                          for key in ("apply_ms", "paint_ms", "total_ms")},
        "page_points": sum(s["points"] for s in held), "sources": held, "documents": last_doc + 1,
    }


def stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "mean": None, "p90": None, "max": None, "count": 0}
    v = sorted(values)
    return {"median": statistics.median(v), "mean": statistics.fmean(v), "p90": v[min(len(v) - 1, int(0.9 * len(v)))],
            "max": v[-1], "count": len(v)}


# -- goals and report ----------------------------------------------------------------------------------------------

def check(results: list[dict[str, Any]]) -> None:
    """Fail loudly if livetrain's pushed updates did not push: then every number is suspect."""
    for r in results:
        if r["mode"] == "pushed" and r["wire"]["pushes"] < r["calls"]:
            raise RuntimeError(f"{r['label']}: {r['wire']['pushes']} pushes for {r['calls']} updates; "
                               f"messages {r['wire']['message_types']}")


def goals(results: list[dict[str, Any]], pages: dict[int, dict[str, Any]], tb: dict[str, Any]) -> list[dict[str, Any]]:
    by = {(r["writer"], r["mode"]): r for r in results}
    rows = []
    for mode in ("float", "tensor"):
        theirs = by["torch", mode]
        for name in ("livetrain", "livetrain+files"):
            r = by[name, mode]
            rows.append((f"{r['label']}: add_scalar ({mode}) no slower than torch's (ratio of means, the board's "
                         "pushes included)", r["time"]["mean"] / theirs["time"]["mean"],
                         r["cpu"]["mean"] / theirs["cpu"]["mean"], 1.0, "×", "max", name != "livetrain"))
    lo, hi = (f"livetrain@{n}" for n in SIZES)
    def ratio(clock: str, stat: str) -> float:
        return max(by[hi, m][clock][stat] / by[lo, m][clock][stat] for m in ("pushed", "throttled"))

    rows.append((f"Python time per update at {SIZES[1]:,} points ≤ 2× at {SIZES[0]:,} (medians; the worse of "
                 "add_scalar + flush and back-to-back add_scalar)", ratio("time", "median"), ratio("cpu", "median"),
                 2.0, "×", "max", False))
    rows.append(("info: the same on means (back-to-back: the pushes spread over the calls; noisy on a loaded machine)",
                 ratio("time", "mean"), ratio("cpu", "mean"), 2.0, "×", "max", True))
    if pages:
        worst = max(p["latency_slow"].get("median", math.inf) for p in pages.values())
        rows.append(("add_scalar → value in the page's BokehJS source ≤ 0.3 s (median, one call every 0.1 s; the "
                     "worse page)", worst, None, 0.3, "s", "max", False))
        big, small = pages[SIZES[-1]]["update_ms"]["total_ms"], pages[SIZES[0]]["update_ms"]["total_ms"]
        if big["median"] is not None and small["median"] is not None:
            rows.append((f"BokehJS ms per update at {SIZES[-1]:,} points ≤ 5 ms (median; apply_json_patch + paint)",
                         big["median"], None, 5.0, "ms", "max", False))
            rows.append((f"BokehJS ms per update independent of length: median at {SIZES[-1]:,} / at {SIZES[0]:,} "
                         "≤ 1.5", big["median"] / small["median"], None, 1.5, "×", "max", False))
    if tb and pages:
        rows.append(("info: TensorBoard's median latency / livetrain's", tb["summary"]["median"] / worst, None, 1.0,
                     "×", "min", True))
    return [{"goal": g, "value": v, "cpu_value": c, "limit": lim, "unit": u, "info": info,
             "passed": v <= lim if sense == "max" else v >= lim} for g, v, c, lim, u, sense, info in rows]


def fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    pages, tb = env["pages"], env["tensorboard"]
    lines = ["# SummaryWriter: livetrain vs torch and tensorboardX; its page vs TensorBoard", "",
             run_line(env, "bench_writer.py", ("bokeh", "torch", "tensorboard", "tensorboardX")), "",
             "## 1. add_scalar, per call", "",
             f"µs per call, wall clock inside the kernel; each sample is the mean of {BATCH} calls back to back. "
             "KB / 1000 calls: IOPub bytes (livetrain's board pushes, throttled).", "",
             "| writer | value | median µs | p90 µs | mean µs | median CPU µs | calls | KB / 1000 calls |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r["points"]:
            continue
        t = r["time"]
        lines.append(f"| {r['label']} | {r['mode']} | {t['median']:.2f} | {t['p90']:.2f} | {t['mean']:.2f} | "
                     f"{r['cpu']['median']:.2f} | {r['calls']:,} | {r['wire']['bytes_per_call']:.2f} |")
    lines += ["", "## 2. From add_scalar to the value in the page", "",
              "| page | calls | median s | p90 s | max s | not seen (livetrain: never shown, left out) |",
              "|---|---|---:|---:|---:|---:|"]
    for n, p in pages.items():
        s, f = p["latency_slow"], p["newest_age_fast"]
        lines.append(f"| livetrain, JupyterLab + Chromium, {n:,} points | one every 0.1 s ({s['count']}) | "
                     f"{fmt(s.get('median'))} | {fmt(s.get('p90'))} | {fmt(s.get('max'))} | {s['censored']} |")
        lines.append(f"| livetrain, same page: age of the newest value at each page update | one every 2 ms "
                     f"({f['count']} updates) | {fmt(f.get('median'))} | {fmt(f.get('p90'))} | "
                     f"{fmt(f.get('max'))} | – |")
    if tb:
        s = tb["summary"]
        lines.append(f"| TensorBoard {env['versions']['tensorboard']} server (HTTP API, polled every 0.1 s), run "
                     f"written by torch's SummaryWriter (defaults) | one every 0.1 s ({s['count']}) | "
                     f"{fmt(s['median'], 2)} | {fmt(s['p90'], 2)} | {fmt(s['max'], 2)} | "
                     f"{s['censored']} (≥ {TB_CAP:g} s) |")
        lines.append(f"\nTensorBoard: the first step appeared after {fmt(s['first'], 2)} s (a new run). Its own web "
                     "page asks the server again on its reload timer, so these are lower bounds for the screen.")
    lines += ["", "## 3. A million points", "",
              "| points | add_scalar + flush, median ms | p90 | back-to-back add_scalar, mean µs | median µs | "
              "KB / push | page: BokehJS ms / update, median (apply + paint) | p90 | page holds points |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by = {(r["writer"], r["mode"]): r for r in results}
    for n in SIZES:
        p, t = by[f"livetrain@{n}", "pushed"], by[f"livetrain@{n}", "throttled"]
        page = pages.get(n)
        u = page["update_ms"] if page else None
        lines.append(
            f"| {n:,} | {p['time']['median']:.3f} | {p['time']['p90']:.3f} | {t['time']['mean']:.2f} | "
            f"{t['time']['median']:.2f} | {fmt((p['wire']['bytes_per_push'] or 0) / KB, 2)} | "
            + (f"{fmt(u['total_ms']['median'], 2)} ({fmt(u['apply_ms']['median'], 2)} + "
               f"{fmt(u['paint_ms']['median'], 2)}) | {fmt(u['total_ms']['p90'], 2)} | {page['page_points']:,} |"
               if page else "– | – | – |"))
    return "\n".join(lines + goal_lines(checks)) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure, write ``writer.json`` and ``writer.md``, print the report. Goals are reported, not enforced."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, calls and seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where writer.json and writer.md go (default: %(default)s)")
    parser.add_argument("--no-page", action="store_true", help="leave out the JupyterLab pages (item 2 and 3's page)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    env = machine(("livetrain", "bokeh", "torch", "tensorboard", "tensorboardX", "numpy", "ipykernel",
                   "jupyter_client", "jupyterlab", "playwright"),
                  {"quick": args.quick, "sizes": SIZES, "batch": BATCH, **plan.__dict__, "tb_cap_s": TB_CAP})
    start_time = time.monotonic()
    log = logger(start_time)

    tb: dict[str, Any] = {}
    tb_error: list[BaseException] = []

    def run_tb() -> None:
        try:
            tb.update(tensorboard_latency(plan.tb_seconds, log))
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            tb_error.append(exc)

    tb_thread = threading.Thread(target=run_tb, daemon=True)
    tb_thread.start()
    results = [s.summary() for s in measure(plan, log)]
    check(results)
    pages: dict[int, dict[str, Any]] = {}
    if not args.no_page:
        os.environ.setdefault("LIVETRAIN_BROWSER_TIMEOUT", "400")
        sys.path.insert(0, str(ROOT / "tests"))
        import browser_harness

        try:
            for n in SIZES:
                t0 = time.monotonic()
                pages[n] = page_run(n, plan)
                log(f"page at {n:,} points ({time.monotonic() - t0:.1f} s)")
        finally:
            browser_harness.stop_servers()
    tb_thread.join()
    if tb_error:
        raise tb_error[0]
    log("tensorboard done")
    env["pages"], env["tensorboard"] = pages, tb
    publish(args.out / "writer", env, results, goals(results, pages, tb), markdown, start_time)


if __name__ == "__main__":
    main()
