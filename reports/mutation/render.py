"""Showing `vgrad mutate`'s report: in the terminal (rich), as one self-contained HTML
page, and as JSON; the files are replaced whole (`reports.output`)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.mutation.results import SHOWN_STATUSES, STATUSES
from reports.output import page, table, td, write_atomically


def percent(score: float | None) -> str:
    return "-" if score is None else f"{100 * score:.1f}%"


def say(console: Any, text: str) -> None:
    """Print `text` as it is: no rich markup (``[tool.mutmut]``), no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON to `path` atomically (a temporary file, then a rename)."""
    write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


_CSS = """
body { margin: 2rem; max-width: 70rem; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
th, td { text-align: right; }
th:first-child, td:first-child, td.name { text-align: left; }
.score { font-size: 2rem; font-weight: bold; }
.good { color: #1a7f37; } .bad { color: #b42318; }
pre.diff { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5rem; overflow-x: auto; }
.add { color: #1a7f37; } .del { color: #b42318; } .hunk { color: #6639ba; }
"""


def _html_table(rows: list[dict[str, Any]], names: Sequence[str]) -> str:
    cells = [
        [
            *(td(html.escape(str(row[n])), "name") for n in names),
            *(td(str(row[s.replace(" ", "_")])) for s in SHOWN_STATUSES),
            td(str(row["total"])),
            td(percent(row["score"])),
        ]
        for row in rows
    ]
    return table([*names, *SHOWN_STATUSES, "total", "score"], cells)


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


def covered_line(report: dict[str, Any]) -> str:
    """The score over the mutants the protocol covers, and the others by class."""
    covered = report.get("covered")
    if covered is None:
        return ""
    outside = report.get("outside", {})
    classes = ", ".join(
        f"{name} {c['total']} ({c['killed']} killed)" for name, c in outside.items()
    )
    return (
        f"covered by the protocol: {percent(covered['score'])} = {covered['killed']} killed / "
        f"({covered['total']} - {covered['not_checked']} not checked); survived "
        f"{covered['survived']}, timeout {covered['timeout']}, no tests {covered['no_tests']}. "
        f"Outside the protocol: {sum(c['total'] for c in outside.values())}"
        + (f" ({classes})" if classes else "")
    )


def _html_covered(report: dict[str, Any]) -> str:
    line = covered_line(report)
    if not line:
        return ""
    return f"<p><b>{html.escape(line)}</b><br>{html.escape(report['protocol_rule'])}.</p>"


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    counts = report["counts"]
    score = counts["score"]
    css_class = "good" if score is not None and score >= 0.95 else "bad"
    summary = ", ".join(
        f"{counts[key]} {s}" for s in STATUSES if counts[key := s.replace(" ", "_")]
    )
    parts = [
        "<h1>Mutation testing of engine/</h1>",
        f'<p class="meta">{html.escape(report["tool"])} &middot; {html.escape(report["date"])}'
        f" &middot; <code>{html.escape(report['command'])}</code>"
        + (f" &middot; {report['seconds']} s" if report["seconds"] is not None else "")
        + "</p>",
        f'<p class="score {css_class}">{percent(score)} killed</p>',
        f"<p>{html.escape(report['score_definition'])}.<br>{counts['killed']} killed of "
        f"{counts['total'] - counts['not_checked']} checked ({html.escape(summary)}). "
        f"Timeouts: {counts['timeout']}, shown apart and not counted as kills.</p>",
        _html_covered(report),
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
            f"{html.escape(m['status'])}"
            + (f" (outside the protocol: {html.escape(m['outside'])})" if m.get("outside") else "")
            + "</h3>"
        )
        parts.append(_html_diff(m["diff"] or "(no diff)"))
    return page("vgrad mutation report", _CSS, parts)


def write_html(out_dir: Path, report: dict[str, Any]) -> Path:
    """Write ``out_dir/index.html`` (atomically) and return its path."""
    index = Path(out_dir) / "index.html"
    write_atomically(index, render_html(report))
    return index


def print_report(report: dict[str, Any], console: Any, *, functions: bool = False) -> None:
    """The summary, the per-module table (and per function, on request) and the survivors."""
    from rich.syntax import Syntax
    from rich.table import Table

    def rich_table(title: str, rows: list[dict[str, Any]], names: Sequence[str]) -> Table:
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
                percent(row["score"]),
            )
        return t

    console.print(rich_table("Mutants per module", report["modules"], ["module"]))
    if functions:
        rows = [r for r in report["functions"] if r["killed"] != r["total"]]
        console.print(rich_table("Functions with mutants not killed", rows, ["module", "function"]))
    for m in report["not_killed"]:
        outside = f" (outside the protocol: {m['outside']})" if m.get("outside") else ""
        say(console, f"{m['name']}: {m['status']}{outside}")
        if m["diff"]:
            console.print(Syntax(m["diff"], "diff", theme="ansi_dark", word_wrap=True))
    counts = report["counts"]
    say(
        console,
        f"score {percent(counts['score'])} = {counts['killed']} killed / "
        f"({counts['total']} total - {counts['not_checked']} not checked); "
        f"survived {counts['survived']}, timeout {counts['timeout']} (not counted as killed), "
        f"suspicious {counts['suspicious']}, no tests {counts['no_tests']}",
    )
    if covered_line(report):
        say(console, covered_line(report))
