"""The package's layers, read from its source: imports go one way, from the top layer down, with no cycles,
counting imports inside functions and the registries' ``"module:Class"`` entries."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "livetrain"
#: Bottom to top; a module may import only from its own layer and the layers before it.
LAYERS = ("core", "sources", "wire", "frames", "display", "views", "export", "top")
TOP = ("cli", "doctor", "examples")
BESIDE_EXPORT = ("writer", "summary", "torch_tools", "adapters", "watch", "serve")  # over the views: SummaryWriter,
# tf.summary's API, torch helpers, the framework adapters, watching logs, serving them
ENTRY = re.compile(r"^(livetrain(?:\.\w+)+):\w+$")  # a registry entry, e.g. "livetrain.frames.browser:BrowserRenderer"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "top"
    return LAYERS.index("top" if name in TOP else "export" if name in BESIDE_EXPORT else name)


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The livetrain modules ``module`` imports anywhere in its source (top level, functions, registries)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ENTRY.match(node.value):
            out.add(ENTRY.match(node.value)[1])
    return {m for m in out if m in known and m != module}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def test_every_module_is_in_a_layer():
    for module in modules():
        assert layer(module) >= 0, module


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module):
    upward = [m for m in graph()[module] if layer(m) > layer(module)]
    assert not upward, (f"{module} ({LAYERS[layer(module)]}) imports {upward} from a higher layer; "
                        f"the order is {' → '.join(LAYERS)}")


def test_no_import_cycles():
    edges, cycles, state = graph(), [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_scan_sees_imports_inside_functions_and_registries():
    edges = graph()
    assert "livetrain.frames.png" in edges["livetrain.frames"]          # inside picture()
    assert "livetrain.frames.browser" in edges["livetrain.frames"]      # a RENDERERS entry
    assert "livetrain.display.widget" in edges["livetrain.display"]     # a TRANSPORTS entry
    assert layer("livetrain.core.loop") < layer("livetrain.views.line") < layer("livetrain.cli")
