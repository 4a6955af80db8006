"""engine.value: messages, edge cases and exact numbers `vgrad mutate` found unchecked."""

from __future__ import annotations

import math

import pytest

from engine import Value
from engine.value import weighted_sum


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
