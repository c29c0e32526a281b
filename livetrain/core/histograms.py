"""Histograms as ``(counts, edges)``: numpy binning (fixed bins, or TensorBoard's exponential buckets), the forms a
history or a ``SummaryWriter`` record holds them in, and re-binning onto uniform bins for drawing.

``edges`` has one more entry than ``counts``; bin ``i`` is ``[edges[i], edges[i + 1])`` (the last one closed), as in
``numpy.histogram``. TensorBoard's ``HistogramProto`` (``bucket_limit``, ``bucket``: right edges and counts) converts
both ways (:func:`from_summary`, :func:`to_summary`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .metrics import to_numpy
from .tfevents import histogram_buckets

_FORMS = ("expected a histogram: an array of values, a (counts, edges) pair, a mapping with 'counts' and 'edges', "
          "or a TensorBoard summary mapping with 'bucket_limit' and 'bucket'")


class Histogram(NamedTuple):
    """Counts per bin and the bins' edges (one more than counts), as float64 arrays."""

    counts: np.ndarray
    edges: np.ndarray


def histogram(values: Any, bins: int | str | Sequence[float] | np.ndarray = 64) -> Histogram:
    """The histogram of ``values`` (any shape, a torch tensor too; NaN and infinities left out).

    ``bins``: a number of equal bins over the values' min..max (as ``numpy.histogram``), explicit edges, or
    ``"tensorflow"``: TensorBoard's exponential buckets (edges ``±1e-12 * 1.1**k`` and 0), kept from the first
    non-empty bucket to the last, the outer edges moved in to the values' min and max.

    Example:
        >>> h = histogram(np.array([0.0, 1.0, 1.0, 3.0, np.nan]), bins=3)
        >>> h.counts.tolist(), h.edges.tolist()
        ([1.0, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0])
        >>> histogram(np.array([1.0, 1.0]), "tensorflow").counts.tolist()
        [2.0]
    """
    array = np.asarray(to_numpy(values), dtype=np.float64).reshape(-1)
    finite = array[np.isfinite(array)]
    if not finite.size:
        raise ValueError(f"expected at least one finite value; got {array.size} values and none finite")
    if isinstance(bins, str) and bins != "tensorflow":
        raise ValueError(f"bins must be a number of bins, a sequence of edges or 'tensorflow'; got {bins!r}")
    if isinstance(bins, str):
        limits, counts = histogram_buckets(finite, bins)  # right edges, after one empty leading bucket
        return Histogram(counts[1:], np.clip(limits, finite.min(), finite.max()))
    counts, edges = np.histogram(finite, bins=bins)
    return Histogram(counts.astype(np.float64), edges.astype(np.float64))


def from_summary(summary: Mapping[str, Any]) -> Histogram:
    """A TensorBoard ``HistogramProto`` as a mapping (what ``SummaryWriter.add_histogram`` records:
    ``min``, ``max``, ``bucket_limit``, ``bucket``) as ``(counts, edges)``: the first bucket starts at ``min``, and
    edges beyond ``min``..``max`` (TensorFlow's outer buckets reach ±1.8e308) are clipped to them.

    Example:
        >>> h = from_summary({"min": 0.5, "max": 2.5, "bucket_limit": [1.0, 2.0, 1e308], "bucket": [1, 0, 3]})
        >>> h.counts.tolist(), h.edges.tolist()
        ([1.0, 0.0, 3.0], [0.5, 1.0, 2.0, 2.5])
    """
    limits = np.asarray(summary["bucket_limit"], dtype=np.float64).reshape(-1)
    counts = np.asarray(summary["bucket"], dtype=np.float64).reshape(-1)
    if len(limits) != len(counts) or not len(limits):
        raise ValueError(f"a summary needs as many bucket_limit as bucket values, at least one; got "
                         f"{len(limits)} and {len(counts)}")
    low = float(summary.get("min", limits[0]))
    high = float(summary.get("max", limits[-1]))
    edges = np.clip(np.concatenate([[min(low, limits[0])], limits]), low, max(low, high))
    return Histogram(counts, np.maximum.accumulate(edges))


