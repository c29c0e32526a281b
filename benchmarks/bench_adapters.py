"""Each framework adapter's cost per training step, against the same training without livetrain.

Usage::

    python benchmarks/bench_adapters.py [--quick] [--out DIR] [--only lightning keras ...]

Each framework's example in ``examples/<name>_digits.py`` (the digits CNN, or the framework's own small model)
runs in a process of its own (the framework imported once): ``main(epochs=E, live=...)`` with and without
livetrain, in rounds that alternate which goes first. Every training step is timed where the framework starts it
(the model's forward in training mode; Keras's ``train_step``), so the figures are the time from one step's start
to the next: the framework's step, its hooks, and livetrain's, with the views' pushes competing for the GIL.
Each run trains about ``RUN_S`` seconds; the steps of its first ``SETTLED_S`` seconds (the board's panels are made
then) and each epoch's first step (it follows the evaluation) are left out; the one-off costs are reported apart.
Overhead: the mean step with livetrain over the mean step without, paired per round, the median over the rounds.

The views draw with the ``none`` transport: everything is recorded and applied to the Bokeh models in the views'
own thread, nothing is sent to a page.

Results go to ``adapters.json`` and ``adapters.md``. The machines are noisy, so rounds are paired and many.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import math
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

#: each run measured: its example (``examples/<name>_digits.py``) and what its ``main`` is given besides
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "lightning": ("lightning", {"extras": False}), "keras": ("keras", {}), "hf": ("hf", {}),
    "ignite": ("ignite", {}), "fastai": ("fastai", {}), "accelerate": ("accelerate", {}),
    "lightning + callback": ("lightning", {"extras": True})}
#: runs that add an opt-in feature to an adapter (histograms of the weights, input images): their cost is shown,
#: not judged against the adapter's goal (TensorBoard's ``add_histogram`` has a cost of its own too)
EXTRAS = {"lightning + callback": "LightningCallback(every=20): weight and gradient histograms and 16 input images "
                                  "every 20 steps"}
FRAMEWORKS = tuple(RUNS)
PACKAGES = {"lightning": "lightning", "keras": "keras", "hf": "transformers", "ignite": "pytorch-ignite",
            "fastai": "fastai", "accelerate": "accelerate"}
GOAL = 0.01  # the overhead per step, as a fraction of the step without livetrain
RUN_S = 8.0  # about how long each run trains: as many epochs as that takes
SETTLED_S = 4.5  # the steps of a run's first seconds are left out: its board's panels are made then (one-off)


def tick_on_steps(name: str, ticks: list[float]) -> None:
    """Append ``time.perf_counter()`` to ``ticks`` at the start of every training step of ``name``'s example."""
    if name == "keras":
        from keras.src.backend.torch.trainer import TorchTrainer as owner

        method = "train_step"
    else:
        from livetrain.examples.digits import DigitsCNN as owner

        method = "forward"
    step = getattr(owner, method)

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        if name == "keras" or self.training:
            ticks.append(time.perf_counter())
        return step(self, *args, **kwargs)

    setattr(owner, method, timed)


def account(name: str, spent: dict[str, list[tuple[float, float]]]) -> None:
    """Record in ``spent`` the (start, CPU seconds) of every call the framework makes into livetrain's adapter (the
    outermost call into its classes only: one timing a hook) as ``"hooks"``, and of every push of the views as
    ``"views"``. The framework calls the adapter from its training thread (Keras: from its worker threads); the
    pushes run in the views'. The thread's CPU clock is a system call that costs microseconds beside the training
    (``time.thread_time`` around an empty hook reads 5 µs there): each timing reads it twice back to back first
    and subtracts that difference, the clock's own cost where and when it is read."""
    from livetrain.core import throttle

    module = importlib.import_module(f"livetrain.adapters.{name}")
    depth = [0]

    def wrap(owner: Any, attr: str, kind: str) -> None:
        function = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            start, timer = time.perf_counter(), time.thread_time()
            cpu = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[kind].append((start, time.thread_time() - cpu - (cpu - timer)))  # less the timer's own cost
                depth[0] -= 1

        setattr(owner, attr, timed)

    for owner in (c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__):
        for attr, value in list(vars(owner).items()):
            if inspect.isfunction(value) and (not attr.startswith("__") or attr == "__call__"):
                wrap(owner, attr, "hooks")
    run = throttle.Throttle._run

    def push(self: Any) -> None:
        start, timer = time.perf_counter(), time.thread_time()
        cpu = time.thread_time()
        try:
            run(self)
        finally:
            spent["views"].append((start, time.thread_time() - cpu - (cpu - timer)))

    throttle.Throttle._run = push


