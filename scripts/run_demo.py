"""Execute a notebook (the quickstart by default: ``make demo``) headlessly and write the executed copy.

Usage:
    python scripts/run_demo.py [--notebook PATH] [--epochs N] [-p NAME=VALUE ...] [--timeout SECONDS]

The notebook runs in a ``python3`` kernel (the interpreter running this script) with its own
folder as working directory. ``BOKEH_RESOURCES`` defaults to ``inline`` so the executed notebook
shows its plots offline. Parameters are overridden by a cell injected after the notebook's
``parameters`` cell: ``EPOCHS`` with ``--epochs``, any other with ``-p NAME=VALUE`` (a Python
literal, else a string: ``-p DATASET=digits``), and ``HISTORY_PATH``, if the notebook has one,
so the run writes only under ``notebooks/executed/``. The executed copy goes there too.
Exits non-zero if a cell fails or livetrain reports a problem.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_quickstart.ipynb"
OUT_DIR = ROOT / "notebooks" / "executed"


def parameters_cell(nb) -> int | None:
    """The index of the cell tagged ``parameters``, if any."""
    return next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None)


def inject_parameters(nb, values: dict, path: Path = NOTEBOOK) -> None:
    """Insert a cell setting ``values`` right after the cell tagged ``parameters`` (as papermill does)."""
    import nbformat

    where = parameters_cell(nb)
    if where is None:
        raise SystemExit(f"{path}: no cell tagged 'parameters' to override")
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


def parse_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` as ``(NAME, value)``: VALUE as a Python literal if it is one, else as a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name.strip(), value


def defines(nb, name: str) -> bool:
    """Whether the ``parameters`` cell assigns ``name``."""
    where = parameters_cell(nb)
    return where is not None and re.search(rf"^{name}\s*=", nb.cells[where].source, re.MULTILINE) is not None


def bokeh_outputs(nb) -> int:
    """How many Bokeh plots the executed notebook displays."""
    return sum("application/vnd.bokehjs_exec.v0+json" in out.get("data", {})
               for cell in nb.cells for out in cell.get("outputs", []))


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK,
                        help=f"the notebook to run (default {NOTEBOOK.relative_to(ROOT)})")
    parser.add_argument("--epochs", type=int, help="override the notebook's EPOCHS")
    parser.add_argument("-p", "--param", type=parse_param, action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter (repeatable)")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds (default 600)")
    args = parser.parse_args(argv)
    notebook = args.notebook.resolve()
    if not notebook.is_file():
        parser.error(f"no such notebook: {args.notebook}")

    os.environ.setdefault("BOKEH_RESOURCES", "inline")  # the kernel inherits this environment
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    output = OUT_DIR / notebook.name
    nb = nbformat.read(notebook, as_version=4)
    params: dict = {}
    history_path = None
    if defines(nb, "HISTORY_PATH"):
        history_path = OUT_DIR / f"{notebook.stem}_history.json"
        history_path.unlink(missing_ok=True)
        params["HISTORY_PATH"] = os.path.relpath(history_path, notebook.parent)
    if args.epochs is not None:
        params["EPOCHS"] = args.epochs
    params.update(args.param)
    if params:
        inject_parameters(nb, params, notebook)

    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    print(f"run_demo: executing {shown(notebook)} "
          f"(BOKEH_RESOURCES={os.environ['BOKEH_RESOURCES']}, python {sys.executable})", flush=True)
    start = time.monotonic()
    failed = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = str(exc)
    except Exception as exc:  # noqa: BLE001 - the kernel died, a timeout, ...: the notebook is still written
        failed = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - start
    nbformat.write(nb, output)

    if failed:
        print(f"run_demo: FAILED after {elapsed:.1f}s; partial notebook in {shown(output)}\n{failed}",
              file=sys.stderr)
        return 1
    found = problems(nb)
    if found:
        print("run_demo: FAILED, livetrain reported problems:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    dataset = printed(nb, r"dataset: ")
    print(f"run_demo: OK in {elapsed:.1f}s ({dataset or 'dataset: ?'})")
    history = None
    if history_path is not None and history_path.is_file():
        with open(history_path, encoding="utf-8") as f:
            history = json.load(f)["history"]
    if history is not None and history.get("test", {}).get("acc"):
        test_acc = history["test"]["acc"]
        print(f"  epochs:              {len(test_acc)}")
        print(f"  final test accuracy: {test_acc[-1]:.4f} (best {max(test_acc):.4f})")
        print(f"  final test loss:     {history['test']['loss'][-1]:.4f}")
    else:
        print(f"  bokeh plots shown:   {bokeh_outputs(nb)}")
    print(f"  executed notebook:   {shown(output)}")
    if history_path is not None:
        print(f"  history:             {shown(history_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
