"""`vgrad report` benchmark: where the graph phase spends its time, per graph.

Runs the loop of `reports.report.run_report` phase by phase on the same seeded graphs:
drawing the graphs, the oracle (the first batch apart: it compiles, or loads from the
persistent cache), the target in its worker (wall time: another process), and the
comparison; prints microseconds per graph (CPU time of this process, wall for the
target) and the graph phase's rate; then the CPU time per graph of a whole `run_report`
(graph phase and explanations) in this process and the target's worker together.
``--before REV`` runs the same on a `git archive` of REV and on this tree, interleaved,
and prints after/before ratios (`benchmarks/before_after.py`).

    python benchmarks/bench_report.py --graphs 1000            # scalar
    python benchmarks/bench_report.py --graphs 300 --tensor --before main
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402


def measure(graphs: int, tensor: bool, target_name: str, seed: int = 0) -> dict[str, float]:
    """Microseconds per graph of each phase, and the start-up (import) seconds."""
    from before_after import worker_cpu

    from properties import execute, reference
    from reports import report as r

    imported = time.perf_counter() - _STARTED
    if hasattr(execute, "run_cases"):  # the report judges through properties
        oracle, run, judge = reference.oracle_answers, execute.run_cases, reference.compare
    else:  # a tree from before, measured with --before
        oracle = lambda cases: r.evaluate.vjp_batch(  # noqa: E731
            [c.graph for c in cases], [c.inputs for c in cases], [c.upstream for c in cases]
        )
        run, judge = r.run_targets, r.compare
    from properties.targets import load_target

    config = r.ReportConfig(target=target_name, graphs=graphs, tensor=tensor, seed=seed)
    target = load_target(target_name)
    ops, _ = r.usable_ops(config, target)
    batch = r.TENSOR_BATCH if tensor else r.BATCH
    cpu = dict.fromkeys(("generate", "oracle", "compare"), 0.0)
    target_wall, warm_up = 0.0, 0.0
    for start in range(0, graphs, batch):
        indices = range(start, min(graphs, start + batch))
        t = time.process_time()
        cases = [r.generate(config, ops, target, k) for k in indices]
        cpu["generate"] += time.process_time() - t
        t, wall = time.process_time(), time.perf_counter()
        wants = oracle(cases)
        if start == 0:
            warm_up = time.perf_counter() - wall
        else:
            cpu["oracle"] += time.process_time() - t
        wall = time.perf_counter()
        answers = run(target, cases)
        target_wall += time.perf_counter() - wall
        t = time.process_time()
        for case, want, answer in zip(cases, wants, answers, strict=True):
            judge(case, want, answer)
        cpu["compare"] += time.process_time() - t
    suite, worker = time.process_time(), worker_cpu(target)
    try:
        r.run_report(config, target)
        whole = (time.process_time() - suite + worker_cpu(target) - worker) / graphs * 1e6
    except ValueError as error:  # an older tree's second opinion on outputs of two shapes
        print(f"run_report failed, left out: {error}", file=sys.stderr)
        whole = None
    target.close()
    warm = max(graphs - min(batch, graphs), 1)
    result = {
        "start-up (import) s": imported,
        "oracle first batch s (compiles)": warm_up,
        "generate us/graph": cpu["generate"] / graphs * 1e6,
        "oracle us/graph (after 1st batch)": cpu["oracle"] / warm * 1e6,
        "target us/graph (wall)": target_wall / graphs * 1e6,
        "compare us/graph": cpu["compare"] / graphs * 1e6,
    }
    per_graph = sum(v for k, v in result.items() if k.endswith("graph") or "graph (" in k)
    result["graph phase us/graph"] = per_graph
    if whole is not None:
        result["run_report CPU us/graph (+worker)"] = whole
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=1000)
    parser.add_argument("--tensor", action="store_true", help="tensor graphs")
    parser.add_argument("--target", default="engine")
    parser.add_argument("--seed", type=int, default=0, help="graph k is drawn from seed + k")
    parser.add_argument("--before", metavar="REV", help="compare with revision REV")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tree with --before")
    parser.add_argument("--json", action="store_true", help="one JSON line of the numbers")
    args = parser.parse_args(argv)
    if args.before:
        from before_after import compare

        rest = ["--graphs", str(args.graphs), "--target", args.target]
        rest += ["--tensor"] if args.tensor else []
        compare(__file__, rest, args.before, args.rounds, seed_flag="--seed")
        return 0
    result = measure(args.graphs, args.tensor, args.target, args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    kind = "tensor" if args.tensor else "scalar"
    print(f"vgrad report phases: {args.graphs} {kind} graphs on {args.target}")
    for name, value in result.items():
        print(f"  {name:36} {value:10.1f}")
    rate = 1e6 / result["graph phase us/graph"]
    print(f"  graph phase: {rate:,.0f} graphs/s (CPU of this process + the target's wall)")
    if "run_report CPU us/graph (+worker)" in result:
        rate = 1e6 / result["run_report CPU us/graph (+worker)"]
        print(f"  run_report: {rate:,.0f} graphs/s of CPU (this process + the worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