def steps_of(ticks: list[float], start: float, epochs: int) -> list[float]:
    """The step times of one run that began at ``start`` (``ticks`` at each step's start), less those of its first
    ``SETTLED_S`` seconds and each epoch's first step (it follows the evaluation)."""
    per_epoch = len(ticks) // epochs
    return [b - a for i, (a, b) in enumerate(zip(ticks, ticks[1:]), start=1)
            if a - start >= SETTLED_S and i % per_epoch]


def worker(name: str, rounds: int) -> None:
    """In a fresh process: ``rounds`` rounds of one run with and one without livetrain; prints the step times, and
    the CPU the adapter's hooks and the views' pushes took per step once the run settled."""
    import runpy

    os.environ["KERAS_BACKEND"] = "torch"
    example, given = RUNS[name]
    main = functools.partial(runpy.run_path(str(ROOT / "examples" / f"{example}_digits.py"))["main"], **given)
    ticks: list[float] = []
    spent: dict[str, list[tuple[float, float]]] = {"hooks": [], "views": []}
    tick_on_steps(example, ticks)
    account(example, spent)
    main(epochs=1, live=True)  # warm-up: imports, kernels, the first graph
    t0 = time.perf_counter()
    main(epochs=2, live=False)
    epochs = max(4, math.ceil(RUN_S / ((time.perf_counter() - t0) / 2)))
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        for live in (False, True) if r % 2 else (True, False):
            while True:
                ticks.clear(), spent["hooks"].clear(), spent["views"].clear()
                t0 = time.perf_counter()
                main(epochs=epochs, live=live)
                end = time.perf_counter()
                settled = [t for t in ticks if t - t0 >= SETTLED_S]
                if len(settled) >= 2:
                    break
                epochs = math.ceil(epochs * RUN_S / (end - t0))  # a stall in the timing above: too short to settle
            cpu = {kind: sum(c for start, c in calls if t0 + SETTLED_S <= start <= settled[-1]) / (len(settled) - 1)
                   for kind, calls in spent.items()}
            runs.append({"round": r, "live": live, "epochs": epochs, "run_s": end - t0, "steps": len(ticks) - 1,
                         "step_s": steps_of(ticks, t0, epochs), "cpu_per_step_s": cpu})
    print("RESULT " + json.dumps(runs))


