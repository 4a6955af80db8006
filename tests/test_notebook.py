"""`vgrad.check` in a real Jupyter kernel: a learner's `Value`, defined in a cell, checked in
the next one (its source, recovered from the cell, runs in the target's worker)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from notebook import data_of, execute, text_of
from reproduce import assert_shown_snippet_reproduces

ROOT = Path(__file__).resolve().parent.parent
ENGINE = (ROOT / "docs" / "examples" / "my_engine.py").read_text().split('"""', 2)[2]
RIGHT_EXP = "            self.grad += out.data * out.grad\n"
WRONG_EXP = "            self.grad += self.data * out.grad\n"  # d/dx e^x written as x
CHECK = "import vgrad\n\nvgrad.check(Value, select='each_scalar_op')"
FIX = f"""def exp(self):
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
{RIGHT_EXP.removeprefix("    ")}
    out._backward = _backward
    return out


Value.exp = exp  # the fix, in a later cell: vgrad checks Value as the notebook has it"""
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.MULTILINE)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    assert ENGINE.count(RIGHT_EXP) == 1, "my_engine.py's exp changed: update this test"
    cells = [
        ENGINE.replace(RIGHT_EXP, WRONG_EXP),  # a Value with one wrong derivative
        CHECK,
        FIX,
        CHECK,
        "class Empty:\n    pass\n\n\nprint(vgrad.source.source_of(Empty))",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    return execute(notebook, tmp_path_factory.mktemp("kernel"))


def test_a_wrong_derivative_is_found_with_a_snippet_that_reproduces_it(
    notebook: nbformat.NotebookNode, tmp_path: Path
) -> None:
    shown = text_of(notebook.cells[1])
    counts = SUMMARY.findall(shown)
    assert counts and counts[-1][1] == "1", f"one failure expected:\n{shown}"
    assert "FAILED properties/test_scalar_graphs.py::test_each_scalar_op" in shown, shown
    assert re.search(r"\nn\d+ = \w+\.exp\(\)\n", shown), f"the snippet calls exp:\n{shown}"
    assert_shown_snippet_reproduces(shown, tmp_path)
    page = html.unescape(data_of(notebook.cells[1], "text/html"))
    snippet = shown.split("reproduce with:\n", 1)[1].split("\nsecond opinion", 1)[0]
    assert "<table>" in page and snippet in page, f"the HTML lacks the table or snippet:\n{page}"
    assert "checking" in text_of(notebook.cells[1]).split("vgrad check")[0], "no progress bar"


def test_the_fixed_value_passes(notebook: nbformat.NotebookNode) -> None:
    shown = text_of(notebook.cells[3])
    counts = SUMMARY.findall(shown)
    assert counts and counts[-1][1] == "0" and int(counts[-1][0]) > 0, shown
    assert "every applicable property held" in data_of(notebook.cells[3], "text/html"), shown


def test_a_class_without_methods_comes_from_the_cell_history(
    notebook: nbformat.NotebookNode,
) -> None:
    assert text_of(notebook.cells[4]) == "class Empty:\n    pass\n\n", notebook.cells[4].outputs
