"""`vgrad` arguments: a bad one is refused before any work (before a target even loads),
with exit code 2, one line naming it, no traceback and nothing written; output paths
are made absolute first; `vgrad report` replaces its three files as one set."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports import cli
from reports.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAX_SEED = 2**63 - 1


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder, and every command's work replaced by a recorder."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The arguments each command would have run with (nothing runs)."""
    calls: list[argparse.Namespace] = []

    def record(args: argparse.Namespace) -> int:
        calls.append(args)
        return 0

    for name in ("_check", "_report", "_demo", "_bench"):
        monkeypatch.setattr(cli, name, record)
    monkeypatch.setattr("reports.mutate.main", record)
    return calls


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *names: str) -> str:
    """Run `vgrad argv`; check it was refused cleanly, naming `names`; return the line."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and not out, (out, err)
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def _empty(folder: Path) -> None:
    assert not list(folder.iterdir()), f"written: {list(folder.iterdir())}"


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["check", "--seed", str(2**63)], "--seed"),
        (["check", "--seed", "-1"], "--seed"),
        (["check", "--seed", "1e3"], "--seed"),
        (["check", "-n", "-1"], "-n"),
        (["check", "-n", "65"], "-n"),
        (["report", "--graphs", "0"], "--graphs"),
        (["report", "--graphs", "1000000000000"], "--graphs"),
        (["report", "--graphs", "10000001"], "--graphs"),
        (["report", "--seed", "-1"], "--seed"),
        (["report", "--seed", str(2**63)], "--seed"),
        (["report", "--seed", "9" * 5000], "--seed"),  # past int()'s digit limit
        (["report", "--max-nodes", "2"], "--max-nodes"),
        (["report", "--max-nodes", "5001"], "--max-nodes"),
        (["demo", "--steps", "0"], "--steps"),
        (["demo", "--seed", "-1"], "--seed"),
        (["bench", "--repeats", "0"], "--repeats"),
        (["mutate", "--max-children", "0"], "--max-children"),
        (["mutate", "--max-children", "two"], "--max-children"),
        (["mutate", "--fail-under", "101"], "--fail-under"),
        (["mutate", "--fail-under", "nan"], "--fail-under"),
    ],
)
def test_numbers_out_of_range_are_refused_before_any_work(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], argv: list[str], name: str
) -> None:
    line = _refused(argv, capsys, name)
    assert len(line) < 300, line
    assert not ran, "a command ran"
    _empty(workdir)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--seed", str(MAX_SEED), "-n", "64"],
        ["check", "--seed", "0", "-n", "0"],
        ["report", "--graphs", "10000000", "--max-nodes", "5000"],
        ["report", "--graphs", "1", "--seed", str(MAX_SEED), "--max-nodes", "3"],
        ["demo", "--steps", "1", "--seed", "0"],
        ["bench", "--repeats", "1"],
        ["mutate", "--max-children", "1", "--fail-under", "100"],
    ],
)
def test_numbers_at_the_limits_are_accepted(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 0, capsys.readouterr().err
    assert len(ran) == 1


def test_seed_plus_graphs_past_2_63_is_refused_so_no_seed_overflows(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(["report", "--seed", str(MAX_SEED), "--graphs", "2"], capsys, "--seed", "--graphs")
    _refused(["report", "--seed", str(MAX_SEED - 8), "--graphs", "10"], capsys, "--seed")
    assert not ran
    _empty(workdir)
    assert main(["report", "--seed", str(MAX_SEED - 9), "--graphs", "10"]) == 0
    assert ran[0].seed + ran[0].graphs - 1 == MAX_SEED


def test_ops_are_folded_in_first_given_order_and_empty_items_refused(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--ops", " tanh,add, tanh,mul,add "]) == 0
    assert ran[0].ops == ("tanh", "add", "mul")
    for ops in ("add,,mul", "add,", ",", " ", "add, ,mul"):
        _refused(["report", "--ops", ops], capsys, "--ops")
    _refused(["report", "--ops", "add,cosh"], capsys, "--ops", "unknown op(s) cosh")
    _refused(["report", "--ops", "matmul"], capsys, "--ops", "unknown op(s) matmul")
    assert main(["report", "--tensor", "--ops", "matmul,sum"]) == 0  # tensor ops with --tensor
    assert len(ran) == 2
    _empty(workdir)


@pytest.mark.parametrize("ops", ["add,foo[/x]", "[bold]add", "add,[/]"])
def test_ops_with_markup_characters_are_refused_in_plain_text(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], ops: str
) -> None:
    line = _refused(["report", "--ops", ops], capsys, "--ops")
    assert "is not one" in line, line
    assert not ran
    _empty(workdir)


def test_timeout_is_a_positive_number_of_seconds_up_to_an_hour(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("check", "report"):
        for bad in ("0", "-1", "nan", "inf", "3601", "soon", ""):
            _refused([command, "--timeout", bad], capsys, "--timeout")
        assert not ran
        assert main([command]) == 0
        assert main([command, "--timeout", "2.5"]) == 0
        assert main([command, "--timeout", "3600"]) == 0
        assert [args.timeout for args in ran] == [None, 2.5, 3600.0], ran
        ran.clear()
    _empty(workdir)


def test_output_paths_are_made_absolute_before_anything_runs(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "sub").mkdir()
    assert main(["report", "--out", "sub/r"]) == 0
    assert main(["report"]) == 0
    assert main(["check", "--json", "sub/results.json"]) == 0
    assert main(["check"]) == 0
    assert main(["demo", "--out", "sub/../m.png"]) == 0
    report, default, check, no_json, demo = ran
    assert report.out == str(workdir / "sub" / "r"), report.out
    assert default.out == str(workdir / "vgrad-report"), default.out
    assert check.json == str(workdir / "sub" / "results.json"), check.json
    assert no_json.json is None
    assert demo.out == str(workdir / "m.png"), demo.out
    assert [p.name for p in workdir.iterdir()] == ["sub"] and not list((workdir / "sub").iterdir())


def test_json_must_be_a_file_in_an_existing_writable_folder(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "results").mkdir()
    _refused(["check", "--json", "results"], capsys, "--json", "is a folder")
    _refused(["check", "--json", "nowhere/results.json"], capsys, "--json", "does not exist")
    (workdir / "file").write_text("")
    _refused(["check", "--json", "file/results.json"], capsys, "--json", "is not a folder")

    def denied(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(cli.tempfile, "mkstemp", denied)
        _refused(["check", "--json", "results.json"], capsys, "--json", "not writable")
    assert not ran
    assert sorted(p.name for p in workdir.iterdir()) == ["file", "results"]
    assert not list((workdir / "results").iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_folder_is_refused(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = workdir / "locked"
    locked.mkdir(mode=0o555)
    try:
        _refused(["check", "--json", "locked/r.json"], capsys, "--json", "not writable")
        _refused(["report", "--out", "locked/r"], capsys, "--out", "not writable")
        _refused(["demo", "--out", "locked/m.png"], capsys, "--out", "not writable")
    finally:
        locked.chmod(0o755)
    assert not ran and not list(locked.iterdir())


def test_report_out_must_be_a_new_or_report_folder_in_a_writable_folder(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "taken").write_text("a file")
    _refused(["report", "--out", "taken"], capsys, "--out", "is not a folder")
    _refused(["report", "--out", "nowhere/report"], capsys, "--out", "does not exist")
    mine = workdir / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    (mine / "report.json").write_text("{}")
    _refused(["report", "--out", "mine"], capsys, "--out", "thesis.tex")
    _refused(["demo", "--out", "mine"], capsys, "--out", "is a folder")

    def denied(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(cli.tempfile, "mkstemp", denied)
        _refused(["report", "--out", "r"], capsys, "--out", "not writable")
        _refused(["demo", "--out", "m.png"], capsys, "--out", "not writable")
    assert not ran
    assert sorted(p.name for p in workdir.iterdir()) == ["mine", "taken"]
    assert (mine / "thesis.tex").read_text() == "precious"
    old = mine / "report.json"
    old.unlink()
    (mine / "thesis.tex").unlink()
    (mine / "summary.md").write_text("an earlier report")
    assert main(["report", "--out", "mine"]) == 0, "a previous report's folder is fine"


def test_an_output_folder_that_cannot_be_read_is_refused(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import report_folder

    (workdir / "r").mkdir()

    def unreadable(out: Path) -> list[str]:
        raise PermissionError(13, "Permission denied", str(out))

    monkeypatch.setattr(report_folder, "foreign_entries", unreadable)
    _refused(["report", "--out", "r"], capsys, "--out r", "Permission denied")
    assert not ran


def test_an_invalid_k_expression_is_refused_with_pytests_message(
    workdir: Path, ran: list, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(["check", "-k", "("], capsys, "-k")
    assert "at column 2: expected not OR left parenthesis OR identifier" in line, line
    _refused(["check", "-k", "tanh and"], capsys, "-k")
    _refused(["check", "-k", "a b"], capsys, "-k")
    assert not ran
    assert main(["check", "-k", "tanh and not (relu or scalar_graphs)"]) == 0
    _empty(workdir)


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--seed", str(2**63)],
        ["report", "--graphs", "1000000000000"],
        ["report", "--ops", "add,foo[/x]"],
        ["report", "--out", "taken"],
        ["check", "-k", "("],
        ["check", "--json", "."],
        ["demo", "--steps", "0"],
        ["bench", "--repeats", "0"],
    ],
)
def test_the_console_script_refuses_in_one_line_without_traceback(
    tmp_path: Path, argv: list[str]
) -> None:
    (tmp_path / "taken").write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(  # what the vgrad script does, on this checkout
        [sys.executable, "-c", "import sys; from reports.cli import main; sys.exit(main())", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and not run.stdout, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith(f"vgrad {argv[0]}: error: "), run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


CHDIR_ENGINE = """
import os