def measure(name: str, rounds: int, log: Any) -> dict[str, Any]:
    env = {**os.environ, "LIVETRAIN_TRANSPORT": "none", "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--worker", name, "--rounds", str(rounds)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{name}: the worker failed:\n{done.stderr[-3000:]}")
    runs = json.loads(lines[-1][7:])
    by = {(run["round"], run["live"]): run for run in runs}
    mean = {key: statistics.fmean(run["step_s"]) for key, run in by.items()}
    median = {key: statistics.median(run["step_s"]) for key, run in by.items()}
    paired = [mean[r, True] / mean[r, False] - 1 for r in range(rounds)]
    paired_median = [median[r, True] / median[r, False] - 1 for r in range(rounds)]
    plain = statistics.median(mean[r, False] for r in range(rounds))
    live = statistics.median(mean[r, True] for r in range(rounds))
    one_off = statistics.median(by[r, True]["run_s"] - by[r, False]["run_s"]
                                - (mean[r, True] - mean[r, False]) * by[r, True]["steps"] for r in range(rounds))
    hooks = statistics.median(by[r, True]["cpu_per_step_s"]["hooks"] for r in range(rounds))
    views = statistics.median(by[r, True]["cpu_per_step_s"]["views"] for r in range(rounds))
    result = {"framework": name, "runs": runs, "step_plain_ms": plain * 1e3, "step_live_ms": live * 1e3,
              "overhead": statistics.median(paired), "overheads": paired,
              "overhead_median_step": statistics.median(paired_median), "fixed_s": one_off,
              "steps_per_run": by[0, False]["steps"], "hooks_us": hooks * 1e6, "views_us": views * 1e6,
              "cpu_share": (hooks + views) / plain}
    log(f"{name}: {plain * 1e3:.2f} ms per step without livetrain, {live * 1e3:.2f} ms with it "
        f"({result['overhead']:+.2%}; rounds {', '.join(f'{p:+.1%}' for p in paired)}); livetrain's CPU per step: "
        f"hooks {hooks * 1e6:.0f} µs, views {views * 1e6:.0f} µs ({result['cpu_share']:.2%}); one-off {one_off:.2f} s")
    return result


def markdown(env: dict[str, Any], results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    lines = ["# Adapters: the cost per training step", "",
             run_line(env, "bench_adapters.py", tuple(dict.fromkeys(PACKAGES[RUNS[r["framework"]][0]]
                                                                    for r in results))), "",
             f"Each framework's digits example, about {RUN_S:g} s of training a run, with and without "
             f"livetrain's adapter and its default live Board (drawn, not sent: transport `none`), "
             f"{len(results[0]['overheads'])} rounds in one process per framework. Every training step is timed from "
             f"its start to the next step's; the steps of a run's first {SETTLED_S:g} s (its panels are made then) "
             f"and each epoch's first are left out. livetrain's CPU per step: the CPU time of the framework's calls "
             f"into the adapter (training thread) and of the views' pushes (their own thread) over the settled steps "
             f"(each timing less the CPU clock's own cost, read twice back to back where it is timed), against the "
             f"step without livetrain. Wall-clock overhead: the mean step with livetrain over the mean "
             f"step without, paired per round; the median over the rounds (and its spread: the machine's noise).", "",
             "| framework | step without livetrain | livetrain's CPU per step: hooks | views | share of the step "
             "| wall-clock overhead (paired rounds) | rounds: lowest, highest | one-off (start, first panels) |",
             "|---|---|---|---|---|---|---|---|"]
    extras = [f"`{r['framework']}`: {EXTRAS[r['framework']]}; shown, not judged against the adapter's goal."
              for r in results if r["framework"] in EXTRAS]
    for r in results:
        lines.append(f"| {r['framework']} | {r['step_plain_ms']:.2f} ms | {r['hooks_us']:.0f} µs | "
                     f"{r['views_us']:.0f} µs | **{r['cpu_share']:.2%}** | {r['overhead']:+.1%} | "
                     f"{min(r['overheads']):+.0%}, {max(r['overheads']):+.0%} | {r['fixed_s']:.2f} s |")
    return "\n".join([*lines, *(["", *extras] if extras else []), *goal_lines(checks)]) + "\n"


def goals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The goal, judged on livetrain's CPU per step; the wall-clock overhead is shown beside it."""
    checks = [{"goal": f"{r['framework']} adapter: livetrain's CPU per step (hooks and views), of the step",
               "value": 100 * r["cpu_share"], "limit": 100 * GOAL, "unit": "%", "passed": r["cpu_share"] <= GOAL,
               "info": r["framework"] in EXTRAS} for r in results]
    return checks + [{"goal": f"{r['framework']} adapter: wall-clock overhead per step (noisy)",
                      "value": 100 * r["overhead"], "limit": 100 * GOAL, "unit": "%", "passed": r["overhead"] <= GOAL,
                      "info": True} for r in results]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three rounds instead of nine")
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
    env = machine(tuple(dict.fromkeys(PACKAGES[RUNS[f][0]] for f in args.only)) + ("livetrain", "torch"),
                  {"quick": args.quick})
    results = [measure(name, 3 if args.quick else 9, log) for name in args.only]
    publish(args.out / "adapters", env, results, goals(results), markdown, start)


if __name__ == "__main__":
    main()
