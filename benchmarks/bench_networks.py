"""Protocol v2 property throughput: examples per second of the functional, layer,
network and training properties, oracle and error analysis included (as
bench_properties.py does for graphs), and seconds per run of the two fixed CNN cases.

    python benchmarks/bench_networks.py --target engine --examples 40
    python benchmarks/bench_networks.py --target torch --before main   # after/before ratios
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from before_after import worker_cpu
from bench_properties import throughput_parser, timed_examples
from hypothesis import strategies as st

from oracle import networks
from properties.cases.layers import functional_cases, layer_cases, network_cases, optimizers
from properties.targets import Target, load_target
from properties.test_functional import check_call
from properties.test_layers import check_network
from properties.test_sequential import _separable_images, digits_cnn, follow, offered_losses


def property_rows(target: Target) -> list[tuple[str, st.SearchStrategy, object, int]]:
    """(name, strategy, check, share of --examples) of each property, as the suite draws it."""
    caps = target.capabilities
    names = [n for n in (*networks.FUNCTIONS, *networks.LOSSES) if f"functional.{n}" in caps]
    functions = st.one_of([functional_cases(n, caps) for n in names])
    nets = network_cases(caps, offered_losses(target))
    training = st.tuples(nets, optimizers(caps), st.integers(1, 4))  # as the property draws
    return [
        ("functional calls and losses", functions, lambda c: check_call(target, c), 1),
        ("one layer", layer_cases(caps), lambda c: check_network(target, *c, sequential=False), 1),
        ("Sequential loss and gradients", nets, lambda c: check_network(target, c, 1.0, True), 1),
        ("training step by step (1-4)", training, lambda c: follow(target, c[0], *c[1], c[2]), 4),
    ]


def fixed_runs(target: Target) -> list[tuple[str, object]]:
    """The fixed cases of test_sequential: one run each, timed as it is."""
    return [
        (
            "small CNN, 40 Adam steps",
            lambda: follow(target, _separable_images(), "Adam", {"lr": 0.05}, 40),
        ),
        ("digits CNN, 5 Adam steps", lambda: follow(target, digits_cnn(), "Adam", {"lr": 1e-3}, 5)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = throughput_parser(__doc__.splitlines()[0], 40).parse_args(argv)
    if args.before:
        from before_after import compare

        rest = ["--target", args.target, "--examples", str(args.examples)]
        # each run compiles its own programs: the trees' programs are the same, and the
        # second tree of a round would otherwise load the first's from JAX's cache
        compare(__file__, rest, args.before, args.rounds, seed_flag="--seed", own_cache=True)
        return 0
    target = load_target(args.target)
    seconds = {}
    for name, strategy, check, share in property_rows(target):
        count = max(3, args.examples // share)
        rate, cpu = timed_examples(strategy, check, count, target, args.seed)
        seconds[f"{name} ms/example"] = 1e3 / rate
        seconds[f"{name} CPU ms/example"] = cpu
        if not args.json:
            print(
                f"{name:32s} {rate:8.2f} examples/s, CPU {cpu:7.1f} ms/example "
                f"({count} examples, target {args.target})"
            )
    for name, run in fixed_runs(target):
        start, cpu, worker = time.perf_counter(), time.process_time(), worker_cpu(target)
        run()
        cpu = time.process_time() - cpu + worker_cpu(target) - worker
        wall = time.perf_counter() - start
        seconds[f"{name} s"], seconds[f"{name} CPU s"] = wall, cpu
        if not args.json:
            print(f"{name:32s} {wall:8.2f} s, CPU {cpu:.2f} s (target {args.target})")
    target.close()
    if args.json:
        print(json.dumps(seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
