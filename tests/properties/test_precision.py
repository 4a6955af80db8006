"""`--precision float32`: a float32 engine is verified with the error analysis at float32's
unit roundoff (no false alarm from its rounding), its real defects are still found, and
in a float64 run its float32 numbers are named as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.check import run_check
from tests.planted import CLEAN_SOURCE

pytestmark = pytest.mark.campaign  # engines checked whole: a campaign (pytest -m campaign)

# the clean planted engine's Tensor, computing in float32 (data, slopes and gradients)
FLOAT32_LINES = (
    "        self.data = np.array(data, dtype=np.float64)",
    "        return self._unary(np.maximum(x, 0.0), (x > 0).astype(np.float64))",
    "        winners = (x == top).astype(np.float64)",
    "        pending = {id(self): np.broadcast_to(np.asarray(grad, np.float64), self.data.shape)}",
)
TANH_SLOPE = "self._unary(t, 4.0 * e / (1.0 + e) ** 2)"  # the clean Tensor.tanh's slope


def float32_engine(tmp_path: Path, tanh_slope: str = TANH_SLOPE) -> Path:
    source = CLEAN_SOURCE
    for line in FLOAT32_LINES:
        assert line in source, line
        source = source.replace(line, line.replace("np.float64", "np.float32"))
    assert TANH_SLOPE in source
    path = tmp_path / "float32_engine.py"
    path.write_text(source.replace(TANH_SLOPE, tanh_slope))
    return path


SELECT = "each_tensor_op and (tanh or mul or sum or matmul or softmax)"


def test_a_float32_engine_passes_at_float32(tmp_path: Path) -> None:
    report = run_check(
        str(float32_engine(tmp_path)), profile="quick", select=SELECT, precision="float32", seed=3
    )
    failures = [f"{c.nodeid}: {c.message[:400]}" for c in report.cases if c.outcome == "failed"]
    assert not failures, "\n".join(failures)
    assert report.count("passed") >= 5, [(c.nodeid, c.outcome) for c in report.cases]


def test_a_float32_engine_with_a_wrong_tanh_fails_at_float32(tmp_path: Path) -> None:
    engine = float32_engine(tmp_path, tanh_slope="self._unary(t, 1.0 - t)")
    report = run_check(str(engine), profile="quick", select=SELECT, precision="float32", seed=3)
    failed = [c.nodeid for c in report.cases if c.outcome == "failed"]
    assert failed and all("tanh" in n for n in failed), failed


@pytest.mark.parametrize("select", ["each_tensor_op and mul and None"])
def test_float32_numbers_in_a_float64_run_are_named(tmp_path: Path, select: str) -> None:
    report = run_check(str(float32_engine(tmp_path)), profile="quick", select=select, seed=3)
    failed = [c for c in report.cases if c.outcome == "failed"]
    assert failed, [(c.nodeid, c.outcome) for c in report.cases]
    assert "an array of float32" in failed[0].message, failed[0].message
