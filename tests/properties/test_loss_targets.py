"""The gradient of a loss's second argument: verified where the spec makes it
differentiable (torch gives `mse_loss`'s target and `binary_cross_entropy_with_logits`'s
targets gradients), and a limitation where the spec lets a target treat it as data
(`hinge_loss`'s ±1 labels, plain numbers in micrograd's demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reproduce import assert_snippet_reproduces

from oracle import networks
from properties.cases.layers import explicit_functional_case
from properties.network_opinion import functional_verdict
from properties.targets import load_target
from properties.worker.network_ops import HINGE_LABELS
from reports.check import run_check
from tests.planted import BUGS, CLEAN_SOURCE, write_engine

RIGHT_GOT_WRONG = "expected agrees with the second opinion, actual does not"
HINGE = "return (1.0 - _tensor(labels) * scores).relu().mean()"
# the labels as constants: NumPy data, as micrograd's demo's plain-number labels
LABELS_AS_DATA = CLEAN_SOURCE.replace(
    HINGE, "return (1.0 - _tensor(labels).data * _tensor(scores)).relu().mean()"
)
# and BCE's targets as constants too: torch gives them a gradient, so this is a failure
TARGETS_AS_DATA = CLEAN_SOURCE.replace("(z, y), lambda g:", "(z,), lambda g:").replace(
    "-g * z.data / n))", "))"
)


@pytest.mark.parametrize(
    ("bug", "property_", "entry"),
    [
        ("bce_targets_grad_sign", "binary_cross_entropy_with_logits", "times -1"),
        ("mse_target_grad_missing_two", "mse_loss", "times 0.5 (= 1/2)"),
        ("hinge_labels_grad_sign", "hinge_loss", "d loss / d x1: expected"),
    ],
)
def test_a_wrong_second_argument_gradient_fails_with_a_second_opinion(
    bug: str, property_: str, entry: str, tmp_path: Path
) -> None:
    planted = next(b for b in BUGS if b.name == bug)
    report = run_check(str(write_engine(planted, tmp_path)), "quick", 1, f"agrees and {property_}")
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    said = failed.message.split("reproduce with:")[0]
    assert "d loss / d x1" in said and "d loss / d x0" not in said and entry in said, said
    assert "(d/d x1[" in failed.verdict and RIGHT_GOT_WRONG in failed.verdict, failed.verdict
    assert not report.limitations, report.limitations
    assert_snippet_reproduces(failed.message, tmp_path)


def test_hinge_labels_without_a_gradient_are_a_limitation(tmp_path: Path) -> None:
    assert LABELS_AS_DATA != CLEAN_SOURCE
    engine = tmp_path / "labels_as_data.py"
    engine.write_text(LABELS_AS_DATA)
    report = run_check(str(engine), "quick", 1, "agrees and hinge_loss")
    assert [c.outcome for c in report.cases] == ["passed"], report.cases
    assert "no gradient" in report.limitations[HINGE_LABELS], report.limitations
    strict = run_check(str(engine), "quick", 1, "agrees and hinge_loss", strict=True)
    assert any(c.outcome == "failed" for c in strict.cases), strict.cases


def test_bce_targets_without_a_gradient_fail(tmp_path: Path) -> None:
    assert TARGETS_AS_DATA != CLEAN_SOURCE
    engine = tmp_path / "targets_as_data.py"
    engine.write_text(TARGETS_AS_DATA)
    report = run_check(str(engine), "quick", 1, "agrees and binary_cross_entropy")
    (failed,) = [c for c in report.cases if c.outcome == "failed"]
    assert "d loss / d x1: expected" in failed.message, failed.message
    assert not report.limitations, report.limitations
    assert "gives the targets no gradient" in failed.diagnosis, failed.diagnosis


def test_correct_losses_have_no_limitation(tmp_path: Path) -> None:
    for spec in (str(write_engine(None, tmp_path)), "engine"):
        target = load_target(spec)
        try:
            assert HINGE_LABELS not in target.limitations, (spec, target.limitations)
        finally:
            target.close()


def test_the_second_opinion_judges_the_gradients_a_failure_compared() -> None:
    """Labels as a limitation: the failure compares the output and the scores' gradient
    only, and so does the verdict."""
    case = explicit_functional_case("hinge_loss", set())
    out, grads = networks.vjp(networks.Call(case.name, case.tensors, {}), case.upstream)
    want, allowed = [out, grads[0]], [1e-12, np.full(grads[0].shape, 1e-12)]
    said = functional_verdict(case, want, [out, -grads[0]], allowed)
    assert "(d/d x0[" in said and "x1" not in said and RIGHT_GOT_WRONG in said, said
