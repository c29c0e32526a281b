"""Registries of optional implementations, named ``"module:attribute"`` so that each is imported only when used."""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def resolve(registry: Mapping[str, str], name: str, what: str) -> Any:
    """The object ``registry[name]`` names (``"package.module:attribute"``), imported now; a ``ValueError``
    naming ``what`` and the registered names when ``name`` is not one of them.

    Example:
        >>> resolve({"json": "json:dumps"}, "json", "encoder")([1])
        '[1]'
        >>> resolve({"json": "json:dumps"}, "yaml", "encoder")
        Traceback (most recent call last):
        ValueError: encoder must be one of 'json'; got 'yaml'
    """
    if name not in registry:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, registry))}; got {name!r}")
    module, _, attribute = registry[name].partition(":")
    return getattr(importlib.import_module(module), attribute)
