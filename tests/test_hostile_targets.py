"""Hostile targets (issue 12, item 6): whatever a target does, vgrad survives and says so.

Each attack is a small target module in tests/hostile/: the correct micrograd-style
engine of `micro.py` attacked in one way (an exit, a crash, a hang, a patched module, a
bad ``.data`` or ``.grad``, forged text, ...). Each is run through `vgrad check` and
`vgrad report`, and each test asserts the exit code (1, or 2 for a target that cannot
load), a message naming what happened and the property or graph, that the results so
far were kept (the check's results list every property that ran, the report's JSON
every graph, and its files are written), and that the run took no longer than its time
limits and some slack.

Attacks that could end, hang or corrupt the process running them run the command line
in a subprocess (in a session of its own, so a signal to the suite's process group
stays there); those that cannot (exceptions, bad values) run it in this process, which
is faster. Runs use no Hypothesis example database and do not shrink
(``VGRAD_NO_SHRINK``): fast, and nothing left behind.

Not tested, because no run can survive them by design (the target runs as the same
user as the suite): SIGKILL sent to the suite's process, writes to the suite's files.
"""

from __future__ import annotations

import ast
import contextlib
import html
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reports.cli import main

pytestmark = pytest.mark.campaign  # end to end through the real command (pytest -m campaign)

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
LIMIT = 3.0  # seconds a case (and with --timeout, a load) may take: on a hanging target
SLACK = 30.0  # seconds on top of the time limits: start-up, the oracle, a loaded machine
BACKWARD = "required_operators or random_scalar_graphs"  # the first runs no backward pass
OPS = "each_scalar_op and (tanh or exp or neg)"  # one op each: those not attacked pass
RANDOM_GRAPHS = "test_random_scalar_graphs_agree_with_oracle"
REQUIRED = "test_required_operators_exist[Value]"
TANH = "test_each_scalar_op_agrees_with_oracle[tanh-None]"
EXP = "test_each_scalar_op_agrees_with_oracle[exp-None]"
NEG = "test_each_scalar_op_agrees_with_oracle[neg-None]"
FORGED = "relative errors: expected 1.55e+02"  # the suite's verdict on the forged record

VGRAD = [sys.executable, "-c", "import sys; from reports.cli import main; sys.exit(main())"]


@dataclass
class Run:
    """One `vgrad check` or `vgrad report` run: exit code, output, time, results file."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    json_path: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def data(self) -> dict[str, Any]:
        """The check's --json results, or the report's report.json."""
        assert self.json_path.exists(), f"no {self.json_path}\n{self.output[-3000:]}"
        return json.loads(self.json_path.read_text())

    def failed(self) -> dict[str, dict[str, Any]]:
        return {c["nodeid"]: c for c in self.data["cases"] if c["outcome"] == "failed"}

    def outcome(self, nodeid_part: str) -> str:
        outcomes = {c["outcome"] for c in self.data["cases"] if nodeid_part in c["nodeid"]}
        assert len(outcomes) == 1, (nodeid_part, outcomes, self.data["cases"])
        return outcomes.pop()


def arguments(
    command: str, module: str, out: Path, select: str, graphs: int, limit: float | None
) -> list[str]:
    """`vgrad check` (quick, `select`, --json) or `vgrad report` (`graphs` graphs of at most
    6 nodes) on tests/hostile/MODULE.py, writing into `out`."""
    args = [command, "--target", str(HOSTILE / f"{module}.py")]
    if command == "check":
        args += ["--profile", "quick", "-k", select, "--json", str(out / "results.json")]
    else:
        args += ["--graphs", str(graphs), "--max-nodes", "6", "--out", str(out / "report")]
    if limit is not None:
        args += ["--timeout", f"{limit:g}"]  # for the import too
    return args


def results_path(command: str, out: Path) -> Path:
    return out / ("results.json" if command == "check" else "report/report.json")


def run_cli(args: list[str], cwd: Path, json_path: Path, env: dict[str, str] | None = None) -> Run:
    """`vgrad ARGS` in a subprocess of its own, in `cwd`."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "400",  # rich wraps no line: messages are searched as printed
        "VGRAD_NO_SHRINK": "1",
        **(env or {}),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [*VGRAD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=environment,
        start_new_session=True,  # a signal to the suite's process group stays there
    )
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"vgrad {' '.join(args)} still running after 300 s:\n{stdout[-3000:]!r}")
    seconds = time.monotonic() - started
    text = (stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))
    return Run(process.returncode, *text, seconds, json_path)


