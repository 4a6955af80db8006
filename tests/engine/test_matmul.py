"""engine.matmul: small products split into row blocks give NumPy's numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matmul import ONE_THREAD, SMALL, matmul


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
