"""What ``import livetrain`` costs: wall time and modules loaded, for this tree and a baseline revision side by side.

Each measurement is a fresh ``python -c "import livetrain"`` (so nothing is cached in the process), run
alternately for the two trees, ``--runs`` times each; medians are reported. The baseline is checked out
with ``git worktree`` into a temporary folder (default: ``aa127f1``, the last commit before the package was
split into layers). Writes ``benchmarks/results/import.{json,md}``.

    python benchmarks/bench_import.py [--baseline REV] [--runs 15]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_updates import machine, run_line

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
HEAVY = ("matplotlib", "playwright", "PIL", "anywidget", "ipywidgets", "torch", "IPython")
PROBE = ("import sys, json, time; t = time.perf_counter(); import livetrain; t = time.perf_counter() - t; "
         "print(json.dumps([t, sorted(sys.modules)]))")


def measure(tree: Path) -> tuple[float, float, list[str]]:
    """One fresh interpreter importing livetrain from ``tree``: the process's wall time, the import's own time
    (s), and the modules loaded."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - start
    inside, loaded = json.loads(done.stdout.splitlines()[-1])
    return wall, inside, loaded


def summary(samples: list[tuple[float, float, list[str]]]) -> dict:
    loaded = samples[-1][2]
    return {"process_ms": statistics.median(s[0] for s in samples) * 1e3,
            "import_ms": statistics.median(s[1] for s in samples) * 1e3,
            "modules": len(loaded), "livetrain_modules": sum(m.startswith("livetrain") for m in loaded),
            "heavy": sorted({m.split(".")[0] for m in loaded} & set(HEAVY))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="aa127f1")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = machine(("bokeh",), {"baseline": args.baseline, "runs": args.runs, "quick": False})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            samples: dict[str, list] = {"baseline": [], "now": []}
            for _ in range(args.runs):  # alternate, so drifts in the machine's load hit both alike
                samples["baseline"].append(measure(base))
                samples["now"].append(measure(ROOT))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=True)
    env["duration_s"], env["load_average_end"] = time.perf_counter() - start, __import__("os").getloadavg()
    results = {name: summary(s) for name, s in samples.items()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "import.json").write_text(json.dumps({"machine": env, "results": results}, indent=2) + "\n")
    b, n = results["baseline"], results["now"]
    rows = [f"| {label} | {r['import_ms']:.0f} | {r['process_ms']:.0f} | {r['modules']} | {r['livetrain_modules']} | "
            f"{', '.join(r['heavy']) or 'none'} |" for label, r in ((f"before (`{args.baseline}`)", b), ("now", n))]
    (OUT / "import.md").write_text("\n".join([
        "# What `import livetrain` costs, before and after the layered package", "",
        run_line(env, "bench_import.py", ("bokeh",)), "",
        f"Medians of {args.runs} fresh interpreters each, run alternately.", "",
        "| tree | import ms | whole process ms | modules loaded | of them livetrain's | heavy or optional libraries |",
        "|---|---:|---:|---:|---:|---|", *rows, "",
        f"Import time now / before: **{n['import_ms'] / b['import_ms']:.2f}×**.", ""]))
    print((OUT / "import.md").read_text())


if __name__ == "__main__":
    main()
