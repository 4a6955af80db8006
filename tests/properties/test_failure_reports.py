"""How `vgrad check` reports failures: every distinct failure on its own, flaky ones
said to be flaky, and a target that gives other numbers for the same case named as not
deterministic."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis.errors import FlakyFailure, UnsatisfiedAssumption
from reproduce import assert_snippet_reproduces
from rich.console import Console

from oracle.ir import TENSOR, GraphBuilder
from properties.cases.common import Case
from properties.conftest import failures_of
from properties.test_accumulation import zero_upstream
from reports.check import print_report, run_check
from tests.planted import CLEAN_SOURCE


def test_each_failure_of_a_group_is_reported_on_its_own() -> None:
    group = ExceptionGroup(
        "Hypothesis found 2 distinct failures",
        [AssertionError("tanh is wrong"), ExceptionGroup("inner", [ValueError("boom")])],
    )
    assert failures_of(group) == ["tanh is wrong", "ValueError: boom"]


def test_a_flaky_failure_says_so() -> None:
    flaky = FlakyFailure("Inconsistent results", [AssertionError("exp is wrong")])
    (message,) = failures_of(flaky)
    assert message.startswith("flaky:") and message.endswith("exp is wrong"), message
    assert "a set, or a dict keyed by id()" in message, message


def test_hypothesis_notes_are_dropped_and_others_kept() -> None:
    error = AssertionError("value differs")
    error.add_note("Falsifying example: agrees(case=...)")
    error.add_note("the second run differs")
    assert failures_of(error) == ["value differs\nthe second run differs"]


NOISY_TANH = (
    CLEAN_SOURCE
    + """

import random as _random

_tanh = Value.tanh


def _noisy_tanh(self):
    out = _tanh(self)
    out._partials = (out._partials[0] * (1 + 1e-3 * _random.random()),)
    return out


Value.tanh = _noisy_tanh
"""
)


def test_a_target_that_changes_its_numbers_is_named_not_deterministic(tmp_path: Path) -> None:
    engine = tmp_path / "noisy.py"
    engine.write_text(NOISY_TANH)
    report = run_check(str(engine), profile="quick", select="each_scalar_op and tanh", seed=1)
    failed = [c for c in report.cases if c.outcome == "failed"]
    assert failed, [(c.nodeid, c.outcome) for c in report.cases]
    assert "the target is not deterministic on this case" in failed[0].message, failed[0].message


TANH_FROM_INPUT = (
    CLEAN_SOURCE
    + """

def _tanh_from_input(self):  # tanh' as 1 - x**2, the input's square instead of the output's
    return Value(math.tanh(self.data), (self,), (1.0 - self.data**2,))


Value.tanh = _tanh_from_input
"""
)


def test_a_finite_truth_failure_shows_what_its_snippet_prints(tmp_path: Path) -> None:
    """The kink cases compare the gradient of f, their snippet prints d loss / d x for a
    loss of -1.75 * f(x): the failure says both, so the pasted snippet's number is in it."""
    engine = tmp_path / "tanh_from_input.py"
    engine.write_text(TANH_FROM_INPUT)
    report = run_check(str(engine), profile="quick", select="scalar_finite_truths and 400", seed=1)
    failed = {c.nodeid: c.message for c in report.cases if c.outcome == "failed"}
    message = failed.get("properties/test_conventions.py::test_scalar_finite_truths[tanh(400)]")
    assert message, failed
    assert "gradient -159999.0, expected 0.0" in message, message
    assert "d loss / d x: expected -0.0, got 279998.25" in message, message
    assert_snippet_reproduces(message, tmp_path)


def test_a_zero_upstream_failure_has_a_snippet_that_does_the_same(tmp_path: Path) -> None:
    """The zero-upstream property's snippet backpropagates a zero upstream gradient and
    prints the spare leaf's gradient, as the worker did: it prints what the failure says."""
    engine = Path(__file__).resolve().parents[1] / "corpus" / "none_grad_value.py"
    select = "unused_input_and_zero_upstream and scalar"
    report = run_check(str(engine), profile="quick", select=select, seed=1)
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    said, snippet = failed.message.split("reproduce with:\n", 1)
    assert "unused: None" in said, failed.message
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    printed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for name, value in re.findall(r"^  (\w+): (.+)$", said, re.MULTILINE):
        assert f"d loss / d {name} = {value}\n" in printed, (name, value, printed, snippet)


# reject() called outside a Hypothesis test, as this test calls it, warns
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_a_float32_run_has_no_zero_upstream_case_that_overflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """exp(100) overflows float32: a float32 engine's gradient there is inf * 0 = nan with a
    zero upstream, which is no defect, so a float32 run rejects the case; float64 keeps it."""
    builder = GraphBuilder(TENSOR)
    graph = builder.build([builder.op("exp", builder.input("x", (2,)))])
    case = Case(graph, {"x": np.array([100.0, 1.0])}, (np.array([0.5, -1.0]),))
    monkeypatch.setenv("VGRAD_PRECISION", "float64")
    assert zero_upstream(case).upstream[0].tolist() == [0.0, 0.0]
    monkeypatch.setenv("VGRAD_PRECISION", "float32")
    with pytest.raises(UnsatisfiedAssumption):
        zero_upstream(case)


CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _pasted(snippet: str, folder: Path) -> subprocess.CompletedProcess:
    script = folder / "snippet.py"
    script.write_text(snippet)
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=folder
    )


def _failures(engine: str, select: str) -> dict[str, str]:
    report = run_check(str(CORPUS / engine), profile="quick", select=select, seed=1)
    return {c.nodeid.split("::")[1]: c.message for c in report.cases if c.outcome == "failed"}


def test_conformance_failures_have_a_snippet_that_shows_them(tmp_path: Path) -> None:
    """A missing operator, a refused plain number, a leaf's backward: each failure says
    what was expected and what the target did, and its pasted snippet shows it."""
    failed = _failures("no_number_operands.py", "required_operators or plain_numbers")
    message = failed.get("test_required_operators_exist[Value]")
    assert message and "expected: `3.0 + x`" in message, failed
    printed = _pasted(message.split("reproduce with:\n", 1)[1], tmp_path)
    assert "3.0 / x raised TypeError:" in printed.stdout, (printed, message)
    message = failed.get("test_arithmetic_takes_plain_numbers[Value]")
    assert message and "got: it raised AttributeError" in message, failed
    printed = _pasted(message.split("reproduce with:\n", 1)[1], tmp_path)
    assert "AttributeError: 'float' object has no attribute 'data'" in printed.stderr, printed
    failed = _failures("float32_tensor.py", "backward_on_a_leaf_gives_one")
    message = failed.get("test_backward_on_a_leaf_gives_one[tensor]")
    assert message and "expected 1.0, got an array of float32" in message, failed
    printed = _pasted(message.split("reproduce with:\n", 1)[1], tmp_path)
    assert "x.grad = array(1., dtype=float32)" in printed.stdout, (printed, message)


def test_relu_at_zero_says_what_it_expected(tmp_path: Path) -> None:
    message = _failures("tensor_ints_reshape_relu.py", "tensor_relu_at_zero").get(
        "test_tensor_relu_at_zero"
    )
    assert message, "tensor_ints_reshape_relu passed test_tensor_relu_at_zero"
    assert "expected [0.0, 0.0, -3.0] (relu'(0) = 0), got [0.0, 2.5, -3.0]" in message, message
    assert "the case:" not in message, message
    printed = _pasted(message.split("reproduce with:\n", 1)[1], tmp_path)
    assert "d loss / d x = [ 0.   2.5 -3. ]" in printed.stdout, (printed, message)


# tanh' off by half inside the suite's worker only: every fresh worker gives the same wrong
# number, a pasted snippet the truth (as a set's order does when memory is laid out anew)
TANH_IN_WORKERS = (
    CLEAN_SOURCE
    + """

import sys as _sys

_tanh = Value.tanh


def _tanh_in_workers(self):
    out = _tanh(self)
    if "properties.worker.tasks" in _sys.modules:
        out._partials = (out._partials[0] * 1.5,)
    return out


Value.tanh = _tanh_in_workers
"""
)


def test_numbers_a_pasted_snippet_does_not_print_are_named_not_deterministic(
    tmp_path: Path,
) -> None:
    engine = tmp_path / "tanh_in_workers.py"
    engine.write_text(TANH_IN_WORKERS)
    report = run_check(str(engine), profile="quick", select="each_scalar_op and tanh", seed=1)
    failed = [c for c in report.cases if c.outcome == "failed"]
    assert failed, [(c.nodeid, c.outcome) for c in report.cases]
    message = failed[0].message
    assert "the target is not deterministic on this case" in message, message
    assert "when its snippet ran in a fresh interpreter" in message, message
    assert "iterating over a set" in message, message


def test_a_float64_run_on_a_float32_engine_says_so_once() -> None:
    """Not only one "not float64" failure per property: one note, in the report (hence the
    JSON) and on the console, naming the option that checks the engine in float32."""
    report = run_check(
        str(CORPUS / "float32_tensor.py"), profile="quick", select="leaf_gives_one", seed=1
    )
    assert report.count("failed"), [(c.nodeid, c.outcome) for c in report.cases]
    (note,) = report.notes
    assert note.startswith("this target computes in float32") and "--precision float32" in note
    console = Console(record=True, width=200)
    print_report(report, console)
    assert console.export_text().count("with --precision float32") == 1, report.notes
    float32 = run_check(
        str(CORPUS / "float32_tensor.py"),
        profile="quick",
        select="leaf_gives_one",
        seed=1,
        precision="float32",
    )
    assert not float32.notes and not float32.count("failed"), float32.cases
