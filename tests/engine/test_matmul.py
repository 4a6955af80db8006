"""engine.matmul: small products split into row blocks give NumPy's numbers exactly."""

from __future__ import annotations

import ctypes
import types
from pathlib import Path

import numpy as np
import pytest

import engine.matmul
from engine.matmul import (
    ONE_THREAD,
    SMALL,
    THREAD_COUNT_NAMES,
    blas_threads,
    matmul,
    numpy_library,
    row_blocks,
    thread_count_getter,
)


@pytest.fixture
def two_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenBLAS as on a machine with two cores or more, whatever this one has."""
    monkeypatch.setattr(engine.matmul, "_openblas_threads", lambda: 2)


@pytest.mark.parametrize(
    ("m", "k", "n"),
    [(64, 64, 128), (128, 64, 64), (67, 100, 70), (3, 300, 1000), (8, 8, 8), (300, 300, 300)],
)
@pytest.mark.usefixtures("two_blas_threads")
def test_products_equal_numpy_in_every_regime(m: int, k: int, n: int) -> None:
    """Below the threshold, split into equal blocks (one call) or uneven ones (a call a
    block), and above SMALL."""
    rng = np.random.default_rng(m * k * n)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    regime = "split" if ONE_THREAD < m * n * k <= SMALL else "whole"
    for x, y in ((a, b), (np.asfortranarray(a), b), (b.T, a.T)):  # transposed views too
        got = matmul(x, y)
        assert got.shape == (x.shape[0], y.shape[1]), f"{regime} {x.shape} @ {y.shape}"
        np.testing.assert_allclose(got, x @ y, rtol=1e-15, atol=1e-12, err_msg=regime)


@pytest.mark.parametrize(
    ("m", "k", "n", "blocks"),
    [
        (64, 64, 64, 1),  # 2**18 multiply-adds: BLAS runs it on one thread already
        (64, 64, 65, 2),  # just above: 63 rows a block (63 * 64 * 65 <= 2**18)
        (64, 64, 1024, 16),  # 2**22, the largest split: 4 rows a block
        (64, 64, 1025, 1),  # above 2**22: BLAS's threads pay off
        (3, 300, 1000, 3),  # a row alone is over 2**18: a row a block
        (5, 300, 400, 3),  # 2 rows a block: 2 + 2 + 1
        (371, 100, 70, 11),  # 37 rows a block (not 37.4): 10 full blocks and one row
        (0, 64, 64, 1),  # empty products: nothing to split
        (64, 0, 64, 1),
        (64, 64, 0, 1),
    ],
)
def test_row_blocks_keep_each_block_under_the_threshold(m: int, k: int, n: int, blocks: int):
    got = row_blocks(m, k, n)
    assert got == blocks, f"({m}, {k}) @ ({k}, {n}): {got} blocks, expected {blocks}"


def _calls(a: np.ndarray, b: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """`matmul(a, b)` and the operand shapes of each `np.matmul` call it made."""
    calls, numpy_matmul = [], np.matmul

    def spy(x: np.ndarray, y: np.ndarray, **kwargs) -> np.ndarray:
        calls.append((x.shape, y.shape))
        return numpy_matmul(x, y, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(np, "matmul", spy)
        return matmul(a, b), calls


@pytest.mark.parametrize(
    ("m", "k", "n", "calls"),
    [
        (64, 64, 64, [((64, 64), (64, 64))]),
        (64, 64, 1025, [((64, 64), (64, 1025))]),
        (64, 64, 65, [((2, 32, 64), (64, 65))]),  # equal blocks: one call on a stack
        (64, 64, 1024, [((16, 4, 64), (64, 1024))]),  # SMALL itself is still split
        (5, 300, 400, [((2, 300), (300, 400))] * 2 + [((1, 300), (300, 400))]),
        (67, 100, 70, [((34, 100), (100, 70)), ((33, 100), (100, 70))]),
    ],
)
@pytest.mark.parametrize(
    "dtypes", [("float64",) * 2, ("float32",) * 2, ("float32", "float64"), ("float64", "float32")]
)
@pytest.mark.usefixtures("two_blas_threads")
def test_blocks_are_computed_as_planned(m, k, n, calls, dtypes, monkeypatch) -> None:
    """Whole products in one call on the operands; split ones in one call on a stack of
    equal blocks, or a call a block, each row once; NumPy's numbers and dtype."""
    rng = np.random.default_rng(m + k + n)
    a, b = rng.normal(size=(m, k)).astype(dtypes[0]), rng.normal(size=(k, n)).astype(dtypes[1])
    want = a @ b
    got, made = _calls(a, b, monkeypatch)
    case = f"({m}, {k}) {dtypes[0]} @ ({k}, {n}) {dtypes[1]}"
    assert made == calls, f"{case}: np.matmul calls on {made}, expected {calls}"
    assert got.dtype == want.dtype, f"{case}: dtype {got.dtype}, NumPy's {want.dtype}"
    rtol, atol = (1e-15, 1e-12) if want.dtype == np.float64 else (1e-6, 1e-4)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=case)


