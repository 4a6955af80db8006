"""Property-suite throughput: examples per second, oracle and error analysis included.

Runs the random-graph properties' own check (`check_case`) on Hypothesis examples for a
target, for a fixed number of examples, and reports examples per second for scalar
graphs, tensor graphs and deep chains. Hypothesis's generation and the target's work
count too: this is what a `vgrad check` run gets through.

    python benchmarks/bench_properties.py --target engine --examples 300
    python benchmarks/bench_properties.py --before main   # ratios against main, interleaved
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from properties.cases.scalar import SCALAR_MENU, deep_chain_cases, scalar_cases, scalar_menu
from properties.cases.tensor import TENSOR_MENU, tensor_cases, tensor_menu
from properties.targets import load_target
from properties.test_scalar_graphs import check_case


def timed_examples(
    strategy: st.SearchStrategy,
    check: Callable,
    examples: int,
    target: object = None,
    seed: int | None = None,
) -> tuple[float, float]:
    """Examples per second (wall) of `check` over `strategy` (no shrinking, no database),
    and CPU milliseconds per example of this process and `target`'s worker together."""
    from before_after import worker_cpu

    seen = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        check(case)
        seen.append(1)

    if seed is not None:
        run = hypothesis.seed(seed)(run)

    start, cpu, worker = time.perf_counter(), time.process_time(), worker_cpu(target)
    run()
    cpu = time.process_time() - cpu + worker_cpu(target) - worker
    return len(seen) / (time.perf_counter() - start), cpu / len(seen) * 1e3


def throughput_parser(description: str, examples: int) -> argparse.ArgumentParser:
    """The options of the examples-per-second benchmarks (this one and bench_networks)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--target", default="engine")
    parser.add_argument("--examples", type=int, default=examples)
    parser.add_argument("--seed", type=int, help="Hypothesis seed (default: derandomized)")
    parser.add_argument("--before", metavar="REV", help="compare with revision REV")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tree with --before")
    parser.add_argument("--json", action="store_true", help="one JSON line: seconds per example")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = throughput_parser(__doc__.splitlines()[0], 300).parse_args(argv)
    if args.before:
        from before_after import compare

        rest = ["--target", args.target, "--examples", str(args.examples)]
        compare(__file__, rest, args.before, args.rounds, seed_flag="--seed")
        return 0
    target = load_target(args.target)
    rows = [
        ("scalar graphs (up to 30 ops)", scalar_cases(scalar_menu(target.capabilities))),
        ("tensor graphs (up to 12 ops)", tensor_cases(tensor_menu(target.capabilities))),
        ("deep chains (10,000 nodes)", deep_chain_cases(target.capabilities)),
    ]
    if set(scalar_menu(target.capabilities)) != set(SCALAR_MENU) or not set(
        tensor_menu(target.capabilities)
    ) <= set(TENSOR_MENU):
        print(f"note: {args.target} lacks some ops; their cases are not generated")
    seconds = {}
    for name, strategy in rows:
        count = args.examples if "deep" not in name else max(10, args.examples // 10)
        check = lambda case: check_case(target, case)  # noqa: E731
        rate, cpu = timed_examples(strategy, check, count, target, args.seed)
        seconds[f"{name} ms/example"] = 1e3 / rate
        seconds[f"{name} CPU ms/example"] = cpu
        if not args.json:
            print(
                f"{name:32s} {rate:8.1f} examples/s, CPU {cpu:.1f} ms/example "
                f"({count} examples, target {args.target})"
            )
    if args.json:
        print(json.dumps(seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
