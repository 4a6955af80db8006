"""The cost of running the target in a worker process, in one run.

The same seeded random scalar graphs (those of `vgrad report`) are built and
backpropagated on the target three ways, interleaved round by round:

* in-process: the worker's own executor (`properties.worker.execute`) called directly in
  this process, on the target imported here, as the suite did before isolation;
* one call per graph: `Target.call("run_graph")` through the worker (what a property's
  example costs);
* batched: `Target.call("run_graphs")`, 64 graphs a request (what `vgrad report` does).

Each prints graphs per second (best round: slower rounds measure other processes) and
the overhead against in-process. The oracle is not involved: this is the target's side
alone, so the overhead shown is the most isolation can cost a run.

    python benchmarks/bench_isolation.py --graphs 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Sequence

from properties.execute import wire
from properties.targets import load_target
from properties.worker import tasks
from reports.report import ReportConfig, generate, usable_ops


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="engine", help="an importable module name")
    parser.add_argument("--graphs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    target = load_target(args.target)
    config = ReportConfig(target=args.target, graphs=args.graphs)
    ops, _ = usable_ops(config, target)
    cases = [generate(config, ops, target, k) for k in range(args.graphs)]
    wired = [(wire(c.graph), dict(c.inputs), list(c.upstream)) for c in cases]
    tasks.TARGET = tasks.Loaded(importlib.import_module(args.target))

    def in_process() -> None:
        for graph, inputs, upstream in wired:
            tasks.run_graph(graph, inputs, upstream, lambda _: None, True)

    def one_call_per_graph() -> None:
        for graph, inputs, upstream in wired:
            target.call("run_graph", graph=graph, inputs=inputs, upstream=upstream, values=True)

    def batched() -> None:
        for start in range(0, len(wired), 64):
            target.call("run_graphs", cases=wired[start : start + 64])

    ways: dict[str, Callable[[], None]] = {
        "in-process (no isolation)": in_process,
        "worker, one call per graph": one_call_per_graph,
        "worker, 64 graphs a call": batched,
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(args.rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            way()
            best[name] = min(best[name], time.perf_counter() - started)
    base = best["in-process (no isolation)"]
    for name, seconds in best.items():
        print(
            f"{name:30s} {args.graphs / seconds:9.0f} graphs/s   "
            f"{100 * (seconds / base - 1):+6.1f}% time"
        )
    target.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
