"""Random scalar graphs: the target's values and gradients agree with the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from hypothesis.control import current_build_context, currently_in_test_context

from properties import execute, precision, running
from properties.cases.common import Case
from properties.cases.explicit import explicit_scalar_cases
from properties.cases.scalar import (
    SCALAR_CAPABILITY,
    SCALAR_MENU,
    deep_chain_cases,
    scalar_cases,
    scalar_menu,
)
from properties.reference import compare, expected, failure_report, reproduction_text
from properties.settings import fewer_examples
from properties.snippet_rerun import snippet_differs
from properties.targets import Target, TargetRaised


def menu_of(target: Target) -> list:
    menu = scalar_menu(target.capabilities)
    if not target.has("Value", "Value.__mul__", "Value.__add__") or not menu:
        pytest.skip("target lacks Value with + and *")
    return menu


def check_case(target: Target, case: Case, timeout: float | None = None) -> None:
    """Run `case` on the target and on the oracle; fail with a reproduction if they differ."""
    case = precision.rounded(case)
    if not precision.fits([*case.inputs.values(), *case.upstream]):
        return reject_or_skip()
    want = expected(case)
    if not precision.fits([*want.outputs, *want.grads.values()]):
        return reject_or_skip()
    run = run_on_target(target, case, timeout)
    if isinstance(run, TargetRaised):  # an exception where the truth is finite is a failure
        problems = [f"raised {run.describe()}"]
        raise AssertionError(
            failure_report(case, target, None, problems + rerun(target, case, run))
        )
    problems = compare(case, want, run).problems
    if problems:
        problems += rerun(target, case, run)
    assert not problems, failure_report(case, target, run, problems, want)


def contains(case: Case, op: str, side: str | None = "any") -> bool:
    """Whether the case has a node of `op` (with a constant on `side`, if given)."""
    return any(
        node.op == op and (side == "any" or node.const_side == side) for node in case.graph.nodes
    )


def reject_or_skip() -> None:
    """A case outside the run's precision: Hypothesis draws another; an explicit case is
    not compared."""
    if currently_in_test_context():
        reject()


def run_on_target(
    target: Target, case: Case, timeout: float | None = None
) -> execute.TargetRun | TargetRaised:
    """The target's run of the case, or what it raised."""
    try:
        return execute.run(
            target,
            case.graph,
            case.inputs,
            case.upstream,
            context=lambda: reproduction_text(case, target),
            timeout=timeout,
        )
    except TargetRaised as error:
        return error


NOT_DETERMINISTIC = (
    "the target is not deterministic on this case: run again, it {what}, so the snippet "
    "may print other numbers. This usually comes from a backward pass whose order depends "
    "on iterating over a set (or a dict keyed by id()): a topological sort must visit "
    "children in a fixed order."
)


def rerun(target: Target, case: Case, first: execute.TargetRun | TargetRaised) -> list[str]:
    """A line saying the target is not deterministic, if running the case again on it, in
    a fresh worker (a set's order can depend on the process), or its snippet in a fresh
    interpreter (where memory is laid out otherwise), gives anything other than the first
    run's exact numbers (or exception). Asked only of the case a failure reports
    (Hypothesis's final run, or an explicit case): not at each step of shrinking, where a
    fresh worker per failing step made a failing property several seconds slower."""
    if not _reported_case():
        return []
    target.close()  # the next call starts a fresh worker, as a pasted snippet would
    again = run_on_target(target, case)
    if isinstance(first, TargetRaised) or isinstance(again, TargetRaised):
        if isinstance(first, TargetRaised) and isinstance(again, TargetRaised):
            pasted = snippet_differs(target, case, first)
            if pasted is None:
                return []
            return [
                NOT_DETERMINISTIC.format(
                    what=f"{pasted} when its snippet ran in a fresh interpreter"
                )
            ]
        what = f"raised {again.describe()}" if isinstance(again, TargetRaised) else "did not raise"
        return [NOT_DETERMINISTIC.format(what=what)]
    if not (
        exactly_equal(first.outputs, again.outputs)
        and exactly_equal(
            [first.grads[n] for n in case.graph.input_names],
            [again.grads[n] for n in case.graph.input_names],
        )
    ):
        return [NOT_DETERMINISTIC.format(what="gave other numbers")]
    pasted = snippet_differs(target, case, first)  # as a user runs it: memory laid out anew
    if pasted is None:
        return []
    return [NOT_DETERMINISTIC.format(what=f"{pasted} when its snippet ran in a fresh interpreter")]


def _reported_case() -> bool:
    """Whether this run's failure is the one reported: Hypothesis's final run of the
    shrunk case, or a case run outside Hypothesis."""
    return not currently_in_test_context() or current_build_context().is_final


def exactly_equal(a: list, b: list) -> bool:
    for x, y in zip(a, b, strict=True):
        if type(x) is not type(y):
            return False
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
                return False
        elif not (x == y or (x != x and y != y)):
            return False
    return True


def test_random_scalar_graphs_agree_with_oracle(target: Target) -> None:
    menu = menu_of(target)

    # decorated here, not at import: Hypothesis fixes a test's settings when it is
    # decorated, and a `vgrad check` inside another session reuses the imported module
    @given(data=st.data())
    def agrees(data: st.DataObject) -> None:
        check_case(target, data.draw(scalar_cases(menu), label="case"))

    running.run(agrees, target)


@pytest.mark.parametrize(("op", "side"), SCALAR_MENU, ids=lambda x: str(x))
def test_each_scalar_op_agrees_with_oracle(target: Target, op: str, side: str | None) -> None:
    """One op at a time (with + and * around it), so a missing op is reported by name."""
    menu = menu_of(target)
    if (op, side) not in menu:
        pytest.skip(f"target lacks {SCALAR_CAPABILITY[(op, side)]}")

    @given(case=scalar_cases([(op, side), ("add", None), ("mul", None)], max_ops=6))
    def agrees(case: Case) -> None:
        if contains(case, op, side):  # a case without the op passes: the shrunk case keeps it
            check_case(target, case)

    running.run(agrees, target)
    # after the random cases (which shrink to the plainest one when the op is wrong
    # everywhere): the op's input also feeding another op, both ways round
    for case in explicit_scalar_cases(op, side):
        check_case(target, case)


@pytest.mark.parametrize("ops", ["arithmetic", "every_op"])
def test_deep_chains_agree_with_oracle(target: Target, ops: str) -> None:
    """10,000 nodes deep (beyond the recursion limit Hypothesis raises): the same numbers as
    the oracle, with no RecursionError. First chains of ``+ - *`` alone, so a RecursionError
    is found whatever else is wrong; then chains of every smooth op the target has."""
    menu_of(target)  # Value with + and * at least: the arithmetic chains' own menu

    @fewer_examples(0.05)
    @given(case=deep_chain_cases(target.capabilities, arithmetic=ops == "arithmetic"))
    def agrees(case: Case) -> None:
        check_case(target, case)

    running.run(agrees, target)
