"""`vgrad report`: files, agreement on engine, disagreements of a broken engine with snippets
that reproduce them, crashes recorded, bad arguments refused, atomic writes, rendering."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from browser import assert_renders_without_console_errors
from planted import BUGS, write_engine

from properties.targets import load_target
from reports import pictures, report_files
from reports.cli import main
from reports.report import ReportConfig, ReportData, generate, run_report, usable_ops

BUG = next(b for b in BUGS if b.name == "tanh_grad_uses_input")
CRASHING_EXP = '''
from engine import Value as _Value


class Value(_Value):
    """engine's Value whose exp raises."""

    def exp(self):
        raise RuntimeError("exp is not implemented yet")
'''
ONLY_ADD_MUL = """
class Value:
    def __init__(self, data):
        self.data, self.grad, self._prev, self._back = float(data), 0.0, (), None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data)
        out._prev, out._back = (self, other), (1.0, 1.0)
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data)
        out._prev, out._back = (self, other), (other.data, self.data)
        return out

    def backward(self):
        self.grad = 1.0
        order, seen = [], set()
        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._prev:
                    visit(p)
                order.append(v)
        visit(self)
        for v in reversed(order):
            for p, d in zip(v._prev, v._back or ()):
                p.grad += d * v.grad
"""


def _report(out: Path, *args: str) -> tuple[int, dict]:
    code = main(["report", "--out", str(out), *args])
    document = (
        json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    )
    return code, document


@pytest.fixture(scope="module")
def engine_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, Path]:
    out = tmp_path_factory.mktemp("engine") / "report"
    return (*_report(out, "--graphs", "40", "--max-nodes", "12", "--seed", "7"), out)


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, Path]:
    folder = tmp_path_factory.mktemp("broken")
    engine_file = write_engine(BUG, folder)
    out = folder / "report"
    code, doc = _report(
        out,
        "--target",
        str(engine_file),
        "--graphs",
        "30",
        "--max-nodes",
        "8",
        "--ops",
        "tanh,add,mul",
    )
    return code, doc, out


@pytest.fixture(scope="module")
def small_run() -> ReportData:
    return run_report(ReportConfig(graphs=3, max_nodes=6, seed=3), load_target("engine"))


def test_engine_report_agrees_and_writes_three_valid_files(engine_report) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
    code, doc, out = engine_report
    assert code == 0, doc.get("summary")
    schema = json.loads(report_files.SCHEMA_PATH.read_text())
    jsonschema.validate(doc, schema)
    summary = doc["summary"]
    assert (summary["graphs"], summary["agree"], summary["disagree"]) == (40, 40, 0), summary
    assert doc["graphs"]["seed"] == list(range(7, 47)), doc["graphs"]["seed"][:5]
    assert len(doc["cases"]) == 5 and {c["why"] for c in doc["cases"]} == {"worst"}, doc["cases"]
    page = (out / "report.html").read_text()
    assert "every graph agrees with the oracle" in page
    assert not re.search(r"<script|<link|src=\"http|href=\"http", page), "not self-contained"
    assert page.count("data:image/png;base64,") == 3, "three plots inlined"
    markdown = (out / "summary.md").read_text()
    assert "all graphs agree with the oracle" in markdown and "| 40 | 0 | 0 |" in markdown, markdown
    assert not list(out.glob(".writing-*")), "staging folder left behind"


def test_broken_engine_disagreements_come_with_snippets_that_reproduce_them(
    broken_report, tmp_path: Path
) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
    code, doc, out = broken_report
    assert code == 1, doc["summary"]
    jsonschema.validate(doc, json.loads(report_files.SCHEMA_PATH.read_text()))
    assert doc["summary"]["disagree"] > 0, doc["summary"]
    tanh_row = next(row for row in doc["ops"] if row["op"] == "tanh")
    assert tanh_row["disagreements"] == doc["summary"]["disagree"], doc["ops"]
    assert report_files.in_every_disagreement(doc) == ["tanh"], doc["ops"]
    assert "In every disagreeing graph: tanh." in (out / "summary.md").read_text()
    case = next(c for c in doc["cases"] if c["why"] == "disagreement")
    assert any("d/dx" in p and "allowed" in p for p in case["problems"]), case["problems"]
    assert "expected agrees with the second opinion, actual does not" in case["verdict"], case
    assert case["regenerate"].startswith(f"vgrad report --target {doc['config']['target']} ")
    printed = subprocess.run(
        [sys.executable, "-c", case["snippet"]],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    for name, value in case["actual"]["grads"].items():
        shown = re.search(rf"d loss / d {name} = (\S+)", printed).group(1)
        assert float(shown) == value, (name, shown, value, printed)


def test_a_crash_is_recorded_with_its_traceback_and_the_run_goes_on(tmp_path: Path) -> None:
    target = tmp_path / "crashing.py"
    target.write_text(CRASHING_EXP)
    code, doc = _report(
        tmp_path / "report",
        "--target",
        str(target),
        "--graphs",
        "30",
        "--max-nodes",
        "10",
        "--ops",
        "exp,add",
    )
    assert code == 1
    statuses = doc["graphs"]["status"]
    assert len(statuses) == 30 and "error" in statuses, statuses
    crashed = next(c for c in doc["cases"] if c["status"] == "error")
    assert crashed["exception"].startswith(
        "RuntimeError: exp is not implemented yet (raised in exp (crashing.py:"
    ), crashed
    assert "raise RuntimeError" in crashed["traceback"] and crashed["actual"] is None, crashed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--graphs", "0"], "--graphs must be at least 1"),
        (["--max-nodes", "2"], "--max-nodes must be at least 3"),
        (["--seed", "-1"], "--seed must be non-negative"),
        (["--ops", "add,cosh"], "unknown op(s) cosh"),
        (["--target", "no/such/engine.py"], "no such file or folder"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["report", "--out", str(tmp_path / "r"), *args]) == 2
    assert message in " ".join(capsys.readouterr().err.split()), message
    assert not (tmp_path / "r").exists(), "nothing written for bad arguments"


def test_ops_a_target_lacks_are_refused_when_asked_and_listed_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "add_mul.py"
    target.write_text(ONLY_ADD_MUL)
    assert (
        main(["report", "--target", str(target), "--ops", "add,tanh", "--out", str(tmp_path / "r")])
        == 2
    )
    assert "lacks tanh (Value.tanh)" in " ".join(capsys.readouterr().err.split())
    code, doc = _report(
        tmp_path / "report", "--target", str(target), "--graphs", "20", "--max-nodes", "8"
    )
    assert code == 0, doc["summary"]
    assert doc["summary"]["ops_covered"] == ["add", "mul"], doc["summary"]
    assert doc["summary"]["ops_not_covered"]["tanh"] == "Value.tanh", doc["summary"]


def test_graph_k_of_seed_s_is_graph_0_of_seed_s_plus_k() -> None:
    target = load_target("engine")
    config = ReportConfig(seed=11, max_nodes=20)
    ops, _ = usable_ops(config, target)
    later = generate(config, ops, target, 5)
    alone = generate(ReportConfig(seed=16, max_nodes=20), ops, target, 0)
    assert later.graph == alone.graph and later.inputs == alone.inputs, "not regenerable"
    assert later.upstream == alone.upstream, (later.upstream, alone.upstream)


def test_a_failed_write_leaves_the_previous_report_whole(
    small_run: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report"
    report_files.write_report(small_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*_: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_files, "summary_markdown", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        report_files.write_report(small_run, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "old report damaged"


def test_graphs_are_drawn_as_svg_with_dot_and_as_text_without(
    small_run: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("dot"):
        report_files.write_report(small_run, tmp_path / "svg")
        assert "<svg" in (tmp_path / "svg" / "report.html").read_text()
    monkeypatch.setattr(pictures.shutil, "which", lambda _: None)
    report_files.write_report(small_run, tmp_path / "text")
    page = (tmp_path / "text" / "report.html").read_text()
    assert "<svg" not in page and "is not installed: the graph as text" in page
    first_input = small_run.explained[0].case.graph.input_names[0]
    assert f"{first_input} (input)" in page, "the text form lists the inputs"


def test_text_form_of_a_graph_shows_ops_values_and_gradients() -> None:
    from oracle.ir import GraphBuilder

    b = GraphBuilder()
    x, y = b.input("x"), b.input("y")
    s = b.op("mul", x, y)
    b.op("tanh", x)  # no output depends on it
    graph = b.build([b.op("add", s, const=2.0, side="left")])
    text = pictures.graph_text(
        graph, (3.0, -1.0, -3.0, np.tanh(3.0), -1.0), {"x": -1.0, "y": 3.0}, {"x": 3.0, "y": -1.0}
    )
    lines = text.splitlines()
    assert lines[0].split() == ["x", "(input)", "value", "3", "grad", "-1"], lines[0]
    assert lines[2].split()[:6] == ["n2", "=", "x", "*", "y", "value"], lines[2]
    assert lines[4].split() == ["n4", "=", "2", "+", "n2", "value", "-1", "(output)"], lines[4]
    dot = pictures.graph_dot(
        graph,
        {"x": 3.0, "y": -1.0},
        (3.0, -1.0, -3.0, 0.99, -1.0),
        {"x": -1.0, "y": 3.0},
        frozenset({"y"}),
    ).source
    assert 'n3 [label="n3 = x.tanh() | value 0.99" color="#aaaaaa"' in dot, dot
    assert "#ffd7d7" in dot and "peripheries=2" in dot, dot


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_html_renders_in_headless_chromium_without_console_errors(
    broken_report, tmp_path: Path
) -> None:
    assert_renders_without_console_errors(broken_report[2] / "report.html", tmp_path, height=3000)
