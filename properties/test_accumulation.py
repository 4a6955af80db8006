"""Accumulation and reuse: the gradient rules of the spec, on random graphs.

* a second `backward()` on the same output doubles every leaf's gradient;
* `f.backward(); g.backward()` leaves df + dg in each leaf, where f and g share nodes;
* an input the output does not depend on keeps a zero gradient;
* a zero upstream gradient gives zero gradients;
* resetting leaves (``grad = 0`` / ``None``) makes the next pass count alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oracle.ir import SCALAR
from properties import execute, precision, running
from properties.cases.common import Case
from properties.cases.scalar import scalar_cases, scalar_menu
from properties.cases.tensor import tensor_cases, tensor_menu
from properties.reference import (
    bad_value,
    expected,
    failure_report,
    gradient_bounds,
    mismatches,
    reproduction_text,
)
from properties.targets import Target, TargetRaised

KINDS = ("scalar", "tensor")


def cases_for(target: Target, kind: str) -> st.SearchStrategy[Case]:
    if kind == "scalar":
        menu = scalar_menu(target.capabilities)
        if not target.has("Value", "Value.__mul__", "Value.__add__"):
            pytest.skip("target lacks Value with + and *")
        return scalar_cases(menu, max_ops=15).map(precision.rounded)
    if not target.has("Tensor", "Tensor.__mul__", "Tensor.__add__", "Tensor.sum"):
        pytest.skip("target lacks Tensor with +, * and sum")
    return tensor_cases(tensor_menu(target.capabilities), max_ops=8).map(precision.rounded)


def on_target(target: Target, case: Case, script: str, backward: str) -> dict[str, Any]:
    """Run an accumulation script (`properties.worker.tasks.accumulate`) on a fresh build
    of the case; an exception from the target is the case's failure."""
    try:
        answer = target.call(
            "accumulate",
            context=lambda: reproduction_text(case, target, backward),
            graph=execute.wire(case.graph),
            inputs=dict(case.inputs),
            upstream=list(case.upstream),
            script=script,
        )
    except TargetRaised as error:
        raise AssertionError(
            failure_report(case, target, None, [f"raised {error.describe()}"], backward=backward)
        ) from None
    return answer


def grads_of(case: Case, grads: list[Any]) -> list[Any]:
    names = case.graph.input_names
    return list(execute.leaf_grads(case.graph, dict(zip(names, grads, strict=True))).values())


def labels(case: Case, what: str) -> list[str]:
    return [f"{what} d/d{n}" for n in case.graph.input_names]


@pytest.mark.parametrize("kind", KINDS)
def test_second_backward_doubles_leaf_gradients(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def doubles(case: Case) -> None:
        twice_code = "loss.backward()\nloss.backward()  # a second pass doubles every gradient"
        answer = on_target(target, case, "twice", twice_code)
        once, twice = grads_of(case, answer["first"]), grads_of(case, answer["grads"])
        bounds = [2 * b for b in gradient_bounds(case, expected(case))]
        problems = [
            f"after one pass: d/d{n}: {why}"
            for n, g in zip(case.graph.input_names, once, strict=True)
            if (why := bad_value(g))
        ]
        if not problems:
            doubled = [2 * np.asarray(g, dtype=np.float64) for g in once]
            problems = mismatches(doubled, twice, bounds, labels(case, "2x"))
        assert not problems, failure_report(case, target, None, problems, backward=twice_code)

    running.run(doubles, target)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_of_two_outputs_adds_up(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def adds_up(case: Case) -> None:
        # each output's backward in turn (two or more outputs sharing interior nodes)
        assume(len(case.graph.outputs) >= 2)
        want = expected(case)
        outputs = [f"n{o}" for o in case.graph.outputs]
        reduce = "" if case.graph.kind == SCALAR else ".sum()"
        cls = "Value" if case.graph.kind == SCALAR else "Tensor"
        leaves = target.constants_as_leaves(case.graph.kind)
        split = "\n".join(
            f"({o} * {f'{cls}({execute.literal(g)})' if leaves else execute.literal(g)})"
            f"{reduce}.backward()"
            for o, g in zip(outputs, case.upstream, strict=True)
        )
        answer = on_target(target, case, "split", split)
        names = case.graph.input_names
        problems = mismatches(
            [want.grads[n] for n in names],
            grads_of(case, answer["grads"]),
            [2 * b for b in gradient_bounds(case, want)],
            labels(case, "f.backward(); g.backward():"),
        )
        assert not problems, failure_report(case, target, None, problems, backward=split)

    running.run(adds_up, target)


def zero_upstream(case: Case) -> Case:
    """The case with every upstream gradient 0, as the worker runs it (so its snippet does
    the same). A float32 run rejects a case whose values overflow float32: there the
    engine's inf * 0 is nan, which says nothing about its gradients."""
    if precision.current() is not precision.FLOAT64:
        expected(case)  # rejects what does not fit the run's precision
    zeros = tuple(np.zeros_like(u) for u in case.upstream)
    if case.graph.kind == SCALAR:
        zeros = tuple(float(z) for z in zeros)
    return replace(case, upstream=zeros)


@pytest.mark.parametrize("kind", KINDS)
def test_unused_input_and_zero_upstream_give_zero(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def zero(case: Case) -> None:
        case = zero_upstream(case)
        ones = np.ones_like(np.asarray(case.inputs[case.graph.input_names[0]], dtype=float))
        leaf = "Value(1.0)" if case.graph.kind == SCALAR else f"Tensor({execute.literal(ones)})"
        zero_code = (
            f"unused = {leaf}  # a leaf the graph does not use\n"
            "loss.backward()  # every upstream gradient is 0\n"
            "print('d loss / d unused =', unused.grad)"
        )
        answer = on_target(target, case, "zero", zero_code)
        spare = answer["spare"]
        if case.graph.kind != SCALAR and spare is None:
            spare = 0.0
        got = [*grads_of(case, answer["grads"]), spare]
        bad = [
            f"{name}: {bad_value(g) or repr(g)}"
            for name, g in zip([*case.graph.input_names, "unused"], got, strict=True)
            if bad_value(g) or np.any(np.asarray(g) != 0)
        ]
        problems = ["zero upstream gave", *bad]
        assert not bad, failure_report(case, target, None, problems, backward=zero_code)

    running.run(zero, target)


@pytest.mark.parametrize("kind", KINDS)
def test_reset_leaves_then_backward_counts_once(target: Target, kind: str) -> None:
    @given(case=cases_for(target, kind))
    def reset(case: Case) -> None:
        want = expected(case)
        reset_code = (
            "loss.backward()\n"
            + "\n".join(
                f"{n}.grad = {0 if case.graph.kind == SCALAR else None}"
                for n in case.graph.input_names
            )
            + "\nloss.backward()"
        )
        answer = on_target(target, case, "reset", reset_code)
        names = case.graph.input_names
        problems = mismatches(
            [want.grads[n] for n in names],
            grads_of(case, answer["grads"]),
            gradient_bounds(case, want),
            labels(case, "after reset:"),
        )
        assert not problems, failure_report(case, target, None, problems, backward=reset_code)

    running.run(reset, target)
