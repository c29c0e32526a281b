"""A model's layer table: per layer, its name, type, output shape and parameter counts (as torchinfo prints them).

:func:`summarize` reads a torch module (forward hooks on its layers, one call on a sample) or a Flax nnx module
(its graph; the output shapes from ``jax.eval_shape``, nothing computed). No dependency beyond the framework, which
is imported only when a model of it is given. The summary is plain data (str, int, lists), so a
:class:`~livetrain.History` saves it as it is (``history.records["graph"]``).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

Row = dict[str, Any]  #: ``name``, ``type``, ``shape`` (a list of ints, or ``None``: unknown), ``params``, ``trainable``
Summary = dict[str, Any]  #: ``framework``, ``model``, ``rows``, ``params``, ``trainable``, ``note``


def summarize(model: Any, sample: Any = None) -> Summary:
    """The layer table of ``model`` (a ``torch.nn.Module`` or a ``flax.nnx.Module``) called on ``sample``.

    Rows are the layers in the order the call reached them (then those it did not reach, shape unknown): the leaf
    modules, and any module that owns parameters itself. A module called twice keeps its first output shape.
    Totals count each parameter once, as ``sum(p.numel() for p in model.parameters())`` does. Without ``sample``
    (or when the call fails) the shapes are unknown and ``note`` says why. The torch model runs once under
    ``torch.no_grad()`` in eval mode (its mode is restored); the nnx model is only traced (``jax.eval_shape``).

    Example:
        >>> import torch
        >>> s = summarize(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()), torch.zeros(2, 4))
        >>> [(r["name"], r["type"], r["shape"], r["params"]) for r in s["rows"]], s["params"]
        ([('0', 'Linear', [2, 3], 15), ('1', 'ReLU', [2, 3], 0)], 15)
    """
    torch, nnx = sys.modules.get("torch"), sys.modules.get("flax.nnx")
    if torch is not None and isinstance(model, torch.nn.Module):
        rows, note = _torch_rows(model, sample)
        framework = "torch"
    elif nnx is not None and isinstance(model, nnx.Module):
        rows, note = _nnx_rows(model, sample)
        framework = "flax"
    else:
        raise TypeError(f"summarize needs a torch.nn.Module or a flax.nnx.Module; got {type(model).__name__}")
    return {"framework": framework, "model": type(model).__name__, "rows": rows,
            "params": sum(r["params"] for r in rows), "trainable": sum(r["trainable"] for r in rows), "note": note}


def read_summary(value: Any) -> Summary | None:
    """``value`` if it is a summary (a mapping with a list of ``rows``, as :func:`summarize` makes and a saved
    history gives back), else ``None``.

    Example:
        >>> read_summary({"rows": [{"name": "fc", "type": "Linear", "shape": [1, 2], "params": 6}]})["trainable"]
        0
        >>> read_summary({"model": "Net"}) is None
        True
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("rows"), list):
        return None
    rows = [{"name": str(r.get("name", "")), "type": str(r.get("type", "")), "shape": r.get("shape"),
             "params": int(r.get("params") or 0), "trainable": int(r.get("trainable") or 0)}
            for r in value["rows"] if isinstance(r, Mapping)]
    return {"framework": str(value.get("framework", "")), "model": str(value.get("model", "")), "rows": rows,
            "params": sum(r["params"] for r in rows), "trainable": sum(r["trainable"] for r in rows),
            "note": str(value.get("note") or "")}


def shape_text(shape: Any) -> str:
    """A row's output shape as a table shows it: ``[1, 8, 26, 26]`` -> ``1×8×26×26``, unknown -> ``?``.

    Example:
        >>> shape_text([1, 8, 26, 26]), shape_text(None), shape_text([[2, 3], [2]])
        ('1×8×26×26', '?', '2×3, 2')
    """
    if shape is None:
        return "?"
    if shape and all(isinstance(s, list) for s in shape):
        return ", ".join(shape_text(s) for s in shape)
    return "×".join(str(s) for s in shape) or "scalar"


def table(summary: Summary) -> str:
    """The summary as a text table, with totals (torchinfo's layout).

    Example:
        >>> print(table({"model": "Net", "rows": [{"name": "fc", "type": "Linear", "shape": [1, 2], "params": 6,
        ...                                        "trainable": 6}], "params": 6, "trainable": 6, "note": ""}))
        Layer  Type    Output shape  Params  Trainable
        fc     Linear  1×2                6          6
        Net: 6 parameters, 6 trainable
    """
    cells = [("Layer", "Type", "Output shape", "Params", "Trainable")] + [
        (r["name"], r["type"], shape_text(r["shape"]), f"{r['params']:,}", f"{r['trainable']:,}")
        for r in summary["rows"]]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in cells]
    lines.append(f"{summary['model']}: {summary['params']:,} parameters, {summary['trainable']:,} trainable")
    return "\n".join(lines + ([summary["note"]] if summary.get("note") else []))


