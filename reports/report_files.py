"""The files of `vgrad report`: report.json, a self-contained report.html, and summary.md.

`document` turns a run into the JSON document (schema: `reports/schema.json`); the HTML
and the Markdown are rendered from that document plus the pictures, so the three say
the same thing.  `write_report` writes the three files into a new folder next to the
destination and then swaps the two folders in one step (`replace_folder`), so whenever
a run stops, even killed between two steps, the destination holds either the whole
previous report or the whole new one, never a mix.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import errno
import functools
import hashlib
import html
import json
import math
import os
import platform
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from oracle import codec
from oracle.ir import to_json
from reports import output, pictures
from reports.report import ExplainedCase, ReportConfig, ReportData
from reports.report_folder import foreign_entries

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema.json")


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _target_version(data: ReportData) -> str | None:
    return data.target.version


def _number(x: float) -> float | str:
    """A float for JSON: infinities and nan as strings (JSON has no such numbers)."""
    return x if math.isfinite(x) else str(x)


def _percentile(values: np.ndarray, q: float) -> float:
    """A percentile of the finite values (0 when there are none)."""
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if finite.size else 0.0


def op_rows(data: ReportData) -> list[dict[str, Any]]:
    """Per op: nodes, graphs containing it, their disagreements and gradient errors."""
    rows = []
    for op in data.ops_covered:
        members = data.op_members[op]
        errors = data.gradient_errors[members]
        rows.append(
            {
                "op": op,
                "nodes": data.op_nodes[op],
                "graphs": int(members.size),
                "disagreements": int(np.sum(data.statuses[members] != 0)),
                "max_gradient_error": float(errors.max()) if errors.size else 0.0,
                "median_gradient_error": _percentile(errors, 50),
                "p90_gradient_error": _percentile(errors, 90),
                "max_value_error": data.op_value_max[op],
            }
        )
    return rows


def regenerate_command(config: ReportConfig, index: int) -> str:
    """The shell command that draws graph `index` of a run alone, quoted for a POSIX shell."""
    return config.regenerate_command(index)


def _case_entry(data: ReportData, explained: ExplainedCase) -> dict[str, Any]:
    case, outcome = explained.case, explained.outcome
    return {
        "why": explained.why,
        "index": explained.index,
        "seed": data.config.seed + explained.index,
        "regenerate": regenerate_command(data.config, explained.index),
        "status": outcome.status,
        "nodes": len(case.graph.nodes),
        "depth": max(case.graph.depths),
        "value_error": _number(outcome.value_error),
        "gradient_error": _number(outcome.gradient_error),
        "graph": json.loads(to_json(case.graph, case.inputs)),
        "upstream": codec.encode(tuple(case.upstream)),
        "expected": {
            "outputs": [codec.encode(v) for v in explained.expected_outputs],
            "grads": {k: codec.encode(v) for k, v in explained.expected_grads.items()},
        },
        "actual": None
        if outcome.status == "error"
        else {
            "outputs": [codec.encode(_plain(v)) for v in outcome.actual_outputs],
            "grads": {k: codec.encode(_plain(v)) for k, v in outcome.actual_grads.items()},
        },
        "problems": explained.problems,
        "snippet": explained.snippet,
        "verdict": explained.verdict,
        "exception": outcome.exception,
        "traceback": outcome.traceback,
    }


def _plain(value: Any) -> Any:
    """What the target gave, as something JSON can hold (a complex number as its repr)."""
    if isinstance(value, (float, np.ndarray)):
        return value
    return repr(value)


def document(data: ReportData) -> dict[str, Any]:
    """The report as data: the content of report.json."""
    config = data.config
    n = len(data.statuses)
    gradient = data.gradient_errors
    exact = int(np.sum((gradient == 0) & (data.value_errors == 0)))
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "target": config.target,
            "graphs": config.graphs,
            "seed": config.seed,
            "ops": None if config.ops is None else list(config.ops),
            "max_nodes": config.max_nodes,
            "kind": config.kind,
        },
        "environment": {
            "vgrad": _version("vgrad"),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "jax": _version("jax"),
            "target_module": data.target.import_name,
            "target_version": _target_version(data),
            "platform": platform.platform(),
            "graphviz_dot": shutil.which("dot") is not None,
        },
        "summary": {
            "graphs": n,
            "partial": data.partial,
            "nodes": int(data.nodes.sum()),
            "agree": data.count("agree"),
            "disagree": data.count("disagree"),
            "error": data.count("error"),
            "agreement_rate": data.count("agree") / n,
            "exact": exact,
            "ops_covered": data.ops_covered,
            "ops_not_covered": data.ops_missing,
            "max_gradient_error": _number(float(gradient.max())),
            "median_gradient_error": _percentile(gradient, 50),
            "max_value_error": _number(float(data.value_errors.max())),
            "seconds": round(data.seconds, 3),
            "graphs_per_second": round(n / data.seconds, 1) if data.seconds else None,
        },
        "ops": [
            {k: _number(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in op_rows(data)
        ],
        "graphs": {
            "seed": data.seeds.tolist(),
            "nodes": data.nodes.tolist(),
            "depth": data.depths.tolist(),
            "status": [ReportData.STATUS[s] for s in data.statuses],
            "value_error": [_number(float(e)) for e in data.value_errors],
            "gradient_error": [_number(float(e)) for e in data.gradient_errors],
        },
        "cases": [_case_entry(data, e) for e in data.explained],
        "cases_not_shown": max(
            0,
            data.count("disagree")
            + data.count("error")
            - sum(e.why == "disagreement" for e in data.explained),
        ),
    }


def _code_cell(text: str) -> str:
    """`text` as Markdown code in a table cell: pipes escaped, fenced by enough backticks."""
    text = text.replace("|", "\\|")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fmt(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, float):
        return "0" if x == 0 else f"{x:.3g}"
    return str(x)


def in_every_disagreement(doc: dict[str, Any]) -> list[str]:
    """The ops present in every graph that disagrees or raises: the first suspects."""
    bad = doc["summary"]["disagree"] + doc["summary"]["error"]
    return [row["op"] for row in doc["ops"] if bad and row["disagreements"] == bad]


def summary_markdown(doc: dict[str, Any]) -> str:
    """A short Markdown summary for a CI job summary or a pull-request comment."""
    s, c = doc["summary"], doc["config"]
    verdict = (
        "all graphs agree with the oracle"
        if s["agree"] == s["graphs"]
        else f"**{s['disagree']} disagreements, {s['error']} errors**"
    )
    lines = [
        f"## vgrad report: `{c['target']}`, {verdict}",
        "",
        f"{s['graphs']} random {c['kind']} graphs ({s['nodes']} nodes, up to {c['max_nodes']} "
        f"per graph), seed {c['seed']}, in {s['seconds']:.1f} s "
        f"({s['graphs_per_second']} graphs/s).",
        "",
        "| agree | disagree | error | bit-identical | median gradient error | max gradient error |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {s['agree']} | {s['disagree']} | {s['error']} | {s['exact']} | "
        f"{_fmt(s['median_gradient_error'])} | {_fmt(s['max_gradient_error'])} |",
        "",
        f"Ops covered: {', '.join(s['ops_covered'])}.",
    ]
    if s["partial"]:
        lines.append(f"**Partial**: interrupted after {s['graphs']} of {c['graphs']} graphs.")
    if s["ops_not_covered"]:
        missing = ", ".join(f"{op} (no {need})" for op, need in s["ops_not_covered"].items())
        lines.append(f"Not covered, the target lacks them: {missing}.")
    if suspects := in_every_disagreement(doc):
        lines.append(f"In every disagreeing graph: {', '.join(suspects)}.")
    bad = [case for case in doc["cases"] if case["why"] == "disagreement"]
    if bad:
        lines += [
            "",
            "| graph | status | gradient error | regenerate |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {case['index']} | {case['status']} | {_fmt(case['gradient_error'])} | "
            f"{_code_cell(case['regenerate'])} |"
            for case in bad
        ]
    return "\n".join(lines) + "\n"


_STYLE = """
body { margin: 2em auto; max-width: 75em; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
th, td { text-align: right; } td:first-child, th:first-child { text-align: left; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #c00; font-weight: bold; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; } .graph { overflow-x: auto; border: 1px solid #eee; padding: 0.5em; }
.case { border-left: 4px solid #3465a4; padding-left: 1em; margin: 2em 0; }
.case.disagreement { border-color: #c00; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    return output.table(headers, [[output.td(html.escape(_fmt(v))) for v in row] for row in rows])


def _case_html(data: ReportData, explained: ExplainedCase, entry: dict[str, Any]) -> str:
    case, outcome = explained.case, explained.outcome
    wrong = frozenset(p.split(":")[0].removeprefix("d/d") for p in explained.problems)
    grads = outcome.actual_grads if outcome.status != "error" else explained.expected_grads
    n_nodes = len(case.graph.nodes)
    if n_nodes > pictures.DRAW_LIMIT:
        drawing = (
            f"<p>(A graph of {n_nodes} nodes is not drawn, over {pictures.DRAW_LIMIT}; "
            "the snippet below rebuilds it.)</p>"
        )
    else:
        values = explained.node_values
        dot = pictures.graph_dot(case.graph, case.inputs, values, grads, wrong)
        svg = pictures.graph_svg(dot)
        drawing = (
            f'<div class="graph">{svg}</div>'
            if svg
            else "<p>(Graphviz's <code>dot</code> is not installed: the graph as text)</p><pre>"
            + html.escape(pictures.graph_text(case.graph, values, grads, case.inputs))
            + "</pre>"
        )
    title = "Disagreement" if explained.why == "disagreement" else "Worst agreeing case"
    facts = [
        ("status", outcome.status),
        ("graph", f"{entry['nodes']} nodes, depth {entry['depth']}"),
        ("gradient error", _fmt(outcome.gradient_error)),
        ("output error", _fmt(outcome.value_error)),
        ("regenerate", entry["regenerate"]),
    ]
    if explained.verdict:
        facts.append(("second opinion", explained.verdict.split(": ", 1)[-1]))
    if outcome.exception:
        facts.append(("exception", outcome.exception))
    numbers = ["outputs expected: " + ", ".join(map(_show, explained.expected_outputs))]
    if outcome.status != "error":
        numbers.append("outputs actual:   " + ", ".join(map(_show, outcome.actual_outputs)))
    for name in case.graph.input_names:
        numbers.append(f"d/d{name} expected: {_show(explained.expected_grads[name])}")
        if outcome.status != "error":
            numbers.append(f"d/d{name} actual:   {_show(outcome.actual_grads[name])}")
    parts = [
        f'<div class="case {explained.why}"><h3>{title}: graph {explained.index} '
        f"(seed {entry['seed']})</h3>",
        "<dl>"
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)
        + "</dl>",
    ]
    if explained.problems:
        parts.append("<pre>" + html.escape("\n".join(explained.problems)) + "</pre>")
    parts += [
        drawing,
        "<h4>Expected (oracle) and actual (target)</h4>",
        "<pre>" + html.escape("\n".join(numbers)) + "</pre>",
        "<h4>Reproduce on the target</h4><pre>" + html.escape(explained.snippet) + "</pre>",
    ]
    if outcome.traceback:
        parts.append(
            "<details><summary>traceback</summary><pre>"
            + html.escape(outcome.traceback)
            + "</pre></details>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim:
        return np.array2string(value, precision=17, threshold=30)
    return repr(value if not isinstance(value, np.ndarray) else float(value))


def _plot(drawn: Future[bytes] | None, draw: Callable[[], bytes]) -> bytes:
    """A plot drawn by a pool process, or drawn here (no pool, or the pool died)."""
    if drawn is not None:
        with contextlib.suppress(BrokenProcessPool, CancelledError):
            return drawn.result()
    return draw()


def report_html(
    data: ReportData, doc: dict[str, Any], drawn: Mapping[str, Future[bytes]] | None = None
) -> str:
    """The self-contained HTML page: summary, plots, per-op table, notable cases; the plots
    `drawn` elsewhere (by name, as `reports.parallel` draws them) are taken from there."""
    drawn = drawn or {}
    s, c, env = doc["summary"], doc["config"], doc["environment"]
    ok = s["agree"] == s["graphs"]
    headline = (
        '<span class="ok">every graph agrees with the oracle</span>'
        if ok
        else f'<span class="bad">{s["disagree"]} disagreements and {s["error"]} errors</span>'
    )
    facts = [
        (
            "target",
            f"{c['target']} ({env['target_module']}, version {env['target_version'] or 'unknown'})",
        ),
        (
            "graphs",
            f"{s['graphs']} {c['kind']} graphs, {s['nodes']} nodes, up to "
            f"{c['max_nodes']} nodes each",
        ),
        ("seed", f"{c['seed']} (graph k is regenerated by --seed {c['seed']}+k --graphs 1)"),
        (
            "agreement",
            f"{s['agree']}/{s['graphs']} ({100 * s['agreement_rate']:.2f}%), "
            f"{s['exact']} bit-identical",
        ),
        (
            "gradient error",
            f"median {_fmt(s['median_gradient_error'])}, "
            f"largest {_fmt(s['max_gradient_error'])} (relative, normwise)",
        ),
        ("output error", f"largest {_fmt(s['max_value_error'])}"),
        ("ops covered", ", ".join(s["ops_covered"])),
    ]
    if s["partial"]:
        facts.insert(1, ("partial", f"interrupted after {s['graphs']} of {c['graphs']} graphs"))
    if suspects := in_every_disagreement(doc):
        facts.append(("suspects", f"{', '.join(suspects)}: in every disagreeing graph"))
    if s["ops_not_covered"]:
        facts.append(
            (
                "not covered",
                ", ".join(
                    f"{op} (target lacks {need})" for op, need in s["ops_not_covered"].items()
                ),
            )
        )
    facts += [
        ("time", f"{s['seconds']:.1f} s, {s['graphs_per_second']} graphs/s"),
        (
            "versions",
            f"vgrad {env['vgrad']}, Python {env['python']}, NumPy {env['numpy']}, JAX {env['jax']}",
        ),
        ("created", doc["created"]),
    ]
    rows = doc["ops"]
    op_table = _table(
        [
            "op",
            "nodes",
            "graphs containing it",
            "disagreements",
            "median gradient error",
            "90th percentile",
            "max gradient error",
            "max output error of its nodes",
        ],
        [
            [
                r["op"],
                r["nodes"],
                r["graphs"],
                r["disagreements"],
                r["median_gradient_error"],
                r["p90_gradient_error"],
                r["max_gradient_error"],
                r["max_value_error"],
            ]
            for r in rows
        ],
    )
    cases = [
        _case_html(data, e, entry) for e, entry in zip(data.explained, doc["cases"], strict=True)
    ]
    bad = [x for x in cases if 'class="case disagreement"' in x]
    worst = [x for x in cases if 'class="case worst"' in x]
    not_shown = (
        f"<p>{doc['cases_not_shown']} more disagreements are listed in report.json "
        "(graphs with status disagree or error).</p>"
        if doc["cases_not_shown"]
        else ""
    )
    body = [
        f"<h1>vgrad report: {html.escape(c['target'])}</h1>",
        f"<p>{headline}.</p>",
        "<dl>"
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)
        + "</dl>",
        "<p>A graph agrees when every output and every input's gradient is within the "
        "bound of the oracle's error analysis of that case (as in <code>vgrad check</code>). "
        "Errors are normwise relative to the oracle's answer (JAX, float64), the largest "
        "over a graph's outputs or over its input gradients; a gradient's error is relative "
        "to the largest of its expected value, the magnitude of the terms summed into it "
        "and the error the analysis allows it, so rounding noise around zero does not "
        "count as an error of order one. Where the two disagree about such noise, the "
        "second opinion (mpmath at 50 digits, no JAX) says which is closer to the "
        "truth.</p>",
        "<h2>Errors</h2>",
        _img(
            _plot(
                drawn.get("histogram"),
                lambda: pictures.error_histogram(data.gradient_errors, data.value_errors),
            ),
            "histogram of relative errors",
        ),
        _img(
            _plot(
                drawn.get("by_size"),
                lambda: pictures.error_by_size(data.depths, data.nodes, data.gradient_errors),
            ),
            "gradient error against depth and size",
        ),
        "<h2>Per op</h2>",
        _img(
            _plot(drawn.get("by_op"), lambda: pictures.error_by_op(op_rows(data))),
            "gradient error per op",
        ),
        op_table,
        f"<h2>Disagreements ({s['disagree'] + s['error']})</h2>",
        *(bad or ["<p>None.</p>"]),
        not_shown,
        f"<h2>Worst agreeing cases ({len(worst)})</h2>",
        *worst,
    ]
    return output.page(f"vgrad report: {c['target']}", _STYLE, body)


def write_report(
    data: ReportData, out: Path, drawn: Mapping[str, Future[bytes]] | None = None
) -> dict[str, Path]:
    """Write report.json, report.html and summary.md into `out`, replacing the three
    together (`replace_folder`); return their paths. `drawn`: plots drawn elsewhere."""
    doc = document(data)
    contents = {
        "report.json": json.dumps(doc, indent=1),
        "report.html": report_html(data, doc, drawn),
        "summary.md": summary_markdown(doc),
    }
    replace_folder(out, contents)
    return {name: Path(out) / name for name in contents}


def replace_folder(out: Path, contents: Mapping[str, str]) -> None:
    """Make folder `out` hold exactly the files `contents` (name -> text), atomically.

    The files are written (and synced) into a new folder next to `out`, which then takes
    the place of `out` in one step: `renameat2(RENAME_EXCHANGE)` on Linux, or, where the
    file system cannot exchange, the old folder renamed aside and the new one renamed in
    (if that is interrupted between the two renames, the next run puts the old folder
    back).  Then the old folder is removed.  Whenever this stops, `out` holds either the
    whole old set or the whole new one, plus at most a leftover sibling folder
    ``.<name>.<hash>.vgrad-<pid>-...`` that the next run removes once process <pid> has
    ended.  A folder holding anything but a report's files is refused (FileExistsError),
    never replaced.
    """
    out = Path(out).resolve()  # a symlink to a folder: replace the folder it points to
    if os.path.lexists(out) and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(out))
    if foreign := foreign_entries(out):
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise FileExistsError(
            errno.EEXIST,
            f"holds files that are not a report's ({shown}); not replacing it",
            str(out),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    staging = _make_sibling(out)
    old = staging  # where whatever is to be removed at the end lies
    try:
        for name, text in contents.items():
            _write_file(staging / name, text)
        _sync_folder(staging)
        if out.is_dir():
            os.chmod(staging, stat.S_IMODE(out.stat().st_mode))  # the old folder's permissions
            old = _swap(staging, out)
        else:
            _rename(staging, out)
        _sync_folder(out.parent)
    finally:
        _remove_tree(old)  # the old set after a swap; an unfinished new set otherwise
        if old != staging:
            _remove_tree(staging)


def _swap(new: Path, out: Path) -> Path:
    """Put folder `new` in the place of folder `out`; return where the old `out` now is."""
    if _exchange(new, out):
        return new
    aside = new.with_name(new.name + _ASIDE)
    _rename(out, aside)
    try:
        _rename(new, out)
    except BaseException:
        _rename(aside, out)
        raise
    return aside


_ASIDE = ".old"


def _sibling_prefix(out: Path) -> str:
    """Names of `out`'s temporary siblings start with this (short, whatever `out`'s name)."""
    digest = hashlib.sha256(os.fsencode(out.name)).hexdigest()[:8]
    return f".{out.name[:40]}.{digest}.vgrad-"


def _make_sibling(out: Path) -> Path:
    """A new empty folder next to `out`, named so that `clean_leftovers` finds it."""
    prefix = f"{_sibling_prefix(out)}{os.getpid()}-"
    while True:
        folder = out.with_name(prefix + secrets.token_hex(4))
        try:
            _make_folder(folder)
        except FileExistsError:
            continue
        break
    return folder


def clean_leftovers(out: Path) -> None:
    """Remove the temporary siblings of `out` left by runs that were killed.

    A sibling whose process still runs is left alone.  An old folder renamed aside (the
    fallback of `replace_folder`) whose run was killed before the new folder took its
    place is put back at `out`.
    """
    out = Path(out)
    pattern = re.compile(
        re.escape(_sibling_prefix(out)) + r"(\d+)-[0-9a-f]+(" + re.escape(_ASIDE) + ")?"
    )
    try:
        entries = list(os.scandir(out.parent))
    except FileNotFoundError:
        return
    for entry in sorted(entries, key=lambda e: e.name):
        match = pattern.fullmatch(entry.name)
        if match is None or _process_alive(int(match[1])):
            continue
        path = Path(entry.path)
        if match[2] and not os.path.lexists(out):
            _rename(path, out)
        else:
            _remove_tree(path)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# The steps that change the file system, one function each (tests interrupt between them).


def _make_folder(path: Path) -> None:
    os.mkdir(path)


def _write_file(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _rename(source: Path, destination: Path) -> None:
    os.rename(source, destination)


def _remove_tree(path: Path) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


@functools.cache
def _renameat2() -> Any:
    """libc's renameat2 (glibc 2.28 and later), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two folders in one atomic step; False when the system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # an old kernel, or a file system without RENAME_EXCHANGE
    raise OSError(code, os.strerror(code), str(b))


def _sync_folder(folder: Path) -> None:
    """Make a folder's entries durable (best effort: not every system can)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
