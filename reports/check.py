"""`vgrad check`: run the property suite against a target and report on it.

The properties are pytest tests under `properties/`; this runs them in-process with a
small plugin that records each outcome, shows progress, and then prints one row per
property (passed, failed, skipped with the reason) and each failure's counterexample.
Exit codes: 0 when every applicable property held, 1 when any failed, 2 when the target
could not be loaded or the arguments were wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import properties
from properties.reference import CASE_MARKER, second_opinion_of
from properties.settings import case_timeout
from properties.targets import TargetLoadError, load_target

PROPERTIES_DIR = Path(properties.__file__).parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class CaseResult:
    """One collected test case (a property under one parametrization)."""

    nodeid: str
    outcome: str  # passed | failed | skipped
    seconds: float = 0.0
    reason: str = ""
    message: str = ""  # the first failure's (or the only one's)
    verdict: str = ""  # the second opinion on a failed comparison
    failures: list[str] = field(default_factory=list)  # every distinct failure
    verdicts: list[str] = field(default_factory=list)  # each failure's second opinion
    diagnosis: str = ""  # the bug named by probing the failing op, rule or optimizer


@dataclass
class CheckReport:
    """Everything `vgrad check` found, as printed and as written to JSON."""

    target: str
    profile: str
    seed: int | None
    capabilities: list[str]
    limitations: dict[str, str] = field(default_factory=dict)
    precision: str = "float64"
    cases: list[CaseResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: str = ""  # what was running when Ctrl-C or SIGTERM stopped the run
    notes: list[str] = field(default_factory=list)  # said once, about the whole run

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.cases)

    @property
    def exit_code(self) -> int:
        if self.count("failed") or self.errors or self.interrupted:
            return EXIT_FAILED
        return EXIT_OK


def property_name(nodeid: str) -> str:
    """``properties/test_x.py::test_y[case]`` -> ``x: y``."""
    path, _, rest = nodeid.partition("::")
    module = Path(path).stem.removeprefix("test_")
    return f"{module}: {rest.split('[')[0].removeprefix('test_')}"


LACKS = "target lacks "


class _Recorder:
    """A pytest plugin collecting outcomes and driving a progress bar."""

    def __init__(self, report: CheckReport, progress: Progress | None) -> None:
        self.report = report
        self.progress = progress
        self.task = progress.add_task("properties", total=None) if progress else None
        self.running = ""

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running = nodeid

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running = ""

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.progress:
            self.progress.update(self.task, total=len(session.items))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.report.errors.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            if report.when == "teardown" and report.outcome == "passed":
                return
            self.report.cases.append(_case(report))
            if self.progress:
                self.progress.advance(self.task)


def _case(report: pytest.TestReport) -> CaseResult:
    case = CaseResult(report.nodeid, report.outcome, round(report.duration, 4))
    lacks = dict(report.user_properties).get("vgrad_lacks")
    if lacks:  # a property that ran on what the target has, and lists what it lacks
        case.reason = LACKS + ", ".join(str(m) for m in lacks)
    if report.skipped:
        longrepr = report.longrepr
        case.reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        case.reason = re.sub(r"^Skipped: ", "", case.reason)
    elif report.failed:
        found = dict(report.user_properties).get("vgrad_failures")
        if found:
            case.failures = [_readable(str(m)) for m in found]
        else:
            crash = getattr(report.longrepr, "reprcrash", None)
            case.failures = [_readable(crash.message if crash else report.longreprtext)]
        case.message = case.failures[0]
        case.verdicts = [str(v) for v in dict(report.user_properties).get("vgrad_verdicts", [])]
        case.diagnosis = str(dict(report.user_properties).get("vgrad_diagnosis", ""))
    return case


def _readable(message: str) -> str:
    """The failure as a property words it, without pytest's assertion rewriting."""
    message = message.removeprefix("AssertionError: ")
    message = message.removeprefix("properties.targets.TargetDied: ")
    for tail in ("\nassert ", "\nFailing test case:", "\nFalsifying example:"):
        message = message.split(tail)[0]
    return "\n".join(line.removeprefix("  ") for line in message.splitlines())


