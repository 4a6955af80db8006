"""Meta-tests: the suite fails every planted bug and passes the clean planted engine.

Each bug is planted in a copy of `planted/clean_engine.py` and checked with
``vgrad check --profile quick --exitfirst``, restricted to the properties of the bug's
area (running more properties can only add failures, never remove one) and without
shrinking the counterexample (which changes how it reads, not whether it fails). The
clean engine gets the whole quick check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import BUGS, write_engine

from reports.check import run_check

AREA_PROPERTIES = {
    "scalar ops": "scalar_graphs or conventions",
    "graph": "accumulation or scalar_graphs",
    "broadcasting": "tensor_graphs or accumulation",
    "reductions": "tensor_graphs or conventions",
    "shape ops": "tensor_graphs",
    "indexing": "tensor_graphs",
    "softmax": "tensor_graphs or conventions",
    "tensor ops": "tensor_graphs or conventions",
    "optim": "optimizers",
    "nn": "networks",
}


def test_every_area_has_properties() -> None:
    areas = {bug.area for bug in BUGS}
    assert areas <= set(AREA_PROPERTIES), f"no properties named for {areas - set(AREA_PROPERTIES)}"


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_quick_check_fails_the_planted_bug(bug, tmp_path: Path) -> None:
    path = write_engine(bug, tmp_path)
    report = run_check(
        str(path),
        profile="quick",
        select=AREA_PROPERTIES[bug.area],
        exitfirst=True,
        shrink=False,
    )
    assert not report.errors, f"{bug.name}: the check itself failed: {report.errors}"
    assert report.count("failed") > 0, (
        f"{bug.name} ({bug.description}) passed {report.count('passed')} properties unnoticed"
    )


def test_quick_check_passes_the_clean_engine(tmp_path: Path) -> None:
    report = run_check(str(write_engine(None, tmp_path)), profile="quick")
    failures = [f"{c.nodeid}:\n{c.message}" for c in report.cases if c.outcome == "failed"]
    assert not failures and not report.errors, "\n\n".join(failures + report.errors)
    assert report.count("passed") > 50, f"only {report.count('passed')} properties ran"
