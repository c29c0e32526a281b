"""Step outputs: conversion to floats or arrays, and their reduction over an epoch."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .steps import check_number

#: ``combine(weighted sums, weights, totals) -> (means, totals)``: see :meth:`EpochReducer.result`.
Combine = Callable[[dict[str, Any], dict[str, float], dict[str, np.ndarray]], tuple[dict[str, float], dict[str, Any]]]

REDUCTIONS = ("mean", "sum", "first", "last", "concat")


def to_float(key: str, value: Any) -> float:
    """``value`` as a Python float: a Python number, or a numpy, torch or JAX 0-d value.

    Raises ``TypeError`` naming ``key`` for anything else, and ``OverflowError`` naming it for an int too
    large for a float.

    Example:
        >>> import numpy as np
        >>> to_float("loss", np.float32(0.5))
        0.5
        >>> to_float("loss", 10**400)
        Traceback (most recent call last):
        OverflowError: metric 'loss': expected a number up to about 1.8e308 (a float), got an int of 1329 bits
    """
    if isinstance(value, (int, float)):
        return _float(key, value)
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        item = value.item()
        if isinstance(item, (int, float)):
            return _float(key, item)
    shape = getattr(value, "shape", None)
    name = type(value).__name__
    got = f"{name} with shape {tuple(shape)}" if shape is not None else f"{name} {value!r:.60}"
    raise TypeError(f"metric {key!r}: expected a number or a 0-d array/tensor, got {got}")


def _float(key: str, number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:  # only an int can be too large; bit_length, as str() of a huge int may itself fail
        raise OverflowError(f"metric {key!r}: expected a number up to about 1.8e308 (a float), "
                            f"got an int of {int(number).bit_length()} bits") from None


def device_number(key: str, value: Any) -> Any:
    """``value`` as something to add up without reading it: a float for Python and numpy numbers, and a torch
    tensor (detached, 0-d) or a JAX array as it is, so that the device adds and the host does not wait for it.
    Anything that cannot be a number is a ``TypeError`` naming ``key``.

    Example:
        >>> device_number("loss", np.float32(0.5)), device_number("n", 3)
        (0.5, 3.0)
    """
    if type(value) is float:
        return value
    if isinstance(value, (int, float)):
        return _float(key, value)
    if isinstance(value, (np.number, np.bool_)):
        return to_float(key, value)
    try:
        check_number(key, value)
    except TypeError as exc:
        raise TypeError(f"metric {exc}") from None
    if isinstance(value, (np.ndarray, list, tuple)) or not hasattr(value, "reshape"):
        return to_float(key, value[0] if isinstance(value, (list, tuple)) else value)
    if hasattr(value, "detach"):
        value = value.detach()  # a loss with its graph: adding it up must not keep every batch's graph alive
    return value if value.ndim == 0 else value.reshape(())


class EpochMeans:
    """Running means of batch metrics, weighted by batch size. Device values (torch, JAX) are added up on their
    device and read once, by :meth:`means`.

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
            self._sums[k] = self._sums.get(k, 0.0) + device_number(k, v) * weight
            self._weights[k] = self._weights.get(k, 0.0) + weight

    def totals(self) -> tuple[dict[str, Any], dict[str, float]]:
        """The weighted sum of each key (a device value stays on its device) and its total weight."""
        return dict(self._sums), dict(self._weights)

    def means(self) -> dict[str, float]:
        """The weighted mean of each key seen so far (NaN where the total weight is 0); reads the device sums."""
        return {k: (to_float(k, s) / self._weights[k] if self._weights[k] else math.nan) for k, s in self._sums.items()}


def to_numpy(value: Any) -> Any:
    """A torch tensor as a numpy array (detached, on the CPU), without importing torch; anything else as it is.

    Example:
        >>> to_numpy([1, 2])
        [1, 2]
    """
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


