"""The rounding-error model: tight where the case is well conditioned, loose where not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle_cases import Case, scalar_op_graph

from oracle import evaluate, numpy_eval, tolerance
from oracle.ir import TENSOR, GraphBuilder
from oracle.second_opinion import gradient
from oracle.tolerance import allclose_report, error_bounds


def test_bounds_are_tight_on_well_conditioned_random_graphs(
    scalar_cases: list[Case], scalar_results: list
) -> None:
    ratios = []
    for (graph, inputs, upstream), got in zip(scalar_cases, scalar_results, strict=True):
        bounds = error_bounds(graph, inputs, upstream)
        grads = got.grads
        ratios += [
            float(bounds.grads[n] / abs(grads[n])) for n in graph.input_names if grads[n] != 0
        ]
    median = float(np.median(ratios))
    assert median < 1e-12, f"median bound / |gradient| = {median:.1e}: too loose for 1e-10"


# points where the model's poles, nans and infinities meet the scalar fast path
EDGES = [
    ("relu", None, 2.0, 0.0),
    ("pow", "right", 0, 0.0),
    ("pow", "right", 0.0, 0.0),
    ("pow", "right", 0.5, 0.0),
    ("pow", "right", -1, 0.0),
    ("pow", "right", 0.5, -4.0),
    ("pow", "left", 0.0, 2.0),
    ("pow", "left", -2.0, 3.0),
    ("exp", None, 2.0, 1000.0),
    ("log", None, 2.0, 0.0),
    ("log", None, 2.0, -1.0),
    ("div", "left", 1.0, 0.0),
    ("div", "right", 0.0, 1.0),
    ("tanh", None, 2.0, 400.0),
    ("sigmoid", None, 2.0, -800.0),
]


def test_scalar_graphs_get_the_array_models_bounds_bit_for_bit(scalar_cases: list[Case]) -> None:
    """`error_bounds` runs scalar graphs on NumPy scalars; the general array code must
    give exactly the same numbers."""
    edges = [(*scalar_op_graph(*e), [u]) for e in EDGES for u in (1.0, 0.0)]
    for graph, inputs, upstream in [*scalar_cases, *edges]:
        fast = error_bounds(graph, inputs, upstream)
        with np.errstate(all="ignore"):
            general = tolerance._analyse(graph, inputs, upstream)
        for got, want in [
            *zip(fast.values, general.values, strict=True),
            *((fast.grads[n], general.grads[n]) for n in graph.input_names),
            *((fast.magnitudes[n], general.magnitudes[n]) for n in graph.input_names),
        ]:
            assert np.array_equal(got, want, equal_nan=True) and np.shape(got) == (), (
                f"scalar path {got!r}, array path {want!r}\n{graph}"
            )


def _scalar(build) -> tuple:
    b = GraphBuilder()
    x = b.input("x")
    return b.build([build(b, x)])


def test_cancellation_widens_the_value_bound() -> None:
    graph = _scalar(lambda b, x: b.op("sub", b.op("add", x, const=1e8), const=1e8))
    bounds = error_bounds(graph, {"x": 0.3})
    value = numpy_eval.evaluate(graph, {"x": 0.3})[-1]
    assert abs(value - 0.3) <= bounds.values[-1], f"{value} vs exact 0.3: {bounds.values[-1]}"
    assert bounds.values[-1] > 1e-9, f"(x + 1e8) - 1e8 keeps ~1e-8 absolute: {bounds.values[-1]}"


def test_saturated_tanh_gets_room_for_one_minus_t_squared() -> None:
    graph = _scalar(lambda b, x: b.op("tanh", x))
    x = 15.0
    got = evaluate.grad(graph, {"x": x}).grads["x"]
    exact = 1 / math.cosh(x) ** 2
    bound = error_bounds(graph, {"x": x}).grads["x"]
    assert abs(got - exact) <= bound, f"JAX {got} exact {exact} bound {bound}"
    assert bound > 1e-3 * exact, f"1 - tanh(15)**2 cancels: bound {bound} for {exact}"


def test_a_kink_within_rounding_allows_any_routing() -> None:
    # (x + 0.1) - 0.1 - x is 0 exactly but 5.55e-17 in float64: relu's kink is in reach
    graph = _scalar(
        lambda b, x: b.op("relu", b.op("sub", b.op("sub", b.op("add", x, const=0.1), const=0.1), x))
    )
    bounds = error_bounds(graph, {"x": 0.3})
    assert bounds.grads["x"] >= bounds.magnitudes["x"] > 0, (
        f"bound {bounds.grads['x']} magnitude {bounds.magnitudes['x']}"
    )


def test_a_pole_within_rounding_gives_an_infinite_bound() -> None:
    graph = _scalar(
        lambda b, x: b.op(
            "div",
            b.op("sub", b.op("sub", b.op("add", x, const=0.1), const=0.1), x),
            const=1.0,
            side="left",
        )
    )
    bounds = error_bounds(graph, {"x": 0.3})
    assert math.isinf(bounds.values[-1]) and math.isinf(bounds.grads["x"]), (
        f"1 / (rounding noise): {bounds.values[-1]}, {bounds.grads['x']}"
    )


def _tensor(shape: tuple, build) -> tuple:
    b = GraphBuilder(TENSOR)
    x = b.input("x", shape)
    return b.build([build(b, x)])


def test_exact_ties_stay_tight_and_near_ties_are_loose() -> None:
    graph = _tensor((3,), lambda b, x: b.op("max", x))
    tied = error_bounds(graph, {"x": np.array([2.0, 2.0, 1.0])})
    assert np.all(tied.grads["x"] == 0), f"exact inputs, exact split: {tied.grads['x']}"
    near = _tensor((3,), lambda b, x: b.op("max", b.op("mul", x, const=0.1)))
    loose = error_bounds(near, {"x": np.array([3.0, 3.0 + 4e-16, 1.0])})
    assert np.all(loose.grads["x"][:2] >= 0.1 - 1e-12) and loose.grads["x"][2] == 0, (
        f"0.1*x within rounding of each other may route either way: {loose.grads['x']}"
    )


def test_sums_that_cancel_get_bounds_from_their_terms() -> None:
    graph = _tensor((3,), lambda b, x: b.op("sum", x))
    bounds = error_bounds(graph, {"x": np.array([1e16, 1.0, -1e16])})
    assert bounds.values[-1] >= 2e16 * 2**-53, f"cancelling sum: {bounds.values[-1]}"


COMPOSITE = [
    (
        "softmax of matmul",
        {"a": (2, 3), "m": (3, 4)},
        lambda b, i: b.op("softmax", b.op("matmul", i["a"], i["m"]), axis=0),
    ),
    (
        "log_softmax of a mean",
        {"a": (2, 3, 4)},
        lambda b, i: b.op("log_softmax", b.op("mean", i["a"], axis=1)),
    ),
    (
        "indexed tanh divided",
        {"a": (4, 3), "m": (3,)},
        lambda b, i: b.op(
            "div",
            b.op("index", b.op("tanh", i["a"]), index=(np.array([0, 0, 3]),)),
            b.op("exp", i["m"]),
        ),
    ),
    (
        "max of a power",
        {"a": (3, 3)},
        lambda b, i: b.op("max", b.op("pow", b.op("exp", i["a"]), const=1.5), axis=-1),
    ),
]


@pytest.mark.parametrize("case", COMPOSITE, ids=[c[0] for c in COMPOSITE])
def test_tensor_bounds_cover_jax_against_the_truth(case: tuple) -> None:
    name, shapes, build = case
    b = GraphBuilder(TENSOR)
    graph = b.build([build(b, {n: b.input(n, s) for n, s in shapes.items()})])
    rng = np.random.default_rng(4)
    inputs = {n: rng.normal(size=s) for n, s in shapes.items()}
    upstream = [rng.normal(size=graph.shapes[-1])]
    got = evaluate.vjp(graph, inputs, upstream)
    bounds = error_bounds(graph, inputs, upstream)
    truth = gradient(graph, inputs, upstream)
    exact_values = numpy_eval.evaluate(graph, inputs, dps=40)
    report = allclose_report(exact_values[-1].astype(float), got.outputs[0], bounds.values[-1])
    assert report.ok, f"{name}: value {report}"
    for n in graph.input_names:
        report = allclose_report(truth[n], got.grads[n], bounds.grads[n])
        assert report.ok, f"{name}: d/d{n} {report}"
        relative = np.max(bounds.grads[n]) / np.max(np.abs(truth[n]))
        assert relative < 1e-12, f"{name}: d/d{n} bound {relative:.1e} relative: too loose"


def test_allclose_report_locates_the_worst_entry() -> None:
    expected = np.array([[1.0, 2.0], [math.nan, math.inf]])
    actual = np.array([[1.0, 2.5], [math.nan, math.inf]])
    report = allclose_report(expected, actual, 1e-3)
    assert not report.ok and report.where == (0, 1) and report.max_error == 0.5, report
    assert allclose_report(expected, actual, 0.0, rtol=0.3).ok, "rtol scales with |expected|"
    assert not allclose_report([math.inf], [-math.inf], 1e300).ok, "inf differs from -inf"
    assert allclose_report([1.0], [-math.inf], math.inf).ok, "an infinite bound takes anything"
    assert not allclose_report([1.0], [math.nan], 1.0).ok, "nan only matches nan"
    assert not allclose_report([1.0, 2.0], [1.0], 1.0).ok, "shapes must match"
    assert allclose_report(1.0, 1.0 + 1e-15, 2e-15) == (True, pytest.approx(1e-15), None)


def test_a_gradient_summed_from_several_users_allows_any_order() -> None:
    """x feeds a saturated sigmoid (contribution about -1e-34), a reshape and a transpose
    whose upstream gradients cancel (+1 and -1): summed in one order x.grad is -1e-34, in
    another 0.0. Both are correct, so the bound covers every order (a planted clean engine
    was once failed on exactly this)."""
    b = GraphBuilder(TENSOR)
    x = b.input("x", (2, 2))
    squashed = b.op("sigmoid", b.op("sigmoid", b.op("sum", x)))
    graph = b.build([squashed, b.op("reshape", x, shape=(4,)), b.op("transpose", x)])
    xs = np.array([[-40.0, -30.0], [-5.0, -3.0]])  # sum -78: sigmoid'(-78) is 1.3e-34
    up_reshape, up_transpose = np.array([1.0, -1.0, 2.0, 0.5]), np.array([[-1.0, 1.0], [-2.0, 3.0]])
    inner = 1.0 / (1.0 + math.exp(78.0))
    tiny = -inner * (1 - inner) * 0.5 * (1 - 0.5)  # upstream -1 through both sigmoids
    parts = [np.full((2, 2), tiny), up_reshape.reshape(2, 2), up_transpose.T]
    bound = error_bounds(graph, {"x": xs}, [-1.0, up_reshape, up_transpose]).grads["x"]
    exact = np.array([[math.fsum(p[k] for p in parts) for k in np.ndindex(2, 2)]]).reshape(2, 2)
    for order in ([0, 1, 2], [1, 0, 2], [1, 2, 0]):
        summed = parts[order[0]] + parts[order[1]] + parts[order[2]]
        error = np.abs(summed - exact)
        assert np.all(error <= bound), f"order {order}: error {error} beyond bound {bound}"
