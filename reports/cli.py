"""The `vgrad` command line.

Bad arguments are refused before any work is done (before a target is even loaded),
with exit code 2, one line on stderr and nothing written: argparse's `type=` functions
range-check every number, and `validate` checks what involves several arguments or the
file system.  Output paths are made absolute first, so a target that changes directory
when it is imported cannot move them.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from properties.profiles import PROFILES
from reports.options import OptionError, register_past_one_machine, validate_past_one_machine

EXIT_USAGE = 2
MAX_SEED = 2**63 - 1  # seeds are written to JSON and given to NumPy as signed 64-bit integers
MAX_GRAPHS = 10_000_000
MAX_NODES = 5000  # the tensor generator takes seconds per graph beyond this
MAX_WORKERS = 64
MAX_TIMEOUT = 3600.0  # seconds, per case


class UsageError(Exception):
    """Arguments no run can be made of; the message names the argument."""


class _Parser(argparse.ArgumentParser):
    """argparse, reporting a bad argument in one line (no usage block) with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_reword(message)}\n")


def _reword(message: str) -> str:
    """``argument --graphs: must be ...`` -> ``--graphs must be ...``, on one line."""
    message = " ".join(message.splitlines())
    match = re.fullmatch(r"argument ([^:]+): (must .*)", message)
    if match:
        return f"{match[1]} {match[2]}"
    return re.sub(r"invalid _(\w+) value", r"invalid \1 value", message)


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _integer(low: int, high: int | None = None, high_text: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {_shown(text)}") from None
        if value < low:
            floor = "non-negative" if low == 0 else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {floor}, got {value}")
        if high is not None and value > high:
            shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "..."
            raise argparse.ArgumentTypeError(f"must be at most {high_text or high}, got {shown}")
        return value

    return integer


_seed = _integer(0, MAX_SEED, f"{MAX_SEED} (2**63 - 1)")


def _timeout(text: str) -> float:
    """An argparse type: seconds, positive and finite, at most MAX_TIMEOUT."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {_shown(text)}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    if value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TIMEOUT:g} seconds, got {text}")
    return value


_OP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _ops(text: str) -> tuple[str, ...]:
    """Comma-separated op names, each once, in the order first given."""
    ops: list[str] = []
    for item in text.split(","):
        op = item.strip()
        if not op:
            raise argparse.ArgumentTypeError(
                f"must be op names separated by commas, e.g. add,mul,tanh; "
                f"{_shown(text)} has an empty one"
            )
        if not _OP_NAME.fullmatch(op):
            raise argparse.ArgumentTypeError(
                f"must be op names (letters, digits, _) separated by commas; "
                f"{_shown(op)} is not one"
            )
        if op not in ops:
            ops.append(op)
    return tuple(ops)


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
    if args.many:
        from reports.gradebook import main as gradebook_main

        return gradebook_main(args)
    from reports.check import main as check_main

    return check_main(args)


def _report(args: argparse.Namespace) -> int:
    from reports.pool import quick_exit, report_pool

    quick_exit()
    pool = report_pool(args)  # --jobs: started first, to start up while this process imports
    from reports.report_cli import main as report_main

    return report_main(args, pool)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vgrad",
        description="A verified educational autograd library and the suite that verifies it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    timeout_help = (
        f"time limit of one case on the target, in seconds (at most {MAX_TIMEOUT:g}; "
        "default: the profile's)"
    )

    check = commands.add_parser("check", help="run the property suite against a target")
    check.add_argument(
        "--target",
        default="engine",
        help="module name, .py file, package folder, or micrograd/torch (default engine)",
    )
    check.add_argument(
        "--profile", choices=PROFILES, default="default", help="how hard to search (default)"
    )
    check.add_argument("--seed", type=_seed, help="Hypothesis seed, for a reproducible run")
    check.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    check.add_argument("-k", dest="select", metavar="EXPR", help="only properties matching")
    check.add_argument(
        "-n",
        dest="workers",
        type=_integer(0, MAX_WORKERS),
        default=0,
        help=f"parallel workers (0 to {MAX_WORKERS}, default 0)",
    )
    check.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop at the first failing property"
    )
    check.add_argument("--timeout", type=_timeout, metavar="SECONDS", help=timeout_help)
    check.add_argument(
        "--precision",
        choices=("float64", "float32"),
        default="float64",
        help="the precision the target computes in: float32 engines are verified with the "
        "error analysis at float32's unit roundoff (default float64)",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="count limitations (a variant whose forward runs but whose backward raises) "
        "as failures",
    )
    check.set_defaults(run=_check)

    report = commands.add_parser(
        "report", help="random-graph gradient report of a target against the oracle (HTML, JSON)"
    )
    report.add_argument("--target", default="engine", help="as for check (default engine)")
    report.add_argument(
        "--graphs",
        type=_integer(1, MAX_GRAPHS),
        default=1000,
        help=f"how many graphs (1 to {MAX_GRAPHS}, default 1000)",
    )
    report.add_argument("--seed", type=_seed, default=0, help="graph k is drawn from seed + k")
    report.add_argument(
        "--ops",
        type=_ops,
        help="comma-separated ops (default: all it has; with --tensor also conv2d, max_pool2d, "
        "avg_pool2d, flatten, linear and the losses, never drawn by default)",
    )
    report.add_argument(
        "--max-nodes",
        type=_integer(3, MAX_NODES),
        default=30,
        help=f"largest graph (3 to {MAX_NODES}, default 30)",
    )
    report.add_argument("--tensor", action="store_true", help="tensor graphs instead of scalar")
    report.add_argument(
        "--out", help="output folder (vgrad-report); with --shard, the part file to write"
    )
    report.add_argument("--timeout", type=_timeout, metavar="SECONDS", help=timeout_help)
    register_past_one_machine(report, check)
    report.set_defaults(run=_report)

    from reports.mutate import register as register_mutate  # pytest: not in pool processes

    register_mutate(commands)

    demo = commands.add_parser("demo", help="train micrograd's moons MLP with engine")
    demo.add_argument("--steps", type=_integer(1), default=100, help="SGD steps (default 100)")
    demo.add_argument("--seed", type=_seed, default=1337, help="data and weight seed")
    demo.add_argument("--out", default="moons.png", help="decision-boundary picture")
    demo.set_defaults(run=_demo)

    bench = commands.add_parser("bench", help="time engine against micrograd (and numpy)")
    bench.add_argument("--repeats", type=_integer(1), default=7, help="timed rounds (default 7)")
    bench.set_defaults(run=_bench)
    return parser


def _writable_folder(folder: Path, what: str) -> None:
    """Refuse a folder that is missing or where no file can be created (tried, then removed)."""
    if not folder.is_dir():
        problem = "does not exist" if not folder.exists() else "is not a folder"
        raise UsageError(f"{what}: the folder {folder} {problem}")
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".vgrad-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(
            f"{what}: the folder {folder} is not writable ({error.strerror})"
        ) from None


def _file_destination(path: Path, what: str) -> None:
    """A file to be (re)written: not a folder, in a writable folder, writable if it exists."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; give a file name")
    _writable_folder(path.parent, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path} is not writable")


