"""Matrix products that stay on one thread when they are small.

OpenBLAS, which NumPy ships with, runs a matrix product on several threads once
m * n * k exceeds 2**18.  For products a little above that (the 64x64 by 64x128 of a
small MLP) the threads gain a few microseconds on an idle machine, and on a busy one the
waiting for them costs milliseconds (the digits MLP's training step, three such
products, measured at 17 ms instead of 0.6 ms).  A library must not change the
process's thread settings, so `matmul` computes such a product in blocks of rows, each
under the threshold: one thread, the same numbers (every entry is the same dot product).
Larger products keep BLAS's threads.
"""

from __future__ import annotations

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


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with NumPy's rules; a 2-D product in `row_blocks` blocks of rows."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    (m, k), n = a.shape, b.shape[1]
    blocks = row_blocks(m, k, n)
    if blocks == 1:
        return np.matmul(a, b)
    if m % blocks == 0:  # equal blocks: one call, NumPy loops over them in C
        return np.matmul(a.reshape(blocks, m // blocks, k), b).reshape(m, n)
    rows = -(-m // blocks)  # the last block is shorter
    out = np.empty((m, n), np.result_type(a, b))
    for start in range(0, m, rows):
        np.matmul(a[start : start + rows], b, out=out[start : start + rows])
    return out
