"""Ready-made data, model and step function for livetrain demos and notebooks.

This subpackage needs torch and scikit-learn (``pip install livetrain[demo]`` plus torch);
the livetrain core never imports it.

Example:
    >>> from livetrain.examples import load_loaders, DigitsCNN, make_step
    >>> loaders, name = load_loaders(prefer="digits")
    >>> name
    'digits'
"""
from .digits import (DatasetUnavailable, DigitsCNN, load_digits_loaders, load_loaders, load_mnist_loaders,
                     make_step)

__all__ = ["DatasetUnavailable", "DigitsCNN", "load_digits_loaders", "load_loaders", "load_mnist_loaders",
           "make_step"]
