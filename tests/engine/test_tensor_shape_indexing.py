"""engine.Tensor reshape, transpose, .T and indexing, with their gradients."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tensor_checks import assert_matches_central, engine_vjp

from engine import Tensor


@pytest.mark.parametrize(
    ("args", "shape"),
    [((6, 4), (6, 4)), (((4, 6),), (4, 6)), ((-1,), (24,)), ((2, -1, 3), (2, 4, 3))],
    ids=["ints", "tuple", "-1", "inner -1"],
)
def test_reshape(args, shape) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    upstream = rng.standard_normal(shape)
    out, (grad,) = engine_vjp(lambda t: t.reshape(*args), [x], upstream)
    np.testing.assert_array_equal(out.data, x.reshape(shape), err_msg=f"reshape{args}")
    np.testing.assert_array_equal(grad, upstream.reshape(x.shape), err_msg=f"reshape{args}")


@pytest.mark.parametrize("axes", [*itertools.permutations(range(3)), None], ids=str)
def test_transpose_of_a_3d_tensor(axes) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    forward = (lambda t: t.transpose()) if axes is None else (lambda t: t.transpose(*axes))
    expected = x.transpose(axes)
    upstream = rng.standard_normal(expected.shape)
    out, (grad,) = engine_vjp(forward, [x], upstream)
    np.testing.assert_array_equal(out.data, expected, err_msg=f"transpose{axes}")
    expected_grad = np.zeros_like(x)
    order = (2, 1, 0) if axes is None else axes
    for index in np.ndindex(x.shape):  # x[index] went to out[index permuted by order]
        expected_grad[index] = upstream[tuple(index[a] for a in order)]
    np.testing.assert_array_equal(grad, expected_grad, err_msg=f"transpose{axes}")


def test_transpose_accepts_a_tuple_and_T_reverses() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        Tensor(x).transpose((2, 0, 1)).data, x.transpose(2, 0, 1), err_msg="a tuple of axes"
    )
    np.testing.assert_array_equal(Tensor(x).T.data, x.T, err_msg=".T of a 3-D tensor")
    rng = np.random.default_rng(2)
    assert_matches_central(lambda t: t.T, [rng.standard_normal((3, 2))], rng)


INDEXES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "int and slice": (0, slice(1, 3)),
    "ellipsis and newaxis": (Ellipsis, None, 2),
    "int array": np.array([2, 0]),
    "repeated ints": np.array([1, 1, 2, 1]),
    "list": [0, 0],
    "array pair": (np.arange(3), np.array([0, 3, 0])),
    "repeated pair": (np.array([0, 0, 2]), np.array([1, 1, 1])),
    "mask": np.array([[True, False, True, False]] * 3),
    "row mask": np.array([True, False, True]),
}


@pytest.mark.parametrize("name", INDEXES)
def test_indexing_values_and_gradients(name: str) -> None:
    index = INDEXES[name]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    expected = x[index]
    upstream = rng.standard_normal(expected.shape)
    out, (grad,) = engine_vjp(lambda t: t[index], [x], upstream)
    np.testing.assert_array_equal(out.data, expected, err_msg=f"x[{name}]")
    # reference: each picked element adds its upstream gradient, once per time it was picked
    positions = np.arange(x.size).reshape(x.shape)[index]
    expected_grad = np.zeros(x.size)
    for position, g in zip(positions.ravel(), upstream.ravel(), strict=True):
        expected_grad[position] += g
    np.testing.assert_allclose(
        grad, expected_grad.reshape(x.shape), rtol=1e-15, err_msg=f"x[{name}]: {index}"
    )


def test_cross_entropy_style_indexing() -> None:
    """logp[np.arange(n), labels], the pattern of a hand-written cross-entropy."""
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 3))
    labels = np.array([2, 0, 2, 1, 2])
    rows = np.arange(5)
    t = Tensor(logits)
    loss = -t.log_softmax()[rows, labels].mean()
    loss.backward()
    e = np.exp(logits)
    softmax = e / e.sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(3)[labels]) / 5
    np.testing.assert_allclose(t.grad, expected, rtol=1e-13, err_msg=f"labels {labels}")
    assert_matches_central(lambda s: s.log_softmax()[rows, labels].mean(), [logits], rng)


def test_index_out_of_range_raises() -> None:
    with pytest.raises(IndexError):
        Tensor(np.ones(3))[5]
