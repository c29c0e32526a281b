"""Handwritten-digit classification for demos: scikit-learn's bundled 8x8 digits (no download),
or MNIST through torchvision when it is installed and can download; a small CNN; a step function.

Example:
    >>> import torch
    >>> from livetrain import train_loop
    >>> loaders = load_digits_loaders()
    >>> model = DigitsCNN()
    >>> step = make_step(model, torch.optim.Adam(model.parameters(), lr=1e-3))
    >>> h = train_loop(step, loaders, epochs=1, progress=False)
    >>> sorted(h["test"])
    ['acc', 'loss']
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

Loaders = dict[str, DataLoader]


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be loaded here (missing package, no network, ...)."""


def load_digits_loaders(batch_size: int = 64, seed: int = 0, test_size: float = 0.2,
                        shuffle: bool = True) -> Loaders:
    """Train and test loaders for scikit-learn's bundled digits: 1797 images, 8x8, 10 classes.

    Images are float32 scaled to [0, 1], shaped ``(N, 1, 8, 8)``; labels are int64. The split is
    stratified and reproducible (``seed``); the train loader shuffles (unless ``shuffle=False``,
    e.g. to see the same images every epoch), the test loader does not.

    Example:
        >>> loaders = load_digits_loaders(batch_size=32)
        >>> x, y = next(iter(loaders["train"]))
        >>> tuple(x.shape), y.dtype
        ((32, 1, 8, 8), torch.int64)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed,
                                                        stratify=y)
    return {"train": DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=shuffle,
                                generator=torch.Generator().manual_seed(seed) if shuffle else None),
            "test": DataLoader(TensorDataset(x_test, y_test), batch_size=batch_size)}


def load_mnist_loaders(root: str | os.PathLike = "data", batch_size: int = 64, shuffle: bool = True) -> Loaders:
    """Train and test loaders for MNIST (28x28, values in [0, 1]), downloaded into ``root`` if needed.

    The train loader shuffles unless ``shuffle=False``; the test loader does not.

    Raises :class:`DatasetUnavailable` if torchvision does not import or the download fails.

    Example (not run as a doctest: it downloads about 12 MB)::

        try:
            loaders = load_mnist_loaders("data")
        except DatasetUnavailable as exc:
            print("no MNIST here:", exc)
    """
    try:
        from torchvision import datasets, transforms
    except Exception as exc:  # not installed, or installed but broken (e.g. a torch version mismatch)
        raise DatasetUnavailable(f"MNIST needs torchvision, which does not import here "
                                 f"({type(exc).__name__}: {exc})") from exc
    to_tensor = transforms.ToTensor()
    try:
        train = datasets.MNIST(root, train=True, download=True, transform=to_tensor)
        test = datasets.MNIST(root, train=False, download=True, transform=to_tensor)
    except Exception as exc:
        raise DatasetUnavailable(f"MNIST could not be loaded or downloaded into {os.fspath(root)!r} "
                                 f"({type(exc).__name__}: {exc})") from exc
    return {"train": DataLoader(train, batch_size=batch_size, shuffle=shuffle),
            "test": DataLoader(test, batch_size=batch_size)}


def load_loaders(prefer: Literal["mnist", "digits"] = "mnist", batch_size: int = 64,
                 root: str | os.PathLike = "data", seed: int = 0, shuffle: bool = True) -> tuple[Loaders, str]:
    """Loaders and the dataset's name: MNIST if ``prefer="mnist"`` and it is available, else digits.

    ``shuffle=False`` keeps the training set in a fixed order too (the test set is never shuffled).

    Example:
        >>> loaders, name = load_loaders(prefer="digits")
        >>> name, list(loaders)
        ('digits', ['train', 'test'])
    """
    if prefer not in ("mnist", "digits"):
        raise ValueError(f"prefer must be 'mnist' or 'digits', got {prefer!r}")
    if prefer == "mnist":
        try:
            return load_mnist_loaders(root, batch_size, shuffle), "mnist"
        except DatasetUnavailable:
            pass
    return load_digits_loaders(batch_size, seed, shuffle=shuffle), "digits"


class DigitsCNN(nn.Module):
    """A small CNN for 1-channel digit images: two 3x3 convolutions, 2x2 max-pooling, two linear layers.

    Built for 8x8 digits (about 40k parameters, a few seconds per 20 epochs on a CPU). The
    adaptive pooling makes it accept 28x28 MNIST too; there, ``width=32`` or more does better.

    Example:
        >>> DigitsCNN()(torch.zeros(5, 1, 8, 8)).shape
        torch.Size([5, 10])
        >>> DigitsCNN()(torch.zeros(5, 1, 28, 28)).shape
        torch.Size([5, 10])
    """

    def __init__(self, num_classes: int = 10, width: int = 16, dropout: float = 0.25) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(4))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 16, 64), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


Step = Callable[[Any, str], Mapping[str, Any]]

#: The ``reduce=`` for :func:`livetrain.train_loop` with ``make_step(..., per_class=n)``: an epoch's
#: per-class counts are the sums over its batches (``loss`` and ``acc`` stay batch-size weighted means).
CLASSIFIER_REDUCE: dict[str, str] = {"corrects": "sum", "counts": "sum"}


def make_step(model: nn.Module, optimizer: torch.optim.Optimizer,
              loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
              device: str | torch.device | None = None, per_class: int | None = None) -> Step:
    """A ``step(batch, phase)`` for :func:`livetrain.train_loop` on ``(inputs, labels)`` batches.

    In the ``"train"`` phase it runs ``model.train()``, a forward and backward pass and an
    optimizer step; in any other phase ``model.eval()`` and a forward pass under
    ``torch.no_grad()``. It returns ``{"loss": ..., "acc": ...}`` as 0-d tensors (livetrain
    converts them). ``loss_fn`` defaults to cross-entropy; ``device`` to the model's device.

    With ``per_class=n`` (the number of classes) it also returns ``"corrects"`` and ``"counts"``:
    int64 numpy arrays of length ``n``, the batch's correctly classified and total samples per
    class, for :class:`livetrain.VBarPlotsCallback` and :class:`livetrain.HBarPlotsCallback`.
    Give ``train_loop`` ``reduce=CLASSIFIER_REDUCE`` so they are summed over the epoch.

    Example:
        >>> model = DigitsCNN()
        >>> step = make_step(model, torch.optim.SGD(model.parameters(), lr=0.1))
        >>> out = step((torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])), "train")
        >>> sorted(out), 0.0 <= float(out["acc"]) <= 1.0
        (['acc', 'loss'], True)
        >>> step = make_step(model, torch.optim.SGD(model.parameters(), lr=0.1), per_class=10)
        >>> out = step((torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 1, 3])), "test")
        >>> out["counts"].tolist(), int(out["corrects"].sum()) == round(4 * float(out["acc"]))
        ([1, 2, 0, 1, 0, 0, 0, 0, 0, 0], True)
    """
    if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class must be the number of classes (an int >= 1) or None, got {per_class!r}")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    if device is None:
        device = next(model.parameters()).device

    def step(batch: Any, phase: str) -> dict[str, Any]:
        x, y = (t.to(device) for t in batch)
        training = phase == "train"
        model.train(training)
        with torch.set_grad_enabled(training):
            logits = model(x)
            loss = loss_fn(logits, y)
        if training:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        hits = logits.detach().argmax(dim=1) == y
        out: dict[str, Any] = {"loss": loss.detach(), "acc": hits.float().mean()}
        if per_class is not None:
            out["corrects"] = _bincount(y[hits], per_class)
            out["counts"] = _bincount(y, per_class)
        return out

    return step


def _bincount(labels: torch.Tensor, n: int):
    """Samples per class ``0..n-1`` as an int64 numpy array of length ``n``."""
    counts = torch.bincount(labels.reshape(-1).cpu(), minlength=n)
    if len(counts) > n:
        raise ValueError(f"per_class={n}, but a label is {len(counts) - 1}: pass per_class=<number of classes>")
    return counts.numpy()