from engine import Value  # noqa: F401

os.chdir({elsewhere!r})  # a target that moves the current folder when imported
"""


def test_a_tiny_report_lands_where_asked_with_shell_quoted_regenerate_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "my engines [old]"
    folder.mkdir()
    target = folder / "eng.py"
    target.write_text(CHDIR_ENGINE.format(elsewhere=str(elsewhere)))
    monkeypatch.chdir(tmp_path)
    seed = str(MAX_SEED)
    argv = ["report", "--target", str(target), "--graphs", "1", "--max-nodes", "3"]
    assert main([*argv, "--seed", seed, "--ops", "add,mul,add", "--out", "rel"]) == 0
    capsys.readouterr()
    assert not list(elsewhere.iterdir()), "the report followed the target's chdir"
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == [
        "report.html",
        "report.json",
        "summary.md",
    ]
    doc = json.loads((tmp_path / "rel" / "report.json").read_text())
    assert doc["config"]["seed"] == MAX_SEED and doc["graphs"]["seed"] == [MAX_SEED]
    command = doc["cases"][0]["regenerate"]
    words = shlex.split(command)
    assert words == [
        "vgrad",
        "report",
        "--target",
        str(target),
        "--seed",
        seed,
        "--graphs",
        "1",
        "--max-nodes",
        "3",
        "--ops",
        "add,mul",
    ], command
    assert cli.build_parser().parse_args(words[1:]).target == str(target)


def test_regenerate_commands_are_quoted_for_the_shell_and_for_markdown() -> None:
    from reports import report_files
    from reports.report import ReportConfig

    config = ReportConfig(target="it's [old] | engine.py", seed=5, ops=("tanh",), tensor=True)
    command = report_files.regenerate_command(config, 2)
    assert shlex.split(command) == [
        "vgrad",
        "report",
        "--target",
        config.target,
        "--seed",
        "7",
        "--graphs",
        "1",
        "--max-nodes",
        "30",
        "--ops",
        "tanh",
        "--tensor",
    ], command
    assert shlex.split(report_files.regenerate_command(ReportConfig(), 0)) == [
        "vgrad",
        "report",
        "--seed",
        "0",
        "--graphs",
        "1",
        "--max-nodes",
        "30",
    ]
    dash = report_files.regenerate_command(ReportConfig(target="-engine.py"), 0)
    assert cli.build_parser().parse_args(shlex.split(dash)[1:]).target == "-engine.py", dash
    cell = report_files._code_cell(command)
    assert "|" not in cell.replace("\\|", ""), cell
    assert report_files._code_cell("a `b` c") == "``a `b` c``"


# replace_folder: the three files are replaced as one set -------------------------------

OLD = {"report.json": "old json", "report.html": "old html", "summary.md": "old summary"}
NEW = {"report.json": "new json", "report.html": "new html", "summary.md": "new summary"}
NEWER = {name: "newer " + name for name in NEW}
STEPS = ("_make_folder", "_write_file", "_rename", "_exchange", "_remove_tree")


def _contents(folder: Path) -> dict[str, str] | None:
    if not folder.is_dir():
        return None
    return {p.name: p.read_text() for p in folder.iterdir()}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


@pytest.fixture(params=["exchange", "rename aside"])
def swap_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    from reports import report_files

    if request.param == "exchange":
        if report_files._renameat2() is None:
            pytest.skip("no renameat2 in this libc")
    else:
        monkeypatch.setattr(report_files, "_exchange", lambda *_: False)
    return request.param


class Crash(BaseException):
    """A stand-in for a kill: raised in place of a step."""


def _killed_here(parent: Path, out: Path, scratch: Path) -> dict[str, str] | None:
    """What `out` holds if the run is killed now and the next run cleans up."""
    from reports import report_files

    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(parent, scratch, symlinks=True)
    copy = scratch / out.name
    alive = report_files._process_alive
    report_files._process_alive = lambda pid: False  # the killed run has ended
    try:
        report_files.clean_leftovers(copy)
    finally:
        report_files._process_alive = alive
    assert _leftovers(copy) == [], _leftovers(copy)
    return _contents(copy)


@pytest.mark.parametrize("existing", [True, False], ids=["replace", "first write"])
def test_a_kill_between_any_two_steps_leaves_the_old_set_or_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_mode: str, existing: bool
) -> None:
    from reports import report_files

    parent = tmp_path / "parent"
    out = parent / "report"
    if existing:
        report_files.replace_folder(out, OLD)
        assert _contents(out) == OLD and _leftovers(out) == []
    before = OLD if existing else None
    seen: list[tuple[str, dict[str, str] | None]] = []
    inside: list[bool] = []  # while the next run's clean-up is simulated, steps are not watched

    def observe(step: str) -> None:
        now = _contents(out)
        # Renaming aside leaves `out` missing between two renames; then the old set is
        # put back by the next run, as `after_kill` shows.
        if swap_mode == "exchange" or now is not None:
            assert now in (before, NEW), (step, now)
        inside.append(True)
        try:
            after_kill = _killed_here(parent, out, tmp_path / "scratch")
        finally:
            inside.pop()
        assert after_kill in (before, NEW), (step, after_kill)
        seen.append((step, now))

    for step in STEPS:
        original = getattr(report_files, step)

        def watched(*args: object, _original=original, _step=step) -> object:
            if inside:
                return _original(*args)
            observe(f"before {_step}")
            result = _original(*args)
            observe(f"after {_step}")
            return result

        monkeypatch.setattr(report_files, step, watched)
    report_files.replace_folder(out, NEW)
    assert _contents(out) == NEW and _leftovers(out) == []
    assert any(now == NEW for _, now in seen) and len(seen) >= 10, seen


@pytest.mark.parametrize("crash_at", range(12))
def test_an_error_at_any_step_leaves_a_whole_set_and_the_next_run_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_mode: str, crash_at: int
) -> None:
    from reports import report_files

    out = tmp_path / "parent" / "report"
    report_files.replace_folder(out, OLD)
    calls = []

    for step in STEPS:
        original = getattr(report_files, step)

        def failing(*args: object, _original=original, _step=step) -> object:
            calls.append(_step)
            if len(calls) == crash_at + 1:
                raise Crash(_step)
            return _original(*args)

        monkeypatch.setattr(report_files, step, failing)
    try:
        report_files.replace_folder(out, NEW)
    except Crash:
        pass
    else:
        assert crash_at >= len(calls), calls  # fewer steps than crash_at: no crash
    assert _contents(out) in (OLD, NEW), (calls, _contents(out))
    monkeypatch.undo()  # the real steps again
    monkeypatch.setattr(report_files, "_process_alive", lambda pid: False)
    report_files.replace_folder(out, NEWER)
    assert _contents(out) == NEWER and _leftovers(out) == [], _leftovers(out)


def test_a_folder_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    from reports import report_files

    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt"):
        report_files.replace_folder(out, NEW)
    assert _contents(out) == {"notes.txt": "mine"} and _leftovers(out) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        report_files.replace_folder(tmp_path / "file", NEW)


def test_a_running_writers_folder_is_left_alone_and_a_dead_ones_removed(tmp_path: Path) -> None:
    from reports import report_files

    out = tmp_path / "report"
    prefix = report_files._sibling_prefix(out)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    live = tmp_path / f"{prefix}{os.getppid()}-0123abcd"
    gone = tmp_path / f"{prefix}{dead}-0123abcd"
    aside = tmp_path / f"{prefix}{dead}-4567abcd{report_files._ASIDE}"
    for folder, files in ((live, NEWER), (gone, NEW), (aside, OLD)):
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
    other = tmp_path / ".reportx.vgrad-1-00"
    other.mkdir()
    report_files.clean_leftovers(out)
    assert _contents(out) == OLD, "the old set put back: it was renamed aside, then killed"
    assert sorted(_leftovers(out)) == sorted([live.name, other.name])
    report_files.replace_folder(out, NEW)
    assert _contents(out) == NEW and live.is_dir()


def test_the_real_exchange_swaps_two_folders(tmp_path: Path) -> None:
    from reports import report_files

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, files in ((a, OLD), (b, NEW)):
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
    if not report_files._exchange(a, b):
        pytest.skip("this system or file system cannot exchange folders")
    assert _contents(a) == NEW and _contents(b) == OLD
