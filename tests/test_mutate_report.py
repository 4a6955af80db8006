"""`vgrad mutate` (reports/mutate.py): reading mutmut's results, the score, the reports.

Most tests fabricate mutmut's data files (``mutants/**/*.py.meta``, an exit code per
mutant, as mutmut 3.8.1 writes them); one runs mutmut for real on a two-mutant package
in a temporary folder, to check the format against the installed mutmut.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from reports import mutate

PYPROJECT = (
    '[tool.mutmut]\nsource_paths = ["pkg/"]\npytest_add_cli_args_test_selection = ["tests"]\n'
)

# One mutant per status mutmut can give, by its exit codes.
EXIT_CODES = {
    "pkg.mod.x_f__mutmut_1": 1,  # killed
    "pkg.mod.x_f__mutmut_2": 3,  # killed (pytest's internal error)
    "pkg.mod.x_f__mutmut_3": 0,  # survived
    "pkg.mod.xǁThingǁ__init____mutmut_1": -24,  # timeout (SIGXCPU): not a kill
    "pkg.mod.xǁThingǁ__init____mutmut_2": 1,  # killed
    "pkg.mod.xǁThingǁ__init____mutmut_3": 35,  # suspicious
    "pkg.sub.helpers.x_g__mutmut_1": 33,  # no tests
    "pkg.sub.helpers.x_g__mutmut_2": None,  # not checked
    "pkg.sub.helpers.x_g__mutmut_3": 1,  # killed
}


def fabricate(root: Path, exit_codes: dict[str, int | None] = EXIT_CODES) -> None:
    """A project whose mutmut run left `exit_codes`, in mutmut 3.8.1's .meta format."""
    (root / "pyproject.toml").write_text(PYPROJECT)
    by_file: dict[str, dict[str, int | None]] = {}
    for name, code in exit_codes.items():
        module = name.partition("__mutmut_")[0].rpartition(".")[0]
        by_file.setdefault(module.replace(".", "/") + ".py", {})[name] = code
    for path, codes in by_file.items():
        meta = root / "mutants" / (path + ".meta")
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(
            json.dumps(
                {
                    "exit_code_by_key": codes,
                    "hash_by_function_name": {},
                    "type_check_error_by_key": {},
                    "durations_by_key": {},
                    "estimated_durations_by_key": {},
                }
            )
        )


def test_mutant_names_split_into_module_and_function() -> None:
    assert mutate.split_name("engine.value.xǁValueǁ__add____mutmut_3") == (
        "engine.value",
        "Value.__add__",
    )
    assert mutate.split_name("engine.tensor.xǁTensorǁ__init____mutmut_12") == (
        "engine.tensor",
        "Tensor.__init__",
    )
    assert mutate.split_name("engine.value.x__lift__mutmut_1") == ("engine.value", "_lift")
    assert mutate.split_name("engine.nn.losses.x_mse_loss__mutmut_7") == (
        "engine.nn.losses",
        "mse_loss",
    )


def test_statuses_follow_mutmuts_exit_codes() -> None:
    expected = {1: "killed", 3: "killed", 0: "survived", -24: "timeout", 36: "timeout"}
    expected |= {35: "suspicious", 33: "no tests", 34: "skipped", None: "not checked"}
    assert {code: mutate.status_of(code) for code in expected} == expected


def test_counts_and_score_never_count_a_timeout_as_killed(tmp_path: Path) -> None:
    fabricate(tmp_path)
    mutants = mutate.load_results(tmp_path)
    counts = mutate.Counts.of(mutants)
    assert (counts["killed"], counts["survived"], counts["timeout"]) == (4, 1, 1)
    assert (counts["suspicious"], counts["no tests"], counts["not checked"]) == (1, 1, 1)
    assert counts.total == 9 and counts.checked == 8
    assert counts.score == 4 / 8  # killed / (total - not checked): the timeout is not a kill
    assert {m.path for m in mutants} == {"pkg/mod.py", "pkg/sub/helpers.py"}


