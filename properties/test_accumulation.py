"""Accumulation and reuse: the gradient rules of the spec, on random graphs.

* a second `backward()` on the same output doubles every leaf's gradient;
* `f.backward(); g.backward()` leaves df + dg in each leaf, where f and g share nodes;
* an input the output does not depend on keeps a zero gradient;
* a zero upstream gradient gives zero gradients;
* resetting leaves (``grad = 0`` / ``None``) makes the next pass count alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oracle.ir import SCALAR
from properties import execute
from properties.reference import expected, failure_report, gradient_bounds, mismatches
from properties.strategies import Case, scalar_cases, scalar_menu, tensor_cases, tensor_menu
from properties.targets import Target

KINDS = ("scalar", "tensor")


def cases_for(target: Target, kind: str) -> st.SearchStrategy[Case]:
    if kind == "scalar":
        menu = scalar_menu(target.capabilities)
        if not target.has("Value", "Value.__mul__", "Value.__add__"):
            pytest.skip("target lacks Value with + and *")
        return scalar_cases(menu, max_ops=15)
    if not target.has("Tensor", "Tensor.__mul__", "Tensor.__add__", "Tensor.sum"):
        pytest.skip("target lacks Tensor with +, * and sum")
    return tensor_cases(tensor_menu(target.capabilities), max_ops=8)


def fresh(target: Target, case: Case) -> tuple[dict[str, Any], list[Any]]:
    """Leaves by name and every node, built anew on the target."""
    leaves = {n: execute.leaf(target, case.graph, case.inputs[n]) for n in case.graph.input_names}
    return leaves, execute.build(target, case.graph, leaves)


def loss_of(case: Case, nodes: list[Any], upstream: Any) -> Any:
    return execute.weighted_sum(case.graph, [nodes[o] for o in case.graph.outputs], upstream)


def grads_of(case: Case, leaves: dict[str, Any]) -> list[Any]:
    return [execute.leaf_grad(case.graph, leaves[n]) for n in case.graph.input_names]


def labels(case: Case, what: str) -> list[str]:
    return [f"{what} d/d{n}" for n in case.graph.input_names]


@pytest.mark.parametrize("kind", KINDS)
def test_second_backward_doubles_leaf_gradients(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def doubles(case: Case) -> None:
        leaves, nodes = fresh(target, case)
        loss = execute.weighted_sum(
            case.graph, [nodes[o] for o in case.graph.outputs], case.upstream
        )
        loss.backward()
        once = [np.copy(g) for g in grads_of(case, leaves)]
        loss.backward()
        twice = grads_of(case, leaves)
        bounds = [2 * b for b in gradient_bounds(case, expected(case))]
        problems = mismatches([2 * np.asarray(g) for g in once], twice, bounds, labels(case, "2x"))
        twice_code = "loss.backward()\nloss.backward()  # a second pass doubles every gradient"
        assert not problems, failure_report(case, target, None, problems, backward=twice_code)

    doubles()


@pytest.mark.parametrize("kind", KINDS)
def test_backward_of_two_outputs_adds_up(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def adds_up(case: Case) -> None:
        assume(len(case.graph.outputs) == 2)
        want = expected(case)
        leaves, nodes = fresh(target, case)
        for o, g in zip(case.graph.outputs, case.upstream, strict=True):
            execute.weighted_sum(case.graph, [nodes[o]], [g]).backward()
        names = case.graph.input_names
        problems = mismatches(
            [want.grads[n] for n in names],
            grads_of(case, leaves),
            [2 * b for b in gradient_bounds(case, want)],
            labels(case, "f.backward(); g.backward():"),
        )
        outputs = [f"n{o}" for o in case.graph.outputs]
        split = "\n".join(
            f"({o} * {execute.literal(g)}).backward()"
            for o, g in zip(outputs, case.upstream, strict=True)
        )
        assert not problems, failure_report(case, target, None, problems, backward=split)

    adds_up()


@pytest.mark.parametrize("kind", KINDS)
def test_unused_input_and_zero_upstream_give_zero(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def zero(case: Case) -> None:
        leaves, nodes = fresh(target, case)
        spare = execute.leaf(target, case.graph, _like(case, case.graph.input_names[0]))
        zeros = [np.zeros_like(np.asarray(u, dtype=np.float64)) for u in case.upstream]
        loss = loss_of(case, nodes, zeros)
        loss.backward()
        got = [*grads_of(case, leaves), execute.leaf_grad(case.graph, spare)]
        bad = [
            f"{name}: {g!r}"
            for name, g in zip([*case.graph.input_names, "unused"], got, strict=True)
            if np.any(np.asarray(g) != 0)
        ]
        assert not bad, failure_report(case, target, None, ["zero upstream gave", *bad])

    zero()


@pytest.mark.parametrize("kind", KINDS)
def test_reset_leaves_then_backward_counts_once(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def reset(case: Case) -> None:
        want = expected(case)
        leaves, nodes = fresh(target, case)
        loss = execute.weighted_sum(
            case.graph, [nodes[o] for o in case.graph.outputs], case.upstream
        )
        loss.backward()
        for leaf in leaves.values():
            leaf.grad = 0 if case.graph.kind == SCALAR else None
        loss.backward()
        names = case.graph.input_names
        problems = mismatches(
            [want.grads[n] for n in names],
            grads_of(case, leaves),
            gradient_bounds(case, want),
            labels(case, "after reset:"),
        )
        reset_code = (
            "loss.backward()\n"
            + "\n".join(
                f"{n}.grad = {0 if case.graph.kind == SCALAR else None}"
                for n in case.graph.input_names
            )
            + "\nloss.backward()"
        )
        assert not problems, failure_report(case, target, None, problems, backward=reset_code)

    reset()


def _like(case: Case, name: str) -> Any:
    value = case.inputs[name]
    return value if case.graph.kind == SCALAR else np.ones_like(value)
