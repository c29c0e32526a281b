"""Which process of a distributed run draws and writes (global rank 0), and epoch means across the ranks.

torch is imported only when the process already did: a run that never touched ``torch.distributed`` is rank 0.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

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

    Example:
        >>> global_rank()
        0
    """
    dist = _torch_group_ready()
    if dist is not None:
        return int(dist.get_rank())
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def is_rank_zero() -> bool:
    """Whether this process draws and writes files: the only one of a single-process run, or global rank 0.

    Example:
        >>> is_rank_zero()
        True
    """
    return global_rank() == 0


def mean_across_ranks(sums: Mapping[str, Any], weight: float, group: Any = None) -> tuple[dict[str, float], float]:
    """Global weighted means: ``sums`` are this rank's weighted sums (value × batch size, summed over its batches) and
    ``weight`` its total batch size; one ``all_reduce`` over ``group`` (default: the whole world) adds them up across
    the ranks. Returns ``({key: global sum / global weight}, global weight)``. Outside a process group it is this
    rank's own means.

    Example:
        >>> mean_across_ranks({"loss": 6.0}, 3.0)
        ({'loss': 2.0}, 3.0)
    """
    keys = sorted(sums)
    totals = [to_float(k, sums[k]) for k in keys] + [float(weight)]
    dist = _torch_group_ready()
    if dist is not None:
        import torch

        buffer = torch.tensor(totals, dtype=torch.float64)
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM, group=group)
        totals = buffer.tolist()
    total = totals[-1]
    return {k: (s / total if total else float("nan")) for k, s in zip(keys, totals)}, total
