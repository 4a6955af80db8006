"""engine.Value graphs: accumulation, reuse, deep chains, freeing, weighted_sum."""

from __future__ import annotations

import gc
import math
import sys
import weakref

import pytest

from engine import Value
from engine.value import weighted_sum


def test_backward_twice_doubles_leaf_gradients() -> None:
    a, b = Value(2.0), Value(-3.0)
    out = (a * b + a).tanh() * b
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1]), f"{first} then {(a.grad, b.grad)}"


def test_two_outputs_sharing_interior_nodes_add() -> None:
    """f.backward(); g.backward() leaves df/dx + dg/dx, where g is built on f's nodes."""
    x = Value(0.7)
    shared = x * x  # interior node of both f and g
    f = shared * 3.0
    g = shared.exp() + f
    f.backward()
    g.backward()
    df = 6 * 0.7
    dg = math.exp(0.49) * 2 * 0.7 + 6 * 0.7
    assert math.isclose(x.grad, df + dg, rel_tol=1e-14), f"{x.grad} != {df + dg}"


@pytest.mark.parametrize(
    ("build", "derivative"),
    [
        (lambda a: a + a, lambda x: 2.0),
        (lambda a: a * a, lambda x: 2 * x),
        (lambda a: a * a * a, lambda x: 3 * x * x),
        (lambda a: (a + 1) * (a - 1), lambda x: 2 * x),  # diamond
        (lambda a: (lambda s: s * s + s)(a.exp()), lambda x: 2 * math.exp(2 * x) + math.exp(x)),
    ],
    ids=["a+a", "a*a", "a*a*a", "diamond", "shared exp"],
)
def test_reuse(build, derivative) -> None:
    a = Value(1.3)
    build(a).backward()
    assert math.isclose(a.grad, derivative(1.3), rel_tol=1e-13), f"{a.grad} != {derivative(1.3)}"


def test_unused_leaf_keeps_zero_gradient() -> None:
    a, unused = Value(1.0), Value(5.0)
    (a * 2).backward()
    assert unused.grad == 0, f"unused leaf got {unused.grad}"


def test_zero_upstream_gives_zero() -> None:
    a = Value(0.4)
    (a.tanh() * 0.0).backward()
    assert a.grad == 0.0, f"zero upstream gave {a.grad}"


def test_hundred_thousand_deep_chain_at_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000, "the test must run at an ordinary limit"
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 1.0
    y.backward()
    assert x.grad == 1.0, f"d/dx of the chain is {x.grad}"
    assert y.data == 100_000.5, f"value {y.data}"


def test_graph_is_freed_without_the_cycle_collector() -> None:
    gc.disable()
    try:
        leaf = Value(1.5)
        out = ((leaf * leaf + 2).tanh().exp() / leaf) ** 2
        out.backward()
        interior = weakref.ref(out._prev[0])
        root = weakref.ref(out)
        del out
        assert root() is None and interior() is None, "a reference cycle keeps the graph alive"
    finally:
        gc.enable()


def test_weighted_sum_matches_plain_ops() -> None:
    ws = [Value(0.5), Value(-1.25), Value(2.0)]
    xs = [Value(3.0), 1.5, Value(-0.5)]
    b = Value(0.1)
    fused = weighted_sum(ws, xs, b)
    plain = b + ws[0] * xs[0] + ws[1] * xs[1] + ws[2] * xs[2]
    assert fused.data == plain.data, f"{fused.data} != {plain.data}"
    (fused * 2.0).backward()
    assert [w.grad for w in ws] == [6.0, 3.0, -1.0], [w.grad for w in ws]
    assert (xs[0].grad, xs[2].grad, b.grad) == (1.0, 4.0, 2.0), (xs[0].grad, xs[2].grad, b.grad)


def test_weighted_sum_reuses_a_value_as_weight_and_input() -> None:
    x = Value(3.0)
    weighted_sum([x], [x], 0.0).backward()  # x * x
    assert x.grad == 6.0, f"d(x*x)/dx = {x.grad}"


def test_weighted_sum_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        weighted_sum([Value(1), Value(2)], [Value(3)], 0.0)
