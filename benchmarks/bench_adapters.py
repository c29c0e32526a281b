"""Each framework adapter's cost per training step, against the same training without livetrain.

Usage::

    python benchmarks/bench_adapters.py [--quick] [--out DIR] [--only lightning keras ...]

Each framework's example in ``examples/<name>_digits.py`` (the digits CNN, or the framework's own small model)
runs in a process of its own (the framework imported once), ``main(epochs=E, live=...)`` for a short and a long run,
with and without livetrain, rounds interleaved. The cost per step is the long run's time minus the short run's,
divided by the steps between them: the one-off costs (the framework's start, the board's first panels) cancel out.
The views draw with the ``none`` transport: everything is recorded and applied to the Bokeh models in the views'
own thread, nothing is sent to a page.

Results go to ``adapters.json`` and ``adapters.md``. Medians; the machines are noisy, so a run is repeated.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_updates import goal_lines, logger, machine, publish, run_line

FRAMEWORKS = ("lightning", "keras", "hf", "ignite", "fastai", "accelerate")
PACKAGES = {"lightning": "lightning", "keras": "keras", "hf": "transformers", "ignite": "pytorch-ignite",
            "fastai": "fastai", "accelerate": "accelerate"}
GOAL = 0.01  # the overhead per step, as a fraction of the step without livetrain
SHORT, LONG = 2, 6  # epochs: the short run has an evaluation too, so every panel is made in both
STEPS_PER_EPOCH = 23  # 1,437 training digits in batches of 64


def worker(name: str, rounds: int) -> None:
    """In a fresh process: ``rounds`` interleaved rounds of (short, long) × (plain, live); prints the times."""
    import runpy

    os.environ["KERAS_BACKEND"] = "torch"
    main = runpy.run_path(str(ROOT / "examples" / f"{name}_digits.py"))["main"]
    main(epochs=SHORT, live=False)  # warm-up: imports, kernels, the first graph
    times: dict[str, list[float]] = {f"{live}-{e}": [] for live in ("plain", "live") for e in (SHORT, LONG)}
    for _ in range(rounds):
        for epochs in (SHORT, LONG):
            for live in (False, True):
                t0 = time.perf_counter()
                main(epochs=epochs, live=live)
                times[f"{'live' if live else 'plain'}-{epochs}"].append(time.perf_counter() - t0)
    print("RESULT " + json.dumps(times))


def measure(name: str, rounds: int, log: Any) -> dict[str, Any]:
    env = {**os.environ, "LIVETRAIN_TRANSPORT": "none", "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--worker", name, "--rounds", str(rounds)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{name}: the worker failed:\n{done.stderr[-3000:]}")
    times = json.loads(lines[-1][7:])
    med = {k: statistics.median(v) for k, v in times.items()}
    steps = (LONG - SHORT) * STEPS_PER_EPOCH
    plain = (med[f"plain-{LONG}"] - med[f"plain-{SHORT}"]) / steps
    live = (med[f"live-{LONG}"] - med[f"live-{SHORT}"]) / steps
    result = {"framework": name, "times_s": times, "median_s": med, "step_plain_ms": plain * 1e3,
              "step_live_ms": live * 1e3, "overhead": (live - plain) / plain,
              "fixed_s": (med[f"live-{SHORT}"] - med[f"plain-{SHORT}"]) - (live - plain) * SHORT * STEPS_PER_EPOCH}
    log(f"{name}: {plain * 1e3:.1f} ms per step without livetrain, {live * 1e3:.1f} ms with it "
        f"({result['overhead']:+.1%}); one-off {result['fixed_s']:.2f} s")
    return result


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    lines = ["# Adapters: the cost per training step", "",
             run_line(env, "bench_adapters.py", tuple(PACKAGES[r["framework"]] for r in results)), "",
             f"Each framework's digits example, {SHORT} and {LONG} epochs ({STEPS_PER_EPOCH} steps each), with and "
             f"without livetrain's adapter and its default live Board (drawn, not sent: transport `none`); the cost "
             f"per step is the difference of the two runs over the steps between them, so one-off costs cancel.", "",
             "| framework | step without livetrain | with | overhead per step | one-off (start, first panels) |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['framework']} | {r['step_plain_ms']:.1f} ms | {r['step_live_ms']:.1f} ms | "
                     f"{r['overhead']:+.1%} | {r['fixed_s']:.2f} s |")
    return "\n".join([*lines, *goal_lines(checks)]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two rounds instead of five")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--only", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.rounds)
        return
    start = time.monotonic()
    log = logger(start)
    env = machine(tuple(PACKAGES[f] for f in args.only) + ("livetrain", "torch"), {"quick": args.quick})
    results = [measure(name, 2 if args.quick else 5, log) for name in args.only]
    checks = [{"goal": f"{r['framework']} adapter: overhead per step", "value": 100 * r["overhead"],
               "limit": 100 * GOAL, "unit": "%", "passed": r["overhead"] <= GOAL, "info": False} for r in results]
    publish(args.out / "adapters", env, results, checks, markdown, start)


if __name__ == "__main__":
    main()
