"""A torch model as the ``GraphDef`` TensorBoard's graph dashboard draws, named as
``torch.utils.tensorboard.SummaryWriter.add_graph`` names it; torch is imported only inside the functions.

The model is traced with ``torch.jit.trace`` (in eval mode, as torch does) and its graph inlined. Each value becomes a
node named ``<scope>/<value name>``; the scope is the model's class, then ``Class[attribute]`` for each submodule
down to the one whose ``forward`` made it (``Net/Sequential[features]/Conv2d[0]/input.1``), so the dashboard folds
each module into one box. The model's inputs are ``input/<name>`` and its outputs ``output/output.<i>`` (op
``IO Node``); a parameter or buffer is a ``prim::GetAttr`` node under its module's scope and its own name
(``Net/Linear[fc]/weight/weight``). Unlike torch's, no edge names a module (modules are not nodes): every input of a
node is a node.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tfevents import GraphNode, graph_def


def trace_graph(model: Any, input_to_model: Any, strict: bool = True, verbose: bool = False) -> bytes:
    """The serialized ``GraphDef`` of torch ``model`` run on ``input_to_model`` (a tensor, or a tuple or list of them;
    numpy arrays are made tensors). ``strict``: ``torch.jit.trace``'s; ``verbose``: print the traced graph, as torch
    does. A model that is not a ``torch.nn.Module``, no ``input_to_model``, or a failed trace is an error naming it.

    Example:
        >>> import torch
        >>> from tensorboard.compat.proto.graph_pb2 import GraphDef
        >>> graph = GraphDef.FromString(trace_graph(torch.nn.Linear(2, 3), torch.zeros(1, 2)))
        >>> sorted((n.name, n.op) for n in graph.node)  # doctest: +NORMALIZE_WHITESPACE
        [('Linear/6', 'aten::linear'), ('Linear/bias/bias', 'prim::GetAttr'), ('Linear/weight/weight', 'prim::GetAttr'),
         ('input/input', 'IO Node'), ('output/output.1', 'IO Node')]
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"add_graph traces a torch.nn.Module; got {type(model).__module__}.{type(model).__qualname__}")
    if input_to_model is None:
        raise TypeError(f"add_graph needs input_to_model (a tensor, or a tuple of them) to trace "
                        f"{type(model).__name__}; got None")
    items = input_to_model if isinstance(input_to_model, (tuple, list)) else (input_to_model,)
    args = tuple(x if isinstance(x, torch.Tensor) or not hasattr(x, "__array__") else torch.from_numpy(np.array(x))
                 for x in items)  # a numpy or JAX array: a tensor (a writable copy, as torch wants)
    training = model.training
    model.train(False)
    try:
        with warnings.catch_warnings():  # torch deprecates its tracer; torch's own add_graph still uses it
            warnings.filterwarnings("ignore", r".*torch\.jit\.trace", DeprecationWarning)
            traced = torch.jit.trace(model, args, strict=strict, check_trace=False)
    finally:
        model.train(training)
    inline = getattr(torch._C, "_jit_pass_inline", None)
    if inline is None:  # torch's own writer inlines in place; the value names are the same either way
        graph = traced.inlined_graph
    else:
        graph = traced.graph
        inline(graph)
    if verbose:
        print(graph)
    return graph_def(graph_nodes(graph, traced))


def graph_nodes(graph: Any, traced: Any) -> list[GraphNode]:
    """The nodes of an inlined traced ``graph`` (``traced.graph``): inputs, ops (one per output value, parameters
    included) and outputs, named as the module docstring says.

    Example:
        >>> import torch
        >>> traced = torch.jit.trace(torch.nn.ReLU(), torch.zeros(2))
        >>> nodes = graph_nodes(traced.graph, traced)
        >>> [(n.name.split("/")[0], n.op, len(n.inputs)) for n in nodes]
        [('input', 'IO Node', 0), ('ReLU', 'aten::relu', 1), ('output', 'IO Node', 1)]
    """
    base = _class_name(traced)
    aliases = {path: f"{_class_name(module)}[{path.rsplit('.', 1)[-1]}]"
               for path, module in traced.named_modules(prefix="__module")}

    def scope(parts: Sequence[str]) -> str:
        names = [aliases.get(part) or part.rsplit(".", 1)[-1] for part in parts]
        return "/".join([base, *names]) if any(names) else base

    names: dict[int, str] = {}  # a value's unique id -> the name of the node that holds it
    modules: dict[int, str] = {}  # a module value's unique id -> its path, "__module.block.conv"
    nodes = []
    for value in graph.inputs():
        if _is_module(value):
            modules[value.unique()] = "__module"
        elif value.uses():
            names[value.unique()] = f"input/{value.debugName()}"
            nodes.append(_io(names[value.unique()], [], value))
    for node in graph.nodes():
        if node.kind() == "prim::GetAttr" and node.input().unique() in modules:
            owner, attr = modules[node.input().unique()], node.s("name")
            if _is_module(node.output()):
                modules[node.output().unique()] = f"{owner}.{attr}"
                continue
            levels = owner.split(".")
            where = scope([".".join(levels[:i]) for i in range(2, len(levels) + 1)] + [attr])
        else:
            where = scope(node.scopeName().split("/"))
        inputs = [names[v.unique()] for v in node.inputs() if v.unique() in names]
        text = str({key: _attribute(node, key) for key in node.attributeNames()}).replace("'", " ")
        for value in node.outputs():
            names[value.unique()] = f"{where}/{value.debugName()}"
            shape = _shape(value)
            nodes.append(GraphNode(names[value.unique()], node.kind(), inputs, text,
                                   None if shape is None else [shape]))
    for i, value in enumerate(graph.outputs(), 1):
        nodes.append(_io(f"output/output.{i}", [names[value.unique()]] if value.unique() in names else [], value))
    return nodes


def _io(name: str, inputs: list[str], value: Any) -> GraphNode:
    """An input or output node: op ``IO Node``, an empty ``attr``, and its shape when known."""
    shape = _shape(value)
    return GraphNode(name, "IO Node", inputs, "", None if shape is None else [shape])


def _class_name(module: Any) -> str:
    """A traced module's original class name (``Net``, ``Conv2d``)."""
    return getattr(module, "original_name", None) or type(module).__name__


def _is_module(value: Any) -> bool:
    return bool(value.type().kind() == "ClassType")


def _shape(value: Any) -> list[int] | None:
    """The sizes of a tensor value whose shape the trace knows, else ``None``."""
    return list(value.type().sizes()) if value.isCompleteTensor() else None


def _attribute(node: Any, key: str) -> Any:
    """A node attribute (a constant's ``value``, a ``GetAttr``'s ``name``) whatever its kind."""
    try:
        return getattr(node, node.kindOf(key))(key)
    except (AttributeError, RuntimeError, TypeError):
        return node.kindOf(key)
