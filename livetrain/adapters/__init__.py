"""Adapters: one module per training framework, each importing its framework only when it is used.

A new adapter is one module here, its tests in ``tests/adapters/``, an example in ``examples/``, and one line in
:data:`ADAPTERS`; ``livetrain.<Name>`` then imports it on first use (``import livetrain`` imports no framework).
"""
from __future__ import annotations

import importlib
from typing import Any

#: Public name -> (the framework's import name, ``"module:attribute"``).
ADAPTERS: dict[str, tuple[str, str]] = {
}


def load(name: str) -> Any:
    """The adapter ``name`` (one of :data:`ADAPTERS`), importing its module and framework now.

    Example:
        >>> load("Nope")
        Traceback (most recent call last):
        AttributeError: livetrain has no adapter 'Nope'
    """
    if name not in ADAPTERS:
        raise AttributeError(f"livetrain has no adapter {name!r}")
    framework, entry = ADAPTERS[name]
    module, _, attribute = entry.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == framework:
            raise ImportError(f"livetrain.{name} needs {framework}, which is not installed: pip install "
                              f"{framework}") from exc
        raise
