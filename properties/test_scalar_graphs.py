"""Random scalar graphs: the target's values and gradients agree with the oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from properties import execute
from properties.reference import (
    bounds,
    expected,
    failure_report,
    mismatches,
    reproduction_text,
)
from properties.settings import fewer_examples
from properties.strategies import (
    SCALAR_CAPABILITY,
    SCALAR_MENU,
    Case,
    deep_chain_cases,
    scalar_cases,
    scalar_menu,
)
from properties.targets import Target, TargetRaised


def menu_of(target: Target) -> list:
    menu = scalar_menu(target.capabilities)
    if not target.has("Value", "Value.__mul__", "Value.__add__") or not menu:
        pytest.skip("target lacks Value with + and *")
    return menu


def check_case(target: Target, case: Case) -> None:
    """Run `case` on the target and on the oracle; fail with a reproduction if they differ."""
    want = expected(case)
    if currently_in_test_context():
        note(f"case: {case}")
    try:
        run = execute.run(
            target,
            case.graph,
            case.inputs,
            case.upstream,
            context=lambda: reproduction_text(case, target),
        )
    except TargetRaised as error:  # an exception where the truth is finite is a failure
        problem = f"raised {error.describe()}"
    else:
        problem = None
    if problem:  # raised outside the handler: the same failure wherever the target raised
        raise AssertionError(failure_report(case, target, None, [problem]))
    names = list(case.graph.input_names)
    value_bounds, grad_bounds = bounds(case, want)
    outputs = [f"output n{o}" for o in case.graph.outputs]
    problems = mismatches(want.outputs, run.outputs, value_bounds, outputs)
    problems += mismatches(
        [want.grads[n] for n in names],
        [run.grads[n] for n in names],
        grad_bounds,
        [f"d loss / d {n}" for n in names],
    )
    assert not problems, failure_report(case, target, run, problems, want)


def test_random_scalar_graphs_agree_with_oracle(target: Target) -> None:
    menu = menu_of(target)

    # decorated here, not at import: Hypothesis fixes a test's settings when it is
    # decorated, and a `vgrad check` inside another session reuses the imported module
    @given(data=st.data())
    def agrees(data: st.DataObject) -> None:
        check_case(target, data.draw(scalar_cases(menu), label="case"))

    agrees()


@pytest.mark.parametrize(("op", "side"), SCALAR_MENU, ids=lambda x: str(x))
def test_each_scalar_op_agrees_with_oracle(target: Target, op: str, side: str | None) -> None:
    """One op at a time (with + and * around it), so a missing op is reported by name."""
    menu = menu_of(target)
    if (op, side) not in menu:
        pytest.skip(f"target lacks {SCALAR_CAPABILITY[(op, side)]}")

    @given(case=scalar_cases([(op, side), ("add", None), ("mul", None)], max_ops=6))
    def agrees(case: Case) -> None:
        check_case(target, case)

    agrees()


def test_deep_chains_agree_with_oracle(target: Target) -> None:
    """10,000 nodes deep (beyond the recursion limit Hypothesis raises): the same numbers as
    the oracle, with no RecursionError."""
    menu_of(target)

    @fewer_examples(0.05)
    @given(case=deep_chain_cases(target.capabilities))
    def agrees(case: Case) -> None:
        check_case(target, case)

    agrees()
