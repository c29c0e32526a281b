"""Ready-made data, models and step functions for livetrain demos and notebooks.

This subpackage needs torch and scikit-learn (``pip install livetrain[demo]`` plus torch);
the livetrain core never imports it.

- :mod:`~livetrain.examples.digits`: digit loaders (MNIST or scikit-learn's 8x8 digits), a small
  CNN, and a classifier step (with per-class counts for the bar plots).
- :mod:`~livetrain.examples.vae`: a small VAE and a step returning sample images for the image plots.

Example:
    >>> from livetrain.examples import load_loaders, DigitsCNN, make_step
    >>> loaders, name = load_loaders(prefer="digits")
    >>> name
    'digits'
"""
from .digits import (
    CLASSIFIER_REDUCE,
    DatasetUnavailable,
    DigitsCNN,
    load_digits_loaders,
    load_loaders,
    load_mnist_loaders,
    make_step,
)
from .vae import VAE_REDUCE, DigitsVAE, make_vae_step, vae_loss

__all__ = ["CLASSIFIER_REDUCE", "DatasetUnavailable", "DigitsCNN", "DigitsVAE", "VAE_REDUCE", "load_digits_loaders",
           "load_loaders", "load_mnist_loaders", "make_step", "make_vae_step", "vae_loss"]
