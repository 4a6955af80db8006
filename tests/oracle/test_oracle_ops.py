"""Every IR op's JAX value and gradient against closed-form derivatives.

Scalar ops run on the compiled interpreter (single and batched) and on the per-graph
jitted function; tensor ops on the per-graph function, with a random upstream gradient.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle_cases import (
    SCALAR_CASES,
    TENSOR_CASES,
    A,
    C,
    M,
    TensorCase,
    scalar_op_graph,
    sum_to,
    tensor_op_graph,
)

from oracle import evaluate, traced
from oracle.ir import TENSOR, GraphBuilder

# -- scalar ops -------------------------------------------------------------------------


def _close(got: float, want: float, rtol: float = 4e-15) -> bool:
    return abs(got - want) <= rtol * abs(want) or got == want


@pytest.mark.parametrize(("case", "value", "grads"), SCALAR_CASES, ids=str)
def test_scalar_op_value_and_gradient(case: tuple, value: float, grads: dict) -> None:
    graph, inputs = scalar_op_graph(*case)
    interpreted = evaluate.grad(graph, inputs)
    values, jit_grads = traced.vjp(graph, inputs, [1.0])
    assert _close(interpreted.outputs[0], value), (
        f"{case}: value {interpreted.outputs[0]} != {value}"
    )
    assert _close(float(values[-1]), value), f"{case}: jit value {float(values[-1])} != {value}"
    for k, name in enumerate(graph.input_names):
        assert _close(interpreted.grads[name], grads[name]), (
            f"{case}: d/d{name} {interpreted.grads[name]} != {grads[name]}"
        )
        assert _close(float(jit_grads[k]), grads[name]), (
            f"{case}: jit d/d{name} {float(jit_grads[k])} != {grads[name]}"
        )


def test_batched_interpreter_matches_single_graphs(scalar_results: list) -> None:
    """Every op in a vmapped batch (padded to 64 slots) as alone (16 slots)."""
    batched = scalar_results[-len(SCALAR_CASES) :]  # the fixture puts these cases last
    for (case, _, _), got in zip(SCALAR_CASES, batched, strict=True):
        graph, inputs = scalar_op_graph(*case)
        single = evaluate.vjp(graph, inputs, [0.75])
        assert got.values == single.values and got.grads == single.grads, (
            f"{case}: batched {got.values, got.grads} != single {single.values, single.grads}"
        )


NAN, INF = math.nan, math.inf
# JAX's conventions at special points, which the target spec adopts (or leaves open)
SPECIAL_POINTS = [
    (("relu", None, C, 0.0), 0.0, 0.0),
    (("pow", "right", 0, 0.0), 1.0, 0.0),  # int exponent 0: derivative 0 everywhere
    (("pow", "right", 0.0, 0.0), 1.0, NAN),  # float exponent: 0 * 0**-1
    (("pow", "right", 2, 0.0), 0.0, 0.0),
    (("pow", "right", 0.5, 0.0), 0.0, INF),
    (("pow", "right", -1, 0.0), INF, -INF),
    (("pow", "right", 0.5, -4.0), NAN, NAN),
    (("pow", "left", 0.0, 2.0), 0.0, 0.0),  # d/dy 0**y = 0 (log(0) replaced by log(1))
    (("pow", "left", -2.0, 3.0), -8.0, NAN),
    (("tanh", None, C, 400.0), 1.0, 0.0),
    (("sigmoid", None, C, -800.0), 0.0, 0.0),
    (("sigmoid", None, C, 800.0), 1.0, 0.0),
    (("exp", None, C, 1000.0), INF, INF),
    (("log", None, C, 0.0), -INF, INF),
    (("log", None, C, -1.0), NAN, -1.0),
    (("div", "left", 1.0, 0.0), INF, -INF),
    (("div", "right", 0.0, 1.0), INF, INF),
]


def _same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or got == want


@pytest.mark.parametrize(("case", "value", "grad"), SPECIAL_POINTS, ids=str)
def test_special_points_follow_jax(case: tuple, value: float, grad: float) -> None:
    graph, inputs = scalar_op_graph(*case)
    got = evaluate.grad(graph, inputs)
    values, jit_grads = traced.vjp(graph, inputs, [1.0])
    assert _same(got.outputs[0], value) and _same(got.grads["x"], grad), (
        f"{case}: interpreter {got.outputs[0]}, {got.grads['x']}; want {value}, {grad}"
    )
    assert _same(float(values[-1]), value) and _same(float(jit_grads[0]), grad), (
        f"{case}: jit {float(values[-1])}, {float(jit_grads[0])}; want {value}, {grad}"
    )


# -- tensor ops -------------------------------------------------------------------------


@pytest.mark.parametrize("case", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_tensor_op_value_and_vjp(case: TensorCase) -> None:
    name, _, arrays, _, value_fn, vjp_fn = case
    graph, inputs = tensor_op_graph(case)
    upstream = np.random.default_rng(1).normal(size=graph.shapes[-1])
    got = evaluate.vjp(graph, inputs, [upstream])
    want = value_fn(*arrays)
    np.testing.assert_allclose(
        got.outputs[0], want, rtol=1e-13, atol=1e-300, err_msg=f"{name}: value"
    )
    for k, grad in enumerate(vjp_fn(upstream, *arrays)):
        expected = sum_to(np.asarray(grad, np.float64), np.shape(arrays[k]))
        np.testing.assert_allclose(
            got.grads[f"x{k}"],
            expected,
            rtol=1e-12,
            atol=1e-14,
            err_msg=f"{name}: gradient of x{k}",
        )


def test_tensor_jvp_is_the_transpose_of_the_vjp() -> None:
    b = GraphBuilder(TENSOR)
    a, m = b.input("a", (2, 3)), b.input("m", (3, 4))
    h = b.op("tanh", b.op("matmul", a, m))
    graph = b.build([b.op("sum", b.op("softmax", h, axis=0), axis=1), h])
    rng = np.random.default_rng(2)
    inputs = {"a": A, "m": M}
    tangents = {"a": rng.normal(size=(2, 3)), "m": rng.normal(size=(3, 4))}
    upstream = [rng.normal(size=(2,)), rng.normal(size=(2, 4))]
    _, out_tangents = evaluate.jvp(graph, inputs, tangents)
    grads = evaluate.vjp(graph, inputs, upstream).grads
    forward = sum(np.sum(u * out_tangents[o]) for u, o in zip(upstream, graph.outputs, strict=True))
    backward = sum(np.sum(grads[n] * tangents[n]) for n in graph.input_names)
    assert abs(forward - backward) <= 1e-13 * abs(backward), f"<u, Jt> {forward} != {backward}"
