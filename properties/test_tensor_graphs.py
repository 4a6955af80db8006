"""Random tensor graphs: the target's values and gradients agree with the oracle.

Shapes broadcast against each other (0-d, size-1 axes, added leading axes), reductions
run over every axis with and without keepdims, 3-D tensors are transposed by arbitrary
permutations, integer-array indices repeat, and softmax sees logits of any size.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties import running
from properties.cases.explicit import explicit_tensor_cases
from properties.cases.tensor import (
    RANKED_SHAPES,
    TENSOR_CAPABILITY,
    TENSOR_MENU,
    tensor_cases,
    tensor_menu,
)
from properties.settings import TENSOR_SHARE, fewer_examples
from properties.targets import Target, TargetRaised
from properties.test_scalar_graphs import check_case, contains, run_on_target

BASICS = ("Tensor", "Tensor.__mul__", "Tensor.__add__", "Tensor.sum")


def menu_of(target: Target) -> list:
    missing = target.missing(*BASICS)
    if missing:
        pytest.skip(f"target lacks {', '.join(missing)}")
    return tensor_menu(target.capabilities)


def test_random_tensor_graphs_agree_with_oracle(target: Target) -> None:
    menu = menu_of(target)

    @fewer_examples(TENSOR_SHARE)
    @given(data=st.data())
    def agrees(data: st.DataObject) -> None:
        check_case(target, data.draw(tensor_cases(menu), label="case"))

    running.run(agrees, target)


def check_where_backward_runs(target: Target, op: str, variant: str | None) -> None:
    """A limitation's backward raised on its probe, but may run on other shapes (a
    backward that transposes every axis with `.T` runs on square batches): the explicit
    cases where it runs are compared, as a wrong number is a defect, not a limitation."""
    for case in explicit_tensor_cases(op, variant):
        if not isinstance(run_on_target(target, case), TargetRaised):
            check_case(target, case)


@pytest.mark.parametrize(("op", "variant"), TENSOR_MENU, ids=str)
def test_each_tensor_op_agrees_with_oracle(target: Target, op: str, variant: str | None) -> None:
    """One op at a time on fresh inputs, so a missing or broken op is reported by name."""
    menu = menu_of(target)
    capability = TENSOR_CAPABILITY[(op, variant)]
    if (op, variant) not in menu:
        if capability in target.limitations:
            check_where_backward_runs(target, op, variant)
        pytest.skip(f"target lacks {capability}")

    for case in explicit_tensor_cases(op, variant):
        check_case(target, case)

    @fewer_examples(TENSOR_SHARE)
    @given(case=tensor_cases([(op, variant)], max_ops=2, shapes=RANKED_SHAPES))
    def agrees(case) -> None:
        if contains(case, op):  # a case without the op passes: the shrunk case keeps it
            check_case(target, case)

    running.run(agrees, target)
