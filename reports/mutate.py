"""`vgrad mutate`: mutation testing of `engine/` with mutmut, and its score report.

mutmut (configured in ``[tool.mutmut]`` of pyproject.toml) makes every mutant of
`engine/` and runs, for each, the tests of the property suite and of `tests/engine`
that reach the mutated function.  This command runs it, reads its results from its
data files (``mutants/**/*.py.meta``: an exit code per mutant) and reports:

* the counts: killed, survived, timeout, suspicious, no tests, total (and the rarer
  skipped, segfault, not checked);
* the score, killed / (total - not checked).  A timeout is *not* a kill: JAX deadlocks
  in a process forked after it compiled something, and mutmut's own score, which
  counts timeouts as killed, would then read 100% for a suite that checked nothing.
  Timeouts are shown apart;
* a table per module and per function, and every mutant that was not killed with its
  diff (mutmut's own ``mutmut show``).

The same report is printed (rich), written as a self-contained HTML page
(``--out``, default ``mutation-report/index.html``) and, with ``--json FILE``, as data.

The module is also a pytest plugin (``-p reports.mutate`` in ``[tool.mutmut]
pytest_add_cli_args``), so a plain ``mutmut run`` tests each mutant as this command does:
with the `mutmut` Hypothesis profile, fastest tests first.  The work is in
`reports.mutation`, by concern: `plugin` (those hooks), `runner` (mutmut itself),
`results` (reading and scoring) and `render` (terminal, HTML and JSON).

Exit codes: 0 when the run and the report completed (and the score is at least
``--fail-under``), 1 when mutmut failed or the score is below ``--fail-under``, 2 for
bad arguments, a missing mutmut, or no results to report.
"""

from __future__ import annotations

import argparse
import gc  # noqa: F401  (tests/test_mutate_report.py stubs mutate.gc.freeze, which the plugin calls)
import os
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The pytest plugin's hooks: `-p reports.mutate` loads them from here.
from reports.mutation.plugin import (
    SUITES,
    pytest_collect_file,
    pytest_collection_modifyitems,
    pytest_configure,
)
from reports.mutation.protocol import classify
from reports.mutation.render import percent, print_report, say, write_html, write_json
from reports.mutation.results import (
    Counts,
    Mutant,
    attach_diffs,
    build_report,
    load_results,
    split_name,
    status_of,
)
from reports.mutation.runner import (
    SUITE_RECORD,
    find_root,
    mutmut_command,
    mutmut_version,
    recorded_suite,
    run_mutmut,
)

