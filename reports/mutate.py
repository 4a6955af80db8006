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
with the `mutmut` Hypothesis profile, fastest tests first.

Exit codes: 0 when the run and the report completed (and the score is at least
``--fail-under``), 1 when mutmut failed or the score is below ``--fail-under``, 2 for
bad arguments, a missing mutmut, or no results to report.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

PROFILE = "mutmut"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_OUT = "mutation-report"
CLASS_SEPARATOR = "ǁ"  # mutmut's mangled names: x_func, xǁClassǁmethod

# mutmut 3.8.1's exit code -> status (mutmut/stats.py), for when mutmut is not importable.
_STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    2: "check was interrupted by user",
    None: "not checked",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}
STATUSES = (
    "killed",
    "survived",
    "timeout",
    "suspicious",
    "no tests",
    "skipped",
    "segfault",
    "caught by type check",
    "check was interrupted by user",
    "not checked",
)
SHOWN_STATUSES = ("killed", "survived", "timeout", "suspicious", "no tests")
# --suite: the tests mutmut may run on a mutant (all: [tool.mutmut]'s test selection,
# the property suite and tests/engine), told to the plugin below by an environment
# variable, and recorded in mutants/ (results of one suite are no results of another).
SUITES: dict[str, str | None] = {"all": None, "properties": "properties"}
SUITE_VARIABLE = "VGRAD_MUTATE_SUITE"
SUITE_RECORD = "vgrad-suite"


# --- the pytest plugin, loaded in mutmut's test runs --------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under mutmut the suite uses the `mutmut` Hypothesis profile (properties/settings.py):
    derandomized, no example database, no shrinking, `differing_executors` and `too_slow`
    suppressed.  Runs before properties/conftest.py's `pytest_configure`, which loads the
    profile `VGRAD_PROFILE` names.
    """
    os.environ["VGRAD_PROFILE"] = PROFILE
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        # A mutant's process is forked from mutmut's fork server, which holds the whole
        # collected suite (and JAX): millions of objects the cycle collector would walk
        # again at every collection, pytest's gc.collect() calls at exit included
        # (3 s of each mutant's 3.5 s here).  None of them is garbage; freeze them.
        gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    """Keep only the tests of the suite `vgrad mutate --suite` chose; when testing a
    mutant, run them fastest first (by mutmut's recorded durations).

    mutmut stops at the first failure (``-x``), so a mutant dies as early as its fastest
    killing test allows; its fork server otherwise hands the tests over in set order.
    Dropping tests at collection drops them from mutmut's record of which tests reach
    which function too, so no mutant is ever tested with them.
    """
    folder = SUITES.get(os.environ.get(SUITE_VARIABLE, "all"))
    if folder is not None:
        dropped = [i for i in items if i.path.relative_to(config.rootpath).parts[0] != folder]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if i not in dropped]
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    try:  # the tests run inside mutants/, next to mutmut's stats
        durations = json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


# --- results ------------------------------------------------------------------------------


def status_of(exit_code: int | None) -> str:
    """mutmut's status for a mutant's recorded exit code (its own table when importable)."""
    try:
        from mutmut.stats import status_by_exit_code
    except ImportError:
        return _STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")
    return status_by_exit_code[exit_code]


@dataclass
class Mutant:
    """One mutant: mutmut's name for it, where it lives, what became of it."""

    name: str
    path: str  # the mutated source file, relative to the project root
    module: str
    function: str
    status: str
    exit_code: int | None
    diff: str = ""


@dataclass
class Counts:
    """How many mutants ended in each status, and the score."""

    by_status: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, mutants: Iterable[Mutant]) -> Counts:
        return cls(Counter(m.status for m in mutants))

    def __getitem__(self, status: str) -> int:
        return self.by_status[status]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def checked(self) -> int:
        return self.total - self.by_status["not checked"]

    @property
    def score(self) -> float | None:
        """killed / (total - not checked); None when nothing was checked.  Timeouts count
        against it, as every other status that is not a kill."""
        return self.by_status["killed"] / self.checked if self.checked else None

    def as_dict(self) -> dict[str, Any]:
        counts = {status.replace(" ", "_"): self.by_status[status] for status in STATUSES}
        score = self.score
        return {
            **counts,
            "total": self.total,
            "score": score,
            "score_percent": None if score is None else round(100 * score, 2),
        }


