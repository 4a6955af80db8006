"""engine.matmul: small products split into row blocks give NumPy's numbers exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from engine.matmul import ONE_THREAD, SMALL, _blas_libraries, blas_on_one_thread, matmul


@pytest.mark.parametrize(
    ("m", "k", "n"),
    [(64, 64, 128), (128, 64, 64), (67, 100, 70), (3, 300, 1000), (8, 8, 8), (300, 300, 300)],
)
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


def test_other_shapes_follow_numpy() -> None:
    rng = np.random.default_rng(1)
    batch, vector = rng.normal(size=(2, 64, 80)), rng.normal(size=80)
    np.testing.assert_array_equal(matmul(batch, vector), batch @ vector)
    with pytest.raises(ValueError):
        matmul(rng.normal(size=(600, 700)), rng.normal(size=(600, 700)))


def _calls_of_np_matmul(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Record the left operand's shape of every np.matmul call from now on."""
    shapes: list[tuple[int, ...]] = []
    real = np.matmul

    def spy(a: np.ndarray, b: np.ndarray, **kwargs: object) -> np.ndarray:
        shapes.append(np.shape(a))
        return real(a, b, **kwargs)

    monkeypatch.setattr(np, "matmul", spy)
    return shapes


def test_blas_on_one_thread_takes_the_product_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split on BLAS's own threads; one call, NumPy's numbers exactly, on one thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(64, 64)), rng.normal(size=(64, 128))  # in the split regime
    with threadpoolctl.threadpool_limits(2):
        if blas_on_one_thread():
            pytest.skip("BLAS runs on one thread even when allowed two (one core?)")
    shapes = _calls_of_np_matmul(monkeypatch)
    with threadpoolctl.threadpool_limits(1):
        assert blas_on_one_thread(), "threadpool_limits(1) not seen"
        np.testing.assert_array_equal(matmul(a, b), a @ b)
        assert shapes == [(64, 64)], f"one thread: np.matmul called with {shapes}"
    shapes.clear()
    with threadpoolctl.threadpool_limits(2):
        assert not blas_on_one_thread(), "threadpool_limits(2) not seen"
        matmul(a, b)
        assert shapes == [(2, 32, 64)], f"two threads: np.matmul called with {shapes}"


def test_without_threadpoolctl_products_are_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without threadpoolctl the thread count is unknown: split, as if BLAS had threads."""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    _blas_libraries.cache_clear()
    try:
        assert not blas_on_one_thread(), "threadpoolctl missing, yet one thread assumed"
        shapes = _calls_of_np_matmul(monkeypatch)
        matmul(np.ones((64, 64)), np.ones((64, 128)))
        assert shapes == [(2, 32, 64)], f"np.matmul called with {shapes}"
    finally:
        _blas_libraries.cache_clear()