def run_check(
    target: str,
    profile: str = "default",
    seed: int | None = None,
    select: str | None = None,
    workers: int = 0,
    console: Console | None = None,
    exitfirst: bool = False,
    shrink: bool = True,
    timeout: float | None = None,
    strict: bool = False,
    precision: str = "float64",
    progress: Progress | None = None,
) -> CheckReport:
    """Run the suite against `target` (raises TargetLoadError when it cannot load).

    The progress bar is `progress`, or one drawn on `console`, or none.
    Ctrl-C or SIGTERM ends the run early: the report then holds every property that
    finished and names the one that was running."""
    loaded = load_target(target, timeout=timeout or case_timeout(profile), load_timeout=timeout)
    report = CheckReport(
        target, profile, seed, sorted(loaded.capabilities), dict(loaded.limitations), precision
    )
    loaded.close()
    args = [str(PROPERTIES_DIR), f"--target={target}", "-p", "no:cacheprovider", "-o", "addopts="]
    if timeout:
        args.append(f"--case-timeout={timeout}")
    args += ["-p", "no:terminal", f"--rootdir={PROPERTIES_DIR.parent}"]
    if seed is not None:
        args.append(f"--hypothesis-seed={seed}")
    if select:
        args += ["-k", select]
    if workers:
        args += ["-n", str(workers)]
    if exitfirst:
        args.append("--exitfirst")
    previous = os.environ.get("VGRAD_PROFILE")
    os.environ["VGRAD_PROFILE"] = profile
    if not shrink:
        os.environ["VGRAD_NO_SHRINK"] = "1"
    if seed is not None:  # the same seed replays the same run: no saved examples first
        os.environ["VGRAD_NO_DATABASE"] = "1"
    previous_precision = os.environ.get("VGRAD_PRECISION")
    os.environ["VGRAD_PRECISION"] = precision
    progress = progress or (_progress(console) if console else None)
    recorder = _Recorder(report, progress)
    with _sigterm_as_interrupt(), progress or contextlib.nullcontext():
        status = pytest.main(args, plugins=[recorder])
    if status == pytest.ExitCode.INTERRUPTED:
        report.interrupted = recorder.running or "(between properties)"
    os.environ.pop("VGRAD_NO_SHRINK", None)
    os.environ.pop("VGRAD_NO_DATABASE", None)
    if previous_precision is None:
        os.environ.pop("VGRAD_PRECISION")
    else:
        os.environ["VGRAD_PRECISION"] = previous_precision
    if previous is None:
        os.environ.pop("VGRAD_PROFILE")
    else:
        os.environ["VGRAD_PROFILE"] = previous
    if (
        status
        not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
        and not report.errors
    ):
        report.errors.append(f"pytest stopped with {status!r}")
    for case in report.cases:
        if case.outcome == "failed":
            given = case.verdicts  # computed with the failure (protocol v2), else from its record
            case.verdicts = [
                (given[k] if k < len(given) else "") or _second_opinion(m)
                for k, m in enumerate(case.failures or [case.message])
            ]
            case.verdict = case.verdicts[0]
    report.notes += precision_notes(report)
    if strict:
        report.cases += [
            CaseResult(f"limitations::{name}", "failed", message=f"limitation (--strict): {why}")
            for name, why in report.limitations.items()
        ]
    return report


FLOAT32_LABEL = "an array of float32 ("  # `properties.reference.bad_value`'s words


def precision_notes(report: CheckReport) -> list[str]:
    """A float64 run whose failures got float32 arrays: one note saying so, and how to
    check the target's numbers in its own precision."""
    messages = [m for c in report.cases if c.outcome == "failed" for m in c.failures or [c.message]]
    float32 = sum(FLOAT32_LABEL in m for m in messages)
    if report.precision != "float64" or not float32:
        return []
    return [
        f"this target computes in float32: {float32} of {len(messages)} failures got float32 "
        "arrays where a float64 run expects float64. Run with --precision float32 to check its "
        "numbers at float32's tolerance."
    ]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does (pytest then keeps what finished)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _suite_record(message: str) -> str:
    """The suite's case record: the message's last line, never a line of the target's
    text (an exception's message can hold anything, a forged record too)."""
    lines = message.rstrip("\n").splitlines()
    return lines[-1] if lines and lines[-1].startswith(CASE_MARKER) else ""


