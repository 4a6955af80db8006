"""`vgrad report` on the command line: progress bar, files, a closing summary, exit code.

Exit codes: 0 when every graph agrees with the oracle, 1 when any disagrees or raises
(the report is written either way), 2 for bad arguments or a target that cannot load.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from properties.targets import TargetLoadError, load_target
from reports.report import ReportConfig, ReportData, ReportError, run_report, validate
from reports.report_files import write_report

EXIT_USAGE = 2


def main(args: argparse.Namespace) -> int:
    """Run `vgrad report` with parsed arguments; return the exit code."""
    console = Console(stderr=True)
    config = ReportConfig(target=args.target, graphs=args.graphs, seed=args.seed, ops=args.ops,
                          max_nodes=args.max_nodes, tensor=args.tensor)
    try:
        validate(config)
        target = load_target(config.target)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"graphs on {config.target}", total=config.graphs)
            data = run_report(config, target, lambda n: progress.advance(task, n))
    except (ReportError, TargetLoadError) as error:
        console.print(f"[red]vgrad report: {error}[/red]")
        return EXIT_USAGE
    try:
        files = write_report(data, Path(args.out))
    except OSError as error:
        console.print(f"[red]vgrad report: cannot write the report to {args.out}: {error}[/red]")
        return EXIT_USAGE
    _print_summary(data, files, Console())
    return data.exit_code


def _print_summary(data: ReportData, files: dict[str, Path], console: Console) -> None:
    n = len(data.statuses)
    table = Table(title=f"vgrad report: {data.config.target}, {n} {data.config.kind} graphs")
    for column in ("agree", "disagree", "error", "median grad error", "max grad error", "time"):
        table.add_column(column, justify="right")
    finite = data.gradient_errors[np.isfinite(data.gradient_errors)]
    median = float(np.median(finite)) if finite.size else float("nan")
    table.add_row(
        str(data.count("agree")), str(data.count("disagree")), str(data.count("error")),
        f"{median:.3g}", f"{float(data.gradient_errors.max()):.3g}",
        f"{data.seconds:.1f} s ({n / data.seconds:.0f}/s)",
    )
    console.print(table)
    if data.ops_missing:
        console.print("not covered (target lacks): "
                      + ", ".join(f"{op} ({need})" for op, need in data.ops_missing.items()))
    for name, path in files.items():
        console.print(f"{name}: {path}")
