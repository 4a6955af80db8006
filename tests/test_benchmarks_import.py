"""The benchmark scripts are not run by the tests (they time things), but each must still
import: one that imports a helper renamed since (bench_networks once imported
`examples_per_second` after it became `timed_examples`) breaks silently otherwise."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "before_after")


def test_every_benchmark_is_listed() -> None:
    assert "bench_networks" in SCRIPTS and len(SCRIPTS) >= 7, f"benchmarks found: {SCRIPTS}"


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_imports_and_has_a_main(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as `python benchmarks/NAME.py` runs it
    module = importlib.import_module(name)
    assert callable(getattr(module, "main", None)), f"benchmarks/{name}.py has no main()"
