"""Exact JSON encoding of the values an IR holds: numbers, arrays, tuples, slices.

`encode` turns a value into JSON-compatible data and `decode` turns it back into an
equal value of the same type:

* ints stay ints and floats stay floats (finite floats are written with `repr`, which
  round-trips every float64 exactly, -0.0 included); nan and +-inf are
  ``{"float": "nan" | "inf" | "-inf"}`` so the JSON stays standard;
* tuples become JSON lists and come back as tuples (the IR holds no lists);
* ``slice(a, b, c)`` is ``{"slice": [a, b, c]}``;
* a NumPy array is ``{"array": nested lists, "shape": [...], "dtype": "float64"}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode(value: Any) -> Any:
    """JSON-compatible data that `decode` turns back into `value` exactly."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _encode_float(float(value))
    if isinstance(value, tuple):
        return [encode(v) for v in value]
    if isinstance(value, slice):
        return {"slice": [encode(value.start), encode(value.stop), encode(value.step)]}
    if isinstance(value, np.ndarray):
        flat = [encode(v) for v in value.ravel().tolist()]
        return {
            "array": _nest(flat, value.shape),
            "shape": list(value.shape),
            "dtype": value.dtype.name,
        }
    if isinstance(value, dict):
        return {"dict": {str(k): encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot encode {type(value).__name__}: {value!r}")


def decode(data: Any) -> Any:
    """The value `encode` made `data` from."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return tuple(decode(v) for v in data)
    if "float" in data:
        return _NONFINITE[data["float"]]
    if "slice" in data:
        return slice(*(decode(v) for v in data["slice"]))
    if "array" in data:
        shape = tuple(data["shape"])
        flat = [decode(v) for v in _flatten(data["array"], len(shape))]
        return np.array(flat, dtype=data["dtype"]).reshape(shape)
    if "dict" in data:
        return {k: decode(v) for k, v in data["dict"].items()}
    raise ValueError(f"not an encoded value: {data!r}")


def key(value: Any) -> str:
    """A string equal for two values exactly when they are equal (nan equals nan)."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"))


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _nest(flat: list, shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def _flatten(nested: Any, ndim: int) -> list:
    if ndim == 0:
        return [nested]
    if ndim == 1:
        return list(nested)
    return [v for part in nested for v in _flatten(part, ndim - 1)]
