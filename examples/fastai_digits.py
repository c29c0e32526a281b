"""fastai on scikit-learn's bundled digits, drawn live by livetrain: fastai's smoothed training loss at every batch
and its epoch table (train_loss, valid_loss, accuracy) at every epoch end, on one Board.

It imports fastai's core modules only (no ``fastai.vision.all``, which needs torchvision) and trains on plain torch
DataLoaders. Run it as a script (``python examples/fastai_digits.py``) or in a notebook cell (paste it, or
``runpy.run_path("examples/fastai_digits.py")["main"]()``).
"""
from __future__ import annotations

import torch
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
from torch import nn

import livetrain
from livetrain.examples.digits import DigitsCNN, load_digits_loaders


def main(epochs: int = 2, live: bool = True) -> livetrain.History | None:
    """Train the digits CNN for ``epochs`` with fastai; with ``live=False``, the same training without livetrain."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a model this small runs fastest on one thread
    loaders = load_digits_loaders()
    view = livetrain.FastaiCallback() if live else None
    learn = Learner(DataLoaders(loaders["train"], loaders["test"]), DigitsCNN(), loss_func=nn.CrossEntropyLoss(),
                    metrics=accuracy, cbs=[] if view is None else [view])
    learn.fit(epochs, lr=1e-3)
    return None if view is None else view.history


if __name__ == "__main__":
    main()
