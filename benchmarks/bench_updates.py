"""Per-update cost of a live training plot in a real Jupyter kernel: livetrain against two baselines.

Usage::

    python benchmarks/bench_updates.py [--quick] [--out DIR]

Contenders, each in its own ipykernel (started with jupyter_client, ``BOKEH_RESOURCES=inline``), so
the comm and display traffic is real and is measured as it leaves the kernel:

- ``livetrain``: ``LinePlotsCallback`` (keys loss and acc, phases train and test), shown with
  ``cb.show()``. One update appends an epoch to the history, calls ``on_epoch_end`` for train and
  test, then ``flush()``, so that every update is pushed. The ``throttled`` mode makes the same
  calls without ``flush()``, back to back: what a user pays while the throttle coalesces.
- ``naive``: a Bokeh layout with the same 4 lines (2 sources with columns epoch, loss, acc) shown
  with ``show(..., notebook_handle=True)``; one update assigns fresh full lists to both sources'
  ``data`` and calls ``push_notebook``.
- ``livelossplot``: ``PlotLosses()`` with its default outputs and ``%matplotlib inline``; one update
  is ``update({...}); send()``.

There is one kernel per contender and N (10, 1,000 and 10,000 epochs already plotted), and it
makes one unmeasured warm-up update per mode. The measured updates then run in rounds that
interleave all the kernels, so that the machine's load drifts hit every contender and N alike.
Before each measuring cell, an unmeasured ``_restart()`` brings the plot back to exactly N epochs
(livetrain: a new callback, shown, the history ingested and flushed once; naive: a full resend;
livelossplot: a new ``PlotLosses`` given the history with ``update``) and collects the garbage, so
the measured updates see N to N + (updates per cell) epochs, not a history that grows all run long,
and do not pay for the replaced plot. Times are taken inside the kernel around each update: wall
clock (``time.perf_counter``) and the main thread's CPU time (``time.thread_time``). Wire bytes are
the sizes of all ZeroMQ frames of every IOPub message the updates emit; the driving cell's own
``status`` and ``execute_input`` messages are left out.
Results go to ``updates.json`` (raw numbers) and ``updates.md`` (table and goals).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 1_000, 10_000)
KB = 1000

# Run in every kernel before a contender's setup. The setup reads ``N``, defines ``_load`` (make
# the plot show exactly the epochs in ``_history``) and fills ``_STEPS`` (mode -> one update). The
# values are full-precision floats, as real metrics are.
PRELUDE = '''
import gc, json, math, time

def _values(e):
    """Epoch ``e``'s metrics per phase: smooth curves that keep improving."""
    loss = 0.1 + 2.2 * math.exp(-e / 3000)
    return {"train": {"loss": loss, "acc": 1 - loss / 2.5}, "test": {"loss": 1.1 * loss, "acc": 1 - loss / 2.4}}

_history = {"train": {"loss": [], "acc": []}, "test": {"loss": [], "acc": []}}

def _add_epoch():
    """Append the next epoch to ``_history``; return its index."""
    e = len(_history["train"]["loss"])
    for phase, values in _values(e).items():
        for key, v in values.items():
            _history[phase][key].append(v)
    return e

def _restart():
    """Cut or grow ``_history`` to N epochs and make the plot show exactly those (not measured).

    Then collect the garbage of the plot it replaced, so that the measured updates do not pay for it.
    """
    for series in _history.values():
        for values in series.values():
            del values[N:]
    while len(_history["train"]["loss"]) < N:
        _add_epoch()
    _load()
    gc.collect()

_STEPS = {}
_times = {}
# Between two measured pushed updates, every contender computes (busy, as training does; not measured) for a bit
# longer than livetrain's display.base.MIN_GAP: livetrain sends at most one update per 0.05 s, flush() included,
# so each measured flush is sent, and every contender pushes under the same conditions.
_PAUSE = 0.055

