"""Protocol v2 property throughput: examples per second of the functional, layer,
network and training properties, oracle and error analysis included (as
bench_properties.py does for graphs).

    python benchmarks/bench_networks.py --target engine --examples 40
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench_properties import examples_per_second
from hypothesis import strategies as st

from oracle import networks
from properties.cases.layers import functional_cases, layer_cases, network_cases, optimizers
from properties.targets import load_target
from properties.test_functional import check_call
from properties.test_layers import check_network
from properties.test_sequential import follow, offered_losses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="engine")
    parser.add_argument("--examples", type=int, default=40)
    args = parser.parse_args(argv)
    target = load_target(args.target)
    caps = target.capabilities
    names = [n for n in (*networks.FUNCTIONS, *networks.LOSSES) if f"functional.{n}" in caps]
    functions = st.one_of([functional_cases(n, caps) for n in names])
    training = st.tuples(network_cases(caps, offered_losses(target)), optimizers(caps))
    rows = [
        ("functional calls and losses", functions, lambda c: check_call(target, c)),
        ("one layer", layer_cases(caps), lambda c: check_network(target, *c, sequential=False)),
        (
            "Sequential loss and gradients",
            network_cases(caps, offered_losses(target)),
            lambda c: check_network(target, c, 1.0, sequential=True),
        ),
        ("training, 3 steps", training, lambda c: follow(target, c[0], *c[1], 3)),
    ]
    for name, strategy, check in rows:
        count = args.examples if "training" not in name else max(5, args.examples // 4)
        rate = examples_per_second(strategy, check, count)
        print(f"{name:32s} {rate:8.1f} examples/s   ({count} examples, target {args.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