def vgrad(
    tmp_path: Path,
    command: str,
    module: str,
    select: str = BACKWARD,
    graphs: int = 10,
    limit: float | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """`vgrad check` or `vgrad report` on tests/hostile/MODULE.py, in a subprocess."""
    out = tmp_path / command
    out.mkdir()
    args = arguments(command, module, out, select, graphs, limit)
    return run_cli(args, tmp_path, results_path(command, out), env)


@pytest.fixture
def vgrad_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The same in this process (for attacks that cannot reach the process running it)."""
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("VGRAD_NO_SHRINK", "1")

    def run(
        command: str,
        module: str,
        select: str = BACKWARD,
        graphs: int = 10,
        args: list[str] | None = None,
        json_path: Path | None = None,
    ) -> Run:
        out = tmp_path / command
        out.mkdir()
        capsys.readouterr()
        started = time.monotonic()
        code = main(args or arguments(command, module, out, select, graphs, None))
        seconds = time.monotonic() - started
        captured = capsys.readouterr()
        json_path = json_path or results_path(command, out)
        return Run(code, captured.out, captured.err, seconds, json_path)

    return run


def constants(module: str) -> dict[str, Any]:
    """The literal constants of an attack module, read without running it."""
    tree = ast.parse((HOSTILE / f"{module}.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


# -- what every run must show ----------------------------------------------------------


def assert_vgrad_intact(run: Run) -> None:
    """vgrad did not crash (its traceback would start a line of stderr), and the target's
    output reached the terminal only as escaped text, and only a little of it."""
    crashed = [line for line in run.stderr.splitlines() if line.startswith("Traceback")]
    assert not crashed, run.stderr[-4000:]
    assert "\x1b" not in run.output, "the target's terminal codes reached the terminal"
    assert len(run.output) < 200_000, f"{len(run.output)} characters of output"


def assert_check(
    run: Run,
    failing: str,
    says: tuple[str, ...],
    passing: tuple[str, ...] = (REQUIRED,),
    limits: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """Exit 1; `failing` failed saying `says`; `passing` ran and passed; in time."""
    assert run.code == 1, f"exit {run.code}\n{run.output[-4000:]}"
    assert_vgrad_intact(run)
    failed = run.failed()
    ours = [case for nodeid, case in failed.items() if failing in nodeid]
    assert ours, (failing, list(failed), run.output[-3000:])
    for case in ours:
        for words in says:
            assert words in case["message"], (words, case["message"][:3000])
    for nodeid in passing:
        assert run.outcome(nodeid) == "passed", run.data["cases"]
    assert run.seconds < limits + SLACK, f"{run.seconds:.1f} s"
    return failed


def assert_report(
    run: Run,
    says: tuple[str, ...],
    graphs: int = 10,
    statuses: set[str] | None = None,
    limits: float = 0.0,
) -> dict[str, Any]:
    """Exit 1; the three files written; every graph listed; each failing graph explained,
    saying `says` (in its exception or problems); in time."""
    assert run.code == 1, f"exit {run.code}\n{run.output[-4000:]}"
    assert_vgrad_intact(run)
    doc = run.data
    for name in ("report.html", "summary.md"):
        assert (run.json_path.parent / name).exists(), name
    assert doc["summary"]["graphs"] == graphs and len(doc["graphs"]["status"]) == graphs, doc
    if statuses is not None:
        assert set(doc["graphs"]["status"]) == statuses, doc["graphs"]["status"]
    failing = [k for k, status in enumerate(doc["graphs"]["status"]) if status != "agree"]
    explained = {case["index"]: case for case in doc["cases"] if case["why"] == "disagreement"}
    assert failing and sorted(explained) == failing, (failing, sorted(explained))
    for k in failing:
        case = explained[k]
        assert case["status"] == doc["graphs"]["status"][k], case
        text = "\n".join([case["exception"], *case["problems"]])
        for words in says:
            assert words in text, (words, text[:3000])
    for case in doc["cases"]:  # explained with the answer counted: the same status
        assert case["status"] == doc["graphs"]["status"][case["index"]], case
    assert run.seconds < limits + SLACK, f"{run.seconds:.1f} s"
    return doc


# -- the base engine passes: every failure below is the attack's ---------------------------


def test_the_base_engine_passes(vgrad_here: Any) -> None:
    check = vgrad_here("check", "micro", f"{BACKWARD} or ({OPS})")
    assert check.code == 0, check.output[-4000:]
    assert not check.failed() and len(check.data["cases"]) == 6, check.data["cases"]
    report = vgrad_here("report", "micro")
    assert report.code == 0, report.output[-4000:]
    assert report.data["summary"]["agree"] == 10, report.data["summary"]


# -- exits, interrupts, crashes, hangs (in a subprocess): the run goes on ------------------


@dataclass(frozen=True)
class Attack:
    """An attack, and what `vgrad check` and `vgrad report` must say about it."""

    module: str
    says: tuple[str, ...]  # in the failing property's message and each failing graph's
    select: str = BACKWARD
    failing: str = RANDOM_GRAPHS
    passing: tuple[str, ...] = (REQUIRED,)
    statuses: frozenset[str] = frozenset({"error"})  # of the report's graphs
    graphs: int = 3  # each graph that crashes its worker costs a new one
    limit: float | None = None

    def __str__(self) -> str:
        return self.module


SOME_FAIL = frozenset({"agree", "error"})
CRASHES = [
    Attack("exit_in_backward", ("SystemExit: 0", "(raised in backward")),
    Attack(
        "interrupt_in_exp",
        ("KeyboardInterrupt", "(raised in exp"),
        OPS,
        EXP,
        (TANH, NEG),
        SOME_FAIL,
        graphs=10,
    ),
    Attack("os_exit_in_backward", ("the target exited with status 0 during loss.backward()",)),
    Attack(
        "segfault_in_backward",
        (
            "the target was killed by SIGSEGV during loss.backward()",
            "Fatal Python error: Segmentation fault",
        ),
    ),
    Attack(
        "hang_in_backward",
        (f"no answer within {LIMIT:g} s: the target was still in loss.backward()",),
        graphs=2,
        limit=LIMIT,
    ),
    Attack("closes_fds", ("the target exited with status 1 during", "Bad file descriptor")),
    Attack(
        "stdout_flood",
        (
            "the target exited with status 1 during loss.backward()",
            "\\x1b[2J\\x1b[31mthe end of the flood",
        ),
    ),
    Attack(
        "delayed_exit_thread",
        ("the target exited with status 0 during loss.backward()",),
        statuses=SOME_FAIL,
        graphs=10,
    ),
    Attack(
        "orphan_child",
        ("the target exited with status 0 during loss.backward()",),
        graphs=2,
        limit=LIMIT,
    ),
]


@pytest.fixture
def attack_env(tmp_path: Path) -> dict[str, str]:
    return {"HOSTILE_PWNED": str(tmp_path / "pwned"), "HOSTILE_CHILD_PID": str(tmp_path / "kids")}


def assert_no_side_effects(tmp_path: Path) -> None:
    """No forged answer ran code; no child of the target outlived the run."""
    assert not (tmp_path / "pwned").exists(), "a forged answer ran code in vgrad's process"
    kids = tmp_path / "kids"
    for pid in kids.read_text().split() if kids.exists() else []:
        with contextlib.suppress(FileNotFoundError):
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            assert state in ("Z", "X"), f"the target's child {pid} outlived the run ({state})"


@pytest.mark.parametrize("attack", CRASHES, ids=str)
def test_check_survives(tmp_path: Path, attack: Attack, attack_env: dict[str, str]) -> None:
    run = vgrad(tmp_path, "check", attack.module, attack.select, limit=attack.limit, env=attack_env)
    limits = 2 * (attack.limit or 0.0)  # a case, and its worker's replacement loading
    assert_check(run, attack.failing, attack.says, attack.passing, limits)
    assert_no_side_effects(tmp_path)


@pytest.mark.parametrize("attack", CRASHES, ids=str)
def test_report_survives(tmp_path: Path, attack: Attack, attack_env: dict[str, str]) -> None:
    run = vgrad(
        tmp_path, "report", attack.module, graphs=attack.graphs, limit=attack.limit, env=attack_env
    )
    limits = (2 * attack.graphs + 1) * (attack.limit or 0.0)  # all at once, then one by one
    assert_report(run, attack.says, attack.graphs, set(attack.statuses), limits)
    assert_no_side_effects(tmp_path)


# -- exceptions, forged answers and values that are not numbers (in this process) ----------

RAISES = [
    Attack(
        "systemexit_in_tanh",
        ("SystemExit: 3", "(raised in tanh"),
        OPS,
        TANH,
        (EXP, NEG),
        SOME_FAIL,
        graphs=10,
    ),
    Attack("memory_hog", ("MemoryError", "(raised in backward")),
    Attack("forged_answer", ("answered with something that is not data", "posix.system")),
    Attack("probe_exit", ("SystemExit: 0", "(raised in backward")),
]


@pytest.mark.parametrize("attack", RAISES, ids=str)
def test_exceptions_are_the_cases_failures(
    tmp_path: Path, attack: Attack, vgrad_here: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTILE_PWNED", str(tmp_path / "pwned"))  # forged_answer's payload
    check = vgrad_here("check", attack.module, attack.select)
    assert_check(check, attack.failing, attack.says, attack.passing)
    report = vgrad_here("report", attack.module, graphs=attack.graphs)
    assert_report(report, attack.says, attack.graphs, set(attack.statuses))
    assert_no_side_effects(tmp_path)
    if attack.module == "probe_exit":  # loaded, its v ** w a limitation: not exit 2
        why = check.data["limitations"].get("Value.__pow__(Value)")
        assert why == "backward raised SystemExit: 0", check.data["limitations"]


def test_an_interrupt_from_a_probe_at_load_is_a_refusal(vgrad_here: Any) -> None:
    """The probes the suite runs while loading (v ** w, x + 3.0) take SystemExit and
    KeyboardInterrupt as the target's answer, like any exception: loaded, not exit 2.
    (vgrad report makes constants leaves for a target refusing plain numbers, by design,
    so its graphs are not this attack's business.)"""
    check = vgrad_here("check", "interrupt_on_numbers", "plain_numbers or random_scalar_graphs")
    says = ("Value refuses a plain number: Value(2.0) + 3.0 raised KeyboardInterrupt",)
    assert_check(check, "test_arithmetic_takes_plain_numbers[Value]", says, (RANDOM_GRAPHS,))


WRONG_FORM = ("the target's worker answered", "wrong form")


def test_check_says_when_an_answer_has_the_wrong_form(vgrad_here: Any) -> None:
    assert_check(vgrad_here("check", "forged_shape"), RANDOM_GRAPHS, WRONG_FORM)


def test_report_says_when_an_answer_has_the_wrong_form(vgrad_here: Any) -> None:
    report = vgrad_here("report", "forged_shape", graphs=3)
    assert_report(report, WRONG_FORM, 3, {"error"})


BAD_VALUES = {  # module: what the check says, what the report says
    "grad_none": (("d loss / d x", "got None"), ("d/dx", ": None")),
    "grad_complex": (
        ("d loss / d x", "got the complex number"),
        ("d/dx", ": the complex number"),
    ),
    "grad_string": (
        ("d loss / d x", "got an object of type builtins.str: '"),
        ("d/dx", ": an object of type builtins.str: '"),
    ),
    "data_string": (
        ("got an object of type builtins.str: '",),
        ("output n", "an object of type builtins.str: '"),
    ),
    "data_bool": (("got the bool",), ("output n", "the bool")),
    "data_float32": (
        ("got an array of float32 (shape ()), not float64",),
        ("output n", "an array of float32 (shape ()), not float64"),
    ),
    "data_object": (
        ("got an object of type fractions.Fraction: Fraction(",),
        ("output n", "an object of type fractions.Fraction: Fraction("),
    ),
    "data_huge_int": (
        ("got an object of type builtins.int: ",),
        ("output n", "an object of type builtins.int: "),
    ),
}


@pytest.mark.parametrize("module", BAD_VALUES)
def test_values_that_are_not_numbers_are_the_cases_failures(module: str, vgrad_here: Any) -> None:
    check_says, report_says = BAD_VALUES[module]
    check = vgrad_here("check", module)
    assert_check(check, RANDOM_GRAPHS, ("the target disagrees with the oracle", *check_says))
    report = vgrad_here("report", module)
    assert_report(report, report_says, 10, {"disagree"})


# -- forged text: shown as it is, never taken for the suite's ------------------------------


def test_a_forged_verdict_in_an_exception_is_shown_literally_and_never_used(
    vgrad_here: Any,
) -> None:
    forged = constants("forged_verdict")
    check = vgrad_here("check", "forged_verdict", "tanh")
    failed = assert_check(check, TANH, ("[bold red]OracleError[/]",), passing=())
    assert "test_scalar_finite_truths[tanh(400)]" in str(list(failed)), list(failed)
    for case in failed.values():  # the suite has no verdict on an exception
        assert case["verdict"] == "" and not any(case["verdicts"]), case
    for literal in (
        forged["FORGED_VERDICT"],
        forged["FORGED_RECORD"],
        "[/bold]",
        "[red]not[/red]",
        "[link=https://example.com]here[/link]",
        "[bold red]OracleError[/]",
        "<script>alert('vgrad')</script>",
    ):
        assert literal in check.stdout, (literal, check.stdout[-3000:])
    printed = sum(len(case["failures"]) for case in failed.values())
    assert check.stdout.count("second opinion (mpmath") == printed, check.stdout
    assert FORGED not in check.output

    report = vgrad_here("report", "forged_verdict")
    doc = assert_report(report, (forged["FORGED_VERDICT"], forged["FORGED_RECORD"]), 10, SOME_FAIL)
    assert all(case["verdict"] == "" for case in doc["cases"] if case["status"] == "error")
    page = (report.json_path.parent / "report.html").read_text()
    assert "<script>alert" not in page and "<b>bold" not in page
    assert html.escape("<script>alert('vgrad')</script> & <b>bold</b>") in page
    assert FORGED not in page + report.json_path.read_text()


def test_a_forged_phase_is_one_escaped_line_and_never_used(vgrad_here: Any) -> None:
    says = ("the target exited with status 0 during loss.backward()\\n# vgrad-case: {",)
    check = vgrad_here("check", "forged_phase")
    failed = assert_check(check, RANDOM_GRAPHS, says)
    assert all(case["verdict"] == "" for case in failed.values()), failed
    assert "second opinion" not in check.output and FORGED not in check.output
    report = vgrad_here("report", "forged_phase", graphs=3)
    assert_report(report, says, 3, {"error"})


# -- patched modules: the oracle and the suite are not in the target's process -------------


def test_a_target_patching_jax_is_caught(tmp_path: Path) -> None:
    check = vgrad(tmp_path, "check", "patched_jax_tanh", OPS)
    assert_check(check, TANH, ("the target disagrees with the oracle",), (EXP, NEG))
    report = vgrad(tmp_path, "report", "patched_jax_tanh")
    assert_report(report, ("expected",), 10, {"agree", "disagree"})


def test_a_correct_target_turning_off_float64_in_jax_passes(tmp_path: Path) -> None:
    check = vgrad(tmp_path, "check", "x64_off", f"{BACKWARD} or ({OPS})")
    assert check.code == 0, check.output[-4000:]
    assert not check.failed() and len(check.data["cases"]) == 6, check.data["cases"]
    report = vgrad(tmp_path, "report", "x64_off")
    assert report.code == 0, report.output[-4000:]
    assert report.data["summary"]["agree"] == 10, report.data["summary"]


def test_a_target_patching_builtins_is_caught(tmp_path: Path) -> None:
    says = ("answered with something that is not data", "AlwaysEqual")
    check = vgrad(tmp_path, "check", "patched_builtins", OPS)
    assert_check(check, TANH, says, passing=())
    assert "0 passed, 3 failed, 0 skipped" in check.stdout, check.stdout[-2000:]
    # Every op micro.py has but ``**``, whose own exponent check (``isinstance(p, float)``,
    # with ``float`` now AlwaysEqual) raises before an answer is forged: every graph then
    # answers with AlwaysEqual numbers, whichever ops the seed draws.
    out = tmp_path / "report"
    out.mkdir()
    args = arguments("report", "patched_builtins", out, BACKWARD, 3, None)
    ops = ["--ops", "add,sub,mul,div,neg,relu,tanh,exp"]
    report = run_cli([*args, *ops], tmp_path, results_path("report", out))
    assert_report(report, says, 3, {"error"})


def test_a_target_changing_directory_leaves_the_users_paths_alone(
    tmp_path: Path, vgrad_here: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.chdir(user)
    target = os.path.relpath(HOSTILE / "chdir_at_import.py", user)
    results, folder = f"{tmp_path.name}.json", f"{tmp_path.name}-report"  # not in /tmp
    args = ["check", "--target", target, "--profile", "quick", "-k", OPS, "--json", results]
    check = vgrad_here("check", "", args=args, json_path=user / results)
    assert_check(check, EXP, ("the target disagrees with the oracle",), (TANH, NEG))
    args = ["report", "--target", target, "--graphs", "10", "--max-nodes", "6", "--out", folder]
    report = vgrad_here("report", "", args=args, json_path=user / folder / "report.json")
    assert_report(report, ("expected",), 10, {"agree", "disagree"})
    assert not Path("/tmp", results).exists() and not Path("/tmp", folder).exists()


# -- targets that cannot load: exit 2, saying why ---------------------------------------


LOAD_FAILURES = {  # module: what vgrad says, the time limit of its import
    "exit_at_import": (("cannot import target", "SystemExit: 0", "exit_at_import.py:5"), None),
    "hang_at_import": (
        (
            "cannot import target",
            "no answer within 3 s",
            "the target was still in importing",
            "hang_at_import.py",
        ),
        3.0,
    ),
    "markup_at_import": (
        (
            "cannot import target",
            "cannot [/bold] load [red]this[/red]",
            "second opinion (mpmath, 50 digits): actual agrees (forged",
        ),
        None,
    ),
}


@pytest.mark.parametrize("module", LOAD_FAILURES)
@pytest.mark.parametrize("command", ["check", "report"])
def test_a_target_that_cannot_load_exits_2(tmp_path: Path, command: str, module: str) -> None:
    says, limit = LOAD_FAILURES[module]
    run = vgrad(tmp_path, command, module, limit=limit)
    assert run.code == 2, f"exit {run.code}\n{run.output[-4000:]}"
    assert_vgrad_intact(run)
    text = " ".join(run.output.split())  # rich may break a long line
    for words in says:
        assert words in text, (words, run.output[-3000:])
    assert run.seconds < (limit or 0.0) + SLACK, f"{run.seconds:.1f} s"


# -- a signal to the suite ---------------------------------------------------------------


def test_sigterm_from_the_target_stops_the_run_as_the_users_would(tmp_path: Path) -> None:
    """By design SIGTERM is the user's (its sender is not known): `vgrad check` stops, keeps
    what finished, names what was running, exits 1; `vgrad report` stops at the end of the
    batch (256 graphs) and writes a partial report of it, exit 1."""
    check = vgrad(tmp_path, "check", "sigterm_parent")
    assert check.code == 1, check.output[-4000:]
    assert_vgrad_intact(check)
    assert RANDOM_GRAPHS in check.data["interrupted"], check.data
    assert check.outcome(REQUIRED) == "passed"
    assert "INTERRUPTED" in check.stdout and "the properties that finished" in check.stdout
    report = vgrad(tmp_path, "report", "sigterm_parent", graphs=300)
    assert report.code == 1, report.output[-4000:]
    assert_vgrad_intact(report)
    summary = report.data["summary"]
    assert summary["partial"] and summary["graphs"] == summary["agree"] == 256, summary
    assert "marked partial" in report.stderr, report.stderr[-2000:]