__all__ = [
    "Counts",
    "Mutant",
    "build_report",
    "load_results",
    "main",
    "mutmut_command",
    "pytest_collect_file",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "register",
    "split_name",
    "status_of",
    "write_json",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_OUT = "mutation-report"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _percentage(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be a percentage in [0, 100], got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--max-children",
        type=_positive,
        metavar="N",
        help="mutants tested at once (default: the number of CPUs)",
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder of the HTML report, DIR/index.html (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="delete mutmut's mutants/ folder first (otherwise unchanged code keeps its results)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="do not run mutmut: report the results of the last run",
    )
    parser.add_argument(
        "--fail-under",
        type=_percentage,
        metavar="PCT",
        help="exit 1 when the score is below PCT percent",
    )
    parser.add_argument(
        "--functions", action="store_true", help="also print the per-function table"
    )
    parser.add_argument(
        "--suite",
        choices=sorted(SUITES),
        help="the tests that may kill a mutant: all ([tool.mutmut]'s: the property suite and "
        "tests/engine, the default) or properties (the property suite alone)",
    )
    parser.add_argument(
        "mutants",
        nargs="*",
        metavar="MUTANT",
        help="only (re)test these mutants (names or globs, as mutmut takes them)",
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `mutate` subcommand to the `vgrad` command line (reports/cli.py)."""
    parser = subparsers.add_parser(
        "mutate",
        help="mutation testing of engine/ with mutmut, and its score report",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(run=main)
    return parser


def _command_line(args: argparse.Namespace) -> str:
    words = ["vgrad", "mutate"]
    if args.max_children:
        words += ["--max-children", str(args.max_children)]
    if args.json:
        words += ["--json", args.json]
    if args.out != DEFAULT_OUT:
        words += ["--out", args.out]
    if args.suite != "all":
        words += ["--suite", args.suite]
    for flag in ("fresh", "report_only"):
        if getattr(args, flag):
            words.append("--" + flag.replace("_", "-"))
    if args.fail_under is not None:
        words += ["--fail-under", str(args.fail_under)]
    return " ".join([*words, *args.mutants])


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """Run `vgrad mutate` with parsed `args` (or a list of words); returns the exit code."""
    from rich.console import Console

    console = Console(stderr=False)
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(prog="vgrad mutate")
        add_arguments(parser)
        try:
            args = parser.parse_args(args)
        except SystemExit as exit_:
            return int(exit_.code or 0)
    root = find_root(Path.cwd())
    if root is None:
        say(
            console,
            "vgrad mutate: no pyproject.toml with a [tool.mutmut] section here or above; "
            "run it from the vgrad checkout",
        )
        return EXIT_USAGE
    if args.report_only and (args.fresh or args.mutants):
        say(console, "vgrad mutate: --report-only runs nothing: drop --fresh and MUTANT names")
        return EXIT_USAGE
    recorded = recorded_suite(root)
    suite = args.suite or (recorded if args.report_only else None) or "all"
    if args.report_only and recorded not in (None, suite):
        say(console, f"vgrad mutate: mutants/ holds results of --suite {recorded}, not {suite}")
        return EXIT_USAGE
    args.suite = suite  # as the report's command line shows it
    started, clock = datetime.now(UTC), time.monotonic()
    seconds = None
    if not args.report_only:
        if mutmut_command() is None:
            say(
                console,
                "vgrad mutate: mutmut is not installed; install the dev extra: "
                "pip install -e '.[dev]'",
            )
            return EXIT_USAGE
        fresh = args.fresh
        if recorded not in (None, suite):
            say(
                console,
                f"vgrad mutate: mutants/ holds results of --suite {recorded}; starting over",
            )
            fresh = True
        if fresh:
            shutil.rmtree(root / "mutants", ignore_errors=True)
        (root / "mutants").mkdir(exist_ok=True)
        (root / "mutants" / SUITE_RECORD).write_text(suite)
        max_children = args.max_children or os.cpu_count() or 1
        code, tail = run_mutmut(root, max_children, args.mutants, console, suite)
        seconds = time.monotonic() - clock
        if code != 0:
            say(console, "\n".join(tail))
            say(console, f"vgrad mutate: mutmut run failed (exit code {code})")
            return EXIT_FAILED
    if not (root / "mutants").is_dir():
        say(console, "vgrad mutate: no results: mutmut has not run here yet (drop --report-only)")
        return EXIT_USAGE
    if args.report_only:  # the date of the results: when mutmut last wrote them
        written = [meta.stat().st_mtime for meta in (root / "mutants").rglob("*.py.meta")]
        if written:
            started = datetime.fromtimestamp(max(written), UTC)
    try:
        mutants = load_results(root)
    except ValueError as error:
        say(console, f"vgrad mutate: {error}")
        return EXIT_USAGE
    if not mutants:
        say(console, "vgrad mutate: mutmut's results list no mutants")
        return EXIT_USAGE
    attach_diffs(root, [m for m in mutants if m.status not in ("killed", "not checked")])
    classify(root, mutants)
    report = build_report(
        mutants,
        command=_command_line(args),
        started=started,
        seconds=seconds,
        mutmut_version=mutmut_version(),
    )
    print_report(report, console, functions=args.functions)
    page = write_html(Path(args.out), report)
    say(console, f"HTML report: {page}")
    if args.json:
        write_json(Path(args.json), report)
        say(console, f"JSON report: {args.json}")
    score = report["counts"]["score"]
    if args.fail_under is not None and (score is None or 100 * score < args.fail_under):
        say(console, f"vgrad mutate: score {percent(score)} is below {args.fail_under}%")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
