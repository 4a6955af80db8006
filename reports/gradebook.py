"""`vgrad check TARGET...`: a whole class at once, and its gradebook.

Each target is checked by a `vgrad check` process of its own (a fresh interpreter, its
target in workers of their own), `--jobs` of them at once, or on a Dask cluster
(`--scheduler`); a progress bar counts the targets. A target that cannot be loaded, or
whose check ends without results, is a row that says why. The gradebook, written into
one folder:

- `gradebook.html`: one self-contained page, a row per target and a column per
  property area, each cell linking to that target's failures (snippets, second
  opinions, and diagnoses when the check gives them);
- `gradebook.csv`: a row per target, the passed, failed and skipped properties per area;
- `gradebook.json`: all of it as data;
- `gradescope/<name>/results.json`: Gradescope's results of each target
  (`reports.gradescope`).

Nothing in it depends on timing or the order targets finish in: the same targets,
options and seed give the same gradebook (with a seed, each check shrinks its failures
by Hypothesis's limits on counts, never by the clock, so the load of the machine cannot
change a counterexample; a failing target takes longer under `quick`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from properties.targets import is_path
from reports.gradescope import failure_text, properties_of, results, worth
from reports.output import page, table, td, write_atomically

GRADEBOOK_VERSION = 1
AREAS = ("scalar_graphs", "tensor_graphs", "accumulation", "conventions", "optimizers", "networks")
_OPTIONS = ("profile", "seed", "select", "timeout", "precision", "strict", "database")


def options_of(args: argparse.Namespace) -> dict[str, Any]:
    """The options every target's check gets."""
    return {name: getattr(args, name, None) for name in _OPTIONS}


def _command(spec: str, options: dict[str, Any], json_path: str) -> list[str]:
    words = [sys.executable, "-m", "reports.cli", "check", "--target", spec, "--json", json_path]
    words += ["--profile", options["profile"] or "default"]
    if options["seed"] is not None:
        words += ["--seed", str(options["seed"])]
    if options["select"]:
        words += ["-k", options["select"]]
    if options["timeout"]:
        words += ["--timeout", str(options["timeout"])]
    if options["precision"]:
        words += ["--precision", options["precision"]]
    if options["strict"]:
        words.append("--strict")
    if options["database"]:
        words += ["--database", options["database"]]
    return words


def _environment(options: dict[str, Any]) -> dict[str, str]:
    """A check's environment: wide lines (its messages are read back), and with a seed,
    shrinking bounded by counts, not by the clock (the same gradebook at any load)."""
    env = {**os.environ, "COLUMNS": "10000"}
    if options["seed"] is not None:
        env["VGRAD_SHRINK_BY_COUNT"] = "1"
    return env


_RUNNING: set[subprocess.Popen] = set()  # the checks under way, to stop on an interrupt
_LOCK = threading.Lock()
_STOPPING = threading.Event()
INTERRUPTED = "not checked: the run was interrupted before its turn"
INTERRUPTED_EARLY = "the run was interrupted while this target was loading: no results"