def _measure(mode, k):
    """Run ``k`` updates of ``mode``, recording each one's (wall, main-thread CPU) seconds."""
    step, out = _STEPS[mode], _times.setdefault(mode, [])
    for _ in range(k):
        t0, c0 = time.perf_counter(), time.thread_time()
        step()
        c1 = time.thread_time()
        out.append((time.perf_counter() - t0, c1 - c0))
        while mode == "pushed" and time.perf_counter() < t0 + out[-1][0] + _PAUSE:
            pass
'''

LIVETRAIN = '''
from livetrain import LinePlotsCallback

def _load():
    """A new callback, shown, with the history ingested and pushed once: a plot cannot drop epochs."""
    global cb
    cb = LinePlotsCallback(keys=("loss", "acc"), phases=("train", "test"))
    cb.end_with_cell = False  # one run, measured over many cells
    cb.show()
    e = len(_history["train"]["loss"]) - 1
    cb.on_epoch_end(e, "train", _history)
    cb.on_epoch_end(e, "test", _history)
    cb.flush()
    time.sleep(0.1)  # a push right after show() waits for the pace (display.base.MIN_GAP): send it now, not in
    cb.flush()       # the first measured update
    time.sleep(0.1)

def _throttled():
    e = _add_epoch()
    cb.on_epoch_end(e, "train", _history)
    cb.on_epoch_end(e, "test", _history)

def _pushed():
    _throttled()
    cb.flush()

_STEPS.update(pushed=_pushed, throttled=_throttled)
'''

NAIVE = '''
from bokeh.io import output_notebook, push_notebook, show
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)
_sources = {phase: ColumnDataSource({"epoch": [], "loss": [], "acc": []}) for phase in _history}
figures = []
for key in ("loss", "acc"):
    p = figure(title=key, width=350, height=300, x_axis_label="epoch")
    for phase, color in (("train", "#d62728"), ("test", "#1f77b4")):
        p.line("epoch", key, source=_sources[phase], color=color, line_width=3, legend_label=phase)
    figures.append(p)
_handle = show(gridplot(figures, ncols=2), notebook_handle=True)

def _load():
    """Send the whole history. Fresh lists: a dict holding the history's own (mutated) lists would
    compare equal to the current data, and nothing would be sent."""
    for phase, source in _sources.items():
        series = _history[phase]
        source.data = {"epoch": list(range(1, len(series["loss"]) + 1)), "loss": list(series["loss"]),
                       "acc": list(series["acc"])}
    push_notebook(handle=_handle)

def _pushed():
    _add_epoch()
    _load()

_STEPS.update(pushed=_pushed)
'''

LIVELOSSPLOT = '''
%matplotlib inline
from livelossplot import PlotLosses

def _log(e):
    """Give epoch ``e`` of the history to livelossplot."""
    _plot.update({"loss": _history["train"]["loss"][e], "val_loss": _history["test"]["loss"][e],
                  "acc": _history["train"]["acc"][e], "val_acc": _history["test"]["acc"][e]})

def _load():
    """A new ``PlotLosses`` given the history with ``update`` only (livelossplot draws on ``send``)."""
    global _plot
    _plot = PlotLosses()
    for e in range(len(_history["train"]["loss"])):
        _log(e)

def _sent():
    _log(_add_epoch())
    _plot.send()