def to_summary(hist: Histogram, *, low: float, high: float, total: float, sum_: float, sum_squares: float
               ) -> dict[str, Any]:
    """``hist`` as a TensorBoard ``HistogramProto`` mapping, as ``SummaryWriter.add_histogram`` records it (one
    empty bucket whose right edge is where the first bin starts, then each bin's right edge and count).

    Example:
        >>> s = to_summary(Histogram(np.array([1.0, 3.0]), np.array([0.0, 1.0, 2.0])), low=0.0, high=2.0, total=4,
        ...                sum_=5.0, sum_squares=7.0)
        >>> s["bucket_limit"].tolist(), s["bucket"].tolist(), s["num"]
        ([0.0, 1.0, 2.0], [0.0, 1.0, 3.0], 4)
    """
    return {"min": float(low), "max": float(high), "num": int(total), "sum": float(sum_),
            "sum_squares": float(sum_squares), "bucket_limit": np.asarray(hist.edges, np.float64),
            "bucket": np.concatenate([[0.0], np.asarray(hist.counts, np.float64)])}


def read(value: Any, bins: int | str | Sequence[float] | np.ndarray = 64) -> Histogram:
    """One logged histogram in any of the forms a history holds, as ``(counts, edges)``: a
    :class:`Histogram` or ``(counts, edges)`` pair, a mapping with ``counts`` and ``edges``, a TensorBoard summary
    mapping (see :func:`from_summary`), or raw values (an array or tensor, binned here with ``bins``).

    Example:
        >>> read({"counts": [1, 2], "edges": [0, 1, 2]}).counts.tolist()
        [1.0, 2.0]
        >>> read(np.arange(4.0), bins=2).counts.tolist()
        [2.0, 2.0]
    """
    if isinstance(value, Mapping):
        if "bucket" in value and "bucket_limit" in value:
            return from_summary(value)
        if "counts" in value and "edges" in value:
            value = (value["counts"], value["edges"])
        else:
            raise ValueError(f"{_FORMS}; got a mapping with keys {sorted(map(str, value))}")
    if isinstance(value, tuple) and len(value) == 2:
        counts = np.asarray(to_numpy(value[0]), dtype=np.float64).reshape(-1)
        edges = np.asarray(to_numpy(value[1]), dtype=np.float64).reshape(-1)
        if len(edges) != len(counts) + 1 or not len(counts) or np.any(np.diff(edges) < 0):
            raise ValueError(f"{_FORMS}: edges must be sorted and one more than counts; got {len(counts)} counts "
                             f"and {len(edges)} edges")
        return Histogram(counts, edges)
    try:
        return histogram(value, bins)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_FORMS}; got {type(value).__name__} ({exc})") from None


def rebin(hist: Histogram, edges: np.ndarray) -> np.ndarray:
    """The counts of ``hist`` moved onto new ``edges``, each bin's count spread evenly over its width (as
    TensorBoard's histogram dashboard re-bins); counts outside the new edges are dropped, a zero-width bin goes
    where it lies.

    Example:
        >>> rebin(Histogram(np.array([4.0]), np.array([0.0, 2.0])), np.array([0.0, 0.5, 1.0, 2.0])).tolist()
        [1.0, 1.0, 2.0]
    """
    new = np.asarray(edges, dtype=np.float64)
    left, span = hist.edges[:-1], np.diff(hist.edges)
    wide = span > 0
    # the share of each old bin below each new edge (a zero-width bin: all of it once the edge is past it; the last
    # edge, closed, takes one that sits on it), then the counts between consecutive new edges
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(wide, np.clip((new[:, None] - left) / np.where(wide, span, 1.0), 0.0, 1.0),
                         new[:, None] > left)
    below[-1] = np.where(wide, below[-1], new[-1] >= left)
    return np.diff(below @ hist.counts)


def uniform(hist: Histogram, bins: int) -> Histogram:
    """``hist`` re-binned onto ``bins`` equal bins over its own range (one bin if the range is a point).

    Example:
        >>> uniform(Histogram(np.array([1.0, 3.0]), np.array([0.0, 1.0, 4.0])), 2).counts.tolist()
        [2.0, 2.0]
    """
    low, high = float(hist.edges[0]), float(hist.edges[-1])
    if not high > low:
        return Histogram(np.array([float(hist.counts.sum())]), np.array([low, low]))
    edges = np.linspace(low, high, bins + 1)
    return Histogram(rebin(hist, edges), edges)
