"""How protocol v2 failures (functional ops, layers, `Sequential`, training) are reported:
each with a JAX-free second opinion, large disagreements summarised with their common
ratio, plain numbers, a case record that does not break a pasted snippet, and arguments
verified on those the target takes while the others are listed as missing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from reproduce import assert_snippet_reproduces

from oracle import networks, second_opinion
from oracle.ir import TENSOR, GraphBuilder
from oracle.snippet import to_python
from properties.cases.layers import FunctionalCase, explicit_functional_case
from properties.diagnosis import of_failure
from properties.mismatch_summary import summarised
from properties.network_opinion import (
    Disagreement,
    functional_graph,
    functional_verdict,
    network_verdict,
    opinions_of,
    raised_verdict,
    ties_verdict,
    training_verdict,
)
from properties.reference import CASE_MARKER
from properties.targets import load_target
from properties.test_functional import _tie_problems
from properties.test_sequential import _separable_images, digits_cnn
from reports.check import run_check
from tests.planted import BUGS, CLEAN_SOURCE, write_engine

RIGHT_GOT_WRONG = "expected agrees with the second opinion, actual does not"


def _functional(case: FunctionalCase) -> tuple[list, list]:
    out, grads = networks.vjp(
        networks.Call(case.name, case.tensors, case.kwargs, case.rest), case.upstream
    )
    want = [out, *grads]
    return want, [np.full(np.shape(w), 1e-12) for w in want]


def test_a_functional_failure_gets_a_second_opinion_that_sides_with_the_truth() -> None:
    case = explicit_functional_case(
        "conv2d", {"functional.conv2d(stride=...)", "functional.conv2d(padding=...)"}
    )
    want, allowed = _functional(case)
    got = [w.copy() for w in want]
    got[1][0, 1, 2, 3] *= 3.0  # the input's gradient wrong at one entry
    said = functional_verdict(case, want, got, allowed)
    assert said.startswith("second opinion (mpmath"), said
    assert f"the entry farthest apart (d/d x0[0, 1, 2, 3]): {RIGHT_GOT_WRONG}" in said, said
    assert "values: both agree" in said, said
    # the other way round: the target right and the expected numbers wrong
    flipped = functional_verdict(case, got, want, allowed)
    assert "actual agrees with the second opinion, expected does not" in flipped, flipped


def test_an_exception_of_the_target_gets_the_expected_output_judged() -> None:
    case = explicit_functional_case("conv2d", {"functional.conv2d(padding=...)"})
    want, _ = _functional(case)
    said = raised_verdict(functional_graph(case)[0], want[0])
    assert "the target raised, so only the expected output (shape (2, 3, 5, 7))" in said, said
    assert "it agrees with the second opinion" in said, said
    assert "does not agree" in raised_verdict(functional_graph(case)[0], want[0] + 1.0)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("binary_cross_entropy_with_logits", -1.0),  # d/d targets = -x / n with its sign
        ("mse_loss", 0.5),  # d/d target = -2 (x - y) / n without the factor 2
        ("hinge_loss", -1.0),  # d/d labels = -x / n where the margin is positive
    ],
)
def test_a_loss_gets_its_second_arguments_gradient_judged(name: str, wrong: float) -> None:
    case = explicit_functional_case(name, set())
    want, allowed = _functional(case)
    said = functional_verdict(case, want, [*want[:2], want[2] * wrong], allowed)
    assert "(d/d x1[" in said and f"{RIGHT_GOT_WRONG} (relative errors" in said, said
    assert "values: both agree" in said, said
    right = functional_verdict(case, want, [want[0] * 2, *want[1:]], allowed)
    assert f"values: {RIGHT_GOT_WRONG}" in right and "gradients" not in right, right
    # the second opinion's own loss and gradients, against the oracle's
    ir, names = functional_graph(case)
    assert names == ["x0", "x1"], names
    truth = second_opinion.gradient(ir.graph, ir.inputs, ir.upstream, dps=30)
    for k, n in enumerate(names):
        np.testing.assert_allclose(truth[n], want[1 + k], rtol=1e-14, atol=1e-300, err_msg=n)


def test_a_sequential_failure_gets_a_second_opinion() -> None:
    case = _separable_images()  # Conv2d(padding 1), ReLU, MaxPool2d, Flatten, Linear
    out, x_grad, grads = networks.network_vjp(case.layers, case.params, case.x, case.loss, case.y)
    want = [out, x_grad, *grads]
    allowed = [np.full(np.shape(w), 1e-12) for w in want]
    got = [float(out) / 2, x_grad, *(g / 2 for g in grads)]
    said = network_verdict(case, 1.0, want, got, allowed)
    assert f"{RIGHT_GOT_WRONG} (relative errors: expected" in said, said
    assert f"values: {RIGHT_GOT_WRONG}" in said, said
    assert "both agree" in network_verdict(case, 1.0, want, want, allowed)
    steps = training_verdict(case, float(out), float(out))
    assert "both agree" in steps and "comes from the steps" in steps, steps


def test_a_large_network_is_judged_in_float64_within_its_own_error() -> None:
    case = digits_cnn()  # 7114 numbers: too many for mpmath, judged by float64 differences
    out, x_grad, grads = networks.network_vjp(case.layers, case.params, case.x, case.loss, case.y)
    want = [out, x_grad, *grads]
    allowed = [np.full(np.shape(w), 1e-12) for w in want]
    said = network_verdict(case, 1.0, want, [w * 0.1 for w in want], allowed)
    assert said.startswith("second opinion (float64 NumPy"), said
    assert "entries farthest apart (d/d " in said and RIGHT_GOT_WRONG in said, said


def test_each_failure_of_a_group_gets_its_own_opinion() -> None:
    group = ExceptionGroup("two", [Disagreement("a", lambda: "opinion a"), AssertionError("b")])
    broken = Disagreement("c", lambda: 1 / 0)
    assert opinions_of(group) == ["opinion a", ""]
    assert opinions_of(broken)[0].startswith("second opinion unavailable: ZeroDivisionError")


def test_a_large_disagreement_is_summarised_with_its_common_ratio() -> None:
    rng = np.random.default_rng(3)
    want = [2.3, rng.normal(size=(16, 1, 8, 8)), rng.normal(size=(32, 16, 3, 3))]
    got = [w * 0.1 for w in want]
    allowed = [1e-12, np.full((16, 1, 8, 8), 1e-12), np.full((32, 16, 3, 3), 1e-12)]
    lines = summarised(want, got, allowed, ["out", "d loss / d x", "d loss / d w"])
    text = "\n".join(lines)
    assert len(lines) == 4 and text.count("\n") == 3, text  # out, two summaries, the ratio
    assert "1024 of 1024 entries differ" in text and "4608 of 4608 entries differ" in text, text
    assert lines[-1].startswith("every differing entry (5633) is the expected one times 0.1 ")
    assert "(= 1/10)" in lines[-1], text
    worst = np.unravel_index(np.argmax(np.abs(want[1])), want[1].shape)
    assert f"the worst: {[int(i) for i in worst]}: expected {float(want[1][worst])!r}" in text
    # two factors: each quantity says its own, none is common
    got[2] = want[2] / 160
    text = "\n".join(summarised(want, got, allowed, ["out", "d loss / d x", "d loss / d w"]))
    assert "times 0.00625 (= 1/160)" in text and "every differing entry" not in text, text


def test_the_ties_message_shows_plain_numbers() -> None:
    x = np.zeros((1, 1, 2, 2))
    case = FunctionalCase(
        "max_pool2d", (x,), {"kernel_size": 2}, upstream=np.full((1, 1, 1, 1), 1.5)
    )
    problems = _tie_problems(
        case, np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), np.full(x.shape, 1.5)
    )
    assert problems and "np.float64" not in problems[0], problems
    assert "sum to 6.0, not the upstream 1.5" in problems[0], problems
    said = ties_verdict(case, np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), np.full(x.shape, 1.5))
    assert "windows [0, 0, 0, 0], as derivatives along" in said and RIGHT_GOT_WRONG in said, said


def test_a_snippet_with_its_case_record_runs_as_pasted() -> None:
    b = GraphBuilder(TENSOR)
    graph = b.build([b.op("tanh", b.input("x", (2,)))])
    code = to_python(graph, {"x": np.array([0.5, -1.0])}, module="engine", upstream=(np.ones(2),))
    record = CASE_MARKER + json.dumps({"case": {"inputs": {"x": [0.5, -1.0]}}})
    compile(code + record + "\n", "<pasted>", "exec")  # a SyntaxError if it were not Python


def test_conv2d_arguments_are_verified_and_the_missing_listed(tmp_path: Path) -> None:
    """The planted clean engine takes bias, stride and padding, not dilation or groups."""
    clean = run_check(
        str(write_engine(None, tmp_path)), "quick", 1, "functional_arguments_are_accepted"
    )
    conv = next(c for c in clean.cases if c.nodeid.endswith("[conv2d]"))
    missing = "target lacks functional.conv2d(dilation=...), functional.conv2d(groups=...)"
    assert (conv.outcome, conv.reason) == ("passed", missing), conv
    bug = next(b for b in BUGS if b.name == "conv_stride_ignored_backward")
    broken = run_check(str(write_engine(bug, tmp_path)), "quick", 1, "arguments_are_accepted")
    conv = next(c for c in broken.cases if c.nodeid.endswith("[conv2d]"))
    assert conv.outcome == "failed" and conv.reason == missing, conv
    assert conv.message.startswith("functional.conv2d with stride (and no other"), conv.message
    assert RIGHT_GOT_WRONG in conv.verdict, conv.verdict


def test_the_softmax_of_huge_logits_shows_expected_and_actual(tmp_path: Path) -> None:
    bug = next(b for b in BUGS if b.name == "softmax_naive_overflow")
    report = run_check(str(write_engine(bug, tmp_path)), "quick", 1, "softmax_of_huge_logits")
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    assert "softmax of logits of ±1000 is not finite\nvalue: expected [[1. " in failed.message
    assert "got [[nan" in failed.message and "d/dx: expected [[" in failed.message, failed.message
    assert f"values: {RIGHT_GOT_WRONG}" in failed.verdict, failed.verdict
    assert_snippet_reproduces(failed.message, tmp_path)


def test_a_wrong_log_softmax_gradient_gets_a_second_opinion(tmp_path: Path) -> None:
    """The log_softmax convention's failure: every number, a snippet, and the mpmath
    verdict on the gradient (right) and the values (both agree)."""
    bug = next(b for b in BUGS if b.name == "log_softmax_grad_missing_sum")
    report = run_check(str(write_engine(bug, tmp_path)), "quick", 1, "softmax_of_huge_logits")
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    assert failed.nodeid.endswith("[log_softmax]"), failed.nodeid
    said = failed.message.split("reproduce with:")[0]
    assert "d/dx: expected [[-0.8 " in said and "got [[ 0. " in said, said
    assert "(at index (0, 0): error 0.8 > allowed" in said, said
    assert f"gradients: {RIGHT_GOT_WRONG}" in failed.verdict, failed.verdict
    assert "values: both agree" in failed.verdict, failed.verdict
    assert_snippet_reproduces(failed.message, tmp_path)


# cross_entropy averaged over N * C (here C = 10): the loss and every gradient 1/10 of torch's
MEAN_OVER_CLASSES = CLEAN_SOURCE.replace(
    "        -log_p[np.arange(n), labels].sum() / n,\n        (z,),\n"
    "        lambda g: (g * (np.exp(log_p) - one_hot) / n,),",
    "        -log_p[np.arange(n), labels].sum() / z.data.size,\n        (z,),\n"
    "        lambda g: (g * (np.exp(log_p) - one_hot) / z.data.size,),",
)


def test_the_digits_failure_is_short_and_its_snippet_prints_what_it_says(tmp_path: Path) -> None:
    assert MEAN_OVER_CLASSES != CLEAN_SOURCE
    engine = tmp_path / "mean_over_classes.py"
    engine.write_text(MEAN_OVER_CLASSES)
    report = run_check(str(engine), "quick", 1, "digits")
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    said = failed.message.split("reproduce with:")[0]
    assert said.count("\n") < 40, said  # 8 quantities, large ones summarised: ~950 before
    assert "is the expected one times 0.1 (= 1/10)" in said, said
    assert failed.verdict.startswith("second opinion (float64 NumPy"), failed.verdict
    assert RIGHT_GOT_WRONG in failed.verdict, failed.verdict
    assert_snippet_reproduces(failed.message, tmp_path)  # the worst entries' numbers too


def test_a_training_failure_is_diagnosed_on_its_network_and_its_optimizer(tmp_path: Path) -> None:
    target = load_target(str(write_engine(None, tmp_path)))
    item = SimpleNamespace(
        funcargs={"target": target},
        nodeid="properties/test_sequential.py::test_training_follows_the_oracle_step_by_step",
        callspec=None,
    )
    failed = ExceptionGroup("two", [Disagreement("steps differ", lambda: "", "Adam")])
    try:
        network, optimizer = of_failure(item, failed).splitlines()
        assert "a Sequential" in network and network.startswith("no diagnosis"), network
        assert "Adam" in optimizer and optimizer.startswith("no diagnosis"), optimizer
        # without the optimizer (a failure before training), the network's alone
        assert of_failure(item, AssertionError("raised")) == network
    finally:
        target.close()