_STEPS.update(send=_sent)
'''


@dataclass(frozen=True)
class Plan:
    """How many measured updates per contender, mode and N, spread over how many interleaved rounds."""

    repeats: int
    slow_repeats: int
    rounds: int


@dataclass(frozen=True)
class Contender:
    """One way of updating a live plot: kernel code that defines its update steps, one per mode."""

    name: str
    setup: str
    modes: tuple[str, ...]
    slow: bool = False  # 100+ ms per update: gets the smaller repeat count

    def repeats(self, plan: Plan) -> int:
        """Measured updates per mode and N."""
        return plan.slow_repeats if self.slow else plan.repeats


CONTENDERS = (
    Contender("livetrain", LIVETRAIN, ("pushed", "throttled")),
    Contender("livetrain-widget", "from livetrain import set_transport\nset_transport('widget')\n" + LIVETRAIN,
              ("pushed",)),
    Contender("naive", NAIVE, ("pushed",)),
    Contender("livelossplot", LIVELOSSPLOT, ("send",), slow=True),
)
FULL = Plan(repeats=200, slow_repeats=7, rounds=8)
QUICK = Plan(repeats=40, slow_repeats=3, rounds=2)
LABELS = {
    ("livetrain", "pushed"): "livetrain, pushed every update (flush)",
    ("livetrain", "throttled"): "livetrain, throttled (no flush), back to back",
    ("livetrain-widget", "pushed"): "livetrain, widget transport, pushed every update (flush)",
    ("naive", "pushed"): "naive full resend (`data = {...}` + push_notebook)",
    ("livelossplot", "send"): "livelossplot 0.6.1 (`update(); send()`)",
}


@dataclass(frozen=True)
class Message:
    """One IOPub message as a frontend receives it."""

    kind: str  # msg_type
    wire_bytes: int  # all its ZeroMQ frames
    starts_push: bool  # a Bokeh PATCH-DOC header: the first of the 3 + 2 * buffers comm messages of one push
    announces: bool = False  # livetrain's announcement for reloaded pages (its comm's open and close)


def _starts_push(kind: str, content: dict[str, Any]) -> bool:
    """Whether a message is a Bokeh PATCH-DOC header, e.g. ``{"msgid": "p1011", "msgtype": "PATCH-DOC", ...}``, or
    a widget's custom message (livetrain's widget transport sends each update as one)."""
    data = content.get("data")
    if kind == "comm_msg" and isinstance(data, dict):
        return data.get("method") == "custom"
    if kind != "comm_msg" or not isinstance(data, str) or len(data) > 200 or not data.startswith("{"):
        return False
    header: dict[str, Any] = json.loads(data)
    return header.get("msgtype") == "PATCH-DOC"


class Kernel:
    """A python3 ipykernel started by jupyter_client, as a notebook server starts one, with its IOPub recorded."""

    def __init__(self) -> None:
        self._manager = KernelManager(kernel_name="python3")
        self._manager.start_kernel(env=dict(os.environ, BOKEH_RESOURCES="inline"))
        self._client = self._manager.client()
        self._client.start_channels()
        self._announcements: set[str] = set()  # comm ids of livetrain's announcements
        try:
            self._client.wait_for_ready(timeout=60)
        except BaseException:
            self.close()
            raise

    def run(self, code: str, timeout: float = 300, settle: float = 0.5) -> tuple[list[Message], str]:
        """Execute ``code``; return its IOPub traffic and its stdout once idle and quiet for ``settle`` s.

        The traffic leaves out the cell's own ``status`` and ``execute_input`` messages, and includes
        whatever arrives while settling (e.g. a throttle's timer push). Raises ``RuntimeError`` with
        the traceback if the code raised.
        """
        msg_id = self._client.execute(code, store_history=False)
        socket, session = self._client.iopub_channel.socket, self._client.session
        traffic: list[Message] = []
        stdout: list[str] = []
        errors: list[str] = []
        deadline, idle = time.monotonic() + timeout, False
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel did not finish in {timeout} s: {code[:80]!r}")
            if not socket.poll(int((settle if idle else 1.0) * 1000)):
                if idle:
                    break
                continue
            frames = socket.recv_multipart()
            msg = session.deserialize(session.feed_identities(frames)[1])
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                idle = idle or (msg["parent_header"].get("msg_id") == msg_id and content["execution_state"] == "idle")
                continue
            if kind == "execute_input":
                continue
            if kind == "error":
                errors.append("\n".join(content["traceback"]))
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            if kind == "comm_open" and content["target_name"] == "livetrain":
                self._announcements.add(content["comm_id"])
            announces = kind in ("comm_open", "comm_close") and content.get("comm_id") in self._announcements
            traffic.append(Message(kind, sum(len(f) for f in frames), _starts_push(kind, content), announces))
        if errors:
            raise RuntimeError(errors[0])
        return traffic, "".join(stdout)

    def close(self) -> None:
        """Stop the channels and the kernel."""
        self._client.stop_channels()
        self._manager.shutdown_kernel(now=True)


def push_sizes(traffic: list[Message]) -> list[int]:
    """Wire bytes of each Bokeh push: its PATCH-DOC header and the comm messages that follow it."""
    sizes: list[int] = []
    for m in traffic:
        if m.starts_push:
            sizes.append(0)
        if sizes and m.kind == "comm_msg":
            sizes[-1] += m.wire_bytes
    return sizes


def times_ms(seconds: list[float]) -> dict[str, float]:
    """Median, mean, min, p90 and max of ``seconds``, in ms."""
    ms = sorted(t * 1e3 for t in seconds)
    return {"median": statistics.median(ms), "mean": statistics.fmean(ms), "min": ms[0],
            "p90": ms[min(len(ms) - 1, int(0.9 * len(ms)))], "max": ms[-1]}


@dataclass
class Sample:
    """Everything measured for one contender, mode and N."""

    contender: str
    mode: str
    n: int
    message_bytes: list[int] = field(default_factory=list)
    message_kinds: Counter[str] = field(default_factory=Counter)
    push_bytes: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def record(self, traffic: list[Message]) -> None:
        """Add the IOPub traffic of one measuring cell, less livetrain's announcements (measured apart)."""
        traffic = [m for m in traffic if not m.announces]
        self.message_bytes += [m.wire_bytes for m in traffic]
        self.message_kinds.update(m.kind for m in traffic)
        self.push_bytes += push_sizes(traffic)

    def summary(self) -> dict[str, Any]:
        """Times in ms and wire traffic per update (and per push, for Bokeh), plus the raw times."""
        count = len(self.wall_s)
        wire = sum(self.message_bytes)
        return {
            "contender": self.contender, "mode": self.mode, "label": LABELS[self.contender, self.mode], "n": self.n,
            "updates": count, "time_ms": times_ms(self.wall_s),
            "cpu_ms": {"median": statistics.median(self.cpu_s) * 1e3, "mean": statistics.fmean(self.cpu_s) * 1e3},
            "wire": {"bytes_per_update": wire / count, "messages_per_update": len(self.message_bytes) / count,
                     "bytes_total": wire, "message_types": dict(self.message_kinds),
                     "pushes": len(self.push_bytes),
                     "bytes_per_push": statistics.fmean(self.push_bytes) if self.push_bytes else None,
                     "push_bytes_max": max(self.push_bytes, default=None)},
            "wall_ms": [round(t * 1e3, 5) for t in self.wall_s],
            "thread_cpu_ms": [round(t * 1e3, 5) for t in self.cpu_s],
        }


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal positive counts (fewer parts when ``total < parts``)."""
    return [c for c in (total // parts + (i < total % parts) for i in range(parts)) if c]


def start_kernel(contender: Contender, n: int) -> Kernel:
    """A fresh kernel set up for ``contender`` and ``n``, warmed up by one unmeasured update per mode."""
    kernel = Kernel()
    try:
        kernel.run(f"N = {n}\n{PRELUDE}")
        kernel.run(contender.setup)
        for mode in contender.modes:
            kernel.run(f"_restart(); _STEPS[{mode!r}]()")
    except BaseException:
        kernel.close()
        raise
    return kernel


def measure(plan: Plan, log: Callable[[str], None]) -> list[Sample]:
    """Run every contender at every N in its own kernel, interleaving the kernels round by round."""
    samples: dict[tuple[str, int], list[Sample]] = {}
    kernels: dict[tuple[str, int], Kernel] = {}
    try:
        for contender in CONTENDERS:
            for n in SIZES:
                t0 = time.monotonic()
                kernels[contender.name, n] = start_kernel(contender, n)
                samples[contender.name, n] = [Sample(contender.name, mode, n) for mode in contender.modes]
                log(f"ready: {contender.name} N={n:,} ({time.monotonic() - t0:.1f} s)")
        for r in range(plan.rounds):
            t0 = time.monotonic()
            for contender in CONTENDERS:
                counts = split(contender.repeats(plan), plan.rounds)
                for n in SIZES:
                    for sample in samples[contender.name, n] if r < len(counts) else ():
                        kernel = kernels[contender.name, n]
                        kernel.run("_restart()")
                        sample.record(kernel.run(f"_measure({sample.mode!r}, {counts[r]})")[0])
            log(f"round {r + 1}/{plan.rounds} ({time.monotonic() - t0:.1f} s)")
        for key, kernel in kernels.items():
            times = json.loads(kernel.run("print(json.dumps(_times))")[1])
            for sample in samples[key]:
                sample.wall_s, sample.cpu_s = (list(column) for column in zip(*times[sample.mode], strict=True))
    finally:
        for kernel in kernels.values():
            kernel.close()
    return [s for group in samples.values() for s in group]


def check(results: list[dict[str, Any]]) -> None:
    """Fail loudly if the updates did not produce the traffic they should (then every number is suspect).

    livetrain may push more often than once per update: the first update of each measuring cell
    comes after an idle gap longer than the throttle interval, so its train phase pushes at once.
    """
    for r in results:
        kinds = r["wire"]["message_types"]
        if r["mode"] == "pushed" and (r["wire"]["pushes"] < r["updates"] or set(kinds) != {"comm_msg"}):
            raise RuntimeError(f"{r['label']} N={r['n']}: {r['wire']['pushes']} pushes for {r['updates']} "
                               f"updates; messages {kinds}")
        if r["contender"] == "livelossplot" and kinds.get("display_data") != r["updates"]:
            raise RuntimeError(f"livelossplot N={r['n']}: expected one image per update; messages {kinds}")


def goals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """livetrain's targets. Time per update is judged as users run livetrain: back to back and
    throttled, on the *mean* (so the pushes the throttle makes are paid for by the calls). Bytes are
    per push, and the livelossplot ratio uses the stricter pushed-every-update mode. The pushed mode's
    own time is reported too (an ``info`` row): it is a push's cost, not an update's. Flatness is
    judged on medians, on the worse of the two modes.

    The same figures on main-thread CPU time (``cpu_value``) show how much of a result is the
    machine's load: CPU time leaves out the time the kernel waits for a core.
    """
    by = {(r["contender"], r["mode"], r["n"]): r for r in results}
    pushed = [by["livetrain", "pushed", n] for n in SIZES]
    throttled = [by["livetrain", "throttled", n] for n in SIZES]
    theirs = [by["livelossplot", "send", n] for n in SIZES]

    def worst(rows: list[dict[str, Any]], clock: str, stat: str) -> float:
        return max(r[clock][stat] for r in rows)

    def flat(rows: list[dict[str, Any]], clock: str, stat: str) -> float:
        return rows[-1][clock][stat] / rows[0][clock][stat]

    def speedup(clock: str) -> float:
        return min(t[clock]["median"] / o[clock]["median"] for o, t in zip(pushed, theirs, strict=True))

    push_kb = max(r["wire"]["bytes_per_push"] for r in pushed) / KB
    lo, hi = f"{SIZES[0]:,}", f"{SIZES[-1]:,}"
    rows = [
        ("livetrain ≤ 0.5 ms per update, back to back (throttled; worst mean over N, pushes included)",
         worst(throttled, "time_ms", "mean"), worst(throttled, "cpu_ms", "mean"), 0.5, "ms", "max", False),
        (f"livetrain flat in N: median t({hi}) / t({lo}) ≤ 1.2 (the worse of the throttled and pushed modes)",
         max(flat(throttled, "time_ms", "median"), flat(pushed, "time_ms", "median")),
         max(flat(throttled, "cpu_ms", "median"), flat(pushed, "cpu_ms", "median")), 1.2, "×", "max", False),
        ("livetrain ≤ 2.5 KB on the wire per push (worst mean over N)", push_kb, None, 2.5, "KB", "max", False),
        ("livetrain ≥ 100× cheaper than livelossplot, each update pushed (smallest ratio of medians over N)",
         speedup("time_ms"), speedup("cpu_ms"), 100, "×", "min", False),
        ("info: one forced push (update + flush) per update (worst median over N)",
         worst(pushed, "time_ms", "median"), worst(pushed, "cpu_ms", "median"), 0.5, "ms", "max", True),
    ]
    return [{"goal": goal, "value": value, "cpu_value": cpu, "limit": limit, "unit": unit, "info": info,
             "passed": value <= limit if sense == "max" else value >= limit}
            for goal, value, cpu, limit, unit, sense, info in rows]


def environment(plan: Plan, quick: bool) -> dict[str, Any]:
    """Versions, machine and source revision, so that numbers from different runs can be compared."""
    return machine(("livetrain", "bokeh", "livelossplot", "matplotlib", "numpy", "ipykernel", "jupyter_client",
                    "pyzmq"),
                   {"quick": quick, "sizes": SIZES, "repeats": plan.repeats, "slow_repeats": plan.slow_repeats,
                    "rounds": plan.rounds})


def machine(packages: tuple[str, ...], plan: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's environment: date, Python, CPUs and load, git revision, ``packages``' versions, its ``plan``."""
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
            "git": git_revision(), "versions": {p: metadata.version(p) for p in packages}, "plan": plan}


def run_line(env: dict[str, Any], script: str, shown: tuple[str, ...]) -> str:
    """The report's first line: when, where, which versions of ``shown``, which revision, how long."""
    versions = ", ".join(f"{p} {env['versions'][p]}" for p in shown)
    return (f"{env['date']}, Python {env['python']}, {env['cpu_count']} CPUs (load average "
            f"{env['load_average'][0]:.2f} at start, {env['load_average_end'][0]:.2f} at end), {versions}, "
            f"git `{env['git']}`{', quick run' if env['plan']['quick'] else ''}, {env['duration_s']:.0f} s. "
            f"Made by `benchmarks/{script}`; see `benchmarks/README.md`.")


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    """The results as a small markdown report: one table, then the goals."""
    lines = [
        "# Per-update cost: livetrain vs naive Bokeh resend vs livelossplot",
        "",
        run_line(env, "bench_updates.py", ("bokeh", "livelossplot")),
        "",
        f"N: epochs plotted when a measuring cell starts; each update adds one, and each cell makes at most "
        f"{math.ceil(env['plan']['repeats'] / env['plan']['rounds'])} updates. ms: wall clock "
        "(`perf_counter`) per update, inside the kernel. CPU ms: the kernel main thread's CPU time, which "
        "leaves out waiting for a busy machine. KB: 1000 bytes on the wire (all ZeroMQ frames of the IOPub "
        "messages), per update.",
        "",
        "| contender | N | median ms | p90 ms | mean ms | median CPU ms | updates | KB / update | messages / update |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['label']} | {r['n']:,} | {timing_cells(r)} |" for r in results]
    lines += ["", announcement_line(env["announcements"])]
    return "\n".join(lines + goal_lines(checks)) + "\n"


def announcement_costs() -> dict[int, dict[str, float]]:
    """What one announcement for reloaded pages costs at each N (a line view with N epochs of two phases), in
    this process: median ms of 5 and KB of data. The document's JSON is made once, at the first announcement
    (here before any epoch); each later one adds a patch with every source's whole data."""
    from bokeh.document import Document

    from livetrain import LinePlotsCallback, set_transport
    from livetrain.display.announce import Announcer

    set_transport("none")  # this script's own views are only measured, not written to livetrain-*.html
    out = {}
    for n in SIZES:
        cb = LinePlotsCallback(epochs=n, interval=0)
        Document().add_root(cb.graph)
        sizes: list[int] = []
        announcer = Announcer("bench", cb.graph.document, every=0, send=lambda data, buffers, sizes=sizes: sizes.append(
            sum(len(v) for v in (data["doc"], data["patch"] or "")) + sum(map(len, buffers or []))))
        announcer.announce(0)
        values = [1 / (e + 1) for e in range(n)]
        for phase in ("train", "test"):
            cb.on_epoch_end(n - 1, phase, {p: {"loss": values, "acc": values} for p in ("train", "test")})
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            announcer.announce(0)
            times.append(time.perf_counter() - t0)
        out[n] = {"median_ms": statistics.median(times) * 1e3, "kb": sizes[-1] / KB}
    return out


def announcement_line(costs: dict[int, dict[str, float]]) -> str:
    """The announcements' cost, for the report."""
    each = "; ".join(f"N={n:,}: {c['median_ms']:.1f} ms, {c['kb']:.0f} KB" for n, c in costs.items())
    return ("Announcements for pages reloaded during a run (the whole plot; at most one a second, 2 % of the time "
            f"and 250 KB a second, so less often when they cost more; measured apart): {each}.")


def timing_cells(r: dict[str, Any]) -> str:
    """A result's table cells: median, p90 and mean ms, median CPU ms, updates, KB and messages per update."""
    t, w = r["time_ms"], r["wire"]
    return (f"{t['median']:.3f} | {t['p90']:.3f} | {t['mean']:.3f} | {r['cpu_ms']['median']:.3f} | {r['updates']} | "
            f"{w['bytes_per_update'] / KB:.2f} | {w['messages_per_update']:.2f}")


def git_revision() -> str | None:
    """``git describe --always --dirty`` of the source tree, or None outside a checkout."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def logger(start: float) -> Callable[[str], None]:
    """A progress printer to stderr, each line stamped with the seconds since ``start`` (``time.monotonic()``)."""
    def log(text: str) -> None:
        print(f"[{time.monotonic() - start:6.1f} s] {text}", file=sys.stderr, flush=True)
    return log


def goal_lines(checks: list[dict[str, Any]]) -> list[str]:
    """The "Goals" section of a report: PASS/FAIL per goal, within/over per ``info`` line."""
    lines = ["", "## Goals", ""]
    for g in checks:
        digits = 3 if g["unit"] == "ms" else 2
        cpu = ("" if g.get("cpu_value") is None
               else f"; on main-thread CPU time: {g['cpu_value']:.{digits}f} {g['unit']}")
        verdict = ("within" if g["passed"] else "over") if g["info"] else ("PASS" if g["passed"] else "FAIL")
        lines.append(f"- **{verdict}** {g['goal']}: {g['value']:.{digits}f} {g['unit']} "
                     f"({'reference' if g['info'] else 'limit'} {g['limit']:g} {g['unit']}{cpu})")
    return lines


def write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, so that an interrupted run leaves the previous results whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def publish(stem: Path, env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]],
            markdown: Callable[..., str], start: float) -> None:
    """Write ``stem``.json (everything) and ``stem``.md (the report), atomically, and print the report."""
    env["load_average_end"] = os.getloadavg()
    env["duration_s"] = round(time.monotonic() - start, 1)
    report = markdown(env, results, checks)
    write(stem.with_suffix(".json"),
          json.dumps({"environment": env, "goals": checks, "results": results}, indent=1, ensure_ascii=False) + "\n")
    write(stem.with_suffix(".md"), report)
    print(report)


def main(argv: list[str] | None = None) -> None:
    """Measure, write ``updates.json`` and ``updates.md``, print the report. Goals are reported, not enforced."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rounds (about a minute and a half)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where updates.json and updates.md go (default: %(default)s)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    env = environment(plan, args.quick)
    start = time.monotonic()
    log = logger(start)

    env["announcements"] = announcement_costs()
    order = [c.name for c in CONTENDERS]
    results = sorted((s.summary() for s in measure(plan, log)),
                     key=lambda r: (order.index(r["contender"]), r["mode"] != "pushed", r["n"]))
    check(results)
    publish(args.out / "updates", env, results, goals(results), markdown, start)


if __name__ == "__main__":
    main()
