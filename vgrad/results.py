"""What `vgrad.check` and `vgrad.report` return: the results, shown where they are looked at.

In Jupyter a result shows as HTML (`_repr_html_`), or Markdown where HTML is not
rendered; in a terminal or a plain `print`, as the `vgrad` command prints it.
"""

from __future__ import annotations

import html
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from reports.check import EXIT_OK, CheckReport, _suite_record, print_report, summarize
from reports.report import ReportData
from reports.report_files import document, report_html, summary_markdown, write_report

OUTCOME_COLOURS = {"failed": "#c00", "passed": "#1a7f37", "skipped": "#8a6d00"}


def _text(draw: Any) -> str:
    """What `draw(console)` prints, as plain text 100 columns wide."""
    console = Console(
        file=io.StringIO(), width=100, color_system=None, soft_wrap=True, force_jupyter=False
    )
    draw(console)
    return console.file.getvalue()


def diagnoses(case: Any) -> list[str]:
    """A failed case's diagnoses, one per failure, where the suite gives any (an optional
    "diagnosis" or "diagnoses" field of the case)."""
    fields = asdict(case)
    found = fields.get("diagnoses") or fields.get("diagnosis") or []
    found = [found] if isinstance(found, str) else list(found)
    return [str(d) if d else "" for d in found]


class CheckResult:
    """The outcome of `vgrad.check`: which properties held, which failed and why."""

    def __init__(self, report: CheckReport, target_file: Path | None = None) -> None:
        self.report = report
        self.target_file = target_file  # the module written from the objects given, if any

    @property
    def passed(self) -> bool:
        """Whether every applicable property held."""
        return self.report.exit_code == EXIT_OK

    @property
    def failures(self) -> list[str]:
        """Every distinct failure's message (its snippet included)."""
        return [
            message
            for case in self.report.cases
            if case.outcome == "failed"
            for message in case.failures or [case.message]
        ]

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return _text(lambda console: print_report(self.report, console)).rstrip("\n")

    def _repr_markdown_(self) -> str:
        report = self.report
        lines = [
            f"**vgrad check** `{report.target}` ({report.profile}): {_counts(report)}",
            "",
            "| property | passed | failed | skipped | why skipped |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {row['property']} | {row['passed']} | {row['failed']} | {row['skipped']} | "
            f"{_cell('; '.join(row['reasons']))} |"
            for row in summarize(report)
        ]
        for title, text, verdict, diagnosis in _failures(report):
            lines += ["", f"**{title}**", "", "```text", text, "```"]
            lines += [f"*{line}*" for line in (diagnosis, verdict) if line]
        lines += ["", *(f"**error**: `{e}`" for e in report.errors)]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        report = self.report
        rows = []
        for row in summarize(report):
            outcome = "failed" if row["failed"] else ("passed" if row["passed"] else "skipped")
            colour = OUTCOME_COLOURS[outcome]
            cells = [row["property"], row["passed"], row["failed"], row["skipped"]]
            cells.append("; ".join(row["reasons"]))
            rows.append(
                f"<tr style='color:{colour}'>"
                + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in cells)
                + "</tr>"
            )
        head = "".join(
            f"<th style='text-align:left'>{h}</th>"
            for h in ("property", "passed", "failed", "skipped", "why skipped")
        )
        verdict = "every applicable property held" if self.passed else "properties failed"
        parts = [
            f"<p><b>vgrad check</b> <code>{html.escape(report.target)}</code> "
            f"({html.escape(report.profile)}): {verdict}; {_counts(report)}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
        ]
        for title, text, verdict_text, diagnosis in _failures(report):
            parts.append(f"<h4 style='color:#c00'>{html.escape(title)}</h4>")
            if diagnosis:
                parts.append(f"<p><b>diagnosis</b>: {html.escape(diagnosis)}</p>")
            parts.append(f"<pre>{html.escape(text)}</pre>")
            if verdict_text:
                parts.append(f"<p><i>{html.escape(verdict_text)}</i></p>")
        parts += [f"<pre style='color:#c00'>{html.escape(e)}</pre>" for e in report.errors]
        if report.limitations:
            items = "".join(
                f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
                for k, v in report.limitations.items()
            )
            parts.append(
                f"<p>limitations (not used in other properties' cases):</p><ul>{items}</ul>"
            )
        if report.interrupted:
            parts.append(
                f"<p style='color:#c00'>interrupted while running "
                f"{html.escape(report.interrupted)}</p>"
            )
        return "\n".join(parts)


def _cell(text: str) -> str:
    """`text` in a Markdown table cell."""
    return text.replace("|", "\\|")


def _counts(report: CheckReport) -> str:
    return (
        f"{report.count('passed')} passed, {report.count('failed')} failed, "
        f"{report.count('skipped')} skipped"
    )


def _failures(report: CheckReport) -> list[tuple[str, str, str, str]]:
    """(title, message with its snippet, second opinion, diagnosis) of every failure."""
    found = []
    for case in report.cases:
        if case.outcome != "failed":
            continue
        messages = case.failures or [case.message]
        verdicts = case.verdicts or [case.verdict]
        found_diagnoses = diagnoses(case)
        for k, message in enumerate(messages):
            which = f" (failure {k + 1} of {len(messages)})" if len(messages) > 1 else ""
            shown = message.rstrip("\n").removesuffix(_suite_record(message)).rstrip("\n")
            verdict = verdicts[k] if k < len(verdicts) else ""
            diagnosis = found_diagnoses[k] if k < len(found_diagnoses) else ""
            found.append((f"FAILED {case.nodeid}{which}", shown, verdict or "", diagnosis))
    return found


class ReportResult:
    """The outcome of `vgrad.report`: the random-graph gradient report."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.document = document(data)
        self.files: dict[str, Path] = {}

    @property
    def passed(self) -> bool:
        """Whether every graph agreed with the oracle."""
        return self.data.exit_code == 0

    def __bool__(self) -> bool:
        return self.passed

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write report.html, report.json and summary.md into the folder `out`."""
        self.files = write_report(self.data, Path(out))
        return self.files

    def __repr__(self) -> str:
        return self._repr_markdown_().rstrip("\n")

    def _repr_markdown_(self) -> str:
        text = summary_markdown(self.document)
        for case in self.document["cases"]:
            if case["why"] == "disagreement":
                problems = "\n".join(case["problems"]) or case["exception"]
                text += f"\n### graph {case['index']}\n\n```text\n{problems}\n```\n"
                text += f"\n```python\n{case['snippet']}\n```\n"
        return text

    def _repr_html_(self) -> str:
        page = report_html(self.data, self.document)
        return (
            f'<iframe srcdoc="{html.escape(page)}" style="width:100%;height:40em;border:0" '
            'title="vgrad report"></iframe>'
        )
