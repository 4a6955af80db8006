"""The executor's batch entry point and the one comparison that `vgrad check` and `vgrad
report` judge a graph's answer with."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from oracle.ir import SCALAR, GraphBuilder
from properties import execute
from properties.cases.common import Case
from properties.execute import TargetRun, run_cases
from properties.reference import compare, oracle_answer
from properties.targets import TargetDied, TargetRaised, load_target
from tests.planted import CLEAN_SOURCE

# tanh of a number above 1.5 ends the worker; below -1.5 it raises
FRAGILE_TANH = """
import os

_tanh = Value.tanh


def _fragile_tanh(self):
    if self.data > 1.5:
        os._exit(3)
    if self.data < -1.5:
        raise ValueError("tanh of a large negative number")
    return _tanh(self)


Value.tanh = _fragile_tanh
"""


def tanh_case(x: float) -> Case:
    b = GraphBuilder(SCALAR)
    x_node = b.input("x")
    out = b.op("mul", b.op("tanh", x_node), x_node)
    return Case(b.build([out]), {"x": x}, (1.5,))


def test_a_batch_answers_each_case_as_a_run_of_it_alone() -> None:
    target = load_target("engine")
    cases = [tanh_case(x) for x in (0.3, -0.7, 1.2, 2.5)]
    answers = run_cases(target, cases)
    for case, answer in zip(cases, answers, strict=True):
        alone = execute.run(target, case.graph, case.inputs, case.upstream, values=True)
        assert isinstance(answer, TargetRun), (case, answer)
        assert (answer.outputs, answer.grads, answer.values) == (
            alone.outputs,
            alone.grads,
            alone.values,
        ), case
        outcome = compare(case, oracle_answer(case), answer)
        assert outcome.status == "agree" and not outcome.problems, (case, outcome)


def test_a_case_that_raises_or_kills_the_worker_is_the_only_one_that_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fragile.py"
    path.write_text(CLEAN_SOURCE + FRAGILE_TANH)
    target = load_target(str(path))
    xs = (0.3, -2.0, 0.8, 2.0, -0.4)
    answers = run_cases(target, [tanh_case(x) for x in xs])
    kinds = [type(a) for a in answers]
    assert kinds == [TargetRun, TargetRaised, TargetRun, TargetDied, TargetRun], (xs, answers)
    assert "tanh of a large negative number" in answers[1].describe(), answers[1]
    assert "exited with status 3" in answers[3].message, answers[3].message
    outcome = compare(tanh_case(2.0), oracle_answer(tanh_case(2.0)), answers[3])
    assert outcome.status == "error" and outcome.exception == answers[3].message, outcome


@pytest.mark.parametrize("label", ["d loss / d {}", "d/d{}"])
def test_a_wrong_gradient_disagrees_and_names_the_input(label: str) -> None:
    case = tanh_case(0.6)
    want = oracle_answer(case)
    wrong = TargetRun(list(want.outputs), {"x": want.grads["x"] * (1 + 1e-6)})
    outcome = compare(case, want, wrong, label)
    assert outcome.status == "disagree", outcome
    assert [p.split(":")[0] for p in outcome.problems] == [label.format("x")], outcome.problems
    assert 5e-7 < outcome.gradient_error < 2e-6, outcome
    near = TargetRun(list(want.outputs), {"x": want.grads["x"] * (1 + 1e-15)})
    assert compare(case, want, near, label).status == "agree", compare(case, want, near, label)


def test_a_value_that_is_not_a_number_is_said_in_short_and_in_full() -> None:
    case = tanh_case(0.6)
    want = oracle_answer(case)
    outcome = compare(case, want, TargetRun(list(want.outputs), {"x": None}), "d/d{}")
    assert outcome.status == "disagree" and outcome.bad == ["d/dx: None"], outcome
    assert outcome.problems[0].startswith("d/dx: expected "), outcome.problems
    assert outcome.problems[0].endswith("got None"), outcome.problems
    assert math.isinf(outcome.gradient_error) and np.isnan(outcome.actual_grads["x"]), outcome
