"""Argument checks shared by the public constructors: each error names the argument, what it expects and what it got."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def whole(what: str, value: Any, minimum: int = 0) -> int:
    """``value`` if it is an int (not a bool) ``>= minimum``, else a ``ValueError`` naming ``what``.

    Example:
        >>> whole("epochs", 3)
        3
        >>> whole("every", 0, minimum=1)
        Traceback (most recent call last):
        ValueError: every must be an int >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return value


def names(what: str, values: Sequence[str]) -> tuple[str, ...]:
    """``values`` as a tuple of names, or a ``TypeError`` saying what was expected.

    Example:
        >>> names("keys", ["loss", "acc"])
        ('loss', 'acc')
    """
    if isinstance(values, str) or not values or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a non-empty sequence of str, e.g. ('train', 'test'); got {values!r}")
    return tuple(values)
