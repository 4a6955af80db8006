"""Meta-tests on the corpus (tests/corpus): engines written the way students, tutorial
authors and library authors write them, each with the defects its MANIFEST.toml lists.

For each engine, `vgrad check --profile quick` (a fixed seed) must report every listed
defect in one of the properties the manifest names for it, each failure with a snippet
(one that reproduces the failure's numbers where the failure carries them and the engine
is deterministic), and list what the engine lacks as skipped or missing, never as a
failure; a correct engine must pass everything (no false alarm). The float32 engine is
checked twice: in a float64 run its float32 numbers are the failure; with
``--precision float32`` its other defect is found.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from reproduce import assert_snippet_reproduces

from reports.check import CheckReport, run_check

pytestmark = pytest.mark.campaign  # run by `pytest -m campaign` (and CI), not by default

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = tomllib.loads((CORPUS / "MANIFEST.toml").read_text())["engine"]
SEED = 20261130


def _property(nodeid: str) -> str:
    """``properties/test_x.py::test_y[p]`` -> ``test_x.py::test_y[p]``, as the manifest."""
    return nodeid.removeprefix("properties/")


def _failed(report: CheckReport) -> dict[str, list[str]]:
    return {
        _property(c.nodeid): c.failures or [c.message]
        for c in report.cases
        if c.outcome == "failed"
    }


def _named(defect: dict[str, Any]) -> list[str]:
    """The properties a defect names, those of the suite's form only (module::test)."""
    return [p for p in defect.get("properties", []) if "::" in p]


def _hit(named: str, failed: dict[str, list[str]]) -> bool:
    """Whether the property the manifest names failed (any parametrization of it, when it
    names none)."""
    return any(f == named or f.startswith(named + "[") for f in failed)


def _check(engine: dict[str, Any], precision: str = "float64") -> CheckReport:
    return run_check(str(CORPUS / engine["file"]), profile="quick", seed=SEED, precision=precision)


@pytest.mark.parametrize("engine", MANIFEST, ids=[e["file"].removesuffix(".py") for e in MANIFEST])
def test_every_defect_is_reported_with_a_snippet(engine: dict[str, Any], tmp_path: Path) -> None:
    float32 = "float32" in engine["file"]
    report = _check(engine, "float32" if float32 else "float64")
    failed = _failed(report)
    assert not report.errors, report.errors
    defects = [d for d in engine.get("defects", []) if not (float32 and d["id"] == "float32")]
    if not defects:
        assert not failed, f"false alarms on {engine['file']}: {sorted(failed)}"
        return
    missed = [d["id"] for d in defects if _named(d) and not any(_hit(p, failed) for p in _named(d))]
    assert not missed, f"{engine['file']}: not reported: {missed}; failed: {sorted(failed)}"
    for name, messages in failed.items():
        if name.startswith("test_networks.py"):
            continue  # network failures show the network, parameters and data, no snippet yet
        for message in messages:
            assert (
                "reproduce with:" in message
                or name.startswith("limitations::")
                or ("lacks operators the spec requires" in message)
                or "refuses a plain number" in message
            ), f"{name}: no snippet:\n{message}"
            if not engine.get("nondeterministic"):
                assert_snippet_reproduces(message, tmp_path)
    for name in engine.get("limitations", []):
        assert name in report.limitations, (name, report.limitations)


def test_a_float32_engine_fails_a_float64_run_naming_float32() -> None:
    engine = next(e for e in MANIFEST if "float32" in e["file"])
    report = _check(engine)
    messages = [m for ms in _failed(report).values() for m in ms]
    assert messages and any("float32" in m for m in messages), messages[:3]
