"""Execute the quickstart notebook headlessly and write the executed copy (``make demo``).

Usage:
    python scripts/run_demo.py [--epochs N] [--timeout SECONDS]

The notebook runs in a ``python3`` kernel (the interpreter running this script) with
``notebooks/`` as its working directory. ``BOKEH_RESOURCES`` defaults to ``inline`` so the
executed notebook shows its plots offline. The notebook's ``HISTORY_PATH`` (and ``EPOCHS``, with
``--epochs``) are overridden by a cell injected after its ``parameters`` cell, so the run writes
only under ``notebooks/executed/``. Exits non-zero if a cell fails or livetrain reports a problem.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_quickstart.ipynb"
OUT_DIR = ROOT / "notebooks" / "executed"


def inject_parameters(nb, values: dict) -> None:
    """Insert a cell setting ``values`` right after the cell tagged ``parameters`` (as papermill does)."""
    import nbformat

    where = next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None)
    if where is None:
        raise SystemExit(f"{NOTEBOOK}: no cell tagged 'parameters' to override")
    source = "# Parameters injected by scripts/run_demo.py\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell.id = "injected-parameters"
    nb.cells.insert(where + 1, cell)


def problems(nb) -> list[str]:
    """Error outputs, and livetrain's own warnings or notices on stderr."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and "livetrain:" in out.text:
                found.append(f"cell {i}: {out.text.strip()[:300]}")
    return found


def printed(nb, pattern: str) -> str | None:
    """The first stdout line of the executed notebook matching ``pattern``."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                for line in out.text.splitlines():
                    if re.match(pattern, line):
                        return line
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override the notebook's EPOCHS")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds (default 600)")
    args = parser.parse_args(argv)

    os.environ.setdefault("BOKEH_RESOURCES", "inline")  # the kernel inherits this environment
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    output = OUT_DIR / NOTEBOOK.name
    history_path = OUT_DIR / "01_quickstart_history.json"
    history_path.unlink(missing_ok=True)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = {"HISTORY_PATH": os.path.relpath(history_path, NOTEBOOK.parent)}
    if args.epochs is not None:
        params["EPOCHS"] = args.epochs
    inject_parameters(nb, params)

    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    print(f"run_demo: executing {NOTEBOOK.relative_to(ROOT)} "
          f"(BOKEH_RESOURCES={os.environ['BOKEH_RESOURCES']}, python {sys.executable})", flush=True)
    start = time.monotonic()
    failed = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = str(exc)
    except Exception as exc:  # kernel died, timeout, ...
        failed = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - start
    nbformat.write(nb, output)

    if failed:
        print(f"run_demo: FAILED after {elapsed:.1f}s; partial notebook in {output.relative_to(ROOT)}\n{failed}",
              file=sys.stderr)
        return 1
    found = problems(nb)
    if found:
        print("run_demo: FAILED, livetrain reported problems:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    with open(history_path, encoding="utf-8") as f:
        history = json.load(f)["history"]
    test_acc = history["test"]["acc"]
    dataset = printed(nb, r"dataset: ")
    print(f"run_demo: OK in {elapsed:.1f}s ({dataset or 'dataset: ?'})")
    print(f"  epochs:              {len(test_acc)}")
    print(f"  final test accuracy: {test_acc[-1]:.4f} (best {max(test_acc):.4f})")
    print(f"  final test loss:     {history['test']['loss'][-1]:.4f}")
    print(f"  executed notebook:   {output.relative_to(ROOT)}")
    print(f"  history:             {history_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
