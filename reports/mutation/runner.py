"""Running mutmut for `vgrad mutate`: finding it and the project, and ``mutmut run``
with a progress bar; which --suite the results in mutants/ belong to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.mutation.plugin import PROFILE, SUITE_VARIABLE

SUITE_RECORD = "vgrad-suite"  # the file in mutants/ naming the --suite of its results


def mutmut_command() -> list[str] | None:
    """How to start mutmut: its script next to this Python, or on PATH; None if absent."""
    import importlib.util

    if importlib.util.find_spec("mutmut") is None:
        return None
    beside = Path(sys.executable).with_name("mutmut")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mutmut")
    return [found] if found else None


def mutmut_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mutmut")
    except PackageNotFoundError:
        return None


def find_root(start: Path) -> Path | None:
    """The project root: the nearest folder from `start` up with a ``[tool.mutmut]`` config."""
    for folder in (start, *start.parents):
        config = folder / "pyproject.toml"
        if config.is_file() and "[tool.mutmut]" in config.read_text(encoding="utf-8"):
            return folder
    return None


_STATUS_LINE = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+)\s+🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)")


def recorded_suite(root: Path) -> str | None:
    """The --suite whose results mutants/ holds (all for a plain `mutmut run` or a run from
    before --suite); None when mutmut has not run here."""
    record = root / "mutants" / SUITE_RECORD
    if not (root / "mutants").is_dir():
        return None
    return record.read_text().strip() if record.is_file() else "all"


def run_mutmut(
    root: Path, max_children: int, names: Sequence[str], console: Any, suite: str = "all"
) -> tuple[int, list[str]]:
    """Run ``mutmut run`` in `root` with a progress bar, testing each mutant with the tests
    of `suite` (a key of SUITES); its exit code and last lines."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    command = [*mutmut_command(), "run", "--max-children", str(max_children), *names]
    env = {**os.environ, "VGRAD_PROFILE": PROFILE, "PYTHONUNBUFFERED": "1", SUITE_VARIABLE: suite}
    tail: deque[str] = deque(maxlen=60)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("mutmut: preparing", total=None, counts="")
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        pending = b""
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for raw in lines:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                status = _STATUS_LINE.search(line)
                if status:
                    done, total, killed, no_tests, timeout, suspicious, survived = map(
                        int, status.groups()
                    )
                    progress.update(
                        task,
                        description="mutmut: testing mutants",
                        completed=done,
                        total=total,
                        counts=f"killed {killed} survived {survived} timeout {timeout} "
                        f"suspicious {suspicious} no tests {no_tests}",
                    )
                    continue
                spinner = line.lstrip("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ").strip()
                if spinner and (not tail or tail[-1] != spinner):
                    tail.append(spinner)
                    if len(spinner) < 60 and not spinner.startswith(("also copying", "engine")):
                        progress.update(task, description=f"mutmut: {spinner}")
        code = process.wait()
    return code, list(tail)
