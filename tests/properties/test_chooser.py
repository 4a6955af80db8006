"""The one growth of scalar and tensor graphs, run on a NumPy Generator and on Hypothesis's
draws: both keep every value finite and within the bound the caller set, keep relu, log
and divisors clear of 0 by the tracked-rounding margin, and take each op's capability
from the IR's names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from oracle import numpy_eval, tolerance
from oracle.ir import NETWORK_OPS, SCALAR, SCALAR_OPS, TENSOR, TENSOR_OPS, Graph
from properties.cases.capabilities import plain_capability
from properties.cases.chooser import RngChooser
from properties.cases.common import Case
from properties.cases.random_scalar import LIMIT, random_scalar_graph
from properties.cases.random_tensor import random_tensor_graph
from properties.cases.scalar import BOUND, SCALAR_MENU, scalar_cases
from properties.cases.tensor import TENSOR_MENU, tensor_cases

# the smallest |x| a relu, log or divisor may see, beside the rounding of x itself
CLEAR = 1e-100


def _values_are_safe(graph: Graph, inputs: dict, bound: float) -> None:
    """Every value finite and within `bound`; the argument of a relu or log and a divisor
    farther from 0 than the oracle's own error analysis lets it move (a small value that
    is exact, as 6.4e-11 = (8e-6)**2, is as clear of the kink as a large one)."""
    values = numpy_eval.evaluate(graph, inputs)
    allowed = tolerance.error_bounds(graph, inputs).values
    for i, (node, v) in enumerate(zip(graph.nodes, values, strict=True)):
        where = f"node {i} {node} of\n{graph}\ninputs {inputs}"
        assert np.all(np.isfinite(v)) and np.all(np.abs(v) <= bound), f"value {v}: {where}"
        kinked = None
        if node.op in ("relu", "log"):
            kinked = node.args[0]
        if node.op == "div":  # the divisor: the second operand, or the one of c / x
            kinked = node.args[0] if node.const_side == "left" else node.args[-1]
            if node.const_side == "right":
                assert np.all(np.abs(node.attrs["const"]) > CLEAR), where
                kinked = None
        if kinked is not None:
            x = np.abs(values[kinked])
            assert np.all((x > CLEAR) & (x > allowed[kinked])), f"{x} vs {allowed[kinked]}: {where}"


@pytest.mark.parametrize("seed", range(40))
def test_seeded_graphs_stay_in_every_ops_domain(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph, inputs = random_scalar_graph(rng, int(rng.integers(2, 40)), n_outputs=2)
    _values_are_safe(graph, inputs, LIMIT)
    graph, inputs = random_tensor_graph(rng, int(rng.integers(2, 20)), n_outputs=2)
    _values_are_safe(graph, inputs, LIMIT)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=scalar_cases(SCALAR_MENU))
def test_drawn_scalar_graphs_stay_in_every_ops_domain(case: Case) -> None:
    _values_are_safe(case.graph, case.inputs, BOUND)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=tensor_cases(TENSOR_MENU))
def test_drawn_tensor_graphs_stay_in_every_ops_domain(case: Case) -> None:
    _values_are_safe(case.graph, case.inputs, BOUND)


def test_the_rng_chooser_keeps_to_its_ranges() -> None:
    c = RngChooser(np.random.default_rng(0))
    ints = {c.integer(-2, 2) for _ in range(500)}
    floats = [c.uniform(0.2, 2.0) for _ in range(500)]
    picks = {c.choice(("a", "b", "c")) for _ in range(500)}
    assert ints == {-2, -1, 0, 1, 2}, ints
    assert all(0.2 <= f <= 2.0 for f in floats), (min(floats), max(floats))
    assert picks == {"a", "b", "c"}, picks
    assert 100 < sum(c.boolean(0.3) for _ in range(1000)) < 500, "boolean(0.3)"


@pytest.mark.parametrize(
    ("kind", "ops"),
    [(SCALAR, SCALAR_OPS[1:]), (TENSOR, [op for op in TENSOR_OPS[1:] if op not in NETWORK_OPS])],
)
def test_an_ops_plain_capability_is_what_the_ir_names_its_plainest_node(kind, ops) -> None:
    """Seeded graphs of one op each (and neg, always safe): its node of two operands (or
    one constant on the right, or one operand) needs what `plain_capability` says."""
    for op in ops:
        draw = random_scalar_graph if kind == SCALAR else random_tensor_graph
        needs = set()
        for seed in range(30):
            graph, _ = draw(np.random.default_rng(seed), 6, ops=[op, "neg"])
            needs |= {graph.capability(i) for i, n in enumerate(graph.nodes) if n.op == op}
        plain = plain_capability(kind, op)
        assert plain in needs, f"{op}: {plain} not among {sorted(needs)}"
        menu = SCALAR_MENU if kind == SCALAR else TENSOR_MENU
        assert any(entry[0] == op for entry in menu), f"{op} in no menu entry"
