"""Scalar metrics: conversion of step outputs to floats, and batch-size-weighted epoch means."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def to_float(key: str, value: Any) -> float:
    """``value`` as a Python float: a Python number, or a numpy, torch or JAX 0-d value.

    Raises ``TypeError`` naming ``key`` for anything else.

    Example:
        >>> import numpy as np
        >>> to_float("loss", np.float32(0.5))
        0.5
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        item = value.item()
        if isinstance(item, (int, float, bool)):
            return float(item)
    shape = getattr(value, "shape", None)
    got = f"{type(value).__name__} with shape {tuple(shape)}" if shape is not None else f"{type(value).__name__} {value!r:.60}"
    raise TypeError(f"metric {key!r}: expected a number or a 0-d array/tensor, got {got}")


def to_floats(values: Mapping[str, Any]) -> dict[str, float]:
    """Every value of ``values`` through :func:`to_float`.

    Example:
        >>> to_floats({"loss": 1, "acc": 0.5})
        {'loss': 1.0, 'acc': 0.5}
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"expected a dict of metric name to number, got {type(values).__name__}: {values!r:.80}")
    return {k: to_float(k, v) for k, v in values.items()}


class EpochMeans:
    """Running means of batch metrics, weighted by batch size.

    Example:
        >>> m = EpochMeans()
        >>> m.add({"loss": 1.0}, weight=3); m.add({"loss": 3.0}, weight=1)
        >>> m.means()
        {'loss': 1.5}
    """

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._weights: dict[str, float] = {}

    def add(self, values: Mapping[str, float], weight: float = 1.0) -> None:
        """Add one batch's ``values``, counted ``weight`` times."""
        if not (weight >= 0 and math.isfinite(weight)):
            raise ValueError(f"batch weight must be a finite number >= 0, got {weight!r}")
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + v * weight
            self._weights[k] = self._weights.get(k, 0.0) + weight

    def means(self) -> dict[str, float]:
        """The weighted mean of each key seen so far (NaN where the total weight is 0)."""
        return {k: (s / self._weights[k] if self._weights[k] else math.nan) for k, s in self._sums.items()}


def batch_size(batch: Any) -> int | None:
    """The number of samples in ``batch``: the length of its first item for tuples, lists and dicts
    (of the list itself when that item is a scalar), else its own length; ``None`` if unknown.

    Example:
        >>> import numpy as np
        >>> batch_size((np.zeros((32, 8)), np.zeros(32)))
        32
    """
    if isinstance(batch, (tuple, list)) and batch:
        return _length(batch[0]) or len(batch)
    if isinstance(batch, Mapping) and batch:
        return _length(next(iter(batch.values())))
    return _length(batch)


def _length(obj: Any) -> int | None:
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) > 0 else None
    try:
        return len(obj)
    except TypeError:
        return None
