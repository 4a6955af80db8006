"""engine.Tensor arithmetic, broadcasting, matmul and elementwise functions.

Each gradient is checked under a random upstream gradient against a hand-derived NumPy
formula and against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensor_checks import assert_matches_central, engine_vjp, sum_to_shape

from engine import Tensor

FAST = settings(max_examples=30, deadline=None)


def _values(shape: tuple[int, ...], low: float = -2.0, high: float = 2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


def _away_from_zero(shape: tuple[int, ...]):
    magnitudes = hnp.arrays(np.float64, shape, elements=st.floats(0.5, 2.0))
    signs = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))
    return st.tuples(magnitudes, signs).map(lambda pair: pair[0] * pair[1])


# (operation, d/da, d/db), the derivatives as functions of the broadcast operands
BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "-": (lambda a, b: a - b, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "*": (lambda a, b: a * b, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "/": (lambda a, b: a / b, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2),
}


@pytest.mark.parametrize("op", BINARY)
@FAST
@given(data=st.data())
def test_binary_broadcasting_gradients(op: str, data) -> None:
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a = data.draw(_values(shapes.input_shapes[0]))
    b = data.draw(_away_from_zero(shapes.input_shapes[1]))
    forward, d_da, d_db = BINARY[op]
    upstream = np.random.default_rng(0).standard_normal(shapes.result_shape)
    out, (grad_a, grad_b) = engine_vjp(forward, [a, b], upstream)
    case = f"{op} of shapes {a.shape} {b.shape}: a={a}, b={b}"
    assert out.shape == shapes.result_shape, case
    np.testing.assert_allclose(out.data, forward(a, b), rtol=1e-15, err_msg=case)
    np.testing.assert_allclose(
        grad_a, sum_to_shape(upstream * d_da(a, b), a.shape), rtol=1e-12, atol=1e-12, err_msg=case
    )
    np.testing.assert_allclose(
        grad_b, sum_to_shape(upstream * d_db(a, b), b.shape), rtol=1e-12, atol=1e-12, err_msg=case
    )


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((), (2, 2)), ((1, 3), (2, 1))],
    ids=["added axis", "size-1 axes", "0-d", "both stretch"],
)
def test_binary_broadcasting_central_differences(op: str, shape_a, shape_b) -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(-2, 2, shape_a)
    b = rng.uniform(0.5, 2, shape_b) * rng.choice([-1, 1], shape_b)
    assert_matches_central(BINARY[op][0], [a, b], rng)


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("kind", ["number", "array"])
def test_arrays_and_numbers_on_either_side_are_constants(op: str, side: str, kind: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 2.0, (2, 3))
    other = 1.7 if kind == "number" else rng.uniform(0.5, 2.0, (3,))
    forward = BINARY[op][0]
    t = Tensor(x)
    out = forward(t, other) if side == "left" else forward(other, t)
    expected = forward(x, other) if side == "left" else forward(other, x)
    case = f"{op} with a {kind} on the {'right' if side == 'left' else 'left'}"
    assert isinstance(out, Tensor), f"{case}: got {type(out).__name__}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-15, err_msg=case)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    derivative = BINARY[op][1] if side == "left" else BINARY[op][2]
    a, b = (x, other) if side == "left" else (other, x)
    np.testing.assert_allclose(t.grad, upstream * derivative(a, b), rtol=1e-13, err_msg=case)


def test_operations_on_constants_only_record_nothing() -> None:
    out = Tensor(np.ones(3), requires_grad=False) * 2.0 + np.ones(3)
    assert not out.requires_grad and out._prev == (), "a graph was recorded for constants"


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.0, -2.5, 0, 1])
def test_power_with_a_number_exponent(p: float) -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, (2, 3))
    upstream = rng.standard_normal((2, 3))
    out, (grad,) = engine_vjp(lambda t: t**p, [x], upstream)
    np.testing.assert_allclose(out.data, x**p, rtol=1e-15, err_msg=f"x**{p}")
    np.testing.assert_allclose(grad, upstream * p * x ** (p - 1), rtol=1e-13, err_msg=f"x**{p}")
    assert_matches_central(lambda t: t**p, [x], rng)


@FAST
@given(data=st.data())
def test_power_with_a_tensor_exponent_broadcasts(data) -> None:
    """a ** b with a > 0:  d/da = b a**(b-1),  d/db = a**b log a, summed to each shape."""
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a = data.draw(_values(shapes.input_shapes[0], 0.25, 3.0))
    b = data.draw(_values(shapes.input_shapes[1], -2.0, 2.0))
    upstream = np.random.default_rng(5).standard_normal(shapes.result_shape)
    out, (grad_a, grad_b) = engine_vjp(lambda x, y: x**y, [a, b], upstream)
    case = f"a ** b of shapes {a.shape} {b.shape}: a={a}, b={b}"
    np.testing.assert_allclose(out.data, a**b, rtol=1e-15, err_msg=case)
    want_a = sum_to_shape(upstream * b * a ** (b - 1), a.shape)
    want_b = sum_to_shape(upstream * a**b * np.log(a), b.shape)
    np.testing.assert_allclose(grad_a, want_a, rtol=1e-12, atol=1e-12, err_msg=case)
    np.testing.assert_allclose(grad_b, want_b, rtol=1e-12, atol=1e-12, err_msg=case)


def test_power_with_a_tensor_exponent_central_differences() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.uniform(0.5, 2.0, (2, 1, 3)), rng.uniform(-2.0, 2.0, (4, 1))
    assert_matches_central(lambda x, y: x**y, [a, b], rng)


@pytest.mark.parametrize("base", [2.0, 0.5, np.array([[3.0], [0.25]])], ids=["2", "0.5", "array"])
def test_number_or_array_to_the_power_of_a_tensor(base) -> None:
    """c ** x:  d/dx = c**x log c; the base is a constant."""
    rng = np.random.default_rng(7)
    x, upstream = rng.uniform(-2.0, 2.0, (2, 3)), rng.standard_normal((2, 3))
    t = Tensor(x)
    out = base**t
    assert isinstance(out, Tensor), f"{base!r} ** Tensor gave {type(out).__name__}"
    np.testing.assert_allclose(out.data, base**x, rtol=1e-15, err_msg=f"{base!r} ** x")
    out.backward(upstream)
    want = upstream * base**x * np.log(base)
    np.testing.assert_allclose(t.grad, want, rtol=1e-13, err_msg=f"{base!r} ** x")


def test_power_with_a_tensor_exponent_at_zero() -> None:
    """x ** 0 is 1 for every x (d/dx = 0, 0 included); 0 ** y = 0 for y > 0 (d/dy = 0).
    (d/dy at 0 ** 0 is undefined: 0 ** y jumps there from 0 to 1 to inf.)  The masked
    entries' 0 ** -1, 0 * inf and log 0 raise no floating-point warning."""
    x, y = Tensor([0.0, 0.0, 2.0]), Tensor([0.0, 2.0, 0.0])
    upstream = np.random.default_rng(8).standard_normal(3)
    case = f"[0, 0, 2] ** [0, 2, 0], upstream {upstream}"
    with np.errstate(all="raise"):
        out = x**y
        out.backward(upstream)
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 1.0], err_msg=case)
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0], err_msg=f"d/dx at {case}")
    want = [0.0, upstream[2] * np.log(2.0)]
    np.testing.assert_array_equal(y.grad[1:], want, err_msg=f"d/dy at {case}")


