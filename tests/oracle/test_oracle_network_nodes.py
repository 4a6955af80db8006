"""The `functional` ops as IR nodes: shapes by torch's rules, refusals, JSON, snippets, and
the NumPy (float64 and mpmath) evaluation against the JAX references."""

from __future__ import annotations

import numpy as np
import pytest

from oracle import evaluate, numpy_eval
from oracle.ir import TENSOR, GraphBuilder, from_json, to_json
from oracle.snippet import to_python


def _graph() -> tuple:
    b = GraphBuilder(TENSOR)
    x, w, bias = b.input("x", (2, 2, 5, 4)), b.input("w", (3, 2, 3, 2)), b.input("b", (3,))
    conv = b.op("conv2d", x, w, bias, stride=(2, 1), padding=1)
    pool = b.op("max_pool2d", b.op("tanh", conv), kernel_size=2, stride=1, padding=1)
    avg = b.op("avg_pool2d", pool, kernel_size=(2, 3), padding=(1, 1))
    flat = b.op("flatten", avg)
    weight = b.input("W", (4, 18))
    logits = b.op("linear", flat, weight)
    y = b.input("y", (2, 4))
    losses = [
        b.op("cross_entropy", logits, labels=[1, 3]),
        b.op("binary_cross_entropy_with_logits", logits, targets=np.full((2, 4), 0.25)),
        b.op("hinge_loss", logits, labels=np.array([[1.0, -1.0, 1.0, 1.0]] * 2)),
        b.op("mse_loss", logits, y),
    ]
    graph = b.build([*losses, logits])
    rng = np.random.default_rng(0)
    inputs = {
        n: rng.uniform(-1, 1, graph.shapes[i])
        for i, n in zip(graph.input_indices, graph.input_names, strict=True)
    }
    return graph, inputs


def test_shapes_follow_torchs_floor_rule() -> None:
    graph, _ = _graph()
    # conv: (5 + 2 - 3) // 2 + 1 = 3, (4 + 2 - 2) // 1 + 1 = 5; max pool k2 s1 p1: 4, 6;
    # avg pool (2, 3) stride (2, 3) padding (1, 1): 3, 2; flatten: 3 * 3 * 2
    assert graph.shapes[3] == (2, 3, 3, 5), graph.shapes
    assert graph.shapes[5] == (2, 3, 4, 6), graph.shapes
    assert graph.shapes[6] == (2, 3, 3, 2) and graph.shapes[7] == (2, 18), graph.shapes
    assert graph.capability(3) == "functional.conv2d", graph.capability(3)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda b, x: b.op("conv2d", x, b.input("w", (1, 3, 2, 2))), "conv2d takes"),
        (lambda b, x: b.op("max_pool2d", x, kernel_size=2, padding=2), "half the kernel"),
        (lambda b, x: b.op("avg_pool2d", x, kernel_size=5), "larger than the padded"),
        (lambda b, x: b.op("cross_entropy", b.op("flatten", x), labels=[0, 18]), "labels in"),
        (lambda b, x: b.op("conv2d", x), "takes 2 or 3 args"),
    ],
)
def test_ill_fitting_nodes_are_refused(build, message: str) -> None:
    b = GraphBuilder(TENSOR)
    x = b.input("x", (2, 2, 3, 3))
    with pytest.raises(ValueError, match=message):
        b.build([build(b, x)])


def test_json_round_trip_keeps_labels_and_pairs() -> None:
    graph, inputs = _graph()
    again, inputs_again = from_json(to_json(graph, inputs))
    assert all(np.array_equal(inputs_again[n], v) for n, v in inputs.items()), "inputs"
    assert again == graph, "a network graph changed through JSON"
    labels = again.nodes[11].attrs["labels"]
    assert labels.dtype == np.int64 and labels.tolist() == [1, 3], labels


def test_numpy_and_mpmath_values_agree_with_jax() -> None:
    graph, inputs = _graph()
    jax_values = evaluate.vjp(graph, inputs).values
    floats = numpy_eval.evaluate(graph, inputs)
    precise = numpy_eval.evaluate(graph, inputs, dps=30)
    for i, (want, got, exact) in enumerate(zip(jax_values, floats, precise, strict=True)):
        exact = np.vectorize(float, otypes=[np.float64])(np.asarray(exact, dtype=object))
        scale = np.max(np.abs(exact), initial=1.0)
        assert np.allclose(got, want, rtol=0, atol=1e-13 * scale), (i, graph.nodes[i])
        assert np.allclose(exact, want, rtol=0, atol=1e-13 * scale), (i, graph.nodes[i])


def test_snippet_calls_functional_with_the_non_default_keywords() -> None:
    graph, inputs = _graph()
    text = to_python(graph, inputs)
    assert "from engine import Tensor, functional" in text, text[:300]
    assert "functional.conv2d(x, w, b, stride=(2, 1), padding=1)" in text, text
    assert "functional.max_pool2d(n4, 2, stride=1, padding=1)" in text, text
    assert "functional.avg_pool2d(n5, (2, 3), padding=(1, 1))" in text, text
    assert "functional.cross_entropy(n9, np.array([1, 3]))" in text, text
    assert "functional.linear(n7, W)" in text and "stride" not in text.split("linear")[1][:20]
