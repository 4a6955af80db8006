"""Every code block in docs/ runs: a small runner for the Markdown guides.

* Each fenced block carries a language: ``python`` (run), ``bash`` (its `vgrad ...` lines
  run), ``text`` (shown output, never run).
* The ``python`` blocks of one page run in order in one namespace, like a notebook, in a
  scratch directory (with a link to docs/, so ``docs/examples/...`` paths work). A
  ``text`` block that directly follows a ``python`` block (only blank lines between) is
  that block's output, and must be exactly what it prints (trailing blank lines aside).
* Each `vgrad` line of a ``bash`` block runs from the repository root; it must exit with 0,
  or with N when the line ends in a comment saying ``exits N``. The buggy engine's run must
  fail and name the broken op.
* Translations (``docs/zh/``) are pages like any other: their blocks run the same way.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
LANGUAGES = ("python", "bash", "text")
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    """A fenced code block: its language, the line of its opening fence, its text."""

    language: str
    line: int
    text: str
    output: Block | None = None  # the `text` block directly after a `python` block


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of `page`, each python block linked to the output shown after it."""
    found: list[Block] = []
    lines = page.read_text().splitlines()
    opened: Block | None = None
    last_close = -1
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if opened is None and match:
            opened = Block(match.group(1), number, "")
            previous = found[-1] if found else None
            between = lines[last_close : number - 1]
            follows = previous is not None and previous.language == "python"
            if follows and opened.language == "text" and not any(t.strip() for t in between):
                previous.output = opened
            found.append(opened)
        elif opened is not None and line.strip() == "```":
            opened = None
            last_close = number
        elif opened is not None:
            opened.text += line + "\n"
    assert opened is None, f"{page}: the block opened on line {found[-1].line} is never closed"
    return found


def vgrad_commands(page: Path) -> list[tuple[int, str]]:
    """Every `vgrad ...` line of the page's bash blocks, with its line number."""
    return [
        (block.line + k, line.strip())
        for block in blocks(page)
        if block.language == "bash"
        for k, line in enumerate(block.text.splitlines(), start=1)
        if line.strip().startswith("vgrad ")
    ]


COMMANDS = [(page, line, command) for page in PAGES for line, command in vgrad_commands(page)]


def test_the_guides_exist_and_have_code() -> None:
    names = {page.relative_to(DOCS).as_posix() for page in PAGES}
    assert {"tutorial.md", "verify-your-engine.md", "target-spec.md", "api.md"} <= names
    assert {"zh/tutorial.md", "zh/verify-your-engine.md"} <= names, "the Chinese guides"
    assert any(b.language == "python" for b in blocks(DOCS / "zh" / "tutorial.md"))
    assert any(b.language == "python" for b in blocks(DOCS / "tutorial.md"))
    commands = [command for _, _, command in COMMANDS]
    assert any("my_engine.py" in c for c in commands), "the guide checks the correct engine"
    assert any("buggy_engine.py" in c and "exits 1" in c for c in commands), "and the buggy one"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_block_says_its_language(page: Path) -> None:
    unknown = [
        f"line {b.line}: {b.language!r}" for b in blocks(page) if b.language not in LANGUAGES
    ]
    assert not unknown, f"{page.name}: blocks need one of {LANGUAGES}: {unknown}"


