"""engine.Value at undefined points, at overflow, and with bad input."""

from __future__ import annotations

import math

import pytest

from engine import Value


def is_nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: Value(-4.0) ** 0.5, math.nan),
        (lambda: Value(0.0).log(), -math.inf),
        (lambda: Value(-1.0).log(), math.nan),
        (lambda: Value(1.0) / 0.0, math.inf),
        (lambda: Value(-1.0) / 0.0, -math.inf),
        (lambda: Value(0.0) / 0.0, math.nan),
        (lambda: Value(0.0) ** -1, math.inf),
        (lambda: Value(-0.0) ** -1, -math.inf),
        (lambda: Value(1000.0).exp(), math.inf),
        (lambda: Value(10.0) ** 400, math.inf),
        (lambda: Value(-10.0) ** 401, -math.inf),
        (lambda: (-8.0) ** Value(1 / 3), math.nan),
    ],
    ids=[
        "sqrt(-4)",
        "log 0",
        "log -1",
        "1/0",
        "-1/0",
        "0/0",
        "0**-1",
        "-0.0**-1",
        "exp 1000",
        "10**400",
        "-10**401",
        "-8**(1/3)",
    ],
)
def test_undefined_and_infinite_points_follow_ieee(build, expected: float) -> None:
    out = build()
    assert isinstance(out.data, float), f"{out.data!r} is not a float"
    if math.isnan(expected):
        assert is_nan(out.data), f"expected nan, got {out.data!r}"
    else:
        assert out.data == expected, f"expected {expected}, got {out.data!r}"
    out.backward()  # must not raise


@pytest.mark.parametrize(
    ("build", "value", "grad"),
    [
        (lambda a: a.tanh(), 1.0, 0.0),
        (lambda a: a.sigmoid(), 1.0, 0.0),
        (lambda a: (-a).sigmoid(), 0.0, 0.0),
        (lambda a: (-a).exp(), 0.0, 0.0),
    ],
    ids=["tanh(1000)", "sigmoid(1000)", "sigmoid(-1000)", "exp(-1000)"],
)
def test_finite_truth_stays_finite_for_huge_inputs(build, value: float, grad: float) -> None:
    a = Value(1000.0)
    out = build(a)
    out.backward()
    assert out.data == value, f"value {out.data}"
    assert a.grad == grad, f"grad {a.grad}"


def test_relu_kink_has_zero_derivative() -> None:
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0.0, f"relu'(0) = {a.grad}"


def test_zero_power_zero_has_zero_derivative() -> None:
    """x**0 is the constant 1, so its derivative is 0, also at x = 0 (micrograd raises)."""
    a = Value(0.0)
    out = a**0
    out.backward()
    assert (out.data, a.grad) == (1.0, 0.0), (out.data, a.grad)


def test_value_exponent_of_zero_base_has_zero_exponent_derivative() -> None:
    """0**b is 0 for every b > 0, so d/db is 0, not 0 * log(0) = nan."""
    a, b = Value(0.0), Value(2.0)
    (a**b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0), (a.grad, b.grad)


def test_pole_gradient_is_infinite() -> None:
    a = Value(0.0)
    a.log().backward()
    assert a.grad == math.inf, f"d/dx log x at 0: {a.grad}"


@pytest.mark.parametrize(
    ("action", "type_name"),
    [
        (lambda: Value("a"), "str"),
        (lambda: Value([1.0]), "list"),
        (lambda: Value(None), "NoneType"),
        (lambda: Value(1) + "a", "str"),
        (lambda: "a" * Value(1), "str"),
        (lambda: Value(1) ** [2], "list"),
        (lambda: Value(1) / None, "NoneType"),
    ],
    ids=["Value(str)", "Value(list)", "Value(None)", "+ str", "str *", "** list", "/ None"],
)
def test_bad_input_raises_type_error_naming_the_type(action, type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        action()


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    out = Value(np.int64(2)) * np.float64(1.5) + np.int32(1)
    assert out.data == 4.0 and type(out.data) is float, repr(out.data)