def split_name(name: str) -> tuple[str, str]:
    """``engine.value.xǁValueǁ__add____mutmut_3`` -> (``engine.value``, ``Value.__add__``)."""
    mangled = name.partition("__mutmut_")[0]
    module, _, function = mangled.rpartition(".")
    if function.startswith(f"x{CLASS_SEPARATOR}"):
        _, cls, method = function.split(CLASS_SEPARATOR, 2)
        return module, f"{cls}.{method}"
    return module, function.removeprefix("x_")


def load_results(root: Path) -> list[Mutant]:
    """Every mutant mutmut knows of under ``root/mutants``, from its ``.meta`` files."""
    mutants_dir = root / "mutants"
    found = []
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        try:
            exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"cannot read mutmut's results in {meta}: {error!r}") from error
        path = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        for name, exit_code in exit_codes.items():
            module, function = split_name(name)
            found.append(Mutant(name, path, module, function, status_of(exit_code), exit_code))
    return found


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def attach_diffs(root: Path, mutants: Iterable[Mutant]) -> None:
    """Each mutant's diff against the original function, as ``mutmut show`` prints it."""
    mutants = list(mutants)
    if not mutants:
        return
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:  # another mutmut: ask its command line
        for m in mutants:
            m.diff = _show(root, m.name)
        return
    with _working_directory(root):
        for m in mutants:
            try:
                m.diff = get_diff_for_mutant(m.name, path=m.path)
            except Exception as error:  # a stale mutants/ directory; say so, go on
                m.diff = f"(no diff: {error})"


def _show(root: Path, name: str) -> str:
    command = mutmut_command()
    if command is None:
        return "(no diff: mutmut is not installed)"
    shown = subprocess.run(
        [*command, "show", name], cwd=root, capture_output=True, text=True, check=False
    )
    lines = shown.stdout.splitlines()
    return "\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines)


# --- the report ---------------------------------------------------------------------------


def _rows(mutants: Sequence[Mutant], key: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[Mutant]] = {}
    for m in mutants:
        group = (m.module,) if key == "module" else (m.module, m.function)
        groups.setdefault(group, []).append(m)
    rows = []
    for group, members in sorted(groups.items()):
        names = dict(zip(("module", "function"), group, strict=False))
        rows.append({**names, **Counts.of(members).as_dict()})
    return rows


def build_report(
    mutants: Sequence[Mutant],
    *,
    command: str,
    started: datetime | None = None,
    seconds: float | None = None,
    mutmut_version: str | None = None,
) -> dict[str, Any]:
    """The report as data: what `--json` writes and the HTML and terminal show."""
    counts = Counts.of(mutants)
    not_killed = [m for m in mutants if m.status not in ("killed", "not checked")]
    return {
        "tool": f"mutmut {mutmut_version}" if mutmut_version else "mutmut",
        "command": command,
        "date": (started or datetime.now(UTC)).isoformat(timespec="seconds"),
        "seconds": None if seconds is None else round(seconds, 1),
        "score_definition": "killed / (total - not checked); timeouts are not kills",
        "counts": counts.as_dict(),
        "modules": _rows(mutants, "module"),
        "functions": _rows(mutants, "function"),
        "not_killed": [
            {
                "name": m.name,
                "module": m.module,
                "function": m.function,
                "path": m.path,
                "status": m.status,
                "exit_code": m.exit_code,
                "diff": m.diff,
            }
            for m in sorted(not_killed, key=lambda m: (m.status != "survived", m.name))
        ],
    }


