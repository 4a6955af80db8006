"""A failing network property ends with a snippet that, pasted into a fresh Python, runs
the same network on the target and prints the numbers the failure shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import BUGS, write_engine
from reproduce import assert_snippet_reproduces

from reports.check import run_check

pytestmark = pytest.mark.campaign  # a quick check of each network bug: about a minute

NETWORK_BUGS = [bug for bug in BUGS if bug.area == "nn"]


@pytest.mark.parametrize("bug", NETWORK_BUGS, ids=lambda bug: bug.name)
def test_network_failures_have_snippets_that_reproduce(bug, tmp_path: Path) -> None:
    report = run_check(str(write_engine(bug, tmp_path)), profile="quick", select="networks")
    messages = [m for case in report.cases for m in case.failures]
    assert messages, f"{bug.name}: no network property failed"
    for message in messages:
        assert "reproduce with:" in message, f"{bug.name}: a failure without a snippet:\n{message}"
        assert_snippet_reproduces(message, tmp_path)
