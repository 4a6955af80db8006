"""The `vgrad` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from properties.settings import PROFILES
from reports.mutate import register as register_mutate


def _demo(args: argparse.Namespace) -> int:
    from reports.moons import plot_decision_boundary, train

    run = train(steps=args.steps, seed=args.seed)
    picture = plot_decision_boundary(run, Path(args.out))
    if picture:
        print(f"decision boundary written to {picture}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from reports.bench import main as bench_main

    return bench_main(repeats=args.repeats)


def _check(args: argparse.Namespace) -> int:
    from reports.check import main as check_main

    return check_main(args)


def _report(args: argparse.Namespace) -> int:
    from reports.report_cli import main as report_main

    return report_main(args)


def _ops(text: str) -> tuple[str, ...]:
    ops = tuple(op.strip() for op in text.split(",") if op.strip())
    if not ops:
        raise argparse.ArgumentTypeError("give ops separated by commas, e.g. add,mul,tanh")
    return ops


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vgrad",
        description="A verified educational autograd library and the suite that verifies it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="run the property suite against a target")
    check.add_argument(
        "--target",
        default="engine",
        help="module name, .py file, package folder, or micrograd/torch (default engine)",
    )
    check.add_argument(
        "--profile", choices=PROFILES, default="default", help="how hard to search (default)"
    )
    check.add_argument("--seed", type=int, help="Hypothesis seed, for a reproducible run")
    check.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    check.add_argument("-k", dest="select", metavar="EXPR", help="only properties matching")
    check.add_argument("-n", dest="workers", type=int, default=0, help="parallel workers")
    check.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop at the first failing property"
    )
    check.set_defaults(run=_check)

    report = commands.add_parser(
        "report", help="random-graph gradient report of a target against the oracle (HTML, JSON)"
    )
    report.add_argument("--target", default="engine", help="as for check (default engine)")
    report.add_argument("--graphs", type=int, default=1000, help="how many graphs (default 1000)")
    report.add_argument("--seed", type=int, default=0, help="graph k is drawn from seed + k")
    report.add_argument("--ops", type=_ops, help="comma-separated ops (default: all it has)")
    report.add_argument("--max-nodes", type=int, default=30, help="largest graph (default 30)")
    report.add_argument("--tensor", action="store_true", help="tensor graphs instead of scalar")
    report.add_argument("--out", default="vgrad-report", help="output folder (vgrad-report)")
    report.set_defaults(run=_report)

    register_mutate(commands)

    demo = commands.add_parser("demo", help="train micrograd's moons MLP with engine")
    demo.add_argument("--steps", type=int, default=100, help="SGD steps (default 100)")
    demo.add_argument("--seed", type=int, default=1337, help="data and weight seed")
    demo.add_argument("--out", default="moons.png", help="decision-boundary picture")
    demo.set_defaults(run=_demo)

    bench = commands.add_parser("bench", help="time engine against micrograd (and numpy)")
    bench.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    bench.set_defaults(run=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vgrad` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: 0 for --help, 2 for bad arguments
        return int(exit_.code or 0)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
