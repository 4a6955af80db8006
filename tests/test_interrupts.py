"""Ctrl-C and SIGTERM keep what was checked: `vgrad check` prints and writes the results
so far and names the property that was running; `vgrad report` writes a partial report.

Each test runs the real command in a subprocess on the clean planted engine slowed down
by a patch, and sends SIGTERM while it works.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.planted import CLEAN_SOURCE

pytestmark = pytest.mark.campaign  # end to end through the real command (pytest -m campaign)

ROOT = Path(__file__).resolve().parent.parent
VGRAD = [sys.executable, "-c", "import sys; from reports.cli import main; sys.exit(main())"]


def _slowed(tmp_path: Path, method: str, seconds: float) -> Path:
    """The clean engine with `Value.<method>` sleeping `seconds` first."""
    path = tmp_path / f"slow_{method}.py"
    path.write_text(
        CLEAN_SOURCE
        + "\n\nimport time as _time\n"
        + f"_original = Value.{method}\n\n\n"
        + f"def _slow(self, *args):\n    _time.sleep({seconds})\n"
        + "    return _original(self, *args)\n\n\n"
        + f"Value.{method} = _slow\n"
    )
    return path


def _run_then_terminate(args: list[str], cwd: Path, after: float) -> tuple[int, str, float]:
    process = subprocess.Popen(
        [*VGRAD, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    time.sleep(after)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return process.returncode, output, time.monotonic() - sent


def test_sigterm_during_check_keeps_results_and_names_the_running_property(
    tmp_path: Path,
) -> None:
    engine = _slowed(tmp_path, "tanh", 300)
    results = tmp_path / "results.json"
    code, output, waited = _run_then_terminate(
        [
            "check",
            "--target",
            str(engine),
            "--profile",
            "quick",
            "-k",
            "conventions",
            "--timeout",
            "600",
            "--json",
            str(results),
        ],
        cwd=ROOT,
        after=12,
    )
    assert code == 1, output
    assert waited < 30, f"took {waited:.1f} s to stop after SIGTERM"
    assert "interrupted while running" in output and "tanh(" in output, output
    data = json.loads(results.read_text())
    assert "test_scalar_finite_truths[tanh(" in data["interrupted"], data["interrupted"]
    finished = [c["nodeid"] for c in data["cases"]]
    assert any("relu at 0" in n for n in finished), finished  # what ran before is kept


def test_sigterm_during_report_writes_a_partial_report(tmp_path: Path) -> None:
    engine = _slowed(tmp_path, "backward", 0.01)
    out = tmp_path / "report"
    code, output, waited = _run_then_terminate(
        ["report", "--target", str(engine), "--graphs", "20000", "--out", str(out)],
        cwd=ROOT,
        after=12,
    )
    assert code == 1, output
    assert waited < 30, f"took {waited:.1f} s to stop after SIGTERM"
    assert "interrupted" in output and "marked partial" in output, output
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"]["partial"] is True, doc["summary"]
    assert 0 < doc["summary"]["graphs"] < 20000, doc["summary"]
    assert len(doc["graphs"]["status"]) == doc["summary"]["graphs"]
    assert "Partial" in (out / "summary.md").read_text()
