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


FAILED = re.compile(r"FAILED (\S+)")
TUTORIAL = ROOT / "docs" / "tutorial.ipynb"


def shown(cell: nbformat.NotebookNode) -> str:
    """What a tutorial cell shows that must not change: its printed text and the text of
    its results (of a picture, only that it is one); of a `vgrad.check` cell (tagged
    vgrad-check), the summary and the failing properties (paths, times are the machine's)."""
    if "vgrad-check" in cell.metadata.get("tags", []):
        text = data_of(cell, "text/plain")
        return "\n".join([*FAILED.findall(text), *(" ".join(s) for s in SUMMARY.findall(text))])
    parts = []
    for output in cell.outputs:
        assert output["output_type"] != "error", output
        if output["output_type"] == "stream":
            parts.append(output["text"])
        else:
            images = sorted(k for k in output["data"] if k.startswith("image/"))
            parts.append(str(images) if images else output["data"]["text/plain"])
    return "".join(parts)


@pytest.mark.campaign  # a whole quick check of the notebook's engine: minutes under load
def test_the_tutorial_notebook_shows_what_it_runs(tmp_path: Path) -> None:
    stored = nbformat.read(TUTORIAL, as_version=4)
    fresh = execute(nbformat.read(TUTORIAL, as_version=4), tmp_path)
    code = [(k, c) for k, c in enumerate(stored.cells) if c.cell_type == "code"]
    checks = [k for k, c in code if "vgrad-check" in c.metadata.get("tags", [])]
    assert checks and checks[0] == code[-3][0], "the notebook ends by checking its engine"
    for k, cell in code:
        want, got = shown(cell), shown(fresh.cells[k])
        assert got == want, f"cell {k} shows\n{got}\ninstead of\n{want}\n{cell.source}"
    assert SUMMARY.search(data_of(fresh.cells[checks[0]], "text/plain"))[2] == "0", "passes"
    assert "each_scalar_op" in shown(fresh.cells[checks[1]]), "the broken tanh fails"