def test_negation() -> None:
    rng = np.random.default_rng(4)
    x, upstream = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    out, (grad,) = engine_vjp(lambda t: -t, [x], upstream)
    np.testing.assert_array_equal(out.data, -x, err_msg="-x")
    np.testing.assert_array_equal(grad, -upstream, err_msg="d(-x)")


MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((3,), (2, 3, 4)),
    ((2, 4, 3), (3,)),
]


def _batch_index(index: tuple[int, ...], batch_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The operand's batch index that the broadcast batch `index` reads."""
    lead = len(index) - len(batch_shape)
    return tuple(0 if n == 1 else i for i, n in zip(index[lead:], batch_shape, strict=True))


@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_SHAPES, ids=str)
def test_matmul_values_and_gradients(shape_a, shape_b) -> None:
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    expected = np.matmul(a, b)
    upstream = rng.standard_normal(expected.shape)
    out, (grad_a, grad_b) = engine_vjp(lambda s, t: s @ t, [a, b], upstream)
    case = f"{shape_a} @ {shape_b}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, err_msg=case)
    # hand-derived: out[..., i, j] = sum_k a[..., i, k] b[..., k, j], element by element
    a2 = a if a.ndim > 1 else a[np.newaxis]
    b2 = b if b.ndim > 1 else b[:, np.newaxis]
    g2 = upstream.reshape(np.matmul(a2, b2).shape)
    expected_a, expected_b = np.zeros(a2.shape), np.zeros(b2.shape)
    for index in np.ndindex(g2.shape[:-2]):
        ia, ib = _batch_index(index, a2.shape[:-2]), _batch_index(index, b2.shape[:-2])
        expected_a[ia] += g2[index] @ b2[ib].T
        expected_b[ib] += a2[ia].T @ g2[index]
    np.testing.assert_allclose(grad_a, expected_a.reshape(shape_a), rtol=1e-12, err_msg=case)
    np.testing.assert_allclose(grad_b, expected_b.reshape(shape_b), rtol=1e-12, err_msg=case)
    assert_matches_central(lambda s, t: s @ t, [a, b], rng)


