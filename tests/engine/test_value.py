"""engine.Value: each op's value and gradient against hand-derived formulas (math only)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Value

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
