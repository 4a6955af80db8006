"""`vgrad report` on the command line: progress bar, files, a closing summary, exit code.

Exit codes: 0 when every graph agrees with the oracle, 1 when any disagrees or raises
(the report is written either way), 2 for bad arguments or a target that cannot load.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from properties.targets import TargetLoadError, load_target
from reports.report import (
    ReportConfig,
    ReportData,
    ReportError,
    ReportInterrupted,
    run_report,
    validate,
)
from reports.report_files import write_report

EXIT_FAILED, EXIT_USAGE = 1, 2


def main(args: argparse.Namespace, pool: Executor | None = None) -> int:
    """Run `vgrad report` with parsed arguments; return the exit code. `pool`: the
    processes of --jobs (`reports.pool.report_pool`), shut down here."""
    try:
        return _run(args, pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _run(args: argparse.Namespace, pool: Executor | None) -> int:
    console = Console(stderr=True)
    config = ReportConfig(
        target=args.target,
        graphs=args.graphs,
        seed=args.seed,
        ops=args.ops,
        max_nodes=args.max_nodes,
        tensor=args.tensor,
    )
    try:
        validate(config)
        target = load_target(config.target, timeout=args.timeout, load_timeout=args.timeout)
    except (ReportError, TargetLoadError) as error:
        _error(console, f"vgrad report: {error}")
        return EXIT_USAGE
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    shard = getattr(args, "shard", None)
    drawn: dict[str, Future[bytes]] = {}
    total = config.graphs if shard is None else _shard_size(config, shard)
    try:
        with (
            _stop_on_signals() as requests,
            Progress(*columns, console=console, transient=True) as progress,
        ):
            task = progress.add_task(f"graphs on {escape(config.target)}", total=total)
            advance = lambda n: progress.advance(task, n)  # noqa: E731
            if shard is not None:
                return _shard(config, target, args, advance, requests, console, pool)
            if _past_one_process(args):
                from reports.parallel import run_parallel

                data, drawn = run_parallel(config, target, args, advance, requests, pool)
            else:
                data = run_report(config, target, advance, requests)
    except ReportError as error:
        _error(console, f"vgrad report: {error}")
        return EXIT_USAGE
    except ReportInterrupted as error:
        _error(console, f"vgrad report: {error}")
        return EXIT_FAILED
    finally:
        target.close()
    try:
        files = write_report(data, Path(args.out), drawn)
    except OSError as error:
        _error(console, f"vgrad report: cannot write the report to {args.out}: {error}")
        return EXIT_USAGE
    _print_summary(data, files, Console())
    if data.partial:
        _error(
            console,
            f"vgrad report: interrupted: the report holds the first "
            f"{len(data.statuses)} of {config.graphs} graphs (marked partial)",
        )
    return data.exit_code


def _past_one_process(args: argparse.Namespace) -> bool:
    return (
        getattr(args, "jobs", 1) > 1
        or getattr(args, "checkpoint", None) is not None
        or _scheduler(args) is not None
    )


def _scheduler(args: argparse.Namespace) -> str | None:
    from reports.pool import scheduler_address

    return scheduler_address(getattr(args, "scheduler", None))


def _shard_size(config: ReportConfig, shard: tuple[int, int]) -> int:
    from reports.shards import shard_range

    start, stop = shard_range(config, *shard)
    return stop - start


def _shard(
    config: ReportConfig,
    target: Any,
    args: argparse.Namespace,
    advance: Callable[[int], None],
    requests: Callable[[], int],
    console: Console,
    pool: Any,
) -> int:
    """`--shard k/N`: the part file of the shard; 1 when it was interrupted."""
    from reports.parallel import write_shard
    from reports.shards import shard_range

    start, stop = shard_range(config, *args.shard)
    judged = write_shard(config, target, args, advance, requests, pool)
    k, n = args.shard
    Console().print(
        f"shard {k}/{n}: graphs {start} to {stop - 1}, part file {args.out}", markup=False
    )
    if judged.stop < stop:
        _error(
            console,
            f"vgrad report: interrupted: the part holds graphs {start} to "
            f"{judged.stop - 1} only; merge will refuse it",
        )
        return EXIT_FAILED
    return 0


def _error(console: Console, text: str) -> None:
    console.print(text, style="red", markup=False, highlight=False)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[Callable[[], int]]:
    """Count SIGINT and SIGTERM instead of dying: the run stops at the next batch and
    writes what it checked; a third signal ends it at once."""
    count = [0]

    def request(signum: int, frame: Any) -> None:
        count[0] += 1
        if count[0] >= 3:
            raise KeyboardInterrupt

    try:
        previous = [signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)]
    except ValueError:  # not the main thread
        yield lambda: 0
        return
    try:
        yield lambda: count[0]
    finally:
        for s, handler in zip((signal.SIGINT, signal.SIGTERM), previous, strict=True):
            signal.signal(s, handler)


def _print_summary(data: ReportData, files: dict[str, Path], console: Console) -> None:
    n = len(data.statuses)
    table = Table(
        title=f"vgrad report: {escape(data.config.target)}, {n} {data.config.kind} graphs"
    )
    for column in ("agree", "disagree", "error", "median grad error", "max grad error", "time"):
        table.add_column(column, justify="right")
    finite = data.gradient_errors[np.isfinite(data.gradient_errors)]
    median = float(np.median(finite)) if finite.size else float("nan")
    table.add_row(
        str(data.count("agree")),
        str(data.count("disagree")),
        str(data.count("error")),
        f"{median:.3g}",
        f"{float(data.gradient_errors.max()):.3g}",
        f"{data.seconds:.1f} s ({n / data.seconds:.0f}/s)",
    )
    console.print(table)
    if data.ops_missing:
        console.print(
            "not covered (target lacks): "
            + ", ".join(f"{op} ({need})" for op, need in data.ops_missing.items()),
            markup=False,
        )
    for name, path in files.items():
        console.print(f"{name}: {path}", markup=False)
