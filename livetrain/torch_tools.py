"""PyTorch helpers; torch is imported only when they are used.

:class:`HistogramCollector`: weight and gradient histograms of a model, binned on the model's device::

    hist = HistogramCollector(model, writer, every=100)    # writer: a SummaryWriter (livetrain's or torch's)
    loss.backward(); hist.step()                           # each batch, after backward (grads are there)
    optimizer.step(); optimizer.zero_grad()
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .core.histograms import Histogram, to_summary
from .core.history import History

Target = Any  # a SummaryWriter, a History, a Callback (on_log) or a callable(step, {tag: summary})


class HistogramCollector:
    """Every ``every`` calls of :meth:`step`, the histograms of the chosen parameters (tag: the parameter's name,
    e.g. ``fc1.weight``) and of their gradients (``fc1.weight.grad``), in ``bins`` equal bins over each tensor's
    finite min..max.

    The bins are computed on the parameters' device, without waiting for it; at a logged step all tensors' counts
    and statistics are stacked and copied to the host once (one transfer; the other steps cost a counter). Each
    histogram is recorded in ``history`` (``history.records[tag]``, kind ``"histogram"``, as
    ``SummaryWriter.add_histogram`` records them) and handed to ``to``:

    - a ``SummaryWriter`` (livetrain's or torch's): ``add_histogram_raw`` per tensor;
    - a :class:`~livetrain.History`: recorded there;
    - a callback or view (``on_log``, e.g. :class:`~livetrain.HistogramsCallback` made with ``tags=hist.tags``);
    - a callable: ``to(step, {tag: summary})``.

    Args:
        model: a ``torch.nn.Module``.
        to: where the histograms go (above); ``None``: only ``history``.
        modules: names of submodules (``"fc1"``) or modules whose parameters to follow (default: all parameters).
        every: log at the first call of :meth:`step` and every ``every`` calls after.
        bins: the number of bins.
        weights, grads: whether to log the parameters, and their gradients (skipped while ``None``).

    Example:
        >>> import torch
        >>> hist = HistogramCollector(torch.nn.Linear(3, 2), every=10, bins=4)
        >>> hist.step(), hist.step(), hist.tags
        (True, False, ['weight', 'bias', 'weight.grad', 'bias.grad'])
        >>> hist.history.records["weight"].entries[-1][2]["num"]
        6
    """

    def __init__(self, model: Any, to: Target = None, *, modules: Iterable[Any] | None = None, every: int = 100,
                 bins: int = 64, weights: bool = True, grads: bool = True) -> None:
        if not isinstance(every, int) or every < 1 or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"every and bins must be ints >= 1; got every={every!r}, bins={bins!r}")
        self.params = _parameters(model, modules)
        self.to, self.every, self.bins, self.weights, self.grads = to, every, bins, weights, grads
        self.history = to if isinstance(to, History) else History()
        self.calls = 0
        self._warned: set[str] = set()

    @property
    def tags(self) -> list[str]:
        """The tags logged: each parameter's name, then each gradient's (``<name>.grad``)."""
        return [n for n, _ in self.params] * self.weights + [f"{n}.grad" for n, _ in self.params] * self.grads

    def step(self, step: int | None = None) -> bool:
        """Count one training step; log at the first and every ``every``-th (at global ``step``, default: the
        number of calls before this one). Whether it logged."""
        due = self.calls % self.every == 0
        at = self.calls if step is None else step
        self.calls += 1
        if due:
            self.log(at)
        return due

    def log(self, step: int) -> None:
        """Log the histograms now, at global ``step``."""
        import torch

        tensors = [(n, p.detach()) for n, p in self.params] * self.weights + \
            [(f"{n}.grad", p.grad.detach()) for n, p in self.params if p.grad is not None] * self.grads
        if not tensors:
            return
        with torch.no_grad():
            rows = torch.stack([_binned(t, self.bins).to(tensors[0][1].device) for _, t in tensors])
            table = rows.cpu().numpy().astype(np.float64)  # the one transfer
        summaries: dict[str, Mapping[str, Any]] = {}
        for (tag, _), (low, high, num, total, squares, *counts) in zip(tensors, table):
            if num == 0:
                self._warn(tag, f"HistogramCollector: {tag} has no finite value at step {step}; not logged")
                continue
            hist = Histogram(np.asarray(counts), np.linspace(low, high, self.bins + 1))
            summaries[tag] = to_summary(hist, low=low, high=high, total=num, sum_=total, sum_squares=squares)
        self._deliver(step, summaries)

    def _deliver(self, step: int, summaries: dict[str, Mapping[str, Any]]) -> None:
        to = self.to
        for tag, s in summaries.items():
            self.history.record(tag, "histogram", s, step)
        if to is None or to is self.history:
            return
        if hasattr(to, "add_histogram_raw"):
            for tag, s in summaries.items():
                to.add_histogram_raw(tag, s["min"], s["max"], s["num"], s["sum"], s["sum_squares"],
                                     s["bucket_limit"][1:], s["bucket"][1:], global_step=step)
        elif hasattr(to, "on_log"):
            to.on_log(step, summaries, self.history)
        elif callable(to):
            to(step, summaries)
        else:
            raise TypeError(f"to must be a SummaryWriter, a History, a callback (on_log) or a callable; got "
                            f"{type(to).__name__}")

    def _warn(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=3)


def _parameters(model: Any, modules: Iterable[Any] | None) -> list[tuple[str, Any]]:
    """``(name, parameter)`` of ``model``, or of the chosen submodules (by name or object), with full names."""
    named = dict(model.named_parameters())
    if modules is None:
        chosen = named
    else:
        by_object = {id(m): n for n, m in model.named_modules()}
        prefixes = []
        for m in modules:
            name = m if isinstance(m, str) else by_object.get(id(m))
            if name is None or (isinstance(m, str) and m not in dict(model.named_modules())):
                raise ValueError(f"modules: {m!r} is not a submodule of the model; it has "
                                 f"{[n for n, _ in model.named_modules() if n][:20]}")
            prefixes.append(f"{name}." if name else "")
        chosen = {n: p for n, p in named.items() if any(n.startswith(pre) for pre in prefixes)}
    if not chosen:
        raise ValueError("HistogramCollector: no parameters to follow (the model or the chosen modules have none)")
    return list(chosen.items())


def _binned(tensor: Any, bins: int) -> Any:
    """One row on ``tensor``'s device: finite min, max, count, sum, sum of squares, then ``bins`` counts over
    min..max. No host sync: the bin of each value is computed from device scalars, counted with ``scatter_add_``."""
    import torch

    dtype = torch.float32 if tensor.device.type == "mps" else torch.float64
    flat = tensor.reshape(-1).to(dtype)
    finite = torch.isfinite(flat)
    values = torch.where(finite, flat, torch.zeros((), dtype=dtype, device=flat.device))
    inf = torch.tensor(float("inf"), dtype=dtype, device=flat.device)
    low, high = torch.where(finite, flat, inf).min(), torch.where(finite, flat, -inf).max()
    span = high - low
    scale = bins / torch.where(span > 0, span, torch.ones_like(span))
    index = ((values - low) * scale).floor().clamp(0, bins - 1).to(torch.int64)
    counts = torch.zeros(bins, dtype=dtype, device=flat.device).scatter_add_(0, index, finite.to(dtype))
    stats = torch.stack([low, high, finite.sum().to(dtype), values.sum(), (values * values).sum()])
    return torch.cat([stats, counts])