def _percent(score: float | None) -> str:
    return "-" if score is None else f"{100 * score:.1f}%"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON to `path` atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child, td.name { text-align: left; }
th { background: #f3f3f3; } .score { font-size: 2rem; font-weight: bold; }
.good { color: #1a7f37; } .bad { color: #b42318; }
pre.diff { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5rem; overflow-x: auto; }
.add { color: #1a7f37; } .del { color: #b42318; } .hunk { color: #6639ba; }
"""


def _html_table(rows: list[dict[str, Any]], names: Sequence[str]) -> str:
    headers = [*names, *SHOWN_STATUSES, "total", "score"]
    out = ["<table><tr>", *(f"<th>{html.escape(h)}</th>" for h in headers), "</tr>"]
    for row in rows:
        cells = [f'<td class="name">{html.escape(str(row[n]))}</td>' for n in names]
        cells += [f"<td>{row[s.replace(' ', '_')]}</td>" for s in SHOWN_STATUSES]
        cells += [f"<td>{row['total']}</td>", f"<td>{_percent(row['score'])}</td>"]
        out += ["<tr>", *cells, "</tr>"]
    out.append("</table>")
    return "".join(out)


def _html_diff(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        css = ""
        if line.startswith(("+++", "---")):
            css = ""
        elif line.startswith("+"):
            css = "add"
        elif line.startswith("-"):
            css = "del"
        elif line.startswith("@@"):
            css = "hunk"
        text = html.escape(line)
        lines.append(f'<span class="{css}">{text}</span>' if css else text)
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    counts = report["counts"]
    score = counts["score"]
    css_class = "good" if score is not None and score >= 0.95 else "bad"
    summary = ", ".join(
        f"{counts[key]} {s}" for s in STATUSES if counts[key := s.replace(" ", "_")]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>vgrad mutation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Mutation testing of engine/</h1>",
        f'<p class="meta">{html.escape(report["tool"])} &middot; {html.escape(report["date"])}'
        f" &middot; <code>{html.escape(report['command'])}</code>"
        + (f" &middot; {report['seconds']} s" if report["seconds"] is not None else "")
        + "</p>",
        f'<p class="score {css_class}">{_percent(score)} killed</p>',
        f"<p>{html.escape(report['score_definition'])}.<br>{counts['killed']} killed of "
        f"{counts['total'] - counts['not_checked']} checked ({html.escape(summary)}). "
        f"Timeouts: {counts['timeout']}, shown apart and not counted as kills.</p>",
        "<h2>Per module</h2>",
        _html_table(report["modules"], ["module"]),
        "<h2>Per function</h2>",
        _html_table(report["functions"], ["module", "function"]),
        f"<h2>Mutants not killed ({len(report['not_killed'])})</h2>",
    ]
    if not report["not_killed"]:
        parts.append("<p>None: every mutant was killed.</p>")
    for m in report["not_killed"]:
        parts.append(
            f'<h3 id="{html.escape(m["name"])}"><code>{html.escape(m["name"])}</code>: '
            f"{html.escape(m['status'])}</h3>"
        )
        parts.append(_html_diff(m["diff"] or "(no diff)"))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(out_dir: Path, report: dict[str, Any]) -> Path:
    """Write ``out_dir/index.html`` (atomically) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".index.html.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(render_html(report))
        os.chmod(temporary, 0o644)
        os.replace(temporary, page)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return page


def print_report(report: dict[str, Any], console: Any, *, functions: bool = False) -> None:
    """The summary, the per-module table (and per function, on request) and the survivors."""
    from rich.syntax import Syntax
    from rich.table import Table

    def table(title: str, rows: list[dict[str, Any]], names: Sequence[str]) -> Table:
        t = Table(title=title)
        for n in names:
            t.add_column(n)
        for s in (*SHOWN_STATUSES, "total", "score"):
            t.add_column(s, justify="right")
        for row in rows:
            t.add_row(
                *(str(row[n]) for n in names),
                *(str(row[s.replace(" ", "_")]) for s in SHOWN_STATUSES),
                str(row["total"]),
                _percent(row["score"]),
            )
        return t

    console.print(table("Mutants per module", report["modules"], ["module"]))
    if functions:
        rows = [r for r in report["functions"] if r["killed"] != r["total"]]
        console.print(table("Functions with mutants not killed", rows, ["module", "function"]))
    for m in report["not_killed"]:
        _say(console, f"{m['name']}: {m['status']}")
        if m["diff"]:
            console.print(Syntax(m["diff"], "diff", theme="ansi_dark", word_wrap=True))
    counts = report["counts"]
    _say(
        console,
        f"score {_percent(counts['score'])} = {counts['killed']} killed / "
        f"({counts['total']} total - {counts['not_checked']} not checked); "
        f"survived {counts['survived']}, timeout {counts['timeout']} (not counted as killed), "
        f"suspicious {counts['suspicious']}, no tests {counts['no_tests']}",
    )


# --- running mutmut -----------------------------------------------------------------------


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


# --- the command --------------------------------------------------------------------------


def _say(console: Any, text: str) -> None:
    """Print `text` as it is: no rich markup (``[tool.mutmut]``), no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


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
        _say(
            console,
            "vgrad mutate: no pyproject.toml with a [tool.mutmut] section here or above; "
            "run it from the vgrad checkout",
        )
        return EXIT_USAGE
    if args.report_only and (args.fresh or args.mutants):
        _say(console, "vgrad mutate: --report-only runs nothing: drop --fresh and MUTANT names")
        return EXIT_USAGE
    recorded = recorded_suite(root)
    suite = args.suite or (recorded if args.report_only else None) or "all"
    if args.report_only and recorded not in (None, suite):
        _say(console, f"vgrad mutate: mutants/ holds results of --suite {recorded}, not {suite}")
        return EXIT_USAGE
    args.suite = suite  # as the report's command line shows it
    started, clock = datetime.now(UTC), time.monotonic()
    seconds = None
    if not args.report_only:
        if mutmut_command() is None:
            _say(
                console,
                "vgrad mutate: mutmut is not installed; install the dev extra: "
                "pip install -e '.[dev]'",
            )
            return EXIT_USAGE
        fresh = args.fresh
        if recorded not in (None, suite):
            _say(
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
            _say(console, "\n".join(tail))
            _say(console, f"vgrad mutate: mutmut run failed (exit code {code})")
            return EXIT_FAILED
    if not (root / "mutants").is_dir():
        _say(console, "vgrad mutate: no results: mutmut has not run here yet (drop --report-only)")
        return EXIT_USAGE
    if args.report_only:  # the date of the results: when mutmut last wrote them
        written = [meta.stat().st_mtime for meta in (root / "mutants").rglob("*.py.meta")]
        if written:
            started = datetime.fromtimestamp(max(written), UTC)
    try:
        mutants = load_results(root)
    except ValueError as error:
        _say(console, f"vgrad mutate: {error}")
        return EXIT_USAGE
    if not mutants:
        _say(console, "vgrad mutate: mutmut's results list no mutants")
        return EXIT_USAGE
    attach_diffs(root, [m for m in mutants if m.status not in ("killed", "not checked")])
    report = build_report(
        mutants,
        command=_command_line(args),
        started=started,
        seconds=seconds,
        mutmut_version=mutmut_version(),
    )
    print_report(report, console, functions=args.functions)
    page = write_html(Path(args.out), report)
    _say(console, f"HTML report: {page}")
    if args.json:
        write_json(Path(args.json), report)
        _say(console, f"JSON report: {args.json}")
    score = report["counts"]["score"]
    if args.fail_under is not None and (score is None or 100 * score < args.fail_under):
        _say(console, f"vgrad mutate: score {_percent(score)} is below {args.fail_under}%")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