def test_array_at_tensor_uses_the_reflected_matmul() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    t = Tensor(b)
    out = a @ t
    upstream = rng.standard_normal((2, 4))
    out.backward(upstream)
    np.testing.assert_allclose(t.grad, a.T @ upstream, rtol=1e-13, err_msg="array @ Tensor")


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((2, 3), (2, 3)), ((3,), (4,)), ((), (3,)), ((2, 2, 3), (2, 4, 5))]
)
def test_matmul_mismatch_names_both_shapes(shape_a, shape_b) -> None:
    with pytest.raises(ValueError) as caught:
        Tensor(np.ones(shape_a)) @ Tensor(np.ones(shape_b))
    message = str(caught.value)
    assert str(shape_a) in message and str(shape_b) in message, message


@pytest.mark.parametrize("op", BINARY)
def test_broadcast_mismatch_names_both_shapes(op: str) -> None:
    with pytest.raises(ValueError) as caught:
        BINARY[op][0](Tensor(np.ones((2, 3))), np.ones((4,)))
    message = str(caught.value)
    assert "(2, 3)" in message and "(4,)" in message and op in message, message


# (method, NumPy forward, derivative as a function of x and the output)
UNARY = {
    "exp": (np.exp, lambda x, y: y),
    "log": (np.log, lambda x, y: 1 / x),
    "tanh": (np.tanh, lambda x, y: 1 - y**2),
    "relu": (lambda x: np.maximum(x, 0), lambda x, y: (x > 0).astype(float)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x, y: y * (1 - y)),
}


@pytest.mark.parametrize("name", UNARY)
def test_elementwise_functions(name: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 3.0, (3, 4)) * (1 if name == "log" else rng.choice([-1, 1], (3, 4)))
    forward, derivative = UNARY[name]
    upstream = rng.standard_normal(x.shape)
    out, (grad,) = engine_vjp(lambda t: getattr(t, name)(), [x], upstream)
    np.testing.assert_allclose(out.data, forward(x), rtol=1e-14, err_msg=f"{name}({x})")
    np.testing.assert_allclose(
        grad, upstream * derivative(x, forward(x)), rtol=1e-13, err_msg=f"{name}'({x})"
    )
    assert_matches_central(lambda t: getattr(t, name)(), [x], rng)


def test_relu_derivative_at_zero_is_zero() -> None:
    x = Tensor([-1.0, 0.0, 2.0])
    x.relu().backward(np.array([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 5.0], err_msg="relu'(0) must be 0")


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_functions_are_finite_for_huge_inputs(name: str) -> None:
    x = Tensor([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = getattr(x, name)()
        out.backward(np.ones(7))
    expected = {"sigmoid": [0, 0, 4.248354255291589e-18, 0.5, 1, 1, 1], "tanh": np.tanh(x.data)}
    np.testing.assert_allclose(out.data, expected[name], rtol=1e-14, err_msg=f"{name}({x.data})")
    assert np.all(np.isfinite(x.grad)), f"{name}' at huge inputs: {x.grad}"


def test_undefined_points_follow_ieee() -> None:
    x = Tensor([-1.0, 0.0, 4.0])
    with np.errstate(all="ignore"):
        logs = x.log()
        roots = x**0.5
        inverses = 1.0 / x
    np.testing.assert_array_equal(logs.data, [np.nan, -np.inf, np.log(4.0)], err_msg="log")
    np.testing.assert_array_equal(roots.data, [np.nan, 0.0, 2.0], err_msg="sqrt")
    np.testing.assert_array_equal(inverses.data, [-1.0, np.inf, 0.25], err_msg="1/x")
    assert roots.data.dtype == np.float64, "never complex"