def check_target(spec: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check one target in a `vgrad check` process of its own: {"report": the JSON of
    `vgrad check --json`} or {"error": why there is none}. Runs here, or on a Dask worker.
    The process has a session of its own: an interrupt reaches it from `stop_checks`."""
    with tempfile.TemporaryDirectory(prefix="vgrad-gradebook-") as folder:
        json_path = os.path.join(folder, "check.json")
        with subprocess.Popen(
            _command(spec, options, json_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=_environment(options),
            start_new_session=True,
        ) as process:
            with _LOCK:
                _RUNNING.add(process)
            said, _ = process.communicate()
            with _LOCK:
                _RUNNING.discard(process)
        if os.path.exists(json_path):
            with open(json_path, encoding="utf-8") as handle:
                return {"report": json.load(handle)}
    said = said.strip()
    if _STOPPING.is_set():
        return {"error": INTERRUPTED_EARLY}
    if process.returncode == 2 and "vgrad check: " in said:
        return {"error": said.split("vgrad check: ", 1)[1].strip()}
    tail = said[-2000:] or "no output"
    return {"error": f"the check ended with exit code {process.returncode} and no results: {tail}"}


def stop_checks() -> None:
    """Ask every check under way to stop (SIGTERM: it writes what it found so far)."""
    with _LOCK:
        _STOPPING.set()
        for process in _RUNNING:
            process.terminate()


def row_names(specs: list[str]) -> list[str]:
    """A short unique name per target: its file or folder name (without .py)."""
    names: list[str] = []
    for spec in specs:
        base = Path(spec).name.removesuffix(".py") if is_path(spec) else spec
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", base) or "target"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def check_all(
    specs: list[str],
    options: dict[str, Any],
    jobs: int = 1,
    scheduler: str | None = None,
    advance: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """Each target's check result, in the order of `specs`. Ctrl-C or SIGTERM stops the
    checks under way (each keeps what it found) and starts no other."""
    located = [str(Path(s).resolve()) if is_path(s) else s for s in specs]
    calls = [(k, spec, options) for k, spec in enumerate(located)]
    found: dict[int, dict[str, Any]] = {}
    if scheduler is not None:
        from reports.distributed import dask_map  # only with a scheduler: Dask is optional

        with contextlib.suppress(KeyboardInterrupt):
            for k, result in dask_map(scheduler, _indexed_check, calls):
                found[k] = result
                advance()
    else:
        # threads only wait: each check is a process of its own
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_indexed_check, *call) for call in calls]
            try:
                for future in as_completed(futures):
                    k, found[k] = future.result()
                    advance()
            except KeyboardInterrupt:
                for future in futures:
                    future.cancel()
                stop_checks()
                for future in futures:
                    if not future.cancelled():
                        k, found[k] = future.result()
    return [found.get(k, {"error": INTERRUPTED}) for k in range(len(specs))]


def _indexed_check(k: int, spec: str, options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return k, check_target(spec, options)


def gradebook(specs: list[str], checks: list[dict[str, Any]], options: dict[str, Any]) -> dict:
    """The gradebook as data (the content of gradebook.json)."""
    rows = []
    for name, spec, check in zip(row_names(specs), specs, checks, strict=True):
        report = check.get("report")
        row: dict[str, Any] = {"name": name, "target": spec, "error": check.get("error", "")}
        if report is None:
            row |= {"loaded": False, "score": 0.0, "max_score": 0.0, "areas": {}, "properties": []}
        else:
            entries = properties_of(report)
            scores = [worth(e) for e in entries]
            areas: dict[str, dict[str, int]] = {}
            for entry in entries:
                cell = areas.setdefault(entry["area"], {"passed": 0, "failed": 0, "skipped": 0})
                cell[entry["status"]] += 1
            row |= {
                "loaded": True,
                "score": sum(s for s, _ in scores),
                "max_score": sum(m for _, m in scores),
                "areas": areas,
                "properties": entries,
                "capabilities": report["capabilities"],
                "limitations": report["limitations"],
                "errors": report["errors"],
                "interrupted": report["interrupted"],
            }
        row["gradescope"] = results(name, report, row["error"])
        rows.append(row)
    seen = {a for row in rows for a in row["areas"]}
    areas = [a for a in AREAS if a in seen] + sorted(seen - set(AREAS))
    return {
        "gradebook_version": GRADEBOOK_VERSION,
        "options": {k: v for k, v in options.items() if k != "database"},
        "areas": areas,
        "targets": rows,
    }


def _cell(cell: dict[str, int] | None) -> str:
    if not cell:
        return ""
    return f"{cell['passed']} passed, {cell['failed']} failed, {cell['skipped']} skipped"


def gradebook_csv(book: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["target", "name", "loaded", "score", "max_score"]
    for area in book["areas"]:
        header += [f"{area} passed", f"{area} failed", f"{area} skipped"]
    writer.writerow([*header, "error"])
    for row in book["targets"]:
        line = [row["target"], row["name"], row["loaded"], row["score"], row["max_score"]]
        for area in book["areas"]:
            cell = row["areas"].get(area, {})
            line += [cell.get("passed", 0), cell.get("failed", 0), cell.get("skipped", 0)]
        writer.writerow([*line, row["error"]])
    return out.getvalue()


_STYLE = """
body { margin: 2em auto; max-width: 90em; padding: 0 1em; line-height: 1.4; }
th, td { text-align: left; vertical-align: top; }
td.ok { background: #e6f4ea; } td.bad { background: #fde7e7; } td.none { background: #f6f6f6; }
td.error { background: #fff4d6; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em;
      white-space: pre-wrap; }
.target { border-left: 4px solid #3465a4; padding-left: 1em; margin: 2em 0; }
.diagnosis { border-left: 3px solid #c68a00; padding-left: 0.6em; }
"""


def _anchor(k: int, area: str = "") -> str:
    return f"t{k}" + (f"-{area}" if area else "")


def gradebook_html(book: dict[str, Any]) -> str:
    """The self-contained page: the table of targets, then each target's failures."""
    e = html.escape
    areas = book["areas"]
    rows = []
    for k, row in enumerate(book["targets"]):
        name = f'<a href="#{_anchor(k)}">{e(row["name"])}</a>'
        if not row["loaded"]:
            error = td(f"not checked: {e(row['error'])}", "error", max(1, len(areas)))
            rows.append([td(name), td("0"), error])
            continue
        cells = []
        for area in areas:
            cell = row["areas"].get(area)
            style = "none" if not cell else "bad" if cell["failed"] else "ok"
            text = e(_cell(cell)) or "not collected"
            if cell and cell["failed"]:
                text = f'<a href="#{_anchor(k, area)}">{text}</a>'
            cells.append(td(text, style))
        rows.append([td(name), td(f"{row['score']:g} / {row['max_score']:g}"), *cells])
    details = [_target_html(k, row, areas) for k, row in enumerate(book["targets"])]
    options = ", ".join(f"{k} {v}" for k, v in book["options"].items() if v not in (None, False))
    body = [
        "<h1>vgrad gradebook</h1>",
        f"<p>{len(book['targets'])} targets checked with vgrad check ({e(options)}). A cell "
        "counts the properties of an area that held, failed, or were skipped (the target "
        "lacks what they need); a failing cell links to its failures.</p>",
        table(["target", "score", *areas], rows),
        *details,
    ]
    return page("vgrad gradebook", _STYLE, body)


def _target_html(k: int, row: dict[str, Any], areas: list[str]) -> str:
    e = html.escape
    parts = [f'<div class="target" id="{_anchor(k)}"><h2>{e(row["name"])}</h2>']
    parts.append(f"<p><code>{e(row['target'])}</code></p>")
    if not row["loaded"]:
        parts.append(f"<pre>{e(row['error'])}</pre></div>")
        return "\n".join(parts)
    parts.append(f"<p>score {row['score']:g} of {row['max_score']:g}</p>")
    for message in row["errors"]:
        parts.append(f"<p>error:</p><pre>{e(message)}</pre>")
    if row["interrupted"]:
        parts.append(f"<p>interrupted while running {e(row['interrupted'])}</p>")
    for area in areas:
        failed = [p for p in row["properties"] if p["area"] == area and p["status"] == "failed"]
        if not failed:
            continue
        parts.append(f'<h3 id="{_anchor(k, area)}">{e(area)}</h3>')
        for entry in failed:
            parts.append(f"<h4>{e(entry['property'])}</h4>")
            for failure in entry["failures"]:
                text = failure_text({**failure, "diagnosis": ""})
                parts.append(f"<pre>{e(text)}</pre>")
                if failure["diagnosis"]:
                    parts.append(f'<p class="diagnosis">{e(failure["diagnosis"])}</p>')
    skipped = [p for p in row["properties"] if p["status"] == "skipped"]
    if skipped:
        items = "".join(
            f"<li>{e(p['property'])}: {e('; '.join(p['reasons']))}</li>" for p in skipped
        )
        parts.append(
            f"<details><summary>skipped ({len(skipped)})</summary><ul>{items}</ul></details>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def write_gradebook(book: dict[str, Any], folder: Path) -> dict[str, Path]:
    """The gradebook's files in `folder`, each replaced whole (written aside, renamed)."""
    folder = Path(folder)
    contents = {
        "gradebook.html": gradebook_html(book),
        "gradebook.csv": gradebook_csv(book),
        "gradebook.json": json.dumps(book, indent=1) + "\n",
    }
    for row in book["targets"]:
        contents[f"gradescope/{row['name']}/results.json"] = json.dumps(row["gradescope"], indent=1)
    for name, text in contents.items():
        write_atomically(folder / name, text)
    return {name: folder / name for name in contents if not name.startswith("gradescope/")}


def main(args: argparse.Namespace) -> int:
    """`vgrad check` of several targets; 0 when every target held every property."""
    from reports.check import _sigterm_as_interrupt
    from reports.parallel import scheduler_address

    console = Console()
    options = options_of(args)
    columns = (
        TextColumn("[bold]targets"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with _sigterm_as_interrupt(), Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("targets", total=len(args.targets))
        checks = check_all(
            args.targets,
            options,
            args.jobs,
            scheduler_address(args.scheduler),
            lambda: progress.advance(task),
        )
    book = gradebook(args.targets, checks, options)
    files = write_gradebook(book, Path(args.gradebook))
    for row in book["targets"]:
        shown = (
            f"{row['score']:g}/{row['max_score']:g}"
            if row["loaded"]
            else f"not checked: {row['error']}"
        )
        console.print(f"{row['name']}: {shown}", markup=False, highlight=False)
    for name, path in files.items():
        console.print(f"{name}: {path}", markup=False)
    perfect = all(
        r["loaded"] and r["score"] == r["max_score"] and not r["errors"] for r in book["targets"]
    )
    return 0 if perfect else 1
