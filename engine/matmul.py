"""Matrix products that stay on one thread when they are small.

OpenBLAS, which NumPy ships with, runs a matrix product on several threads once
m * n * k exceeds 2**18.  For products a little above that (the 64x64 by 64x128 of a
small MLP) the threads gain a few microseconds on an idle machine, and on a busy one the
waiting for them costs milliseconds (the digits MLP's training step, three such
products, measured at 17 ms instead of 0.6 ms).  A library must not change the
process's thread settings, so `matmul` computes such a product in blocks of rows, each
under the threshold: one thread, the same numbers (every entry is the same dot product).
Larger products keep BLAS's threads, and nothing is split when OpenBLAS runs on one
thread anyway (`blas_threads`: it asks OpenBLAS, never tells it).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

ONE_THREAD = 2**18  # m * n * k up to which OpenBLAS uses one thread
SMALL = 2**22  # m * n * k up to which the product is split (~0.3 ms on one thread)


def row_blocks(m: int, k: int, n: int) -> int:
    """Into how many blocks of rows an (m, k) @ (k, n) product is split: 1 (whole, BLAS
    picks its threads) when it is empty or over SMALL multiply-adds; else the fewest
    blocks of at most ONE_THREAD multiply-adds each (a row costs k * n, a block has a row
    at least), which is 1 up to ONE_THREAD."""
    work = m * k * n
    if not work or work > SMALL:
        return 1
    rows = max(1, ONE_THREAD // (k * n))
    return -(-m // rows)  # ceil(m / rows)


def numpy_library() -> ctypes.CDLL | None:
    """NumPy's own extension module opened with ctypes (looking a symbol up in it searches
    the libraries it links too, its BLAS among them); None where it cannot be opened."""
    try:
        from numpy._core import _multiarray_umath as numpy_core  # NumPy 2
    except ImportError:  # NumPy 1.26
        from numpy.core import _multiarray_umath as numpy_core
    try:
        return ctypes.CDLL(numpy_core.__file__)
    except OSError:  # a platform that cannot open it again
        return None


# OpenBLAS's function under the names NumPy's builds give it: a "scipy_" prefix, a "64_"
# suffix (NumPy 2's wheels), neither, or "_64"
THREAD_COUNT_NAMES = tuple(
    f"{prefix}openblas_get_num_threads{suffix}"
    for prefix in ("scipy_", "")
    for suffix in ("64_", "", "_64")
)


def thread_count_getter(library: Any) -> Callable[[], int] | None:
    """`library`'s ``openblas_get_num_threads`` (the first of `THREAD_COUNT_NAMES` it has),
    set to return an int; None when it has none (NumPy uses another BLAS)."""
    for name in THREAD_COUNT_NAMES:
        getter = getattr(library, name, None)
        if getter is not None:
            getter.restype, getter.argtypes = ctypes.c_int, []
            return getter
    return None


_openblas_threads = thread_count_getter(numpy_library())


def blas_threads() -> int | None:
    """How many threads OpenBLAS runs a large product on now; None if NumPy's BLAS is
    not OpenBLAS (or it cannot be asked)."""
    return None if _openblas_threads is None else _openblas_threads()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with NumPy's rules; a 2-D product in `row_blocks` blocks of rows, unless
    OpenBLAS runs on one thread (then splitting only costs time)."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    (m, k), n = a.shape, b.shape[1]
    work = m * k * n
    # whole: one thread already, large enough for BLAS's threads, or BLAS has just one
    if work <= ONE_THREAD or work > SMALL or blas_threads() == 1:
        return np.matmul(a, b)
    blocks = row_blocks(m, k, n)
    if m % blocks == 0:  # equal blocks: one call, NumPy loops over them in C
        return np.matmul(a.reshape(blocks, m // blocks, k), b).reshape(m, n)
    rows = -(-m // blocks)  # the last block is shorter
    out = np.empty((m, n), np.result_type(a, b))
    for start in range(0, m, rows):
        np.matmul(a[start : start + rows], b, out=out[start : start + rows])
    return out
