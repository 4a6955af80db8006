"""Oracle benchmark: value + gradient of random scalar graphs on the compiled interpreter.

Random graphs of 20 to 50 nodes (`properties.cases.random_scalar`, seeded, 1 to 5 inputs, one
output, a random upstream gradient) go through the public API, Python encoding
included:

* batched: `oracle.evaluate.vjp_batch` over all graphs at once (vmapped, chunks of 512);
* single: `oracle.evaluate.vjp` one graph at a time.

Compilation happens in a warm-up pass first (or comes from the persistent cache).
Each measurement is repeated; the best run is what the code costs (as `timeit` advises:
slower runs measure other processes), the median what a busy machine gave.  Targets,
checked on the best run: at least 5,000 graphs/s batched and at most 200 us per single
graph; the exit code is 0 when both are met (and single and batched runs agree), 1
otherwise.

Run ``python benchmarks/bench_oracle.py --help``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

BATCHED_TARGET = 5000.0  # graphs per second
SINGLE_TARGET = 200.0  # microseconds per graph


def make_cases(count: int, seed: int) -> tuple[list, list, list]:
    """`count` random graphs of 20..50 nodes, their inputs and upstream gradients."""
    from properties.cases.random_scalar import random_scalar_graph

    rng = np.random.default_rng(seed)
    graphs, inputs, upstreams = [], [], []
    for _ in range(count):
        graph, values = random_scalar_graph(rng, int(rng.integers(20, 51)))
        graphs.append(graph)
        inputs.append(values)
        upstreams.append([float(rng.normal())])
    return graphs, inputs, upstreams


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Median wall, best wall and median CPU seconds of `repeats` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=5000, help="graphs per batched run")
    parser.add_argument("--single", type=int, default=500, help="graphs timed one by one")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.graphs, args.single, args.repeats) < 1:
        parser.error("--graphs, --single and --repeats must be positive")

    from oracle import evaluate

    graphs, inputs, upstreams = make_cases(max(args.graphs, args.single), args.seed)
    nodes = [len(g.nodes) for g in graphs[: args.graphs]]
    start = time.perf_counter()
    batch = evaluate.vjp_batch(
        graphs[: args.graphs], inputs[: args.graphs], upstreams[: args.graphs]
    )
    singles = [
        evaluate.vjp(g, i, u)
        for g, i, u in zip(
            graphs[: args.single], inputs[: args.single], upstreams[: args.single], strict=True
        )
    ]
    warmup = time.perf_counter() - start
    mismatched = sum(
        s.grads != b.grads or s.values != b.values for s, b in zip(singles, batch, strict=False)
    )

    wall, best, cpu = timed(
        lambda: evaluate.vjp_batch(
            graphs[: args.graphs], inputs[: args.graphs], upstreams[: args.graphs]
        ),
        args.repeats,
    )
    batched = (args.graphs / wall, args.graphs / best, args.graphs / cpu)

    def one_by_one() -> None:
        for g, i, u in zip(
            graphs[: args.single], inputs[: args.single], upstreams[: args.single], strict=True
        ):
            evaluate.vjp(g, i, u)

    single = [t / args.single * 1e6 for t in timed(one_by_one, args.repeats)]

    print(
        f"random scalar graphs: {args.graphs} of {min(nodes)}-{max(nodes)} nodes "
        f"(mean {statistics.mean(nodes):.1f}), seed {args.seed}; warm-up {warmup:.1f} s"
    )
    print(
        f"batched: {batched[1]:,.0f} graphs/s best of {args.repeats} "
        f"(median {batched[0]:,.0f}, CPU {batched[2]:,.0f})  target >= {BATCHED_TARGET:,.0f}"
    )
    print(
        f"single:  {single[1]:.1f} us/graph best of {args.repeats} "
        f"(median {single[0]:.1f}, CPU {single[2]:.1f})  target <= {SINGLE_TARGET:.0f}"
    )
    if mismatched:
        print(f"error: {mismatched} graphs differ between single and batched runs")
    ok = batched[1] >= BATCHED_TARGET and single[1] <= SINGLE_TARGET and not mismatched
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
