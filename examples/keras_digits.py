"""Keras 3 (torch backend) on scikit-learn's bundled digits, drawn live by ``livetrain.KerasCallback``.

Run it as a script (``python examples/keras_digits.py``) or in a notebook cell (paste it, or
``runpy.run_path("examples/keras_digits.py")["main"]()``): a live Board of the per-batch running means and the
per-epoch train and validation values.
"""
from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: Keras picks its backend once

import keras
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import livetrain


def digits(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Train and validation images ``(N, 8, 8, 1)`` in [0, 1] and their labels, a stratified 80/20 split."""
    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    return tuple(train_test_split(x, data.target, test_size=0.2, random_state=seed, stratify=data.target))


def model(seed: int = 0) -> keras.Model:
    """A small CNN: one 3x3 convolution, then a dense layer, compiled with Adam and accuracy."""
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                            keras.layers.Flatten(), keras.layers.Dense(10)])
    net.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return net


def main(epochs: int = 2, live: bool = True) -> livetrain.History | None:
    """Train for ``epochs``; with ``live`` through a :class:`livetrain.KerasCallback` (returns its history), else
    without livetrain (returns ``None``)."""
    torch.set_num_threads(1)  # a model this small runs fastest on one thread
    x_train, x_val, y_train, y_val = digits()
    callback = livetrain.KerasCallback() if live else None
    model().fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0,
                callbacks=[callback] if callback else [])
    return callback.history if callback else None


if __name__ == "__main__":
    main()
