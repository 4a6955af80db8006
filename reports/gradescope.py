"""Gradescope's autograder `results.json` for one target's `vgrad check` results.

The fields are those of Gradescope's "Autograder Specifications" (a top-level `score`,
`output`, `visibility`, `stdout_visibility`, `extra_data` and `tests`, each test with
`name`, `number`, `score`, `max_score`, `output`, `tags`, `visibility`). One test per
property, worth 1: passed, or 0 with its failures (each with its snippet, the second
opinion and, when there is one, the diagnosis). A property skipped because the target
lacks what it needs is worth 1 and scores 0 (a missing feature is not earned); one
skipped for another reason is worth 0. Use `-k` to choose the properties that count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from reports.check import LACKS, property_name

VISIBILITY = "visible"


def area_of(prop: str) -> str:
    """``scalar_graphs: values_and_gradients`` -> ``scalar_graphs``."""
    return prop.split(": ", 1)[0]


def diagnoses_of(case: dict[str, Any]) -> list[str]:
    """A failure's diagnoses, when the check gave any (one per failure, or one for all)."""
    found = case.get("diagnoses") or case.get("diagnosis") or []
    return [found] if isinstance(found, str) else [str(d) for d in found]


def failures_of(case: dict[str, Any]) -> list[dict[str, str]]:
    """Each distinct failure of a failed case: message, second opinion, diagnosis."""
    messages = case.get("failures") or [case.get("message", "")]
    verdicts = case.get("verdicts") or [case.get("verdict", "")]
    diagnoses = diagnoses_of(case)
    return [
        {
            "nodeid": case["nodeid"],
            "message": message,
            "verdict": verdicts[k] if k < len(verdicts) else "",
            "diagnosis": diagnoses[k]
            if k < len(diagnoses)
            else (diagnoses[0] if diagnoses else ""),
        }
        for k, message in enumerate(messages)
    ]


def properties_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per property (its parametrizations together), in the order run: its
    area, status (passed, failed, skipped), the skip reasons and every failure."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in report["cases"]:
        grouped[property_name(case["nodeid"])].append(case)
    entries = []
    for name, cases in grouped.items():
        outcomes = {c["outcome"] for c in cases}
        status = (
            "failed" if "failed" in outcomes else "passed" if "passed" in outcomes else "skipped"
        )
        reasons = list(dict.fromkeys(c["reason"] for c in cases if c.get("reason")))
        entries.append(
            {
                "property": name,
                "area": area_of(name),
                "status": status,
                "cases": {
                    o: sum(c["outcome"] == o for c in cases)
                    for o in ("passed", "failed", "skipped")
                },
                "lacks": status == "skipped" and any(r.startswith(LACKS) for r in reasons),
                "reasons": reasons,
                "failures": [f for c in cases if c["outcome"] == "failed" for f in failures_of(c)],
            }
        )
    return entries


def failure_text(failure: dict[str, str]) -> str:
    parts = [f"{failure['nodeid']}\n{failure['message'].rstrip()}"]
    if failure["verdict"]:
        parts.append(failure["verdict"])
    if failure["diagnosis"]:
        parts.append(f"diagnosis: {failure['diagnosis']}")
    return "\n".join(parts)


def worth(entry: dict[str, Any]) -> tuple[float, float]:
    """(score, max_score) of a property."""
    if entry["status"] == "skipped":
        return 0.0, 1.0 if entry["lacks"] else 0.0
    return (1.0 if entry["status"] == "passed" else 0.0), 1.0


def results(name: str, report: dict[str, Any] | None, error: str = "") -> dict[str, Any]:
    """Gradescope's results.json of target `name`: its check `report` (the JSON of
    `vgrad check --json`), or the `error` that kept it from being checked."""
    if report is None:
        return {
            "score": 0.0,
            "output": f"vgrad could not check {name}: {error}",
            "visibility": VISIBILITY,
            "stdout_visibility": "hidden",
            "tests": [],
        }
    tests = []
    for number, entry in enumerate(properties_of(report), start=1):
        score, max_score = worth(entry)
        if entry["status"] == "failed":
            output = "\n\n".join(failure_text(f) for f in entry["failures"])
        elif entry["status"] == "skipped":
            output = "skipped: " + "; ".join(entry["reasons"])
        else:
            output = f"passed ({entry['cases']['passed']} cases)"
            output += "".join(f"; {r}" for r in entry["reasons"])  # what it ran without
        tests.append(
            {
                "name": entry["property"],
                "number": str(number),
                "score": score,
                "max_score": max_score,
                "output": output,
                "tags": [entry["area"]],
                "visibility": VISIBILITY,
            }
        )
    notes = [f"vgrad check of {name} ({report['profile']} profile, seed {report['seed']})"]
    notes += [f"error: {e}" for e in report.get("errors", [])]
    if report.get("interrupted"):
        notes.append(f"interrupted while running {report['interrupted']}")
    notes += [f"limitation: {k}: {v}" for k, v in report.get("limitations", {}).items()]
    notes += [f"note: {note}" for note in report.get("notes", [])]
    return {
        "score": sum(t["score"] for t in tests),
        "output": "\n".join(notes),
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "extra_data": {"target": name, "capabilities": report.get("capabilities", [])},
        "tests": tests,
    }