def test_nothing_is_split_when_blas_runs_on_one_thread(monkeypatch) -> None:
    """Splitting only keeps BLAS on one thread: when it runs on one anyway, one call."""
    monkeypatch.setattr(engine.matmul, "_openblas_threads", lambda: 1)
    rng = np.random.default_rng(3)
    for m, k, n in ((64, 64, 65), (67, 100, 70), (5, 300, 400)):
        a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
        got, made = _calls(a, b, monkeypatch)
        assert made == [((m, k), (k, n))], f"({m}, {k}) @ ({k}, {n}) on one thread: {made}"
        np.testing.assert_array_equal(got, a @ b, err_msg=f"({m}, {k}) @ ({k}, {n})")


def test_an_unknown_blas_count_splits_as_before(monkeypatch) -> None:
    """NumPy on another BLAS (or OpenBLAS not found): no count, and products split."""
    monkeypatch.setattr(engine.matmul, "_openblas_threads", None)
    assert blas_threads() is None, f"no OpenBLAS, yet {blas_threads()} threads"
    a, b = np.ones((64, 64)), np.ones((64, 65))
    got, made = _calls(a, b, monkeypatch)
    assert made == [((2, 32, 64), (64, 65))], f"without a thread count: {made}"
    np.testing.assert_array_equal(got, a @ b)


@pytest.mark.parametrize("name", THREAD_COUNT_NAMES)
def test_each_name_of_openblas_thread_count_is_found(name: str) -> None:
    """Builds of NumPy name OpenBLAS's function differently; each is found, set to return
    an int; a library with none of them gives None."""

    def count() -> int:
        return 3

    library = types.SimpleNamespace(**{name: count, "unrelated": len})
    getter = thread_count_getter(library)
    assert getter is count, f"{name}: found {getter}"
    assert (getter.restype, getter.argtypes) == (ctypes.c_int, []), f"{name}: not set to int"
    assert thread_count_getter(types.SimpleNamespace(unrelated=len)) is None


def _numpys_openblas_threads() -> list[int]:
    """What threadpoolctl reports for NumPy's own OpenBLAS (SciPy may load another)."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="pip install -e '.[dev]'")
    return [
        lib["num_threads"]
        for lib in threadpoolctl.threadpool_info()
        if lib["internal_api"] == "openblas" and "numpy" in Path(lib["filepath"]).parent.name
    ]


def test_numpys_own_library_gives_the_count() -> None:
    """numpy_library opens NumPy's extension module, where OpenBLAS's count is found when
    threadpoolctl says NumPy runs on OpenBLAS."""
    reported = _numpys_openblas_threads()
    if not reported:
        pytest.skip("threadpoolctl finds no OpenBLAS of NumPy's own")
    getter = thread_count_getter(numpy_library())
    assert getter is not None, "NumPy runs on OpenBLAS, but its thread count was not found"
    assert [getter()] == reported, f"{getter()} threads, threadpoolctl {reported}"


def test_blas_threads_reads_what_threadpoolctl_sets() -> None:
    """blas_threads asks OpenBLAS itself: under each limit threadpoolctl sets, the count
    threadpoolctl reports; and it changes nothing."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="pip install -e '.[dev]'")
    if not _numpys_openblas_threads():
        pytest.skip(f"no OpenBLAS of NumPy's own: {threadpoolctl.threadpool_info()}")
    before = blas_threads()
    assert [before] == _numpys_openblas_threads(), f"blas_threads {before}"
    for limit in (1, 2):
        with threadpoolctl.threadpool_limits(limit, user_api="blas"):
            counts = _numpys_openblas_threads()
            assert [blas_threads()] == counts, f"limit {limit}: {blas_threads()} vs {counts}"
    assert blas_threads() == before, f"{before} threads before the limits, {blas_threads()} after"


def test_other_shapes_follow_numpy() -> None:
    rng = np.random.default_rng(1)
    batch, matrix = rng.normal(size=(2, 64, 80)), rng.normal(size=(80, 64))
    vector = rng.normal(size=80)
    empty = rng.normal(size=(0, 80))
    pairs = ((batch, vector), (batch, matrix), (matrix.T, vector), (vector, matrix))
    for x, y in (*pairs, (empty, matrix), (matrix.T, empty.T), (empty.T, empty)):
        want = x @ y
        np.testing.assert_array_equal(matmul(x, y), want, err_msg=f"{x.shape} @ {y.shape}")
    with pytest.raises(ValueError):
        matmul(rng.normal(size=(600, 700)), rng.normal(size=(600, 700)))
    for m in (64, 67):  # split, in equal blocks and not: NumPy's error all the same
        with pytest.raises(ValueError, match="mismatch in its core dimension"):
            matmul(rng.normal(size=(m, 64)), rng.normal(size=(65, 70)))