def prose(page: Path) -> str:
    """A page's text; of a notebook, its Markdown cells."""
    if page.suffix != ".ipynb":
        return page.read_text()
    cells = json.loads(page.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize(
    "page", [*PAGES, *DOCS.rglob("*.ipynb")], ids=lambda p: p.relative_to(DOCS).as_posix()
)
def test_relative_links_point_at_files(page: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose(page))
    local = [t for t in targets if "://" not in t]
    missing = [t for t in local if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


PYTHON_PAGES = [page for page in PAGES if any(b.language == "python" for b in blocks(page))]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_python_blocks_run_and_print_what_is_shown(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files a page writes land in a scratch directory,
    (tmp_path / "docs").symlink_to(DOCS)  # where docs/examples/... resolves as from the root
    monkeypatch.setattr(sys, "path", list(sys.path))  # undo a page's sys.path.insert
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.language != "python":
            continue
        where = f"{page.relative_to(ROOT)}:{block.line}"
        code = compile("\n" * block.line + block.text, str(page), "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        if block.output is not None:
            shown, got = block.output.text.rstrip(), printed.getvalue().rstrip()
            diff = "\n".join(
                difflib.unified_diff(shown.splitlines(), got.splitlines(), lineterm="")
            )
            assert got == shown, f"{where}: the output shown differs from the real one:\n{diff}"


def start_vgrad(command: str) -> subprocess.Popen:
    """`vgrad ...` as written in a guide, started from the repository root."""
    args = shlex.split(command, comments=True)[1:]
    return subprocess.Popen(
        [sys.executable, "-m", "reports.cli", *args],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "100"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def expected_exit(command: str) -> int:
    found = re.search(r"#.*\bexits (\d)", command)
    return int(found.group(1)) if found else 0


def problems_with(command: str, exit_code: int, output: str) -> list[str]:
    """What is wrong with a run of `command`: its exit code, and for the buggy engine,
    a failure report that does not name the broken op."""
    problems = []
    if exit_code != expected_exit(command):
        problems.append(f"exited {exit_code}, expected {expected_exit(command)}")
    if "buggy_engine.py" in command:
        wanted = [
            r"\n\d+ passed, 1 failed, \d+ skipped\n",
            r"FAILED properties/test_scalar_graphs\.py::test_each_scalar_op",
            r"d loss / d x\d*: expected",
            r"\nn\d+ = \w+\.tanh\(\)\n",  # the snippet that reproduces it calls tanh
            r"diagnosis: tanh's backward computes\s+1 - t,\s+not\s+1 - t\*\*2",  # the bug
        ]
        problems += [f"no match for {w!r}" for w in wanted if not re.search(w, output)]
    return problems


def test_vgrad_commands_run() -> None:
    """Every `vgrad` line of the guides, all started at once (each takes seconds to import);
    a command that several pages show (a guide and its translation) runs once for all."""
    running = {command: start_vgrad(command) for _, _, command in COMMANDS}
    results = {
        command: (p.communicate(timeout=600)[0], p.returncode) for command, p in running.items()
    }
    failures = []
    for page, line, command in COMMANDS:
        output, exit_code = results[command]
        if problems := problems_with(command, exit_code, output):
            where = page.relative_to(DOCS).as_posix()
            failures.append(f"{where}:{line}: {command}: {problems}\n{output}")
    assert not failures, "\n\n".join(failures)


def test_a_buggy_run_must_name_the_op() -> None:
    """The checks of the buggy engine's report bite: a report without tanh is a problem."""
    command = "vgrad check --target docs/examples/buggy_engine.py  # exits 1"
    good = "\n16 passed, 1 failed, 4 skipped\n" + (
        "FAILED properties/test_scalar_graphs.py::test_each_scalar_op_agrees_with_oracle\n"
        "  d loss / d x0: expected 0.42, got 0.24\nx0 = Value(1.0)\nn1 = x0.tanh()\n"
        "diagnosis: tanh's backward computes 1 - t, not 1 - t**2 (the square is missing)\n"
    )
    assert problems_with(command, 1, good) == []
    assert len(problems_with(command, 1, good.replace("tanh", "exp"))) == 2
    assert len(problems_with(command, 1, good.replace("1 - t,", "1 - x,"))) == 1
    assert problems_with(command, 0, good) == ["exited 0, expected 1"]


def test_the_buggy_engine_has_exactly_one_bug_in_tanh() -> None:
    """The two example engines differ (apart from their docstrings) in one line, in tanh."""

    def code_lines(name: str) -> list[str]:
        source = (DOCS / "examples" / name).read_text()
        docstring_end = ast.parse(source).body[0].end_lineno
        return source.splitlines()[docstring_end:]

    clean, buggy = code_lines("my_engine.py"), code_lines("buggy_engine.py")
    changed = [(a, b) for a, b in zip(clean, buggy, strict=True) if a != b]
    assert len(clean) == len(buggy) and len(changed) == 1, changed
    ((right, wrong),) = changed
    assert "1 - t**2" in right and "1 - t)" in wrong
    tanh = clean.index("    def tanh(self):")
    assert tanh < clean.index(right) < clean.index("    def exp(self):")


def test_the_example_engines_load_as_targets() -> None:
    from properties.targets import load_target

    for name in ("my_engine.py", "buggy_engine.py"):
        target = load_target(str(DOCS / "examples" / name))
        assert target.has("Value", "Value.tanh", "Value.exp", "Value.relu", "Value.__rtruediv__")
        assert not target.has("Value.log") and not target.has("Tensor")


def test_api_reference_is_up_to_date() -> None:
    generated = subprocess.run(
        [sys.executable, str(DOCS / "gen_api.py"), "--stdout"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert generated == (DOCS / "api.md").read_text(), (
        "docs/api.md is out of date: run `python docs/gen_api.py`"
    )