def test_report_tables_per_module_and_function(tmp_path: Path) -> None:
    fabricate(tmp_path)
    report = mutate.build_report(mutate.load_results(tmp_path), command="vgrad mutate")
    modules = {row["module"]: row for row in report["modules"]}
    assert set(modules) == {"pkg.mod", "pkg.sub.helpers"}
    assert (modules["pkg.mod"]["killed"], modules["pkg.mod"]["total"]) == (3, 6)
    assert modules["pkg.mod"]["timeout"] == 1 and modules["pkg.mod"]["score"] == 3 / 6
    functions = {(row["module"], row["function"]): row for row in report["functions"]}
    assert functions["pkg.mod", "Thing.__init__"]["suspicious"] == 1
    assert functions["pkg.sub.helpers", "g"]["score"] == 1 / 2  # the unchecked one is left out
    assert report["counts"]["score_percent"] == 50.0
    listed = [m["name"] for m in report["not_killed"]]
    assert listed[0] == "pkg.mod.x_f__mutmut_3"  # survivors first
    assert len(listed) == 4 and all(EXIT_CODES[n] not in (1, 3, None) for n in listed)


def test_report_only_writes_html_and_json(tmp_path: Path, monkeypatch, capsys) -> None:
    fabricate(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = mutate.main(["--report-only", "--json", "out/report.json", "--out", "html"])
    assert code == 0, capsys.readouterr().out
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["counts"]["killed"] == 4 and data["counts"]["timeout"] == 1
    assert data["command"] == "vgrad mutate --json out/report.json --out html --report-only"
    assert not list((tmp_path / "out").glob(".*.tmp")), "the temporary file was left behind"
    page = (tmp_path / "html" / "index.html").read_text()
    assert "50.0% killed" in page and "Timeouts: 1" in page
    assert "pkg.mod.x_f__mutmut_3" in page and "Thing.__init__" in page
    printed = capsys.readouterr().out
    assert "score 50.0%" in printed and "timeout 1 (not counted as killed)" in printed


def test_fail_under(tmp_path: Path, monkeypatch) -> None:
    fabricate(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert mutate.main(["--report-only", "--out", "h", "--fail-under", "60"]) == 1
    assert mutate.main(["--report-only", "--out", "h", "--fail-under", "50"]) == 0


def test_json_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text('{"old": true}')
    with pytest.raises(TypeError):
        mutate.write_json(target, {"not serializable": object()})
    assert json.loads(target.read_text()) == {"old": True}, "a failed write clobbered the file"
    assert list(tmp_path.iterdir()) == [target]
    mutate.write_json(target, {"new": 1})
    assert json.loads(target.read_text()) == {"new": 1}


@pytest.mark.parametrize(
    "argv",
    [["--max-children", "0"], ["--max-children", "two"], ["--fail-under", "101"], ["--bogus"]],
)
def test_bad_arguments_exit_2(argv: list[str], tmp_path: Path, monkeypatch) -> None:
    fabricate(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert mutate.main(argv) == 2


def test_no_project_no_results_or_no_mutmut_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert mutate.main(["--report-only"]) == 2
    assert "[tool.mutmut]" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    assert mutate.main(["--report-only"]) == 2
    assert "no results" in capsys.readouterr().out
    assert mutate.main(["--report-only", "--fresh"]) == 2
    monkeypatch.setattr(mutate, "mutmut_command", lambda: None)
    assert mutate.main([]) == 2
    assert "mutmut is not installed" in capsys.readouterr().out


def test_register_adds_the_mutate_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="vgrad")
    mutate.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["mutate", "--json", "m.json", "--max-children", "2"])
    assert (args.command, args.json, args.max_children, args.run) == (
        "mutate",
        "m.json",
        2,
        mutate.main,
    )
    assert parser.parse_args(["mutate"]).out == mutate.DEFAULT_OUT


def test_plugin_sets_the_profile_and_runs_fastest_tests_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VGRAD_PROFILE", "default")
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    monkeypatch.setattr(mutate.gc, "freeze", lambda: None)
    mutate.pytest_configure(None)
    assert os.environ["VGRAD_PROFILE"] == "mutmut"
    monkeypatch.chdir(tmp_path)
    durations = {"a": 3.0, "b": 0.1, "c": 1.0}
    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": durations}))
    items = [SimpleNamespace(nodeid=n) for n in ("a", "new", "b", "c")]
    mutate.pytest_collection_modifyitems(None, items)  # not a mutant: order kept
    assert [i.nodeid for i in items] == ["a", "new", "b", "c"]
    monkeypatch.setenv("MUTANT_UNDER_TEST", "engine.value.x__lift__mutmut_1")
    mutate.pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == ["b", "c", "a", "new"]


TINY_SOURCE = "def double(x):\n    return x * 2\n"
TINY_TEST = "from pkg.mod import double\n\n\ndef test_double():\n    assert double(1) > 1\n"


@pytest.mark.skipif(mutate.mutmut_command() is None, reason="needs mutmut ('.[dev]')")
def test_a_real_mutmut_run_on_a_two_mutant_package(tmp_path: Path, monkeypatch, capsys) -> None:
    """``x * 2`` -> ``x / 2`` is killed by ``double(1) > 1``; ``x * 3`` survives it."""
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT + 'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(TINY_SOURCE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text(TINY_TEST)
    monkeypatch.chdir(tmp_path)
    code = mutate.main(["--max-children", "2", "--json", "m.json", "--out", "html"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    data = json.loads((tmp_path / "m.json").read_text())
    counts = data["counts"]
    assert (counts["killed"], counts["survived"], counts["total"]) == (1, 1, 2), counts
    assert counts["score"] == 0.5 and counts["timeout"] == 0
    (survivor,) = data["not_killed"]
    assert survivor["status"] == "survived" and survivor["function"] == "double"
    assert "-    return x * 2" in survivor["diff"] and "+    return x * 3" in survivor["diff"]
    assert "+    return x * 3" in (tmp_path / "html" / "index.html").read_text()
    assert data["seconds"] is not None and data["tool"].startswith("mutmut 3.")


@pytest.mark.campaign  # a real mutmut run over the property suite: about a minute
@pytest.mark.skipif(mutate.mutmut_command() is None, reason="needs mutmut ('.[dev]')")
def test_suite_properties_leaves_the_other_tests_out(tmp_path: Path, monkeypatch, capsys) -> None:
    """``x * 2`` -> ``x / 2`` is killed by tests/ (``double(1) > 1``) but not by
    properties/ (``double(0) == 0``): alone, the property suite kills nothing; switching
    back to every test starts over and kills it."""
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace('["tests"]', '["tests", "properties"]')
        + 'pytest_add_cli_args = ["-p", "reports.mutate", "-p", "no:cacheprovider"]\n'
        + 'also_copy = ["properties/"]\n'
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(TINY_SOURCE)
    for folder, test in (
        ("tests", TINY_TEST),
        ("properties", TINY_TEST.replace("1) > 1", "0) == 0")),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"test_{folder}.py").write_text(test)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(Path(mutate.__file__).parents[1]))
    for suite, killed in (("properties", 0), ("all", 1), ("properties", 0)):
        code = mutate.main(["--max-children", "2", "--json", "m.json", "--suite", suite])
        printed = capsys.readouterr().out
        assert code == 0, printed
        data = json.loads((tmp_path / "m.json").read_text())
        counts = data["counts"]
        assert (counts["killed"], counts["survived"]) == (killed, 2 - killed), (suite, counts)
        assert ("--suite properties" in data["command"]) == (suite == "properties"), data
    assert mutate.main(["--report-only", "--suite", "all"]) == 2
    assert "holds results of --suite properties" in capsys.readouterr().out