def _shape(value: Any) -> list | None:
    """The shape of an output: a tensor's, a list of them for a tuple or list of tensors, else ``None``."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return [int(s) for s in value.shape]
    if isinstance(value, (tuple, list)) and value:
        shapes = [_shape(v) for v in value]
        return None if any(s is None for s in shapes) else shapes
    return None


def _torch_rows(model: Any, sample: Any) -> tuple[list[Row], str]:
    import torch

    named = [(n, m) for n, m in model.named_modules()
             if not any(True for _ in m.children()) or any(True for _ in m.parameters(recurse=False))]
    order: list[int] = []
    shapes: dict[int, list | None] = {}

    def entered(i: int) -> Any:
        def hook(module: Any, args: Any) -> None:
            if i not in order:
                order.append(i)
        return hook

    def left(i: int) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:  # returns None: the output is left as it is
            shapes.setdefault(i, _shape(out))
        return hook

    handles = [h for i, (_, m) in enumerate(named)
               for h in (m.register_forward_pre_hook(entered(i)), m.register_forward_hook(left(i)))]
    note, training = "", model.training
    try:
        if sample is None:
            note = "no sample input: output shapes unknown"
        else:
            args, kwargs = ((), dict(sample)) if isinstance(sample, Mapping) else \
                (tuple(sample), {}) if isinstance(sample, (tuple, list)) else ((sample,), {})
            model.eval()
            with torch.no_grad():
                model(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a model that does not run on the sample still has a table
        note = f"the model failed on the sample ({type(exc).__name__}: {exc}); output shapes unknown"
    finally:
        model.train(training)
        for h in handles:
            h.remove()
    seen: set[int] = set()
    rows = []
    for i in order + [i for i in range(len(named)) if i not in order]:
        name, module = named[i]
        own = [p for p in module.parameters(recurse=not any(True for _ in module.children())) if id(p) not in seen]
        seen.update(map(id, own))
        rows.append({"name": name or type(module).__name__, "type": type(module).__name__, "shape": shapes.get(i),
                     "params": sum(int(p.numel()) for p in own),
                     "trainable": sum(int(p.numel()) for p in own if p.requires_grad)})
    return rows, note


def _nnx_rows(model: Any, sample: Any) -> tuple[list[Row], str]:
    import numpy as np
    from flax import nnx

    nodes = list(nnx.iter_graph(model))
    modules = {path: node for path, node in nodes if isinstance(node, nnx.Module)}
    owned: dict[tuple, int] = {}
    for path, node in nodes:
        if isinstance(node, nnx.Param):
            owner = max((p for p in modules if path[:len(p)] == p), key=len)
            owned[owner] = owned.get(owner, 0) + int(np.size(node.get_value()))
    keep = [p for p, m in modules.items()
            if p and (owned.get(p) or not any(q[:len(p)] == p and q != p for q in modules))]
    if owned.get(()):
        keep.append(())
    shapes, order, note = _nnx_shapes(model, sample, set(keep)) if sample is not None else \
        ({}, [], "no sample input: output shapes unknown")
    rows = []
    for path in order + [p for p in keep if p not in order]:
        name = ".".join(map(str, path)) or type(model).__name__
        n = owned.get(path, 0)
        rows.append({"name": name, "type": type(modules[path]).__name__, "shape": shapes.get(path), "params": n,
                     "trainable": n})
    return rows, note


def _nnx_shapes(model: Any, sample: Any, keep: set[tuple]) -> tuple[dict[tuple, list | None], list[tuple], str]:
    """The output shape of each module of ``keep`` (by path), and the order they were called in, from tracing the
    model on ``sample`` with ``jax.eval_shape``: nothing is computed, the model's state does not change."""
    import jax
    from flax import nnx

    graphdef, state = nnx.split(model)
    shapes: dict[tuple, list | None] = {}
    order: list[tuple] = []
    classes: dict[type, Any] = {}  # each patched class, and its own __call__ (None: it inherited one)

    def run(state: Any, sample: Any) -> Any:
        copy = nnx.merge(graphdef, state)
        paths = {id(node): path for path, node in nnx.iter_graph(copy) if path in keep}
        for cls in {type(node) for path, node in nnx.iter_graph(copy) if path in keep}:
            classes.setdefault(cls, cls.__dict__.get("__call__"))
            original = cls.__call__
            if getattr(original, "_livetrain_patched", False):
                continue

            def call(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                path = paths.get(id(self))
                if path is not None and path not in order:
                    order.append(path)
                out = _original(self, *args, **kwargs)
                if path is not None:
                    shapes.setdefault(path, _shape(out))
                return out

            call._livetrain_patched = True  # type: ignore[attr-defined]
            setattr(cls, "__call__", call)  # noqa: B010 - restored below
        args = tuple(sample) if isinstance(sample, (tuple, list)) else (sample,)
        return copy(*args)

    try:
        jax.eval_shape(run, state, sample)
        note = ""
    except Exception as exc:  # noqa: BLE001 - a model that does not trace still has a table
        note = f"the model failed on the sample ({type(exc).__name__}: {exc}); output shapes unknown"
    finally:
        for cls, own in classes.items():
            if own is None:
                delattr(cls, "__call__")
            else:
                setattr(cls, "__call__", own)  # noqa: B010
    return shapes, order, note
