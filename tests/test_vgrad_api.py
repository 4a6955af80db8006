"""`import vgrad` outside a notebook: objects turned into a target module, the arguments
refused, the results shown as `vgrad check` prints them (the kernel: test_notebook.py)."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import vgrad
from reports.check import CaseResult, CheckReport, print_report
from vgrad.source import SourceError, free_names, module_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"

SCRIPT = """
import math
import numpy as np
import vgrad.source

SCALE = 2.0


def helper(x):
    return math.tanh(x) * SCALE


class Value:
    def __init__(self, data):
        self.data = data

    def f(self):
        return helper(self.data) + float(np.float64(0.0))


def plus_one(self):
    return self.data + 1


Value.g = plus_one
print("this line is not the engine's")
"""


WRITE_AND_REFUSE = """
print(vgrad.source.module_source({"Value": Value}))
Made = type("Value", (), {})
try:
    vgrad.source.module_source({"Value": Made})
except vgrad.source.SourceError as error:
    print("refused:", error)
"""


def run_script(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(text)
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )


def test_a_script_class_becomes_a_module_with_what_it_needs(tmp_path: Path) -> None:
    printed = run_script(tmp_path, SCRIPT + WRITE_AND_REFUSE)
    assert printed.returncode == 0, printed.stderr
    module, why = printed.stdout.split("this line is not the engine's\n", 1)[1].split("refused:")
    assert "import math" in module and "import numpy as np" in module, module
    assert "print(" not in module, f"only the engine and what it needs:\n{module}"
    namespace: dict[str, object] = {}
    exec(compile(module, "written", "exec"), namespace)
    value = namespace["Value"](0.5)  # type: ignore[operator]
    assert value.f() == 2.0 * __import__("math").tanh(0.5), module
    assert value.g() == 1.5, f"a method assigned after the class is kept:\n{module}"
    # a class without source (made by type()) is refused, saying what to do
    assert why.startswith(" cannot recover the source of Value"), why
    assert "vgrad.check('my_engine.py')" in why, why


def test_free_names_are_the_globals_read() -> None:
    text = textwrap.dedent(
        """
        import math
        LIMIT = 3

        class Value(Base):
            def f(self, x):
                inner = 1
                return helper(x) + math.pi + LIMIT + inner + len([x])
        """
    )
    assert free_names(text) == {"Base": True, "helper": True, "len": True}, free_names(text)
    namespace = "class optim:\n    SGD = SGD\n    Adam = SGD\n"  # SGD may be the class's own
    assert free_names(namespace) == {"SGD": False}, free_names(namespace)


def test_a_module_loaded_from_a_file_is_loaded_from_it_again(tmp_path: Path) -> None:
    (tmp_path / "my_optim.py").write_text("class SGD:\n    lr = 0.5\n")
    spec = importlib.util.spec_from_file_location("my_optim", tmp_path / "my_optim.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    text = module_source({"optim": module})
    namespace: dict[str, Any] = {}
    exec(compile(text, "written", "exec"), namespace)
    assert namespace["optim"].SGD.lr == 0.5, text
    text = module_source({"optim": types.SimpleNamespace(lr=0.5, betas=(0.9, 0.999))})
    exec(compile(text, "written", "exec"), namespace)
    assert namespace["optim"].betas == (0.9, 0.999), text


def test_an_object_of_unknown_kind_is_refused() -> None:
    with pytest.raises(SourceError, match="cannot send"):
        module_source({"Value": object()})


def test_arguments_are_refused_before_any_work() -> None:
    class MyValue:
        pass

    with pytest.raises(TypeError, match=r"vgrad.check\(Value=MyValue\)"):
        vgrad.check(MyValue)
    with pytest.raises(ValueError, match="profile must be one of"):
        vgrad.check("engine", profile="fast")
    with pytest.raises(TypeError, match="not both"):
        vgrad.check("engine", Value=MyValue)
    with pytest.raises(SourceError, match="found none of Value"):
        vgrad.check({"x": 1})


def test_check_shows_what_vgrad_check_prints() -> None:
    result = vgrad.check(
        str(EXAMPLES / "my_engine.py"), select="each_scalar_op and tanh", progress=False
    )
    assert result.passed and result.failures == [], repr(result)
    console = Console(file=io.StringIO(), width=100, color_system=None, soft_wrap=True)
    print_report(result.report, console)
    assert repr(result) == console.file.getvalue().rstrip("\n")
    row = "| scalar_graphs: each_scalar_op_agrees_with_oracle | 1 | 0 | 0 |"
    assert row in result._repr_markdown_(), result._repr_markdown_()
    assert "every applicable property held" in result._repr_html_(), result._repr_html_()


def test_report_of_a_buggy_engine_shows_its_disagreements(tmp_path: Path) -> None:
    result = vgrad.report(
        str(EXAMPLES / "buggy_engine.py"),
        graphs=20,
        ops=("tanh", "add", "mul"),
        out=tmp_path / "out",
        progress=False,
    )
    assert not result.passed, repr(result)
    shown = result._repr_markdown_()
    assert "disagreements" in shown and ".tanh()" in shown, shown
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report.html",
        "report.json",
        "summary.md",
    ]
    assert result._repr_html_().startswith("<iframe srcdoc="), result._repr_html_()[:200]


def test_a_failure_shows_its_diagnosis_when_the_suite_gives_one() -> None:
    @dataclass
    class DiagnosedCase(CaseResult):  # the optional field the diagnosis adds to a failure
        diagnoses: list[str] = field(default_factory=list)

    failed = DiagnosedCase(
        "properties/test_scalar_graphs.py::test_each_scalar_op_agrees_with_oracle[tanh-None]",
        "failed",
        failures=["the target disagrees with the oracle:\n  d loss / d x0: expected 1, got 2"],
        diagnoses=["tanh's derivative is 1 - t instead of 1 - t**2"],
    )
    report = CheckReport("my_engine.py", "quick", None, ["Value"], cases=[failed])
    result = vgrad.CheckResult(report)
    page = result._repr_html_()
    assert "<b>diagnosis</b>: tanh&#x27;s derivative is 1 - t instead of 1 - t**2" in page, page
    assert "*tanh's derivative is 1 - t instead of 1 - t**2*" in result._repr_markdown_()
    assert not result.passed and result.failures == failed.failures
