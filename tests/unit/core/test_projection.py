"""livetrain.core.projection: PCA against numpy's SVD and scikit-learn's PCA, steady signs, t-SNE through scikit-learn,
and UMAP's install hint."""
import importlib.util

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from livetrain.core.projection import axis_labels, check_method, pca, project


def features(n=300, d=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(3, 0.1, d) + rng.normal(size=d)  # distinct variances


def same_up_to_sign(a, b):
    for k in range(a.shape[1]):
        sign = np.sign(a[:, k] @ b[:, k])
        np.testing.assert_allclose(a[:, k], sign * b[:, k], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n, d", [(300, 64), (20, 64)])  # more points than dimensions, and fewer
def test_pca_is_numpys_svd_of_the_centred_features_and_scikit_learns_pca(n, d):
    x = features(n, d)
    p = pca(x)
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    assert p.points.shape == (n, 2) and p.points.dtype == np.float32
    same_up_to_sign(p.points, u[:, :2] * s[:2])
    same_up_to_sign(p.components.T, vt[:2].T)
    np.testing.assert_allclose(p.explained, s[:2] ** 2 / np.sum(s ** 2), rtol=1e-9)
    reference = PCA(2).fit(x)
    same_up_to_sign(p.points, reference.transform(x))
    np.testing.assert_allclose(p.explained, reference.explained_variance_ratio_, rtol=1e-9)
    assert axis_labels(p) == tuple(f"PC{i + 1} ({100 * r:.1f}%)" for i, r in enumerate(
        reference.explained_variance_ratio_))


def test_components_keep_the_previous_signs_so_points_do_not_flip():
    x = features()
    first = pca(x)
    flipped = pca(x, previous=-first.components)
    np.testing.assert_allclose(flipped.points, -first.points, rtol=1e-5, atol=1e-5)
    previous = first
    for epoch in range(1, 8):  # features drifting epoch by epoch: each projection points the way of the last
        now = project(x + 0.3 * features(seed=epoch), previous=previous)
        assert np.all(np.einsum("kd,kd->k", now.components, previous.components) > 0)
        previous = now


def test_tensors_flattened_features_and_degenerate_inputs():
    x = features(50, 8)
    np.testing.assert_array_equal(pca(torch.tensor(x)).points, pca(x).points)
    assert pca(np.zeros((5, 2, 3))).points.shape == (5, 2)
    line = pca(np.arange(6.0)[:, None])  # one dimension: the second coordinate is 0
    np.testing.assert_allclose(line.explained, [1.0, 0.0])
    assert not line.points[:, 1].any() and line.points[:, 0].tolist() == pytest.approx([-2.5, -1.5, -.5, .5, 1.5, 2.5])
    assert not pca(np.ones((4, 3))).points.any() and pca(np.ones((4, 3))).explained.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"features must be numbers shaped \(N, D\).*got float64 with shape \(5,\)"):
        pca(np.zeros(5))
    with pytest.raises(ValueError, match="features hold 1 NaN or infinite values"):
        pca(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"method must be one of \['pca', 'tsne', 'umap'\]; got 'mds'"):
        project(x, "mds")


def test_tsne_is_scikit_learns_seeded_and_starts_from_the_previous_points():
    x = features(120, 16)
    first = project(x, "tsne", random_state=3)
    reference = TSNE(2, perplexity=30.0, init="pca", random_state=3).fit_transform(x)
    assert first.points.shape == (120, 2) and first.points.dtype == np.float32 and first.explained is None
    np.testing.assert_allclose(first.points, reference.astype(np.float32), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(project(x, "tsne", random_state=3).points, first.points)
    moved = x + 0.05 * features(120, 16, seed=1)
    second = project(moved, "tsne", previous=first, random_state=3)
    started = TSNE(2, perplexity=30.0, init=first.points.astype(np.float64), random_state=3).fit_transform(moved)
    np.testing.assert_allclose(second.points, started.astype(np.float32), rtol=1e-4, atol=1e-3)
    assert axis_labels(second) == ("t-SNE 1", "t-SNE 2")


def test_umap_runs_when_installed_and_otherwise_says_what_to_install():
    x = features(60, 8)
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(ImportError, match=r"method='umap' needs umap-learn, which is not installed: "
                                              r"pip install umap-learn"):
            check_method("umap")
        with pytest.raises(ImportError, match="pip install umap-learn"):
            project(x, "umap")
    else:
        assert project(x, "umap").points.shape == (60, 2)
    assert check_method("tsne") == "tsne"  # scikit-learn is installed for the tests
