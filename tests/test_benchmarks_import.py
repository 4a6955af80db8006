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


def test_tensor_rounds_put_each_version_after_each_other_equally(monkeypatch) -> None:
    """bench_tensor's interleaving: over a whole cycle of rounds, every version runs right
    after every other one equally often (a plain rotation keeps one order: engine would
    always follow torch, in caches torch has just filled)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench_tensor = importlib.import_module("bench_tensor")
    runs: list[str] = []
    steps = {name: (lambda name=name: runs.append(name)) for name in ("engine", "numpy", "torch")}
    wall, cpu = bench_tensor.interleaved_times(steps, rounds=6, per_round=1)
    assert all(len(times) == 6 for times in (*wall.values(), *cpu.values())), f"{wall}, {cpu}"
    pairs = [(runs[i], runs[i + 1]) for i in range(len(runs) - 1)]
    follows = {(a, b): pairs.count((a, b)) for a in steps for b in steps if a != b}
    assert max(follows.values()) - min(follows.values()) <= 1, f"who follows whom: {follows}"
