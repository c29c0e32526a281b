"""Features to 2-D points for the embedding view: PCA in numpy (by default), t-SNE (scikit-learn) or UMAP
(umap-learn) when installed. Kept steady from one call to the next: PCA's components take the previous call's signs,
t-SNE and UMAP start from the previous points with a fixed seed.
"""
from __future__ import annotations

import importlib.util
from typing import Any, NamedTuple

import numpy as np

from .metrics import to_numpy

#: The projections, and for each optional one the module it imports and the package that installs it.
METHODS: dict[str, tuple[str, str] | None] = {"pca": None, "tsne": ("sklearn", "scikit-learn"),
                                              "umap": ("umap", "umap-learn")}


class Projection(NamedTuple):
    """2-D points, one per row of the features (``(N, 2)`` float32), and, for PCA, the two unit components
    (``(2, D)``) and the share of the variance each explains."""
    points: np.ndarray
    method: str = "pca"
    components: np.ndarray | None = None
    explained: np.ndarray | None = None


def check_method(method: str) -> str:
    """``method`` if it is a known projection whose package imports here, else a clear error (an ``ImportError`` that
    says what to install). Nothing is imported.

    Example:
        >>> check_method("pca")
        'pca'
        >>> check_method("mds")
        Traceback (most recent call last):
        ValueError: method must be one of ['pca', 'tsne', 'umap']; got 'mds'
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    needs = METHODS[method]
    if needs is not None and importlib.util.find_spec(needs[0]) is None:
        raise ImportError(f"method={method!r} needs {needs[1]}, which is not installed: pip install {needs[1]} "
                          f"(or use method='pca', which needs nothing)")
    return method


def features_array(features: Any) -> np.ndarray:
    """``features`` (numpy, torch or JAX; ``(N, D)``, or ``(N, ...)`` flattened to ``(N, D)``) as float64, or a clear
    error.

    Example:
        >>> features_array(np.zeros((3, 2, 2))).shape
        (3, 4)
    """
    array = np.asarray(to_numpy(features))
    if array.ndim < 2 or 0 in array.shape or array.dtype.kind not in "biuf":
        raise ValueError(f"features must be numbers shaped (N, D), a row per point; got {array.dtype} with shape "
                         f"{array.shape}")
    array = array.reshape(len(array), -1).astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"features hold {np.count_nonzero(~np.isfinite(array))} NaN or infinite values")
    return array


def pca(features: Any, previous: np.ndarray | None = None) -> Projection:
    """The features projected on their first two principal components, from numpy's SVD (of the centred features, or
    of their ``D×D`` scatter matrix when there are more points than dimensions: the same components, faster).

    Each component takes the sign that points it the way of ``previous`` (the last call's ``components``), so that
    the points do not flip from one epoch to the next; without it, its largest entry is positive (as scikit-learn's
    ``PCA``). With a single dimension, or a single point, the missing coordinates are 0.

    Example:
        >>> p = pca(np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 1.0]]))
        >>> p.points.shape, p.points.dtype, round(float(p.explained.sum()), 6)
        ((3, 2), dtype('float32'), 1.0)
    """
    x = features_array(features)
    centred = x - x.mean(axis=0)
    n, d = centred.shape
    if n > d:
        _, variances, vt = np.linalg.svd(centred.T @ centred, hermitian=True)
    else:
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        variances = singular ** 2
    components = np.zeros((2, d))
    k = min(2, len(vt))
    components[:k] = vt[:k]
    components *= signs(components, previous)[:, None]
    total = variances.sum()
    explained = np.zeros(2)
    explained[:k] = variances[:k] / total if total > 0 else 0.0
    return Projection((centred @ components.T).astype(np.float32), "pca", components, explained)


def signs(components: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Per component (a row), ``1.0`` or ``-1.0``: the sign that makes it point the way of the same row of
    ``previous`` (when given and of the same shape), else the one that makes its largest entry positive.

    Example:
        >>> signs(np.array([[1.0, -3.0], [0.5, 0.1]])).tolist()
        [-1.0, 1.0]
        >>> signs(np.array([[1.0, -3.0]]), previous=np.array([[0.2, -1.0]])).tolist()
        [1.0]
    """
    if previous is not None and np.shape(previous) == components.shape:
        dots = np.einsum("kd,kd->k", components, previous)
        return np.where(dots < 0, -1.0, 1.0)
    largest = components[np.arange(len(components)), np.abs(components).argmax(axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


def project(features: Any, method: str = "pca", previous: Projection | None = None,
            random_state: int = 0) -> Projection:
    """``features`` as 2-D points by ``method`` (see :data:`METHODS`), steady across calls given the ``previous``
    projection: PCA aligns its components' signs with it; t-SNE and UMAP start from its points (when the count
    matches) and use ``random_state``. t-SNE and UMAP import their package here (see :func:`check_method`).

    Example:
        >>> project(np.eye(3)).points.shape
        (3, 2)
    """
    check_method(method)
    if method == "pca":
        return pca(features, None if previous is None else previous.components)
    x = features_array(features)
    n = len(x)
    if n < 3:
        raise ValueError(f"method={method!r} needs at least 3 points; got {n}")
    start = previous.points if previous is not None and previous.points.shape == (n, 2) else None
    if method == "tsne":
        from sklearn.manifold import TSNE

        model: Any = TSNE(2, perplexity=min(30.0, (n - 1) / 3), random_state=random_state,
                          init="pca" if start is None else start.astype(np.float64))
    else:
        import umap

        model = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=random_state,
                          init="spectral" if start is None else start.astype(np.float64))
    return Projection(np.asarray(model.fit_transform(x), np.float32), method)


def axis_labels(projection: Projection) -> tuple[str, str]:
    """The x and y axis titles of a projection: PCA's with the share of the variance each component explains.

    Example:
        >>> axis_labels(pca(np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 1.0]])))
        ('PC1 (98.2%)', 'PC2 (1.8%)')
        >>> axis_labels(Projection(np.zeros((1, 2), np.float32), "tsne"))
        ('t-SNE 1', 't-SNE 2')
    """
    if projection.explained is not None:
        first, second = projection.explained[:2]
        return f"PC1 ({100 * first:.1f}%)", f"PC2 ({100 * second:.1f}%)"
    name = {"tsne": "t-SNE", "umap": "UMAP"}.get(projection.method, projection.method)
    return f"{name} 1", f"{name} 2"
