"""The worker's wire format: length-framed pickles, read back strictly on the suite's side.

The suite trusts what it sends (plain data), so the worker reads it with `pickle`.
The worker's answers come from a process the target may have patched, so the suite
reads them with `load_answer`, an unpickler that builds nothing but Python's plain
containers and numbers and NumPy arrays of numbers: a forged answer can be wrong data,
never code that runs in the suite's process.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

MAX_ANSWER_BYTES = 512 * 2**20  # larger answers are refused, not read
PROTOCOL = 5

# What an answer may construct: arrays (their reconstructor, class, dtype) and complex.
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("builtins", "complex"),
}


def dump(data: Any) -> bytes:
    return pickle.dumps(data, protocol=PROTOCOL)


class _AnswerUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"an answer may not hold {module}.{name}")


def load_answer(data: bytes) -> Any:
    """An answer from a worker; raises `ValueError` for anything but plain data."""
    try:
        answer = _AnswerUnpickler(io.BytesIO(data)).load()
    except Exception as error:  # any malformed answer is refused the same way
        raise ValueError(f"unreadable answer ({type(error).__name__}: {error})") from None
    _check_plain(answer)
    return answer


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise ValueError("answer nested too deeply")
    if type(value) is int:
        try:
            float(value)
        except OverflowError:
            raise ValueError("answer holds an int beyond float64's range") from None
    if value is None or type(value) in (bool, int, float, complex, str):
        return
    if type(value) in (list, tuple):
        for item in value:
            _check_plain(item, depth + 1)
        return
    if type(value) is dict:
        for k, item in value.items():
            if type(k) is not str:
                raise ValueError("answer has a non-string key")
            _check_plain(item, depth + 1)
        return
    if type(value) is np.ndarray and value.dtype.kind in "biufc":
        return
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return
    raise ValueError(f"answer holds a {type(value).__name__}")
