"""PyTorch helpers; torch is imported only when they are used.

:class:`HistogramCollector`: weight and gradient histograms of a model, binned on the model's device::

    hist = HistogramCollector(model, writer, every=100)    # writer: a SummaryWriter (livetrain's or torch's)
    loss.backward(); hist.step()                           # each batch, after backward (grads are there)
    optimizer.step(); optimizer.zero_grad()

    hist = HistogramCollector(model, phase="train")        # or per epoch, as a callback: history keys hist.tags
    train_loop(step, loaders, 5, [hist, HistogramsCallback(hist.tags)])

:class:`ActivationCapture`: chosen layers' activations for a fixed sample, each epoch, for an image grid::

    acts = ActivationCapture(model, ["conv1", "conv2"], x[:1])      # history keys "act/conv1", "act/conv2"
    train_loop(step, loaders, 5, [acts, ImagePlotsCallback(acts.keys, cmap="inferno", normalize=True,
                                                           scale_each=True)])
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .core.callback import Callback
from .core.histograms import Histogram, to_summary
from .core.history import History

Target = Any  # a SummaryWriter, a History, a Callback (on_log) or a callable(step, {tag: summary})


class HistogramCollector(Callback):
    """Every ``every`` calls of :meth:`step`, or at each epoch's end as a callback, the histograms of the chosen
    parameters (tag: the parameter's name, e.g. ``fc1.weight``) and of their gradients (``fc1.weight.grad``), in
    ``bins`` equal bins over each tensor's finite min..max.

    The bins are computed on the parameters' device, without waiting for it; at a logged step all tensors' counts
    and statistics are stacked and copied to the host once (one transfer; the other steps cost a counter). Each
    histogram is recorded in ``history`` (``history.records[tag]``, kind ``"histogram"``, as
    ``SummaryWriter.add_histogram`` records them) and handed to ``to``:

    - a ``SummaryWriter`` (livetrain's or torch's): ``add_histogram_raw`` per tensor;
    - a :class:`~livetrain.History`: recorded there;
    - a callback or view (``on_log``, e.g. :class:`~livetrain.HistogramsCallback` made with ``tags=hist.tags``);
    - a callable: ``to(step, {tag: summary})``.

    **Per epoch.** Given to ``train_loop`` (or any loop calling ``on_epoch_end``) before the views, it also logs
    when ``phase`` ends, and puts each histogram into the run's history: ``history[phase][tag][epoch]``, which
    :class:`~livetrain.HistogramsCallback` (``keys=hist.tags``) and :class:`~livetrain.FrameExporter` read. The
    weights are those at the epoch's end, the gradients those left by its last batch (a loop that calls
    ``zero_grad()`` after ``optimizer.step()`` leaves none: their histograms are left out, with one warning). The
    step they are recorded at is ``train_loop``'s global step then (training batches done), else the calls of
    :meth:`step` so far. :meth:`step` is not needed in this mode; called too, it logs per step as well.

    Args:
        model: a ``torch.nn.Module``.
        to: where the histograms go (above); ``None``: only ``history``.
        modules: names of submodules (``"fc1"``) or modules whose parameters to follow (default: all parameters).
        every: log at the first call of :meth:`step` and every ``every`` calls after.
        bins: the number of bins.
        weights, grads: whether to log the parameters, and their gradients (skipped while ``None``).
        phase: the phase whose end logs, as a callback (default: ``train_loop``'s first phase, else ``"train"``).

    Example:
        >>> import torch
        >>> hist = HistogramCollector(torch.nn.Linear(3, 2), every=10, bins=4)
        >>> hist.step(), hist.step(), hist.tags
        (True, False, ['weight', 'bias', 'weight.grad', 'bias.grad'])
        >>> hist.history.records["weight"].entries[-1][2]["num"]
        6

        Per epoch, into the run's history (``train_loop`` calls ``on_epoch_end`` after each phase):

        >>> net = torch.nn.Linear(3, 2); net(torch.ones(1, 3)).sum().backward()
        >>> hist, h = HistogramCollector(net, bins=4, phase="train"), History({"train": {"loss": [0.5]}})
        >>> hist.on_epoch_end(0, "train", h); hist.on_epoch_end(0, "test", h)
        >>> list(h["train"]), [h["train"]["weight.grad"][0][k] for k in ("num", "min", "max")]
        (['loss', 'weight', 'bias', 'weight.grad', 'bias.grad'], [6, 1.0, 1.0])
    """

    def __init__(self, model: Any, to: Target = None, *, modules: Iterable[Any] | None = None, every: int = 100,
                 bins: int = 64, weights: bool = True, grads: bool = True, phase: str | None = None) -> None:
        if not isinstance(every, int) or every < 1 or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"every and bins must be ints >= 1; got every={every!r}, bins={bins!r}")
        if phase is not None and not isinstance(phase, str):
            raise TypeError(f"phase must be a phase name (str) or None; got {type(phase).__name__} {phase!r}")
        self.parameters = _parameters(model, modules)
        self.to, self.every, self.bins, self.weights, self.grads = to, every, bins, weights, grads
        self.phase = phase
        self.history = to if isinstance(to, History) else History()
        self.calls = 0
        self._heard: int | None = None  # the latest global step heard through on_log (train_loop's)
        self._warned: set[str] = set()

    @property
    def tags(self) -> list[str]:
        """The tags logged: each parameter's name, then each gradient's (``<name>.grad``)."""
        return [n for n, _ in self.parameters] * self.weights + \
            [f"{n}.grad" for n, _ in self.parameters] * self.grads

    def step(self, step: int | None = None) -> bool:
        """Count one training step; log at the first and every ``every``-th (at global ``step``, default: the
        number of calls before this one). Whether it logged."""
        due = self.calls % self.every == 0
        at = self.calls if step is None else step
        self.calls += 1
        if due:
            self.log(at)
        return due

    def log(self, step: int) -> dict[str, Mapping[str, Any]]:
        """Log the histograms now, at global ``step``; returns them by tag."""
        import torch

        tensors = [(n, p.detach()) for n, p in self.parameters] * self.weights + \
            [(f"{n}.grad", p.grad.detach()) for n, p in self.parameters if p.grad is not None] * self.grads
        if not tensors:
            return {}
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
        return summaries

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        self._heard = step

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        if phase != (self.phase or (self.params.get("phases") or ["train"])[0]):
            return
        missing = [f"{n}.grad" for n, p in self.parameters if p.grad is None] if self.grads else []
        if missing:
            self._warn("epoch grads", f"HistogramCollector: no gradient at the end of {phase!r} in epoch {epoch} "
                                      f"for {missing[:5]}{' ...' if len(missing) > 5 else ''} (frozen, or cleared "
                                      f"by zero_grad() after optimizer.step(): call it before backward() to keep "
                                      f"the last batch's); their histograms are left out")
        summaries = self.log(self.calls if self._heard is None else self._heard)
        if isinstance(history, History):
            history.append(phase, summaries, epoch=epoch)
        else:  # a plain dict history
            for tag, summary in summaries.items():
                history[phase].setdefault(tag, []).append(summary)  # type: ignore[attr-defined]

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



class ActivationCapture(Callback):
    """A callback that, every ``every`` epochs, runs ``sample`` through ``model`` and puts each chosen layer's output
    for the first sample into the history, as a batch of single-channel images an
    :class:`~livetrain.ImagePlotsCallback` tiles into a grid with a colour map.

    Forward hooks on the layers keep their outputs only during that run (training passes pay one flag test). The run
    is in eval mode under ``torch.no_grad()``; the model's mode is restored after. Each layer's maps come to the host
    in one transfer. ``history[phase]["act/<layer>"][epoch]`` (``keys``) is a ``(channels, 1, H, W)`` float32 array
    (the first ``max_channels`` channels of a convolution's ``(C, H, W)`` output), a ``(1, 1, 1, N)`` strip for a
    1-D output (a ``Linear`` layer's), or ``(1, 1, L, F)`` for a 2-D one. Give this callback before the view, so
    that the view finds the maps when the epoch ends. The hooks are removed at ``on_train_end`` (or
    ``on_exception``) and by :meth:`close`.

    Args:
        model: a ``torch.nn.Module``.
        layers: names of submodules (as in ``model.named_modules()``, e.g. ``"features.0"``) or the modules.
        sample: the model's input (a tensor on the model's device, a tuple of them, or a dict of keyword
            arguments); its first item's maps are kept. Pass one image (``x[:1]``) to compute no more.
        every: capture at epochs 0, ``every``, ``2 * every``, ...
        max_channels: how many channels of each map to keep.
        phase: the phase whose end captures (default: ``train_loop``'s first phase, else ``"train"``).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
        ...                           torch.nn.Linear(4 * 6 * 6, 3))
        >>> acts = ActivationCapture(net, ["0", "3"], torch.ones(1, 1, 8, 8))
        >>> h = History({"train": {"loss": [0.5]}}); acts.on_epoch_end(0, "train", h)
        >>> acts.keys, h["train"]["act/0"][0].shape, h["train"]["act/3"][0].shape
        (('act/0', 'act/3'), (4, 1, 6, 6), (1, 1, 1, 3))
        >>> acts.close()
    """

    def __init__(self, model: Any, layers: Iterable[Any], sample: Any, *, every: int = 1, max_channels: int = 16,
                 phase: str | None = None) -> None:
        if not isinstance(every, int) or every < 1 or not isinstance(max_channels, int) or max_channels < 1:
            raise ValueError(f"every and max_channels must be ints >= 1; got every={every!r}, "
                             f"max_channels={max_channels!r}")
        modules = dict(model.named_modules())
        by_object = {id(m): n for n, m in modules.items()}
        chosen: list[tuple[str, Any]] = []
        for layer in layers if not isinstance(layers, str) else [layers]:
            name = layer if isinstance(layer, str) else by_object.get(id(layer))
            if name is None or name not in modules:
                raise ValueError(f"layers: {layer!r} is not a submodule of the model; it has "
                                 f"{[n for n in modules if n][:20]}")
            chosen.append((name, modules[name]))
        if not chosen:
            raise ValueError("ActivationCapture needs at least one layer; got none")
        self.model, self.sample, self.every, self.max_channels, self.phase = model, sample, every, max_channels, phase
        self.keys = tuple(f"act/{name or type(model).__name__}" for name, _ in chosen)
        self._maps: dict[str, np.ndarray] = {}
        self._capturing = False
        self._handles = [module.register_forward_hook(self._hook(key)) for key, (_, module) in zip(self.keys, chosen)]

    def _hook(self, key: str) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:
            if self._capturing and key not in self._maps:
                self._maps[key] = _maps(out, self.max_channels)
        return hook

    def capture(self) -> dict[str, np.ndarray]:
        """Run the sample now; each layer's maps by key."""
        import torch

        if not self._handles:
            raise RuntimeError("ActivationCapture is closed: its hooks were removed (on_train_end or close())")
        args, kwargs = ((), dict(self.sample)) if isinstance(self.sample, Mapping) else \
            (tuple(self.sample), {}) if isinstance(self.sample, (tuple, list)) else ((self.sample,), {})
        training = self.model.training
        self._maps, self._capturing = {}, True
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(*args, **kwargs)
        finally:
            self._capturing = False
            self.model.train(training)
        missing = [k for k in self.keys if k not in self._maps]
        if missing:
            raise RuntimeError(f"ActivationCapture: the model did not call {missing} on the sample")
        maps, self._maps = self._maps, {}
        return maps

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        if phase != (self.phase or (self.params.get("phases") or ["train"])[0]) or epoch % self.every:
            return
        maps = self.capture()
        if isinstance(history, History):
            history.append(phase, maps, epoch=epoch)
        else:  # a plain dict history
            for key, value in maps.items():
                history[phase].setdefault(key, []).append(value)  # type: ignore[attr-defined]

    def on_train_end(self, history: History) -> None:
        self.close()

    def on_exception(self, exception: BaseException, history: History) -> None:
        self.close()

    def close(self) -> None:
        """Remove the forward hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _maps(out: Any, max_channels: int) -> np.ndarray:
    """A layer's output for the first sample as a float32 batch of single-channel images, in one transfer: the first
    ``max_channels`` channels of ``(C, H, W)`` (deeper maps stacked along H), ``(L, F)`` as one image, else a strip."""
    first = (out[0] if isinstance(out, (tuple, list)) else out).detach()[0]
    if first.ndim >= 3:
        first = first[:max_channels].reshape(min(first.shape[0], max_channels), 1, -1, first.shape[-1])
    else:
        first = first.reshape(1, 1, *first.shape) if first.ndim == 2 else first.reshape(1, 1, 1, -1)
    return first.float().cpu().numpy()
