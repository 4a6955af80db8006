"""The compiled tensor interpreter against the per-graph jitted functions of `traced`.

Every tensor op against closed forms runs through it in test_oracle_ops.py (by way of
`evaluate.vjp`); here random graphs of every op, and the graphs it leaves to `traced`.
"""

from __future__ import annotations

import numpy as np
import pytest

from oracle import evaluate, tensor_interpreter, tolerance, traced
from oracle.ir import TENSOR, GraphBuilder
from oracle.snippet import to_python
from properties.cases.random_tensor import random_tensor_graph


def _random_cases(count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n_outputs = int(rng.integers(1, 3))
        graph, inputs = random_tensor_graph(rng, int(rng.integers(3, 16)), n_outputs=n_outputs)
        upstream = [rng.normal(size=graph.shapes[o]) for o in graph.outputs]
        cases.append((graph, inputs, upstream))
    return cases


def test_interpreter_agrees_with_traced_on_random_graphs() -> None:
    """Within the rounding two correct implementations may differ by (oracle.tolerance);
    one graph in five against `traced` (a compile each), all 40 for their ops."""
    cases = _random_cases(40, seed=7)
    ops = {n.op for graph, _, _ in cases for n in graph.nodes}
    assert ops >= {"matmul", "softmax", "log_softmax", "max", "mean", "index", "pow"}, ops
    for graph, inputs, upstream in cases[::5]:
        got = tensor_interpreter.vjp(graph, inputs, upstream)
        assert got is not None, to_python(graph, inputs, upstream=upstream)
        values, grads = traced.vjp(graph, inputs, upstream)
        bounds = tolerance.error_bounds(graph, inputs, upstream)
        where = f"\n{to_python(graph, inputs, upstream=upstream)}"
        for i, (want, have) in enumerate(zip(values, got[0], strict=True)):
            report = tolerance.allclose_report(np.asarray(want), have, bounds.values[i])
            assert have.shape == np.shape(want) and report.ok, f"node {i}: {have} {want}{where}"
        for k, name in enumerate(graph.input_names):
            report = tolerance.allclose_report(np.asarray(grads[k]), got[1][k], bounds.grads[name])
            assert report.ok, f"d/d{name}: {got[1][k]} traced {grads[k]}{where}"


def test_max_at_minus_infinity_is_left_to_traced() -> None:
    """JAX splits the gradient of max among the entries equal to it; -inf ties with the
    padding, so such a graph goes to `traced` and gets JAX's split."""
    b = GraphBuilder(TENSOR)
    x = b.input("x", (3,))
    graph = b.build([b.op("max", b.op("log", x))])
    inputs = {"x": np.array([0.0, 0.0, 0.0])}
    assert tensor_interpreter.vjp(graph, inputs, [1.0]) is None
    got = evaluate.vjp(graph, inputs, [1.0])
    np.testing.assert_array_equal(got.outputs[0], -np.inf)
    np.testing.assert_array_equal(got.grads["x"], [np.inf, np.inf, np.inf])
    finite = {"x": np.array([1.0, 3.0, 3.0])}  # a real tie: split in two by the interpreter
    _, grads = tensor_interpreter.vjp(graph, finite, [1.0])
    np.testing.assert_allclose(grads[0], [0.0, 1 / 6, 1 / 6], rtol=1e-15, err_msg="tie")


@pytest.mark.parametrize("value", [np.inf, 0.0])
def test_poles_in_the_padding_never_reach_real_entries(value: float) -> None:
    """A (2,) value padded to 16 entries: log, division and x ** -1 at the padding would
    be infinite, their cotangent 0 * inf = nan if not guarded."""
    b = GraphBuilder(TENSOR)
    x = b.input("x", (2,))
    y = b.op("div", b.op("log", x), b.op("pow", x, const=-1))
    graph = b.build([b.op("sum", b.op("mul", y, const=value))])
    inputs = {"x": np.array([2.0, 0.5])}
    got = tensor_interpreter.vjp(graph, inputs, [1.0])
    want = traced.vjp(graph, inputs, [1.0])
    np.testing.assert_allclose(got[1][0], want[1][0], rtol=1e-15, err_msg=f"const {value}")


@pytest.mark.parametrize(("n", "m"), [(12, 19), (2, 11)])
def test_traced_gets_a_max_over_an_outer_product_plus_a_bias_right(n: int, m: int) -> None:
    """max(x @ w + c, axis=1) with an inner axis of 1: compiled at -O0, traced gave the
    bias an infinite gradient and x and w wrong ones (the product recomputed with and
    without a fused multiply-add no longer equals the maximum); the closed form is the
    upstream gradient routed to each row's largest entry."""
    rng = np.random.default_rng(n * m)
    b = GraphBuilder(TENSOR)
    x, w, c = b.input("x", (n, 1)), b.input("w", (1, m)), b.input("c", (m,))
    graph = b.build([b.op("max", b.op("add", b.op("matmul", x, w), c), axis=1)])
    inputs = {"x": rng.normal(size=(n, 1)), "w": rng.normal(size=(1, m)), "c": rng.normal(size=m)}
    upstream = rng.normal(size=n)
    _, grads = traced.vjp(graph, inputs, [upstream])
    routed = np.zeros((n, m))
    routed[np.arange(n), np.argmax(inputs["x"] @ inputs["w"] + inputs["c"], axis=1)] = upstream
    expected = [routed @ inputs["w"].T, inputs["x"].T @ routed, routed.sum(axis=0)]
    for name, got, want in zip(graph.input_names, grads, expected, strict=True):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12), (name, got, want)
