"""Per-class metrics of a classifier, in numpy: confusion matrices, precision, recall and F1, and precision-recall
curves with their average precision, as scikit-learn defines them (scikit-learn is not needed).

Inputs are numpy arrays, torch tensors (read without importing torch), JAX arrays or lists: ``labels`` are class
indices ``0..K-1``, ``scores`` are ``(N, K)`` per-class scores (probabilities, or any real scores), ``predictions``
are class indices ``(N,)`` or such scores (their argmax is the prediction).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .checks import whole
from .metrics import to_numpy


class ClassScores(NamedTuple):
    """Per-class precision, recall and F1 (0 where undefined, as scikit-learn's default), and each class's
    number of samples (``support``)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray


class PRCurve(NamedTuple):
    """One class's precision-recall curve, as ``sklearn.metrics.precision_recall_curve`` returns it (recall
    falling to a last point ``(0, 1)``; ``thresholds`` one shorter), and its average precision."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    ap: float


def class_names(classes: int | Sequence[Any]) -> tuple[str, ...]:
    """The classes' names: ``"0".."K-1"`` for a count ``K``, else the given names as text, or a clear error.

    Example:
        >>> class_names(3), class_names(["cat", "dog"])
        (('0', '1', '2'), ('cat', 'dog'))
    """
    if isinstance(classes, int) and not isinstance(classes, bool) and classes >= 1:
        return tuple(str(i) for i in range(classes))
    if isinstance(classes, Sequence) and not isinstance(classes, str) and classes:
        found = tuple(str(c) for c in classes)
        if len(set(found)) == len(found):
            return found
    raise ValueError(f"classes must be a count >= 1 or a list of distinct names, got {classes!r:.200}")


def class_labels(labels: Any, classes: int, what: str = "labels") -> np.ndarray:
    """``labels`` as a 1-D int64 array of class indices in ``0..classes-1``, or a clear error.

    Example:
        >>> class_labels([2, 0, 1], 3).tolist()
        [2, 0, 1]
        >>> class_labels([3], 3)
        Traceback (most recent call last):
        ValueError: labels must be class indices in 0..2; got values from 3 to 3
    """
    arr = np.asarray(to_numpy(labels))
    if arr.ndim != 1 or not arr.size or arr.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be a non-empty 1-D array of class indices; got {arr.dtype} values of shape "
                         f"{arr.shape}")
    ints = arr.astype(np.int64)
    if arr.dtype.kind == "f" and not np.array_equal(ints, arr):
        raise ValueError(f"{what} must be whole numbers (class indices); got {arr[ints != arr][:3].tolist()}")
    if ints.min() < 0 or ints.max() >= classes:
        raise ValueError(f"{what} must be class indices in 0..{classes - 1}; got values from {ints.min()} to "
                         f"{ints.max()}")
    return ints


def class_scores_array(scores: Any, classes: int, samples: int | None = None) -> np.ndarray:
    """``scores`` as a finite float64 ``(N, classes)`` array (``N == samples`` when given), or a clear error.

    Example:
        >>> class_scores_array([[0.2, 0.8]], 2).shape
        (1, 2)
    """
    arr = np.asarray(to_numpy(scores))
    wanted = f"({samples if samples is not None else 'N'}, {classes})"
    if arr.ndim != 2 or arr.shape[1] != classes or (samples is not None and arr.shape[0] != samples) \
            or arr.dtype.kind not in "biuf":
        raise ValueError(f"scores must be a {wanted} array of numbers, one row per sample and a column per class; "
                         f"got {arr.dtype} values of shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"scores must be finite; got {np.count_nonzero(~np.isfinite(arr))} NaN or infinite values")
    return arr


def confusion_matrix(labels: Any, predictions: Any, classes: int) -> np.ndarray:
    """The ``(classes, classes)`` int64 counts of samples of class ``i`` (row) predicted as ``j`` (column), as
    ``sklearn.metrics.confusion_matrix(labels, predictions, labels=range(classes))``. ``predictions`` are class
    indices, or ``(N, classes)`` scores whose argmax is the prediction.

    Example:
        >>> confusion_matrix([0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]], 2).tolist()
        [[1, 0], [1, 1]]
    """
    whole("classes", classes, minimum=1)
    truth = class_labels(labels, classes)
    predicted = np.asarray(to_numpy(predictions))
    if predicted.ndim == 2:
        predicted = class_scores_array(predicted, classes, truth.size).argmax(axis=1)
    predicted = class_labels(predicted, classes, "predictions")
    if predicted.size != truth.size:
        raise ValueError(f"labels and predictions must have one entry per sample; got {truth.size} and "
                         f"{predicted.size}")
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def class_scores(confusion: Any) -> ClassScores:
    """Per-class precision, recall and F1 of a confusion matrix (rows: true class, columns: predicted), as
    ``sklearn.metrics.precision_recall_fscore_support`` with ``labels=range(K)``.

    Example:
        >>> s = class_scores([[3, 1], [0, 4]])
        >>> s.precision.tolist(), s.recall.tolist(), s.support.tolist()
        ([1.0, 0.8], [0.75, 1.0], [4, 4])
    """
    cm = np.asarray(to_numpy(confusion))
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or not cm.size or cm.dtype.kind not in "biuf":
        raise ValueError(f"a confusion matrix must be a square (K, K) array of counts; got {cm.dtype} values of "
                         f"shape {cm.shape}")
    tp = np.diagonal(cm).astype(np.float64)
    return _scores(tp, cm.sum(axis=1), cm.sum(axis=0))


def scores_from_counts(corrects: Any, counts: Any, predicted: Any = None) -> ClassScores:
    """Per-class scores from the blog's ``corrects`` (right predictions per true class) and ``counts`` (samples per
    class): the recall. Precision and F1 also need ``predicted`` (predictions per class); without it they are NaN.

    Example:
        >>> s = scores_from_counts([3, 4], [4, 4], predicted=[3, 5])
        >>> s.recall.tolist(), s.precision.tolist()
        ([0.75, 1.0], [1.0, 0.8])
        >>> scores_from_counts([3, 4], [4, 4]).f1.tolist()
        [nan, nan]
    """
    tp, actual = (np.asarray(to_numpy(v), np.float64) for v in (corrects, counts))
    if tp.ndim != 1 or tp.shape != actual.shape:
        raise ValueError(f"corrects and counts must be 1-D with one number per class; got shapes {tp.shape} and "
                         f"{actual.shape}")
    if predicted is None:
        scores = _scores(tp, actual, tp)
        nan = np.full(tp.shape, np.nan)
        return scores._replace(precision=nan, f1=nan)
    guessed = np.asarray(to_numpy(predicted), np.float64)
    if guessed.shape != tp.shape:
        raise ValueError(f"predicted must have one number per class ({tp.size}); got shape {guessed.shape}")
    return _scores(tp, actual, guessed)


def _scores(tp: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> ClassScores:
    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)

    return ClassScores(ratio(tp, predicted), ratio(tp, actual), ratio(2 * tp, actual + predicted),
                       np.asarray(actual).astype(np.int64))


def per_class(scores: ClassScores, classes: int | Sequence[Any]) -> dict[str, float]:
    """``scores`` as one epoch's line-view values: ``precision/<class>``, ``recall/<class>`` and ``f1_score/<class>``,
    a float each (the keys :class:`~livetrain.ClassScoresCallback` adds with ``per_class=True``). Append them to a
    history per epoch and plot them with ``LinePlotsCallback(keys=[...])``, titled ``"Precision (cat)"``.

    Example:
        >>> values = per_class(class_scores([[3, 1], [0, 4]]), ["cat", "dog"])
        >>> {k: round(v, 3) for k, v in values.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'precision/cat': 1.0, 'precision/dog': 0.8, 'recall/cat': 0.75, 'recall/dog': 1.0,
         'f1_score/cat': 0.857, 'f1_score/dog': 0.889}
    """
    names = class_names(classes)
    if len(names) != scores.precision.size:
        raise ValueError(f"classes must name the {scores.precision.size} classes of the scores; got {len(names)}")
    return {f"{metric}/{name}": float(value) for metric, values in (("precision", scores.precision),
                                                                      ("recall", scores.recall),
                                                                      ("f1_score", scores.f1))
            for name, value in zip(names, values)}


def macro_scores(confusion: Any) -> dict[str, float]:
    """Accuracy and the class-averaged (macro) precision, recall and F1 of a confusion matrix: seed 003's four
    metrics, one number each per epoch for :class:`~livetrain.LinePlotsCallback`.

    Example:
        >>> macro_scores([[3, 1], [0, 4]])
        {'accuracy': 0.875, 'precision': 0.9, 'recall': 0.875, 'f1_score': 0.873015873015873}
    """
    scores = class_scores(confusion)
    cm = np.asarray(to_numpy(confusion))
    total = cm.sum()
    return {"accuracy": float(np.trace(cm) / total) if total else 0.0, "precision": float(scores.precision.mean()),
            "recall": float(scores.recall.mean()), "f1_score": float(scores.f1.mean())}


def pr_curve(positive: np.ndarray, scores: np.ndarray) -> PRCurve:
    """The precision-recall curve of binary ``positive`` labels against ``scores`` (1-D arrays of one length), and
    its average precision: ``sklearn.metrics.precision_recall_curve`` and ``average_precision_score``.

    Example:
        >>> c = pr_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        >>> c.precision.tolist(), c.recall.tolist(), round(c.ap, 4)
        ([0.5, 0.6666666666666666, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], 0.8333)
    """
    order = np.argsort(scores, kind="stable")[::-1]
    return _curve(np.asarray(positive, bool)[order], np.asarray(scores, np.float64)[order])


def class_pr_curves(labels: Any, scores: Any) -> list[PRCurve]:
    """One-vs-rest precision-recall curves of every class: class ``k``'s positives are the samples labelled ``k``,
    ranked by ``scores[:, k]``.

    Example:
        >>> [round(c.ap, 3) for c in class_pr_curves([0, 1, 1], [[0.7, 0.3], [0.6, 0.4], [0.1, 0.9]])]
        [1.0, 1.0]
    """
    scores = np.asarray(to_numpy(scores))
    if scores.ndim != 2:
        raise ValueError(f"scores must be a (N, K) array, one row per sample and a column per class; got shape "
                         f"{scores.shape}")
    classes = scores.shape[1]
    truth = class_labels(labels, classes)
    scores = class_scores_array(scores, classes, truth.size)
    columns = np.ascontiguousarray(scores.T)  # a row per class: sorting rows is quicker than sorting columns
    order = np.argsort(columns, axis=1)[:, ::-1]  # ties sit in one group whatever their order: any sort will do
    ranked = np.take_along_axis(columns, order, axis=1)
    hits = truth[order] == np.arange(classes)[:, None]
    return [_curve(hits[k], ranked[k]) for k in range(classes)]


def _curve(hits: np.ndarray, ranked: np.ndarray) -> PRCurve:
    """The curve from labels and scores sorted by falling score (scikit-learn's ``_binary_clf_curve``)."""
    ends = np.flatnonzero(ranked[1:] != ranked[:-1])  # the last sample of each distinct score
    ends = np.append(ends, ranked.size - 1)
    tps = np.cumsum(hits)[ends].astype(np.float64)
    precision = tps / (ends + 1)
    recall = tps / tps[-1] if tps[-1] else np.ones_like(tps)
    precision, recall = np.append(precision[::-1], 1.0), np.append(recall[::-1], 0.0)
    return PRCurve(precision, recall, ranked[ends][::-1], max(0.0, float(-np.sum(np.diff(recall) * precision[:-1]))))


def step_points(curve: PRCurve, most: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """The ``(recall, precision)`` float32 vertices of ``curve`` drawn as scikit-learn's ``PrecisionRecallDisplay``
    draws it (steps: each point's precision holds until the next point's recall; the area under them is the AP), at
    most ``most`` of them: past that, the steps are averaged over even recall bins, which keeps the area.

    Example:
        >>> x, y = step_points(pr_curve(np.array([0, 1]), np.array([0.2, 0.9])))
        >>> x.tolist(), y.tolist()
        ([1.0, 1.0, 1.0, 0.0, 0.0], [0.5, 0.5, 1.0, 1.0, 1.0])
    """
    if most < 5:
        raise ValueError(f"most must be >= 5 points, got {most!r}")
    recall, precision = curve.recall, curve.precision
    if 2 * recall.size - 1 > most:  # the area under the steps up to each recall, read at the bins' edges
        rising, heights = recall[::-1], precision[::-1]
        area = np.r_[0.0, np.cumsum(np.diff(rising) * heights[1:])]
        edges = np.linspace(0.0, 1.0, (most - 3) // 2 + 1)
        means = np.diff(np.interp(edges, rising, area)) / np.diff(edges)
        recall, precision = np.r_[edges[::-1], 0.0], np.r_[means[::-1], means[0], 1.0]
    x, y = np.repeat(recall, 2)[1:], np.repeat(precision, 2)[:-1]
    return x.astype(np.float32), y.astype(np.float32)
