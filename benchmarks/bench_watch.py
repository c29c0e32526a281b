"""Watching logs: reading event files against TensorBoard's own loader, and the time from a record written by
another process to its value in a JupyterLab page.

Usage::

    python benchmarks/bench_watch.py [--quick] [--out DIR]

1. **Reading 100,000 scalars from an event file.** Two files written beforehand (livetrain's ``EventFileWriter``,
   the events torch and tensorboardX write: one scalar each), 10 tags a step and 1 tag a step, each read whole by
   livetrain's ``EventsReader`` (its own record framing, numpy for the one-scalar events, the protobuf ``Event``
   parser for the rest), by TensorBoard's ``EventFileLoader`` (what its server and ``EventAccumulator``
   use) and by its ``RawEventFileLoader`` (framing and CRC checks, no parsing); rounds interleave the readers.
   Each reader must find every scalar.
2. **Watch latency.** A real JupyterLab page in headless Chromium (``tests/browser_harness.py``): a kernel cell
   starts ``livetrain.watch(path)``; another process appends JSONL records, one every 0.1 s, keeping each write's
   ``time.time()``; the page notes when each value first sits in a BokehJS data source (same host, same clock).

Results go to ``watch.json`` and ``watch.md``. Medians; ratios are the figures to quote on a loaded machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
from bench_updates import goal_lines, logger, machine, publish, run_line
from bench_writer import PAGE_HOOKS, latency_summary, settled

SCALARS = 100_000
TAG = "train/loss"
LATENCY_GOAL_S = 0.5

# The notebook's cell: watch a file that a separate process writes once the page settled (it waits for go.txt).
PAGE_CELL = '''
import json, os, subprocess, sys, time
import livetrain
open("watched.jsonl", "w").write(json.dumps({{"step": 0, "phase": "train", "metrics": {{"loss": 0.5}}}}) + "\\n")
w = livetrain.watch("watched.jsonl", poll=0.05)
writer = subprocess.Popen([sys.executable, "-c", {writer!r}])
writer.wait()
time.sleep(1.5)
w.stop()
open("done.txt", "w").write("done")
'''
WRITER = '''
import json, os, time
wait = time.monotonic() + 300
while not os.path.exists("go.txt") and time.monotonic() < wait:
    time.sleep(0.05)
calls = []
with open("watched.jsonl", "a") as f:
    for k in range({records}):
        value = 1 + (k + 0.5) / 8192  # marked: the page notes when it first holds each one
        t = time.time()
        f.write(json.dumps({{"step": k + 1, "phase": "train", "metrics": {{"loss": value}}}}) + "\\n"); f.flush()
        calls.append((k, t, "slow"))
        time.sleep(0.1)
json.dump({{"calls": calls}}, open("calls.json", "w"))
'''


def event_file(folder: Path, tags: int) -> Path:
    """An event file of ``SCALARS`` scalars, ``tags`` a step, one event each, as torch and tensorboardX frame them."""
    from livetrain.core.tfevents import EventFileWriter

    with EventFileWriter(folder) as writer:
        for step in range(SCALARS // tags):
            for t in range(tags):
                writer.add_scalar(f"tag{t}", 1.0 / (step + 1), step, wall=1.7e9 + step)
    return writer.path


FILES = {"10 tags a step": 10, "1 tag a step": 1}


def read_livetrain(path: Path) -> int:
    from livetrain.sources.base import Series
    from livetrain.sources.events import EventsReader

    return sum(len(i.step) if isinstance(i, Series) else len(i.metrics) for i in EventsReader(path).read())


def read_tensorboard(path: Path) -> int:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return sum(1 for event in EventFileLoader(str(path)).Load() for v in event.summary.value
               if v.metadata.plugin_data.plugin_name == "scalars")


def read_tensorboard_raw(path: Path) -> int:
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

    return sum(1 for _ in RawEventFileLoader(str(path)).Load()) - 1  # the file_version record holds no scalar


READERS = {"livetrain EventsReader": read_livetrain, "TensorBoard EventFileLoader": read_tensorboard,
           "TensorBoard RawEventFileLoader (no parsing)": read_tensorboard_raw}


def reading(rounds: int, log: Any) -> dict[str, Any]:
    paths = {shape: event_file(Path(tempfile.mkdtemp(prefix="bench-watch-")), tags) for shape, tags in FILES.items()}
    times: dict[str, dict[str, list[float]]] = {shape: {name: [] for name in READERS} for shape in FILES}
    found: dict[str, dict[str, int]] = {shape: {} for shape in FILES}
    for r in range(rounds):
        for shape, path in paths.items():
            for name, read in READERS.items():
                t0 = time.perf_counter()
                found[shape][name] = read(path)
                times[shape][name].append(time.perf_counter() - t0)
            log(f"reading round {r + 1}/{rounds}, {shape}: "
                + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times[shape].items()))
    return {"scalars": SCALARS, "file_bytes": {shape: path.stat().st_size for shape, path in paths.items()},
            "found": found, "seconds": times,
            "median_s": {shape: {name: statistics.median(t) for name, t in ts.items()} for shape, ts in times.items()}}


def latency(records: int, log: Any) -> dict[str, Any]:
    from browser_harness import run_in_browser

    cell = PAGE_CELL.format(writer=WRITER.format(records=records))

    def collect(page: Any, server: Any) -> dict[str, Any]:
        return {"page": page.evaluate("() => window.__bench"),
                "kernel": json.loads((server.notebook.parent / "calls.json").read_text())}

    log(f"latency: {records} records, one every 0.1 s, into a JupyterLab page")
    res = run_in_browser("lab", [cell], "bench:no-such-source", -1, before=PAGE_HOOKS, after=collect, during=settled)
    seen = {int(k): t / 1e3 for k, t in res["page"]["seen"].items()}
    late = [seen[k] - t if k in seen else None for k, t, _ in res["kernel"]["calls"]]
    return {"records": records, "latency_s": late, "latency": latency_summary(late)}


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    read, late = results
    lines = ["# Watching logs", "", run_line(env, "bench_watch.py", ("livetrain", "tensorboard", "protobuf")), "",
             f"## Reading {read['scalars']:,} scalars from one event file", "",
             "| file | reader | median | per 100,000 scalars | × livetrain |", "|---|---|---|---|---|"]
    for shape, medians in read["median_s"].items():
        base = medians["livetrain EventsReader"]
        for name, t in medians.items():
            lines.append(f"| {shape} ({read['file_bytes'][shape] / 1e6:.1f} MB) | {name} | {t:.2f} s | "
                         f"{t * 1e5 / read['scalars']:.2f} s | {t / base:.1f}× |")
    summary = late["latency"]
    lines += ["", "## From a record written by another process to its value in the page", "",
              f"{late['records']} JSONL records, one every 0.1 s, watched with `livetrain.watch(path, poll=0.05)` in "
              f"a JupyterLab page (headless Chromium): median {summary.get('median', float('nan')):.3f} s, p90 "
              f"{summary.get('p90', float('nan')):.3f} s, max {summary.get('max', float('nan')):.3f} s; "
              f"{summary.get('seen', 0)} of {summary['count']} values seen.",
              *goal_lines(checks)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and records")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    start = time.monotonic()
    log = logger(start)
    env = machine(("livetrain", "tensorboard", "protobuf", "bokeh"), {"quick": args.quick})
    read = reading(2 if args.quick else 5, log)
    assert all(n == SCALARS for counts in read["found"].values() for n in counts.values()), read["found"]
    late = latency(20 if args.quick else 50, log)
    summary = late["latency"]
    checks = [{"goal": f"reading 100,000 scalars from event files (livetrain), {shape}", "value": per_100k,
               "limit": 0.4, "unit": "s", "passed": per_100k <= 0.4, "info": False}
              for shape, medians in read["median_s"].items()
              for per_100k in [medians["livetrain EventsReader"] * 1e5 / SCALARS]]
    checks += [
        {"goal": "watch latency, record written to value in the page (median)", "value": summary.get("median", 99.0),
         "limit": LATENCY_GOAL_S, "unit": "s", "passed": summary.get("median", 99.0) <= LATENCY_GOAL_S,
         "info": False},
        {"goal": "watch latency, p90", "value": summary.get("p90", 99.0), "limit": LATENCY_GOAL_S, "unit": "s",
         "passed": summary.get("p90", 99.0) <= LATENCY_GOAL_S, "info": True},
    ]
    publish(args.out / "watch", env, [read, late], checks, markdown, start)


if __name__ == "__main__":
    main()
