"""The JAX-free second opinion: closed-form derivatives, random graphs, verdicts."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from oracle_cases import (
    SCALAR_CASES,
    TENSOR_CASES,
    A,
    Case,
    TensorCase,
    scalar_op_graph,
    softmax,
    sum_to,
    tensor_op_graph,
)

from oracle import numpy_eval, tolerance
from oracle.ir import GraphBuilder
from oracle.second_opinion import gradient, relative_error, verdict
from oracle.snippet import to_python


@pytest.mark.parametrize("method", ["mpmath", "richardson"])
@pytest.mark.parametrize(("case", "value", "grads"), SCALAR_CASES, ids=str)
def test_scalar_ops_match_closed_forms(method: str, case: tuple, value: float, grads: dict) -> None:
    graph, inputs = scalar_op_graph(*case)
    got = gradient(graph, inputs, method=method)
    error = relative_error(got, grads)
    limit = 1e-14 if method == "mpmath" else 1e-8
    assert error <= limit, f"{case} by {method}: {got} vs closed form {grads} ({error:.1e})"


# ties are kinks (the symmetric difference is not JAX's equal split), and softmax of
# logits around 300 has gradients below 1e-100 that float64 closed forms round to 0
SMOOTH_TENSOR_CASES = [
    c for c in TENSOR_CASES if c[0] not in ("max ties split", "max all keepdims", "softmax")
]
SMOOTH_TENSOR_CASES.append(
    (
        "softmax moderate",
        "softmax",
        [A],
        {"axis": 0},
        lambda a: softmax(a, 0),
        lambda g, a: (softmax(a, 0) * (g - (g * softmax(a, 0)).sum(0, keepdims=True)),),
    )
)


@pytest.mark.parametrize("method", ["mpmath", "richardson"])
@pytest.mark.parametrize("case", SMOOTH_TENSOR_CASES, ids=[c[0] for c in SMOOTH_TENSOR_CASES])
def test_tensor_ops_match_closed_forms(method: str, case: TensorCase) -> None:
    name, _, arrays, _, _, vjp_fn = case
    graph, inputs = tensor_op_graph(case)
    upstream = np.random.default_rng(1).normal(size=graph.shapes[-1])
    got = gradient(graph, inputs, [upstream], method=method)
    want = {
        f"x{k}": sum_to(np.asarray(g, np.float64), np.shape(arrays[k]))
        for k, g in enumerate(vjp_fn(upstream, *arrays))
    }
    error = relative_error(got, want)
    limit = 1e-13 if method == "mpmath" else 1e-8
    assert error <= limit, f"{name} by {method}: relative error {error:.1e}"


def test_second_opinion_agrees_with_jax_on_random_graphs(
    scalar_cases: list[Case], scalar_results: list
) -> None:
    """JAX is within the rounding model of the high-precision truth."""
    for (graph, inputs, upstream), got in zip(scalar_cases[:25], scalar_results, strict=False):
        truth = gradient(graph, inputs, upstream)
        jax_grads = got.grads
        bounds = tolerance.error_bounds(graph, inputs, upstream)
        for name in graph.input_names:
            report = tolerance.allclose_report(truth[name], jax_grads[name], bounds.grads[name])
            assert report.ok, (
                f"d/d{name}: truth {truth[name]} JAX {jax_grads[name]} bound "
                f"{bounds.grads[name]}\n{to_python(graph, inputs)}"
            )


def test_verdict_names_the_answer_that_agrees_with_the_truth() -> None:
    truth = {"x": np.array([1.0, -2.0]), "y": np.array(3.0)}
    right = {"x": np.array([1.0, -2.0 + 1e-12]), "y": np.array(3.0)}
    wrong = {"x": np.array([1.0, -2.5]), "y": np.array(3.0)}
    worse = {"x": np.array([1.0, -3.0]), "y": np.array(3.0)}
    cases = [
        (right, wrong, "expected", "expected"),
        (wrong, right, "actual", "actual"),
        (right, right, "both", "tie"),
        (wrong, worse, "neither", "expected"),
    ]
    for expected, actual, agrees, closer in cases:
        result = verdict(expected, actual, truth)
        assert (result.agrees, result.closer) == (agrees, closer), (
            f"{expected} vs {actual}: {result}"
        )
    assert "expected is closer" in verdict(wrong, worse, truth).message, "says who is closer"
    assert verdict(2.2e-16, 0.0, 0.0).agrees == "actual", "no tolerance: 2.2e-16 is not 0"
    assert verdict(2.2e-16, 0.0, 0.0, atol=1e-15).agrees == "both", "atol covers rounding"
    assert verdict(math.nan, 1.0, math.nan).agrees == "expected", "nan matches only nan"
    assert verdict(math.inf, 1e308, math.inf).agrees == "expected", "inf matches only inf"


def test_verdict_on_outputs_of_different_shapes() -> None:
    """A tensor graph's outputs, as `vgrad report` passes them: a list of arrays."""
    truth = [np.array([[1.0], [2.0]]), np.array([3.0, 4.0, 5.0])]
    actual = [np.array([[1.0], [2.0]]), np.array([3.0, 4.5, 5.0])]
    result = verdict(truth, actual, truth)
    assert (result.agrees, result.closer) == ("expected", "expected"), f"{result}"
    assert result.actual_error == 0.1, f"normwise over all outputs: {result}"


@pytest.mark.parametrize(
    ("op", "side", "const", "x", "want"),
    [
        ("log", None, 0, -1.0, math.nan),
        ("log", None, 0, 0.0, -math.inf),
        ("div", "left", 1.0, 0.0, math.inf),
        ("div", "left", 0.0, 0.0, math.nan),
        ("pow", "right", -1, 0.0, math.inf),
        ("pow", "right", 1 / 3, -8.0, math.nan),
        ("pow", "right", 3, -2.0, -8.0),
        ("sigmoid", None, 0, -800.0, 0.0),
        ("exp", None, 0, 1000.0, math.inf),
    ],
)
def test_jax_free_evaluation_is_real_valued_ieee(
    op: str, side: str | None, const: float, x: float, want: float
) -> None:
    b = GraphBuilder()
    xi = b.input("x")
    graph = b.build([b.op(op, xi, const=const, side=side) if side else b.op(op, xi)])
    low = float(numpy_eval.evaluate(graph, {"x": x})[-1])
    high = numpy_eval.evaluate(graph, {"x": x}, dps=30)[-1].item()
    for label, got in (("float64", low), ("mpmath", float(high))):
        same = (math.isnan(got) and math.isnan(want)) or got == want
        assert same, f"{op}({x}) in {label}: {got}, want {want}"
    assert isinstance(high, mpmath.mpf), f"mpmath evaluation returns mpf, got {type(high)}"
    if op == "sigmoid":
        assert 0 < high < 1e-300, f"mpmath keeps sigmoid({x}) = {high} exact, not 0"
