"""Values as JSON: a history's epoch values (:func:`encode`, :func:`decode`: non-finite floats as strings) and a
record's value as a JSON tree whose arrays travel apart (:func:`pack`, :func:`unpack`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .metrics import to_numpy

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def pack(place: str, value: Any, arrays: list[np.ndarray]) -> Any:
    """A JSON tree for a record's ``value``, its arrays appended to ``arrays`` (``{"$nd": i}`` in the tree);
    ``place`` names the value in the error for what cannot be saved.

    Example:
        >>> arrays = []; pack("records['x']", {"mat": np.zeros(3), "n": math.inf}, arrays), len(arrays)
        ({'$map': {'mat': {'$nd': 0}, 'n': {'$f': 'inf'}}}, 1)
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, (bytes, bytearray)):
        arrays.append(np.frombuffer(bytes(value), np.uint8))
        return {"$bytes": len(arrays) - 1}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"cannot save {place}: a dict with keys other than str")
        return {"$map": {k: pack(place, v, arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [pack(place, v, arrays) for v in value]
    if isinstance(value, np.generic):
        return pack(place, value.item(), arrays)
    if hasattr(value, "shape") or hasattr(value, "__array__"):
        array = np.asarray(to_numpy(value))
        if not array.dtype.hasobject:
            arrays.append(array)
            return {"$nd": len(arrays) - 1}
    raise TypeError(f"cannot save {place}: a {type(value).__name__}; expected numbers, strings, bytes, arrays, "
                    f"or lists and dicts of them")


def unpack(tree: Any, arrays: list[np.ndarray]) -> Any:
    """Inverse of :func:`pack`.

    Example:
        >>> unpack({'$map': {'mat': {'$nd': 0}, 'n': {'$f': 'inf'}}}, [np.zeros(2)])
        {'mat': array([0., 0.]), 'n': inf}
    """
    if isinstance(tree, list):
        return [unpack(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    (mark, value), = tree.items()
    if mark == "$map":
        return {k: unpack(v, arrays) for k, v in value.items()}
    if mark == "$nd":
        return arrays[value]
    if mark == "$bytes":
        return arrays[value].tobytes()
    if mark == "$f":
        return float(value)
    raise ValueError(f"unknown marker {mark!r}")


def encode(obj: Any) -> Any:
    """JSON-ready copy of ``obj``: arrays and tensors to lists, non-finite floats to strings.

    Example:
        >>> encode({"loss": [1.0, math.nan], "w": np.array([-math.inf])})
        {'loss': [1.0, 'NaN'], 'w': ['-Infinity']}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("NaN" if math.isnan(obj) else "Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    obj = to_numpy(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return encode(obj.tolist())
    raise TypeError(f"cannot save a {type(obj).__name__} in a history; expected numbers, lists or arrays")


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode` for the non-finite markers.

    Example:
        >>> decode({"loss": [1.0, "NaN"], "w": ["-Infinity"]})
        {'loss': [1.0, nan], 'w': [-inf]}
    """
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if isinstance(obj, dict):
        return {k: decode(v) for k, v in obj.items()}
    return obj