def _second_opinion(message: str) -> str:
    record = _suite_record(message)
    if not record:
        return ""
    try:
        return second_opinion_of(record) or ""
    except Exception as error:  # the verdict is advice; never lose the failure over it
        return f"second opinion unavailable: {error!r}"


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def summarize(report: CheckReport) -> list[dict[str, Any]]:
    """One row per property: counts of each outcome and the distinct skip reasons."""
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"passed": 0, "failed": 0, "skipped": 0, "lacks": [], "reasons": []}
    )
    for case in report.cases:
        row = rows[property_name(case.nodeid)]
        row[case.outcome] += 1
        if case.reason.startswith(LACKS):
            missing = case.reason.removeprefix(LACKS).split(", ")
            row["lacks"] += [m for m in missing if m not in row["lacks"]]
        elif case.reason and case.reason not in row["reasons"]:
            row["reasons"].append(case.reason)
    for row in rows.values():
        if row["lacks"]:
            row["reasons"].insert(0, LACKS + ", ".join(row["lacks"]))
    return [{"property": name, **row} for name, row in rows.items()]


def print_report(report: CheckReport, console: Console) -> None:
    """The table of properties, then every failure with its counterexample."""
    precision = "" if report.precision == "float64" else f", {report.precision}"
    table = Table(
        title=f"vgrad check --target {escape(report.target)} ({report.profile}{precision})"
    )
    for column in ("property", "passed", "failed", "skipped", "why skipped"):
        table.add_column(column, overflow="fold")
    for row in summarize(report):
        style = "red" if row["failed"] else ("yellow" if not row["passed"] else "green")
        table.add_row(
            row["property"],
            str(row["passed"]),
            str(row["failed"]),
            str(row["skipped"]),
            "; ".join(row["reasons"]),
            style=style,
        )
    console.print(table)
    for case in report.cases:
        if case.outcome != "failed":
            continue
        messages = case.failures or [case.message]
        verdicts = case.verdicts or [case.verdict]
        for k, (message, verdict) in enumerate(zip(messages, verdicts, strict=False)):
            which = f" (failure {k + 1} of {len(messages)})" if len(messages) > 1 else ""
            console.rule(f"[red]FAILED {escape(case.nodeid)}{which}")
            shown = message.rstrip("\n").removesuffix(_suite_record(message))
            console.print(shown.rstrip("\n"), markup=False, highlight=False)
            if verdict:
                console.print(verdict, markup=False, highlight=False)
            if case.diagnosis:
                console.print(case.diagnosis, markup=False, highlight=False)
    for error in report.errors:
        console.rule("[red]ERROR")
        console.print(error, markup=False, highlight=False)
    if report.limitations:
        console.rule("[yellow]limitations (not used in other properties' cases)")
        for name, why in report.limitations.items():
            console.print(f"{name}: {why}", markup=False, highlight=False)
    for note in report.notes:
        console.rule("[yellow]note")
        console.print(note, markup=False, highlight=False)
    if report.interrupted:
        console.rule("[red]INTERRUPTED")
        console.print(
            f"interrupted while running {report.interrupted}; the results above are those of "
            "the properties that finished",
            markup=False,
        )
    console.print(
        f"{report.count('passed')} passed, {report.count('failed')} failed, "
        f"{report.count('skipped')} skipped",
        markup=False,
    )


def main(args: Any) -> int:
    """`vgrad check` with parsed arguments; returns the exit code."""
    console = Console(stderr=False)
    if getattr(args, "database", None):  # read by properties.settings when pytest starts
        os.environ["VGRAD_DATABASE"] = args.database
    jobs = getattr(args, "jobs", 1)
    try:
        report = run_check(
            args.target,
            args.profile,
            args.seed,
            args.select,
            args.workers or (jobs if jobs > 1 else 0),
            console=console,
            exitfirst=args.exitfirst,
            timeout=args.timeout,
            strict=args.strict,
            precision=args.precision,
        )
    except TargetLoadError as error:
        console.print(f"vgrad check: {error}", markup=False)
        return EXIT_USAGE
    print_report(report, console)
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(report), indent=2) + "\n")
    if getattr(args, "gradescope", None):
        from reports.gradescope import results

        results_json = results(args.target, json.loads(json.dumps(asdict(report))))
        Path(args.gradescope).write_text(json.dumps(results_json, indent=1) + "\n")
    return report.exit_code
