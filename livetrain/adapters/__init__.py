"""Adapters: one module per training framework, each importing its framework only when it is used.

A new adapter is one module here, its tests in ``tests/adapters/``, an example in ``examples/``, and one line in
:data:`ADAPTERS`; ``livetrain.<Name>`` then imports it on first use (``import livetrain`` imports no framework).
"""
from __future__ import annotations

import importlib
from typing import Any

#: Public name -> (the framework's import name, ``"module:attribute"``).
ADAPTERS: dict[str, tuple[str, str]] = {
    "LightningLogger": ("lightning", "livetrain.adapters.lightning:LightningLogger"),
    "LightningCallback": ("lightning", "livetrain.adapters.lightning:LightningCallback"),
    "AccelerateTracker": ("accelerate", "livetrain.adapters.accelerate:AccelerateTracker"),
    "KerasCallback": ("keras", "livetrain.adapters.keras:KerasCallback"),
    "HFCallback": ("transformers", "livetrain.adapters.hf:HFCallback"),
    "IgniteLogger": ("ignite", "livetrain.adapters.ignite:IgniteLogger"),
    "FastaiCallback": ("fastai", "livetrain.adapters.fastai:FastaiCallback"),
}
#: The pip name of a framework whose import name differs.
PIP_NAMES = {"ignite": "pytorch-ignite"}


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
                              f"{PIP_NAMES.get(framework, framework)}") from exc
        raise
