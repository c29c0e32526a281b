"""Per-class metrics against scikit-learn's own functions (installed for the tests only)."""
import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics

from livetrain.core.classmetrics import (
    class_pr_curves,
    class_scores,
    confusion_matrix,
    macro_scores,
    pr_curve,
    scores_from_counts,
    step_points,
)


def predictions(seed, n=500, k=10, skill=1.5, ties=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + skill * np.eye(k)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, (probs.round(2) if ties else probs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_pr_curves_and_average_precision_are_scikit_learns(seed, ties):
    labels, probs = predictions(seed, ties=ties)
    curves = class_pr_curves(labels, probs)
    assert len(curves) == 10
    for k, curve in enumerate(curves):
        precision, recall, thresholds = metrics.precision_recall_curve(labels == k, probs[:, k])
        np.testing.assert_allclose(curve.precision, precision, rtol=1e-12)
        np.testing.assert_allclose(curve.recall, recall, rtol=1e-12)
        np.testing.assert_array_equal(curve.thresholds, thresholds)
        assert curve.ap == pytest.approx(metrics.average_precision_score(labels == k, probs[:, k]), abs=1e-12)


def test_a_class_without_samples_gets_scikit_learns_curve_and_ap():
    labels, probs = predictions(0, k=3)
    labels[labels == 2] = 0  # class 2 never occurs
    curve = class_pr_curves(labels, probs)[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns that no positive sample was found
        precision, recall, _ = metrics.precision_recall_curve(labels == 2, probs[:, 2])
        ap = metrics.average_precision_score(labels == 2, probs[:, 2])
    np.testing.assert_allclose(curve.precision, precision)
    np.testing.assert_allclose(curve.recall, recall)
    assert curve.ap == ap == 0.0


def test_binary_curve_takes_torch_free_arrays_and_matches():
    y, s = np.array([1, 0, 1, 1, 0, 0, 1]), np.array([0.9, 0.8, 0.8, 0.3, 0.3, 0.1, 0.05])
    curve = pr_curve(y, s)
    p, r, t = metrics.precision_recall_curve(y, s)
    np.testing.assert_allclose(curve.precision, p)
    np.testing.assert_allclose(curve.recall, r)
    np.testing.assert_array_equal(curve.thresholds, t)


def test_confusion_matrix_from_indices_scores_and_tensors():
    labels, probs = predictions(1)
    expected = metrics.confusion_matrix(labels, probs.argmax(1), labels=range(10))
    np.testing.assert_array_equal(confusion_matrix(labels, probs, 10), expected)
    np.testing.assert_array_equal(confusion_matrix(torch.tensor(labels), torch.tensor(probs.argmax(1)), 10), expected)
    assert confusion_matrix([0, 0], [1, 1], 3).tolist() == [[0, 2, 0], [0, 0, 0], [0, 0, 0]]


def test_per_class_and_macro_scores_are_scikit_learns():
    labels, probs = predictions(2, skill=0.8)
    labels[labels == 9] = 8  # a class without samples: scikit-learn's zero_division=0
    guess = probs.argmax(1)
    cm = confusion_matrix(labels, guess, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, support = metrics.precision_recall_fscore_support(labels, guess, labels=range(10), zero_division=0)
        macro = metrics.precision_recall_fscore_support(labels, guess, labels=range(10), average="macro",
                                                        zero_division=0)
    scores = class_scores(cm)
    for ours, theirs in zip(scores, (p, r, f, support)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    summary = macro_scores(cm)
    assert summary["accuracy"] == pytest.approx(metrics.accuracy_score(labels, guess))
    assert (summary["precision"], summary["recall"], summary["f1_score"]) == pytest.approx(macro[:3])


def test_scores_from_the_blogs_corrects_and_counts():
    labels, probs = predictions(3)
    guess = probs.argmax(1)
    corrects = np.bincount(labels[guess == labels], minlength=10)
    counts = np.bincount(labels, minlength=10)
    recall = metrics.recall_score(labels, guess, labels=range(10), average=None)
    only = scores_from_counts(corrects, counts)
    np.testing.assert_allclose(only.recall, recall)
    assert np.isnan(only.precision).all() and np.isnan(only.f1).all()
    full = scores_from_counts(corrects, counts, predicted=np.bincount(guess, minlength=10))
    np.testing.assert_allclose(full.f1, metrics.f1_score(labels, guess, labels=range(10), average=None))


def test_step_points_draw_the_steps_whose_area_is_the_ap_and_stay_within_budget():
    labels, probs = predictions(4, n=3000)
    curve = class_pr_curves(labels, probs)[0]
    x, y = step_points(curve, most=10_000)
    assert x.dtype == y.dtype == np.float32 and x.size == 2 * curve.recall.size - 1
    assert -np.sum(np.diff(x.astype(float)) * y[:-1]) == pytest.approx(curve.ap, abs=1e-5)  # area under the steps
    x, y = step_points(curve, most=128)
    assert x.size <= 128 and (x[0], x[-1], y[-1]) == (1.0, 0.0, 1.0)
    assert np.all(np.diff(x) <= 0)  # recall never rises along the curve
    assert -np.sum(np.diff(x.astype(float)) * y[:-1]) == pytest.approx(curve.ap, abs=1e-5)  # the same area


@pytest.mark.parametrize(("call", "message"), [
    (lambda: class_pr_curves([0, 1], [[0.5, 0.5]]), r"scores must be a \(2, 2\) array"),
    (lambda: class_pr_curves([0, 5], np.ones((2, 2))), r"labels must be class indices in 0..1; got values from 0 to 5"),
    (lambda: class_pr_curves([0, 1], [[0.5, np.nan], [0.1, 0.9]]), "scores must be finite"),
    (lambda: confusion_matrix([0.5], [0], 2), "labels must be whole numbers"),
    (lambda: confusion_matrix([0, 1], [0], 2), "one entry per sample; got 2 and 1"),
    (lambda: class_scores([[1, 2, 3]]), r"square \(K, K\) array"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