def _report_destination(out: Path, what: str) -> None:
    """The report folder: new, or a previous report's folder, in a writable folder."""
    if out.parent == out:
        raise UsageError(f"{what} cannot be the root folder {out}")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{what} {out} exists and is not a folder")
        from reports.report_folder import foreign_entries

        if others := foreign_entries(out):
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise UsageError(
                f"{what} {out} holds files that are not a report's ({shown}); the report "
                "replaces the whole folder: give a new folder or a previous report's"
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise UsageError(f"{what} {out} is not writable")
    _writable_folder(out.parent, what)


def _known_ops(tensor: bool) -> tuple[str, ...]:
    if tensor:
        from oracle.ir import NETWORK_OPS
        from properties.cases.random_tensor import TENSOR_DEFAULT_OPS

        return (*TENSOR_DEFAULT_OPS, *NETWORK_OPS)
    from properties.cases.random_scalar import DEFAULT_OPS

    return DEFAULT_OPS


def _check_select(expression: str) -> None:
    """-k: pytest's own parser, so what passes here is what pytest accepts."""
    from _pytest.mark import expression as pytest_expression

    # pytest 8.4 and later raise SyntaxError; earlier ones their own ParseError.
    parse_error = getattr(pytest_expression, "ParseError", SyntaxError)
    try:
        pytest_expression.Expression.compile(expression)
    except (SyntaxError, parse_error) as error:  # worded as _pytest.mark._parse_expression
        column = getattr(error, "offset", None) or getattr(error, "column", "?")
        reason = getattr(error, "msg", None) or getattr(error, "message", str(error))
        raise UsageError(
            f"-k: wrong expression {expression!r}: at column {column}: {reason}"
        ) from None


def validate(args: argparse.Namespace) -> None:
    """Make paths absolute and check what argparse cannot: raise UsageError for bad ones.

    Runs before any work; the paths are made absolute in `args` (as strings) so that
    nothing that runs later, such as a target changing directory at import, moves them.
    """
    command = args.command
    if command in ("check", "report"):
        try:
            validate_past_one_machine(args)
        except OptionError as error:
            raise UsageError(str(error)) from None
    if command == "check":
        if args.gradescope is not None:
            args.gradescope = _destination(args.gradescope, "--gradescope", _file_destination)
        if args.json is not None:
            args.json = _destination(args.json, "--json", _file_destination)
        if args.select is not None:
            _check_select(args.select)
    elif command == "report":
        last = args.seed + args.graphs - 1
        if last > MAX_SEED:
            raise UsageError(
                f"--seed {args.seed} with --graphs {args.graphs} reaches seed {last}, over "
                f"{MAX_SEED} (2**63 - 1): lower --seed or --graphs"
            )
        if args.ops is not None:
            known = _known_ops(args.tensor)
            unknown = [op for op in args.ops if op not in known]
            if unknown:
                raise UsageError(
                    f"--ops: unknown op(s) {', '.join(unknown)}; known: {', '.join(known)}"
                )
        if args.shard is not None:
            args.out = _destination(args.out, "--out", _file_destination)
        else:
            args.out = _destination(args.out or "vgrad-report", "--out", _report_destination)
    elif command == "demo":
        args.out = _destination(args.out, "--out", _file_destination)


def _destination(path: str, what: str, check: Callable[[Path, str], None]) -> str:
    """`path` made absolute, once `check` has found it usable as `what`."""
    try:
        absolute = Path(path).resolve()
        check(absolute, what)
    except (OSError, RuntimeError) as error:  # a folder that cannot be looked into, a loop
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{what} {path}: {reason}") from None
    return str(absolute)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vgrad` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["report", "merge"]:
        from reports.shards import merge_main

        return merge_main(argv[2:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: 0 for --help, 2 for bad arguments
        return int(exit_.code or 0)
    try:
        validate(args)
    except UsageError as error:
        message = " ".join(str(error).splitlines())
        print(f"vgrad {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
