"""Scalar-engine benchmarks: the moons training step against micrograd, and a deep chain.

Rounds are interleaved (engine, micrograd, engine, ...) in one process so both see the
same machine load. A step is timed together with the `gc.collect()` that frees it: a
graph with a reference cycle per node (micrograd's) is only freed by the cycle
collector, and that cost belongs to the step that made the garbage.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from reports.moons import make_moons, sgd_step

CHAIN_LENGTH = 100_000


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    gc.collect()
    return time.perf_counter() - start


def _moons_step_timer(value_cls: type, mlp_cls: type) -> Callable[[], Any]:
    X, y = make_moons()
    random.seed(0)
    model = mlp_cls(2, [16, 16, 1])
    return lambda: sgd_step(model, X, y, value_cls, lr=0.1)


def _chain(value_cls: type) -> float:
    x = value_cls(0.5)
    y = x
    for _ in range(CHAIN_LENGTH):
        y = y * 1.0001 + 0.0
    y.backward()
    return x.grad


def _peer() -> tuple[type, type] | None:
    try:
        from micrograd.engine import Value
        from micrograd.nn import MLP
    except ImportError:
        return None
    return Value, MLP


def main(repeats: int = 7) -> int:
    """Print the benchmark table; returns the exit code."""
    from engine import Value
    from engine.nn import MLP

    timers = {"engine": _moons_step_timer(Value, MLP)}
    peer = _peer()
    if peer:
        timers["micrograd 0.1.0"] = _moons_step_timer(*peer)
    else:
        print("micrograd is not installed (pip install -e '.[peers]'): engine alone")
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for timer in timers.values():  # warm-up
        _time(timer)
    for _ in range(repeats):
        for name, timer in timers.items():
            samples[name].append(_time(timer))

    print(f"moons step (MLP(2, [16, 16, 1]), 100 points), median of {repeats}:")
    base = statistics.median(samples["engine"])
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"  {name:16s} {median * 1e3:8.1f} ms   {median / base:5.2f}x engine's time")

    chain = _time(lambda: _chain(Value))
    print(f"{CHAIN_LENGTH:,}-node chain, build + backward: engine {chain * 1e3:.0f} ms", end="")
    if peer:
        try:
            _chain(peer[0])
            print("; micrograd finished")
        except RecursionError:
            print(f"; micrograd: RecursionError at the default limit {sys.getrecursionlimit()}")
    else:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