def to_array(key: str, value: Any) -> np.ndarray:
    """``value`` as a numpy array: numpy, torch (detached, on the CPU) or anything ``np.asarray`` takes.

    Example:
        >>> to_array("counts", [1, 2]).tolist()
        [1, 2]
    """
    try:
        return np.asarray(to_numpy(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metric {key!r}: expected an array, a tensor or a list of numbers, "
                        f"got {type(value).__name__}") from exc


class EpochReducer:
    """Reduces each metric over an epoch's batches: ``"mean"`` (weighted by batch size, the
    default, for scalars), ``"sum"`` (element-wise, e.g. per-class counts), the ``"first"`` or
    ``"last"`` batch's value (e.g. sample images), or ``"concat"``: the batches joined along their first axis
    (e.g. an epoch's labels and predicted probabilities, for PR curves and the confusion matrix).

    Example:
        >>> r = EpochReducer({"counts": "sum"})
        >>> r.add({"loss": 1.0, "counts": [1, 0]}, weight=2)
        {'loss': 1.0}
        >>> _ = r.add({"loss": 4.0, "counts": [0, 3]}, weight=1)
        >>> out = r.result(); out["loss"], out["counts"].tolist()
        (2.0, [1, 3])
        >>> r = EpochReducer({"y_true": "concat"})
        >>> _ = r.add({"y_true": [0, 1]}); _ = r.add({"y_true": [2]})
        >>> r.result()["y_true"].tolist()
        [0, 1, 2]
    """

    def __init__(self, reduce: Mapping[str, str] | None = None) -> None:
        self.reduce = dict(reduce or {})
        bad = {k: how for k, how in self.reduce.items() if how not in REDUCTIONS}
        if bad:
            raise ValueError(f"reduce must map metric names to one of {REDUCTIONS}, got {bad}")
        self._means = EpochMeans()
        self._other: dict[str, np.ndarray] = {}
        self._parts: dict[str, list[np.ndarray]] = {}

    def add(self, values: Mapping[str, Any], weight: float = 1.0) -> dict[str, Any]:
        """Add one batch; returns its ``"mean"``-reduced metrics (the batch's logs): floats, or device values as they
        are (see :func:`device_number`: they are not read here)."""
        try:
            means = {k: device_number(k, v) for k, v in values.items() if self.reduce.get(k, "mean") == "mean"}
        except TypeError as exc:
            exc.add_note("livetrain: metrics are averaged over the epoch unless train_loop(reduce={key: 'sum'}) "
                         "(e.g. per-class counts), 'first'/'last' (e.g. images) or 'concat' (e.g. predictions) says "
                         "otherwise")
            raise
        self._means.add(means, weight)
        for k, v in values.items():
            how = self.reduce.get(k, "mean")
            if how == "sum":
                self._other[k] = self._other[k] + to_array(k, v) if k in self._other else to_array(k, v).copy()
            elif how == "last" or (how == "first" and k not in self._other):
                self._other[k] = to_array(k, v)
            elif how == "concat":
                self._parts.setdefault(k, []).append(np.atleast_1d(to_array(k, v)))
        return means

    def result(self, combine: Combine | None = None) -> dict[str, Any]:
        """The epoch's value of every metric seen. ``combine(sums, weights, totals)`` (e.g.
        :func:`~livetrain.core.distributed.across_ranks`) turns the means' weighted sums and weights, and the
        ``"sum"`` metrics' totals, into the means and totals to use (the global ones of a distributed run)."""
        joined = {}
        for k, parts in self._parts.items():
            try:
                joined[k] = np.concatenate(parts)
            except ValueError as exc:
                shapes = sorted({p.shape[1:] for p in parts})
                raise ValueError(f"metric {k!r} (reduce 'concat'): batches must agree on every axis but the first, "
                                 f"got item shapes {shapes}") from exc
        if combine is None:
            return self._means.means() | self._other | joined
        totals = {k: v for k, v in self._other.items() if self.reduce.get(k) == "sum"}
        means, summed = combine(*self._means.totals(), totals)
        return means | self._other | summed | joined


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
