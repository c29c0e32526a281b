"""Which process of a distributed run draws and writes (global rank 0), epoch means across the ranks, and
:class:`AcrossRanks`, which gives callbacks those means in a user's own loop.

torch is imported only when the process already did: a run that never touched ``torch.distributed`` is rank 0.
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .callback import Callback, CallbackList
from .history import History
from .metrics import to_float

_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")  # torchrun, Slurm, Open MPI, MPICH


def _torch_group_ready() -> Any:
    """``torch.distributed`` if this process imported it and joined a process group, else ``None``."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def global_rank() -> int:
    """This process's global rank: ``torch.distributed``'s once a process group is up, else the launcher's
    environment (``RANK`` from ``torchrun`` and Accelerate, ``SLURM_PROCID``, Open MPI's or MPICH's), else 0.
    The environment is read once per process (again in a forked child): every logged step asks.

    Example:
        >>> global_rank()
        0
    """
    dist = _torch_group_ready()
    if dist is not None:
        return int(dist.get_rank())
    global _launcher_rank
    if _launcher_rank is None:
        _launcher_rank = next((int(v) for name in _RANK_VARIABLES if (v := os.environ.get(name, "")).isdigit()), 0)
    return _launcher_rank


def _forget_launcher_rank() -> None:
    """In a forked child: a launcher (``notebook_launcher``, torch's elastic agent) sets its rank after the fork."""
    global _launcher_rank
    _launcher_rank = None


_launcher_rank: int | None = None
os.register_at_fork(after_in_child=_forget_launcher_rank)


def is_rank_zero() -> bool:
    """Whether this process draws and writes files: the only one of a single-process run, or global rank 0.

    Example:
        >>> is_rank_zero()
        True
    """
    return global_rank() == 0


def world(group: Any = None) -> Any:
    """``torch.distributed`` when this process is in a process group of more than one process, else ``None``.

    Example:
        >>> world() is None
        True
    """
    dist = _torch_group_ready()
    return dist if dist is not None and dist.get_world_size(group) > 1 else None


def across_ranks(sums: Mapping[str, Any], weights: Mapping[str, float], totals: Mapping[str, np.ndarray],
                 group: Any = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Global epoch values, from each rank's weighted sums (value × batch size, summed over its batches) and total
    weights per key, and its element-wise ``totals`` (per-class counts): the weighted means and the sums over every
    rank of ``group`` (default: the world). A key some rank lacks counts as weight 0 (or zeros) there; the keys and
    shapes are agreed first (one ``all_gather_object``), then everything travels in one ``all_reduce``. Outside a
    process group it is this rank's own values. Every rank of the group must call it.

    Example:
        >>> across_ranks({"loss": 6.0}, {"loss": 3.0}, {"counts": np.array([1, 2])})
        ({'loss': 2.0}, {'counts': array([1., 2.])})
    """
    dist = world(group)
    keys, shapes = sorted(sums), {k: np.shape(v) for k, v in totals.items()}
    if dist is not None:
        seen: list[Any] = [None] * dist.get_world_size(group)
        dist.all_gather_object(seen, (keys, shapes), group=group)
        keys = sorted({k for rank_keys, _ in seen for k in rank_keys})
        shapes = {k: shape for _, rank_shapes in seen for k, shape in rank_shapes.items()}
    parts = [np.array([to_float(k, sums[k]) if k in sums else 0.0 for k in keys]),
             np.array([float(weights.get(k, 0.0)) for k in keys])]
    parts += [np.asarray(totals[k], np.float64).reshape(-1) if k in totals else np.zeros(shapes[k]).reshape(-1)
              for k in shapes]
    flat = np.concatenate(parts) if parts else np.zeros(0)
    if dist is not None:
        import torch

        buffer = torch.from_numpy(flat)
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM, group=group)
        flat = buffer.numpy()
    n = len(keys)
    means = {k: (s / w if w else math.nan) for k, s, w in zip(keys, flat[:n], flat[n:2 * n])}
    out, at = {}, 2 * n
    for k, shape in shapes.items():
        size = math.prod(shape)
        out[k] = flat[at:at + size].reshape(shape)
        at += size
    return {k: float(v) for k, v in means.items()}, out


class AcrossRanks(Callback):
    """Callbacks for a user's own distributed loop: each epoch's numbers become the means over the ranks of ``group``
    (weighted by the epoch's ``weight`` key, e.g. the samples each rank saw, if given) before the wrapped callbacks
    see them, on global rank 0 only. Every rank calls every hook (``on_epoch_end`` is a collective); ranks other than
    0 pass nothing on. ``train_loop`` needs no wrapper: it averages across ranks itself.

    Example:
        >>> seen = []
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, epoch, phase, history): seen.append(history[phase]["loss"])
        >>> AcrossRanks([Printer()]).on_epoch_end(0, "train", {"train": {"loss": [0.5]}})
        >>> seen
        [[0.5]]
    """

    def __init__(self, callbacks: Iterable[Callback], group: Any = None, weight: str | None = None) -> None:
        self.callbacks, self.group, self.weight = CallbackList(callbacks), group, weight

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.callbacks.set_params(params)

    def on_train_begin(self, history: History) -> None:
        if is_rank_zero():
            self.callbacks.on_train_begin(history)

    def on_epoch_begin(self, epoch: int, phase: str) -> None:
        if is_rank_zero():
            self.callbacks.on_epoch_begin(epoch, phase)

    def on_batch_end(self, batch: int, phase: str, logs: Mapping[str, Any]) -> None:
        if is_rank_zero():
            self.callbacks.on_batch_end(batch, phase, logs)

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        if is_rank_zero():
            self.callbacks.on_log(step, logs, history)

    def on_epoch_end(self, epoch: int, phase: str, history: Mapping[str, Mapping[str, list]]) -> None:
        series = history[phase]
        latest = {k: v[-1] for k, v in series.items() if len(v) and np.ndim(v[-1]) == 0}
        weight = to_float(self.weight, latest[self.weight]) if self.weight in latest else 1.0
        sums = {k: to_float(k, v) * weight for k, v in latest.items()}
        means, _ = across_ranks(sums, dict.fromkeys(sums, weight), {}, self.group)
        if not is_rank_zero():
            return
        merged = dict(history)
        merged[phase] = {k: [*v[:-1], means[k]] if k in means and len(v) else v for k, v in series.items()}
        self.callbacks.on_epoch_end(epoch, phase, merged)

    def on_train_end(self, history: History) -> None:
        if is_rank_zero():
            self.callbacks.on_train_end(history)

    def on_exception(self, exception: BaseException, history: History) -> None:
        if is_rank_zero():
            self.callbacks.on_exception(exception, history)
