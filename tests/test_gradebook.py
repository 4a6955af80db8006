"""`vgrad check TARGET...`: the gradebook of a class (HTML, CSV, JSON, Gradescope's
results.json per target), and Gradescope's file of one target.

The first tests build gradebooks from check results made here (fast); the campaign
checks a class of planted and corpus engines through the command, renders its page in
headless Chromium, and checks that the same inputs and seed give the same gradebook."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from browser import assert_renders_without_console_errors
from planted import BUGS, write_engine

from reports import gradebook
from reports.check import CaseResult, CheckReport
from reports.cli import main
from reports.gradescope import results

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.json").read_text())
CORPUS = Path(__file__).resolve().parent / "corpus"

SCALAR = "properties/test_scalar_graphs.py::"
WRONG_TANH = (
    "the target disagrees with the oracle:\n  d/dx: expected 0.42, got 1.0\nsnippet: x.tanh()"
)
WRONG_EXP = "the target disagrees with the oracle:\n  d/dx: expected 2.7, got 1.0\nsnippet: x.exp()"


def _report() -> dict:
    """A check's results as `vgrad check --json` writes them, with a failure's diagnosis
    (which the check gives when it has one)."""
    report = CheckReport("student.py", "quick", 1, ["Value", "Value.tanh"])
    report.cases = [
        CaseResult(f"{SCALAR}test_random_scalar_graphs_agree_with_oracle", "passed"),
        CaseResult(
            f"{SCALAR}test_each_scalar_op_agrees_with_oracle[tanh-None]",
            "failed",
            message=WRONG_TANH,
            verdict="second opinion: the oracle is right",
            failures=[WRONG_TANH, WRONG_EXP],
            verdicts=["second opinion: the oracle is right", ""],
        ),
        CaseResult(f"{SCALAR}test_each_scalar_op_agrees_with_oracle[exp-None]", "passed"),
        CaseResult(
            "properties/test_tensor_graphs.py::test_random_tensor_graphs_agree_with_oracle",
            "skipped",
            reason="target lacks Tensor",
        ),
        CaseResult(
            "properties/test_networks.py::test_mlp_agrees", "skipped", reason="no MLP of that form"
        ),
    ]
    data = json.loads(json.dumps(asdict(report)))
    data["cases"][1]["diagnosis"] = "tanh's backward uses its input where its output belongs"
    return data


def test_gradescope_results_follow_the_documented_fields_and_score_each_property() -> None:
    doc = results("student", _report())
    jsonschema.validate(doc, SCHEMA)
    tests = {t["name"]: t for t in doc["tests"]}
    assert list(tests) == [
        "scalar_graphs: random_scalar_graphs_agree_with_oracle",
        "scalar_graphs: each_scalar_op_agrees_with_oracle",
        "tensor_graphs: random_tensor_graphs_agree_with_oracle",
        "networks: mlp_agrees",
    ], list(tests)
    scores = {name: (t["score"], t["max_score"]) for name, t in tests.items()}
    assert list(scores.values()) == [(1.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 0.0)], scores
    failed = tests["scalar_graphs: each_scalar_op_agrees_with_oracle"]["output"]
    for text in (WRONG_TANH, WRONG_EXP, "the oracle is right", "tanh's backward uses its input"):
        assert text in failed, (text, failed)
    assert doc["score"] == 1.0, doc["score"]
    unloaded = results("absent", None, "cannot import target 'absent.py'")
    jsonschema.validate(unloaded, SCHEMA)
    assert unloaded["score"] == 0 and "cannot import" in unloaded["output"], unloaded


def test_a_gradebook_row_per_target_its_cells_link_to_failures_and_diagnoses() -> None:
    checks = [{"report": _report()}, {"error": "cannot import target 'b.py': SyntaxError"}]
    book = gradebook.gradebook(["a/student.py", "b.py"], checks, {"profile": "quick"})
    assert [r["name"] for r in book["targets"]] == ["student", "b"], book["targets"]
    first, second = book["targets"]
    assert first["areas"]["scalar_graphs"] == {"passed": 1, "failed": 1, "skipped": 0}, first
    assert (first["score"], first["max_score"]) == (1.0, 3.0), first
    assert not second["loaded"] and "SyntaxError" in second["error"], second
    page = gradebook.gradebook_html(book)
    links = re.findall(r'href="#([^"]+)"', page)
    assert "t0-scalar_graphs" in links, links
    for anchor in links:
        assert f'id="{anchor}"' in page, anchor
    failure = page.index(html.escape(WRONG_TANH))
    diagnosis = page.index('class="diagnosis"', failure)
    assert diagnosis < page.index(html.escape(WRONG_EXP)), "the diagnosis follows its failure"
    assert "not checked: cannot import target" in page
    rows = list(csv.DictReader(io.StringIO(gradebook.gradebook_csv(book))))
    assert [(r["name"], r["score"], r["scalar_graphs failed"]) for r in rows] == [
        ("student", "1.0", "1"),
        ("b", "0.0", "0"),
    ], rows


def test_folders_and_globs_name_the_class(tmp_path: Path) -> None:
    from reports.options import expand_targets

    (tmp_path / "class").mkdir()
    for name in ("b.py", "a.py", "_helper.py", "notes.txt"):
        (tmp_path / "class" / name).write_text("")
    (tmp_path / "class" / "pkg").mkdir()
    (tmp_path / "class" / "pkg" / "__init__.py").write_text("")
    folder = str(tmp_path / "class")
    expected = [f"{folder}/a.py", f"{folder}/b.py", f"{folder}/pkg"]
    assert expand_targets([folder]) == (expected, True)
    assert expand_targets([f"{folder}/*.py"]) == ([f"{folder}/_helper.py", *expected[:2]], True)
    assert expand_targets([f"{folder}/pkg"]) == ([f"{folder}/pkg"], False), "a package is one"
    assert expand_targets(["engine"]) == (["engine"], False)


# --- the campaign: a class through the command ----------------------------------------

SCALAR_BUGS = (
    "add_right_partial_zero",
    "sub_partial_sign",
    "mul_partials_swapped",
    "div_denominator_sign",
    "neg_partial_sign",
    "tanh_grad_uses_input",
)
CORPUS_ENGINES = ("pow_bugs", "recursive_tanh", "correct_scalar_tape", "set_kahn_overwrite")
SELECT = ["--profile", "quick", "-k", "random_scalar_graphs or accumulation"]
OPTIONS = [*SELECT, "--seed", "1"]  # a seed: shrinking to the end, minutes for a class


def _class(folder: Path) -> Path:
    """A folder of submissions: the clean planted engine, six planted bugs, four corpus
    engines and one that cannot be imported."""
    folder.mkdir()
    write_engine(None, folder)
    for name in SCALAR_BUGS:
        write_engine(next(b for b in BUGS if b.name == name), folder)
    for name in CORPUS_ENGINES:
        shutil.copy(CORPUS / f"{name}.py", folder / f"{name}.py")
    (folder / "not_handed_in.py").write_text("raise ImportError('nothing here yet')\n")
    return folder


@pytest.fixture(scope="module")
def class_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    submissions = _class(root / "submissions")
    out = root / "gradebook"
    code = main(["check", str(submissions), *SELECT, "--jobs", "2", "--gradebook", str(out)])
    assert code == 1, "a class with bugs is not all green"
    return out


@pytest.mark.campaign
def test_a_class_of_twelve_engines_in_four_formats(class_gradebook: Path) -> None:
    book = json.loads((class_gradebook / "gradebook.json").read_text())
    rows = {r["name"]: r for r in book["targets"]}
    assert len(rows) == 1 + len(SCALAR_BUGS) + len(CORPUS_ENGINES) + 1, list(rows)
    assert rows["planted_clean"]["score"] == rows["planted_clean"]["max_score"] > 0, rows
    for name in SCALAR_BUGS:
        row = rows[f"planted_{name}"]
        assert row["areas"]["scalar_graphs"]["failed"] >= 1, (name, row["areas"])
    assert rows["pow_bugs"]["score"] < rows["pow_bugs"]["max_score"], rows["pow_bugs"]
    assert not rows["not_handed_in"]["loaded"], rows["not_handed_in"]
    assert "nothing here yet" in rows["not_handed_in"]["error"], rows["not_handed_in"]
    table = list(csv.DictReader(io.StringIO((class_gradebook / "gradebook.csv").read_text())))
    assert [(r["name"], float(r["score"])) for r in table] == [
        (r["name"], r["score"]) for r in book["targets"]
    ], table
    for row in book["targets"]:
        path = class_gradebook / "gradescope" / row["name"] / "results.json"
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, SCHEMA)
        assert doc["score"] == row["score"] == sum(t["score"] for t in doc["tests"]), path
    page = (class_gradebook / "gradebook.html").read_text()
    for row in book["targets"]:
        for entry in row["properties"]:
            for failure in entry["failures"]:
                assert html.escape(failure["message"]) in page, (row["name"], failure["nodeid"])


@pytest.mark.campaign
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_gradebook_renders_in_headless_chromium_without_console_errors(
    class_gradebook: Path, tmp_path: Path
) -> None:
    assert_renders_without_console_errors(class_gradebook / "gradebook.html", tmp_path, height=2000)


@pytest.mark.campaign
def test_the_same_class_and_seed_give_the_same_gradebook(tmp_path: Path) -> None:
    targets = [str(write_engine(None, tmp_path))]
    targets.append(
        str(write_engine(next(b for b in BUGS if b.name == "mul_partials_swapped"), tmp_path))
    )
    (tmp_path / "broken.py").write_text("def (\n")
    targets.append(str(tmp_path / "broken.py"))
    files = []
    for k, jobs in enumerate(("1", "3")):  # in another order too: targets finish otherwise
        out = tmp_path / f"book{k}"
        main(["check", *targets, *OPTIONS, "--jobs", jobs, "--gradebook", str(out)])
        files.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert files[0].keys() == files[1].keys() and len(files[0]) == 6, files[0].keys()
    differ = [name for name in files[0] if files[0][name] != files[1][name]]
    assert not differ, differ


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--jobs", "0"], "--jobs must be 1 to 64"),
        (["a.py", "b.py", "--json", "x.json"], "--json is for one target"),
        (["a.py", "b.py", "--gradescope", "r.json"], "--gradescope writes one target's"),
        (["nothing-*.py"], "no file or folder matches"),
        (["--database", "http://host:1"], "--database must be redis://HOST:PORT"),
        (["--scheduler", "host:8786"], "--scheduler must be an address like tcp://HOST:8786"),
    ],
)
def test_class_options_are_refused_before_any_work(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["check", *args])
    err = capsys.readouterr().err
    assert code == 2 and said in err, (args, code, err)
    assert not list(tmp_path.iterdir()), "nothing written"


@pytest.mark.campaign
def test_one_targets_gradescope_file_scores_what_the_check_found(tmp_path: Path) -> None:
    engine = write_engine(next(b for b in BUGS if b.name == "mul_partials_swapped"), tmp_path)
    results_json, check_json = tmp_path / "results.json", tmp_path / "check.json"
    files = ["--json", str(check_json), "--gradescope", str(results_json)]
    code = main(["check", "--target", str(engine), *OPTIONS, *files])
    assert code == 1, "a planted bug fails"
    doc = json.loads(results_json.read_text())
    jsonschema.validate(doc, SCHEMA)
    check = json.loads(check_json.read_text())
    failed = {
        c["nodeid"].split("::")[1].split("[")[0] for c in check["cases"] if c["outcome"] == "failed"
    }
    zero = {t["name"].split(": ")[1] for t in doc["tests"] if t["score"] == 0}
    assert zero == {name.removeprefix("test_") for name in failed}, (zero, failed)
    assert doc["score"] == len(doc["tests"]) - len(zero), doc["score"]


@pytest.mark.campaign
def test_sigterm_keeps_what_the_running_check_found_and_checks_no_other(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    bug = next(b for b in BUGS if b.name == "tanh_grad_uses_input")
    targets = [str(write_engine(bug, tmp_path)), str(write_engine(None, tmp_path))]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TMPDIR": str(temporary), "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "reports.cli", "check", *targets, *SELECT]
    parent = subprocess.Popen(
        [*command, "--gradebook", str(tmp_path / "book")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not list(temporary.glob("vgrad-gradebook-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(8)  # the first check is under way (it takes longer than this)
    parent.send_signal(signal.SIGTERM)
    output, _ = parent.communicate(timeout=300)
    assert parent.returncode == 1, output[-3000:]
    rows = json.loads((tmp_path / "book" / "gradebook.json").read_text())["targets"]
    first, second = rows
    # what the first check found, or (when the signal came while it loaded) that it had none
    if first["loaded"]:
        assert first["interrupted"], (first, output[-3000:])  # names the running property
    else:
        assert first["error"] == gradebook.INTERRUPTED_EARLY, (first, output[-3000:])
    assert not second["loaded"] and second["error"] == gradebook.INTERRUPTED, second


def test_a_passed_property_lists_what_the_target_lacks() -> None:
    """functional_arguments_are_accepted[conv2d] passes on the arguments the target takes
    and lists the others: Gradescope's output says both."""
    report = CheckReport("student.py", "quick", 1, ["Tensor", "functional.conv2d"])
    lacks = "target lacks functional.conv2d(dilation=...), functional.conv2d(groups=...)"
    report.cases = [
        CaseResult(
            "properties/test_functional.py::test_functional_arguments_are_accepted[conv2d]",
            "passed",
            reason=lacks,
        )
    ]
    (test,) = results("student", json.loads(json.dumps(asdict(report))))["tests"]
    assert (test["score"], test["max_score"]) == (1.0, 1.0), test
    assert test["output"] == f"passed (1 cases); {lacks}", test
