"""engine.Value: each op's value and gradient against hand-derived formulas (math only)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Value
from engine.value import weighted_sum

# name -> (build from two leaves, value formula, (d/da, d/db) formulas)
BINARY_OPS = {
    "a + b": (lambda a, b: a + b, lambda a, b: a + b, (lambda a, b: 1.0, lambda a, b: 1.0)),
    "a - b": (lambda a, b: a - b, lambda a, b: a - b, (lambda a, b: 1.0, lambda a, b: -1.0)),
    "a * b": (lambda a, b: a * b, lambda a, b: a * b, (lambda a, b: b, lambda a, b: a)),
    "a / b": (
        lambda a, b: a / b,
        lambda a, b: a / b,
        (lambda a, b: 1 / b, lambda a, b: -a / b**2),
    ),
    "a ** b": (
        lambda a, b: a**b,
        lambda a, b: a**b,
        (lambda a, b: b * a ** (b - 1), lambda a, b: a**b * math.log(a)),
    ),
}

UNARY_OPS = {
    "-a": (lambda a: -a, lambda a: -a, lambda a: -1.0),
    "a ** 3": (lambda a: a**3, lambda a: a**3, lambda a: 3 * a**2),
    "a ** -2": (lambda a: a**-2, lambda a: a**-2, lambda a: -2 * a**-3),
    "a ** 0.5": (lambda a: a**0.5, lambda a: a**0.5, lambda a: 0.5 * a**-0.5),
    "2.5 ** a": (lambda a: 2.5**a, lambda a: 2.5**a, lambda a: 2.5**a * math.log(2.5)),
    "a + 2": (lambda a: a + 2, lambda a: a + 2, lambda a: 1.0),
    "2 + a": (lambda a: 2 + a, lambda a: 2 + a, lambda a: 1.0),
    "a - 2": (lambda a: a - 2, lambda a: a - 2, lambda a: 1.0),
    "2 - a": (lambda a: 2 - a, lambda a: 2 - a, lambda a: -1.0),
    "a * 3": (lambda a: a * 3, lambda a: a * 3, lambda a: 3.0),
    "3 * a": (lambda a: 3 * a, lambda a: 3 * a, lambda a: 3.0),
    "a / 4": (lambda a: a / 4, lambda a: a / 4, lambda a: 0.25),
    "4 / a": (lambda a: 4 / a, lambda a: 4 / a, lambda a: -4 / a**2),
    "relu": (lambda a: a.relu(), lambda a: max(a, 0.0), lambda a: 1.0 if a > 0 else 0.0),
    "tanh": (lambda a: a.tanh(), math.tanh, lambda a: 1 - math.tanh(a) ** 2),
    "exp": (lambda a: a.exp(), math.exp, math.exp),
    "log": (lambda a: a.log(), math.log, lambda a: 1 / a),
    "sigmoid": (
        lambda a: a.sigmoid(),
        lambda a: 1 / (1 + math.exp(-a)),
        lambda a: math.exp(-a) / (1 + math.exp(-a)) ** 2,
    ),
}

POSITIVE_POINTS = [0.3, 1.0, 1.7, 4.0]
POINTS = [-2.5, -0.7, *POSITIVE_POINTS]
NEEDS_POSITIVE = {"log", "a ** 0.5", "a ** b"}


def close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15)


def domain(names, points: list[float]) -> list[tuple[str, float]]:
    """Each op with each point where it is real (positive only for logs and roots)."""
    return [(n, x) for n in names for x in points if x > 0 or n not in NEEDS_POSITIVE]


@pytest.mark.parametrize(("name", "x"), domain(UNARY_OPS, POINTS))
def test_unary_value_and_gradient(name: str, x: float) -> None:
    build, value, derivative = UNARY_OPS[name]
    a = Value(x)
    out = build(a) * 1.5  # a non-unit upstream gradient
    out.backward()
    assert close(out.data, 1.5 * value(x)), f"{name} at {x}: value {out.data / 1.5}"
    assert close(a.grad, 1.5 * derivative(x)), f"{name} at {x}: grad {a.grad / 1.5}"


@pytest.mark.parametrize(("name", "x"), domain(BINARY_OPS, POINTS))
@pytest.mark.parametrize("y", [-1.5, 0.4, 2.0])
def test_binary_value_and_gradient(name: str, x: float, y: float) -> None:
    build, value, (da, db) = BINARY_OPS[name]
    a, b = Value(x), Value(y)
    out = build(a, b) * -0.75
    out.backward()
    case = f"{name} at a={x}, b={y}"
    assert close(out.data, -0.75 * value(x, y)), f"{case}: value {out.data}"
    assert close(a.grad, -0.75 * da(x, y)), f"{case}: d/da {a.grad}"
    assert close(b.grad, -0.75 * db(x, y)), f"{case}: d/db {b.grad}"


@given(
    st.floats(-50, 50),
    st.floats(-50, 50),
    st.floats(-3, 3).filter(lambda g: g != 0),
)
def test_composite_matches_chain_rule(x: float, y: float, upstream: float) -> None:
    """f = tanh(x*y + x) * sigmoid(y): the product and chain rules written out by hand."""
    a, b = Value(x), Value(y)
    out = ((a * b + a).tanh() * b.sigmoid()) * upstream
    out.backward()
    t = math.tanh(x * y + x)
    s = 1 / (1 + math.exp(-y)) if y >= 0 else math.exp(y) / (1 + math.exp(y))
    dt = 1 - t * t
    expected_a = upstream * s * dt * (y + 1)
    expected_b = upstream * (s * dt * x + t * s * (1 - s))
    case = f"x={x}, y={y}, upstream={upstream}"
    assert math.isclose(a.grad, expected_a, rel_tol=1e-9, abs_tol=1e-12), f"{case}: {a.grad}"
    assert math.isclose(b.grad, expected_b, rel_tol=1e-9, abs_tol=1e-12), f"{case}: {b.grad}"


def test_leaf_defaults_and_repr() -> None:
    v = Value(3)
    assert v.data == 3.0 and isinstance(v.data, float), f"data {v.data!r}"
    assert v.grad == 0, f"grad {v.grad!r}"
    assert repr(v) == "Value(data=3.0, grad=0.0)", repr(v)


def test_backward_on_a_leaf_adds_one() -> None:
    v = Value(2.0)
    v.backward()
    v.backward()
    assert v.grad == 2.0, f"a leaf's own gradient accumulates: {v.grad}"


# -- messages, edge cases and exact numbers ------------------------------------------------------
# Each test pins down what a surviving mutant once changed.


def test_weighted_sum_refuses_what_is_not_a_number_naming_it() -> None:
    with pytest.raises(TypeError) as info:
        weighted_sum([Value(1.0)], ["a"], 0.0)
    assert str(info.value) == "expected a Value or a number, got str: 'a'"
    with pytest.raises(ValueError) as info:
        weighted_sum([1.0, 2.0], [3.0], 0.0)
    assert str(info.value) == "weighted_sum: 2 weights but 1 inputs"


def test_weighted_sum_of_numbers_and_values_and_its_gradients() -> None:
    w, x, b = [Value(2.0), Value(-3.0), Value(0.5)], [Value(4.0), 5.0, Value(-1.0)], Value(0.25)
    out = weighted_sum(w, x, b)
    assert out.data == 0.25 + 8.0 - 15.0 - 0.5
    out.backward()
    assert [v.grad for v in w] == [4.0, 5.0, -1.0]
    assert [x[0].grad, x[2].grad] == [2.0, 0.5]
    assert b.grad == 1.0


@pytest.mark.parametrize(
    ("symbol", "apply"),
    [
        ("+", lambda v: None + v),
        ("-", lambda v: None - v),
        ("*", lambda v: None * v),
        ("/", lambda v: None / v),
        ("**", lambda v: None**v),
    ],
)
def test_reflected_operators_with_a_non_number_name_the_operator(symbol, apply) -> None:
    with pytest.raises(TypeError) as info:
        apply(Value(2.0))
    assert str(info.value) == f"unsupported operand type(s) for {symbol}: 'NoneType' and 'Value'"


def test_neuron_keeps_micrograds_nonlin_flag() -> None:
    from engine.nn import Neuron

    assert Neuron(2).nonlin is True
    assert Neuron(2, nonlin=False).nonlin is False


def test_sigmoid_uses_its_documented_form_on_each_side_of_zero() -> None:
    for x in (0.0, 0.5, 0.9, 3.0, 40.0):
        assert Value(x).sigmoid().data == 1.0 / (1.0 + math.exp(-x)), x
    for x in (-0.5, -0.9, -3.0, -800.0):
        e = math.exp(x)
        assert Value(x).sigmoid().data == e / (1.0 + e), x


@pytest.mark.parametrize(
    ("base", "exponent", "expected"),
    [
        (-1e200, 2, math.inf),  # overflow, even power: +inf
        (-1e200, 3, -math.inf),  # overflow, odd power: -inf
        (1e200, 3, math.inf),
        (1e-200, -3, math.inf),  # overflow through a negative power of a tiny base
        (-1e-200, -3, -math.inf),
        (-1e-200, -2, math.inf),
        (-1e200, 2.5, math.nan),  # no real power: nan (C's pow; math.pow raises)
        (0.0, -2, math.inf),  # pole, even power
        (-0.0, -2, math.inf),
        (-0.0, -3, -math.inf),  # pole, odd power: the sign of zero
        (0.0, -3, math.inf),
        (-0.0, -2.5, math.inf),
    ],
)
def test_pow_at_overflow_and_poles_follows_c(base, exponent, expected) -> None:
    got = (Value(base) ** exponent).data
    assert got == expected or (math.isnan(expected) and math.isnan(got)), got


def test_relu_of_minus_zero_is_plus_zero() -> None:
    # relu writes 0.0 for every x <= 0, so even -0.0 comes out as +0.0 (1 / relu is +inf)
    out = Value(-0.0).relu()
    assert out.data == 0.0 and math.copysign(1.0, out.data) == 1.0


def test_micrograd_style_construction_records_children_and_op() -> None:
    from engine.draw import draw_dot

    a, b = Value(2.0), Value(3.0)
    out = Value(6.0, (a, b), "custom")
    assert out._prev == (a, b) and out._op == "custom"
    assert 'label="custom"' in draw_dot(out).source
    unnamed = Value(1.0, (a,))
    assert unnamed._op == "" and 'n1_op [label=""]' in draw_dot(unnamed).source
    leaf = Value(1)
    assert (leaf.data, leaf.grad, leaf._prev, leaf._op) == (1.0, 0.0, (), "")
    assert isinstance(leaf.data, float) and isinstance(leaf.grad, float)


def test_make_node_and_accumulate_grad_keep_float64_arrays() -> None:
    import numpy as np

    from engine import Tensor
    from engine.tensor import accumulate_grad, make_node

    t = Tensor([1.0, 2.0])
    out = make_node([3, 4], (t,), "custom", None)  # a list of ints from a new operation
    assert type(out.data) is np.ndarray and out.data.dtype == np.float64
    kept = np.array([5, 6])
    assert make_node(kept, (t,), "custom", None).data is kept  # an array passes as it is
    leaf = Tensor(0.0)
    accumulate_grad(leaf, 3)
    assert type(leaf.grad) is np.ndarray and leaf.grad.dtype == np.float64
    accumulate_grad(leaf, np.int64(2))
    assert leaf.grad == 5.0 and leaf.grad.dtype == np.float64
