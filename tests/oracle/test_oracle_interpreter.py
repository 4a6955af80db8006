"""The compiled scalar interpreter against eager JAX, and its guards and padding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle_cases import Case

from oracle import evaluate, interpreter, tolerance, traced
from oracle.evaluate import Evaluation
from oracle.ir import GraphBuilder
from oracle.snippet import to_python


def eager_vjp(graph, inputs, upstream) -> tuple[list[float], dict[str, float]]:
    """Values and VJP from the per-graph JAX function, run eagerly (no jit)."""
    run = traced.function(graph)
    consts = traced.traced_consts(graph)

    def outputs(xs: list) -> tuple:
        values = run(xs, consts)
        return tuple(values[o] for o in graph.outputs), values

    xs = [jnp.float64(inputs[n]) for n in graph.input_names]
    _, pullback, values = jax.vjp(outputs, xs, has_aux=True)
    grads = pullback(tuple(jnp.float64(u) for u in upstream))[0]
    return [float(v) for v in values], {
        n: float(g) for n, g in zip(graph.input_names, grads, strict=True)
    }


def test_interpreter_agrees_with_eager_jax(
    scalar_cases: list[Case], scalar_results: list[Evaluation]
) -> None:
    """Within the rounding two correct implementations may differ by (oracle.tolerance)."""
    for (graph, inputs, upstream), got in list(zip(scalar_cases, scalar_results, strict=True))[::2]:
        values, grads = eager_vjp(graph, inputs, upstream)
        bounds = tolerance.error_bounds(graph, inputs, upstream)
        where = f"\n{to_python(graph, inputs, upstream=upstream)}"
        for i, (want, have) in enumerate(zip(values, got.values, strict=True)):
            report = tolerance.allclose_report(want, have, bounds.values[i])
            assert report.ok, f"node {i}: eager {want} interpreter {have}{where}"
        for name in graph.input_names:
            report = tolerance.allclose_report(grads[name], got.grads[name], bounds.grads[name])
            assert report.ok, (
                f"d/d{name}: eager {grads[name]} interpreter "
                f"{got.grads[name]} bound {bounds.grads[name]}{where}"
            )


def test_single_runs_equal_padded_batched_runs(
    scalar_cases: list[Case], scalar_results: list[Evaluation]
) -> None:
    """A graph alone (its own bucket) and in the batch (padded to 64 slots) agree exactly."""
    buckets = [interpreter.bucket(len(graph.nodes)) for graph, _, _ in scalar_cases]
    assert max(buckets) == 64 and 16 in buckets, f"buckets {sorted(set(buckets))}"
    for (graph, inputs, upstream), got, size in zip(
        scalar_cases, scalar_results, buckets, strict=True
    ):
        if size not in (16, 64):
            continue  # each bucket compiles anew: two are enough
        single = evaluate.vjp(graph, inputs, upstream)
        assert single.values == got.values and single.grads == got.grads, (
            f"single {single.grads} batched {got.grads}\n{to_python(graph, inputs)}"
        )


def test_jvp_is_the_transpose_of_the_vjp(
    scalar_cases: list[Case], scalar_results: list[Evaluation]
) -> None:
    rng = np.random.default_rng(11)
    pairs = [
        (case, got)
        for case, got in zip(scalar_cases, scalar_results, strict=True)
        if interpreter.bucket(len(case[0].nodes)) == 64
    ]
    for (graph, inputs, upstream), got in pairs[:12]:
        tangents = {n: float(rng.normal()) for n in graph.input_names}
        _, out_tangents = evaluate.jvp(graph, inputs, tangents)
        forward = sum(u * out_tangents[o] for u, o in zip(upstream, graph.outputs, strict=True))
        backward = sum(got.grads[n] * tangents[n] for n in graph.input_names)
        magnitudes = tolerance.error_bounds(graph, inputs, upstream).magnitudes
        scale = sum(magnitudes[n] * abs(tangents[n]) for n in graph.input_names)
        assert abs(forward - backward) <= 1e-12 * scale, (
            f"<u, J t> = {forward}, <J^T u, t> = {backward}\n{to_python(graph, inputs)}"
        )


@pytest.mark.parametrize("x", [0.0, -1.0, 1000.0, -1000.0])
def test_untaken_branches_never_leak_nan(x: float) -> None:
    """Every op's result is computed on every node; only the taken one may matter, and
    nodes no output depends on do not take part in the reverse pass (as in JAX)."""
    b = GraphBuilder()
    xi = b.input("x")
    out = b.op("add", b.op("neg", b.op("relu", b.op("mul", xi, const=2.0))), xi)
    for op in ("log", "exp", "tanh", "sigmoid"):  # off the output's path
        b.op(op, xi)
    b.op("div", xi, const=0.0, side="right")
    b.op("pow", xi, const=-1, side="right")
    b.op("pow", xi, xi)
    graph = b.build([out])
    got = evaluate.grad(graph, {"x": x})
    jit_grad = float(traced.vjp(graph, {"x": x}, [1.0])[1][0])
    want = 1.0 - 2.0 * (x > 0)
    assert got.grads["x"] == want == jit_grad, (
        f"x={x}: d/dx = {got.grads['x']} (jit: {jit_grad}), want {want}"
    )


def test_deep_chains_run() -> None:
    b = GraphBuilder()
    node = b.input("x")
    for k in range(300):
        node = b.op("tanh" if k % 2 else "mul", node, *(() if k % 2 else (node,)))
    graph = b.build([node])
    got = evaluate.grad(graph, {"x": 0.9})
    values, grads = eager_vjp(graph, {"x": 0.9}, [1.0])
    assert got.outputs[0] == pytest.approx(values[-1], rel=1e-13), "value of a 301-node chain"
    assert got.grads["x"] == pytest.approx(grads["x"], rel=1e-11), "gradient of the chain"
