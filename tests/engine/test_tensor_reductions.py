"""engine.Tensor reductions (sum, mean, max) and softmax / log_softmax.

Every axis of a 3-D tensor, negative axes and tuples, with and without keepdims, each
against a NumPy formula and central differences under a random upstream gradient.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tensor_checks import assert_matches_central, engine_vjp

from engine import Tensor

SHAPE = (2, 3, 4)
AXES = [None, 0, 1, 2, -1, -3, (0, 2), (-1, 1), (0, 1, 2)]
CASES = list(itertools.product(AXES, [False, True]))


def _expanded(grad: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """The upstream gradient with the reduced axes back as size-1 axes (reference)."""
    if keepdims:
        return grad
    axes = range(len(SHAPE)) if axis is None else np.atleast_1d(axis) % len(SHAPE)
    shape = [1 if i in set(axes) else n for i, n in enumerate(SHAPE)]
    return grad.reshape(shape)


@pytest.mark.parametrize(("axis", "keepdims"), CASES, ids=str)
def test_sum(axis, keepdims: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE)
    expected = x.sum(axis=axis, keepdims=keepdims)
    upstream = rng.standard_normal(expected.shape)
    out, (grad,) = engine_vjp(lambda t: t.sum(axis=axis, keepdims=keepdims), [x], upstream)
    case = f"sum(axis={axis}, keepdims={keepdims})"
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, err_msg=case)
    expected_grad = _expanded(upstream, axis, keepdims) * np.ones(SHAPE)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-15, err_msg=case)


@pytest.mark.parametrize(("axis", "keepdims"), CASES, ids=str)
def test_mean(axis, keepdims: bool) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(SHAPE)
    expected = x.mean(axis=axis, keepdims=keepdims)
    upstream = rng.standard_normal(expected.shape)
    out, (grad,) = engine_vjp(lambda t: t.mean(axis=axis, keepdims=keepdims), [x], upstream)
    case = f"mean(axis={axis}, keepdims={keepdims})"
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, err_msg=case)
    count = x.size / expected.size
    expected_grad = _expanded(upstream, axis, keepdims) * np.ones(SHAPE) / count
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-14, err_msg=case)


@pytest.mark.parametrize(("axis", "keepdims"), CASES, ids=str)
def test_max_without_ties(axis, keepdims: bool) -> None:
    rng = np.random.default_rng(2)
    x = rng.permutation(np.arange(24.0)).reshape(SHAPE)  # distinct values
    expected = x.max(axis=axis, keepdims=keepdims)
    upstream = rng.standard_normal(expected.shape)
    out, (grad,) = engine_vjp(lambda t: t.max(axis=axis, keepdims=keepdims), [x], upstream)
    case = f"max(axis={axis}, keepdims={keepdims}) of {x}"
    np.testing.assert_array_equal(out.data, expected, err_msg=case)
    is_max = x == x.max(axis=axis, keepdims=True)
    expected_grad = is_max * _expanded(upstream, axis, keepdims)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-15, err_msg=case)
    assert_matches_central(lambda t: t.max(axis=axis, keepdims=keepdims), [x], rng)


@pytest.mark.parametrize(
    ("x", "axis", "expected"),
    [
        ([3.0, 1.0, 3.0], None, [0.5, 0.0, 0.5]),
        ([2.0, 2.0, 2.0, 2.0], 0, [0.25, 0.25, 0.25, 0.25]),
        ([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]], 1, [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]),
        ([[1.0, 5.0], [5.0, 5.0]], None, [[0.0, 1 / 3], [1 / 3, 1 / 3]]),
    ],
)
def test_max_splits_the_gradient_equally_among_ties(x, axis, expected) -> None:
    t = Tensor(x)
    out = t.max(axis=axis)
    upstream = np.full(out.shape, 6.0)
    out.backward(upstream)
    np.testing.assert_allclose(t.grad, 6.0 * np.array(expected), rtol=1e-15, err_msg=f"{x}")


def test_reductions_of_a_zero_dimensional_tensor() -> None:
    for name in ("sum", "mean", "max"):
        t = Tensor(2.5)
        out = getattr(t, name)()
        out.backward(np.array(3.0))
        assert out.data == 2.5 and t.grad == 3.0, f"{name}: {out.data} {t.grad}"


def test_reduction_over_a_bad_axis_raises() -> None:
    with pytest.raises(ValueError, match="axis"):
        Tensor(np.ones((2, 3))).sum(axis=2)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax(axis: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(SHAPE)
    upstream = rng.standard_normal(SHAPE)
    out, (grad,) = engine_vjp(lambda t: t.softmax(axis=axis), [x], upstream)
    s = _softmax(x, axis)
    np.testing.assert_allclose(out.data, s, rtol=1e-14, err_msg=f"softmax axis {axis}")
    expected = s * (upstream - (upstream * s).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15, err_msg=f"axis {axis}")
    assert_matches_central(lambda t: t.softmax(axis=axis), [x], rng)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_log_softmax(axis: int) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(SHAPE)
    upstream = rng.standard_normal(SHAPE)
    out, (grad,) = engine_vjp(lambda t: t.log_softmax(axis=axis), [x], upstream)
    s = _softmax(x, axis)
    np.testing.assert_allclose(out.data, np.log(s), rtol=1e-13, err_msg=f"log_softmax {axis}")
    expected = upstream - s * upstream.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15, err_msg=f"axis {axis}")
    assert_matches_central(lambda t: t.log_softmax(axis=axis), [x], rng)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_is_stable_for_huge_logits(name: str) -> None:
    logits = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -1001.0]])
    t = Tensor(logits)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = getattr(t, name)()
        out.backward(np.ones(logits.shape))
    first, second = np.log1p(np.exp(-1.0)), np.log(2.0 + np.exp(-1.0))  # log sum exp(x - max)
    log_p = np.array([[-first, -2000.0 - first, -1.0 - first], [-second, -second, -1.0 - second]])
    expected = log_p if name == "log_softmax" else np.exp(log_p)
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, err_msg=f"{name}({logits})")
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(t.grad)), f"{out.data} {t.grad}"
