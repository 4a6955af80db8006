"""`vgrad report --tensor --ops conv2d,max_pool2d,...`: random tensor graphs with the
`functional` ops agree on engine, name the op on planted network bugs, list an op the
target lacks, and leave the default graphs alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from planted import BUGS, write_engine

from oracle import evaluate, second_opinion, tolerance
from oracle.ir import NETWORK_OPS
from properties.cases.random_network import random_network_graph
from properties.cases.random_tensor import TENSOR_DEFAULT_OPS
from properties.targets import load_target
from reports import report_files
from reports.cli import main
from reports.report import ReportConfig, generate, usable_ops

OPS = ",".join((*NETWORK_OPS, "add", "mul", "tanh", "relu", "sum"))
SMALL = ("--seed", "0", "--max-nodes", "14")  # small graphs: cheap second opinions
TENSOR_ONLY = "from engine import Tensor  # no functional namespace\n"


def _report(out: Path, *args: str) -> tuple[int, dict]:
    code = main(["report", "--tensor", "--out", str(out), *args])
    document = (
        json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    )
    return code, document


def _by_op(doc: dict) -> dict[str, dict]:
    return {row["op"]: row for row in doc["ops"]}


def test_engine_agrees_on_graphs_of_every_functional_op(tmp_path: Path) -> None:
    code, doc = _report(tmp_path / "r", "--graphs", "20", *SMALL, "--ops", OPS)
    summary = doc["summary"]
    assert code == 0 and summary["agree"] == 20, summary
    assert summary["ops_covered"] == OPS.split(","), summary["ops_covered"]
    drawn = _by_op(doc)
    assert all(drawn[op]["nodes"] > 0 for op in NETWORK_OPS), {
        op: drawn[op]["nodes"] for op in NETWORK_OPS
    }


@pytest.mark.parametrize(
    ("bug", "op", "ops", "graphs"),
    [
        ("conv_bias_grad_averaged", "conv2d", OPS, "15"),
        # no relu: a window of negatives is what tells -inf padding from zeros (the
        # campaigns': 25 graphs, each a compilation of its own)
        pytest.param(
            *("max_pool_zero_padding", "max_pool2d"),
            *("max_pool2d,conv2d,linear,mse_loss,add,sum", "25"),
            marks=pytest.mark.campaign,
        ),
    ],
)
def test_a_planted_network_bug_disagrees_in_graphs_of_its_op(
    tmp_path: Path, bug: str, op: str, ops: str, graphs: str
) -> None:
    engine = write_engine(next(b for b in BUGS if b.name == bug), tmp_path)
    code, doc = _report(
        tmp_path / "r", "--target", str(engine), "--graphs", graphs, *SMALL, "--ops", ops
    )
    summary = doc["summary"]
    assert code == 1 and summary["disagree"] > 0 and summary["error"] == 0, (bug, summary)
    # every disagreeing graph has the op, and its snippet calls it
    assert _by_op(doc)[op]["disagreements"] == summary["disagree"], (bug, _by_op(doc)[op])
    assert op in report_files.in_every_disagreement(doc), (bug, doc["ops"])
    shown = [c for c in doc["cases"] if c["why"] == "disagreement"]
    assert shown and all(f"functional.{op}(" in c["snippet"] for c in shown), (bug, shown[0])
    case = shown[0]
    assert "expected agrees with the second opinion, actual does not" in case["verdict"], case
    # the snippet, in a fresh interpreter, computes the gradients the report shows
    names = list(case["actual"]["grads"])
    grads = f"{{n: np.asarray(globals()[n].grad).tolist() for n in {names!r}}}"
    dump = f"\nimport json\nprint(json.dumps({grads}))"
    printed = subprocess.run(
        [sys.executable, "-c", case["snippet"] + dump],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()[-1]
    for name, grad in json.loads(printed).items():  # never reached: None, read as zeros
        want = np.asarray(case["actual"]["grads"][name]["array"])
        assert np.array_equal(np.zeros(want.shape) if grad is None else grad, want), (bug, name)


def test_a_functional_op_the_target_lacks_is_listed_and_the_rest_run(tmp_path: Path) -> None:
    target = tmp_path / "tensor_only.py"
    target.write_text(TENSOR_ONLY)
    code, doc = _report(
        tmp_path / "r", "--target", str(target), "--graphs", "10", "--ops", "conv2d,add,tanh"
    )
    summary = doc["summary"]
    assert code == 0 and summary["ops_covered"] == ["add", "tanh"], summary
    assert summary["ops_not_covered"] == {"conv2d": "functional.conv2d"}, summary


def test_the_default_tensor_graphs_have_no_functional_op() -> None:
    target = load_target("engine")
    try:
        config = ReportConfig(seed=5, tensor=True)
        ops, missing = usable_ops(config, target)
        assert tuple(ops) == TENSOR_DEFAULT_OPS and not missing, (ops, missing)
        assert not set(ops) & set(NETWORK_OPS), ops
        for k in range(20):
            graph = generate(config, ops, target, k).graph
            assert not {n.op for n in graph.nodes} & set(NETWORK_OPS), (k, graph)
    finally:
        target.close()


def test_the_oracle_is_within_its_bounds_of_the_mpmath_truth_and_they_are_tight() -> None:
    """On small random graphs with the functional ops, JAX's gradient is within the error
    analysis's bound of the JAX-free mpmath gradient, and the bound is tight (1e-9)."""
    rng = np.random.default_rng(3)
    for k in range(4):
        graph, inputs = random_network_graph(rng, 6, (*NETWORK_OPS, "tanh", "mul"))
        upstream = [rng.uniform(-2, 2, graph.shapes[o]) for o in graph.outputs]
        expected = evaluate.vjp(graph, inputs, upstream)
        dps = second_opinion.digits_to_resolve(expected.grads)  # tiny gradients: more digits
        truth = second_opinion.gradient(graph, inputs, upstream, dps=dps)
        bounds = tolerance.error_bounds(graph, inputs, upstream)
        for name in graph.input_names:
            diff = np.abs(expected.grads[name] - truth[name])
            assert np.all(diff <= bounds.grads[name]), (k, name, graph)
            scale = np.max(np.abs(truth[name]), initial=1.0)
            assert np.all(bounds.grads[name] <= 1e-9 * scale), (k, name, graph)


def test_the_oracle_gets_a_max_of_a_linear_layer_right() -> None:
    """Graph 90 of seed 7000 with every op (a max over a linear layer's outputs): compiled
    at -O0, the oracle's own gradient missed the max's share on two rows (engine, torch and
    mpmath agreed with each other)."""
    target = load_target("engine")
    try:
        config = ReportConfig(seed=7000, tensor=True, ops=(*TENSOR_DEFAULT_OPS, *NETWORK_OPS))
        ops, _ = usable_ops(config, target)
        case = generate(config, ops, target, 90)
    finally:
        target.close()
    assert any(n.op == "linear" for n in case.graph.nodes), case.graph
    expected = evaluate.vjp(case.graph, case.inputs, case.upstream)
    truth = second_opinion.gradient(case.graph, case.inputs, case.upstream)
    bounds = tolerance.error_bounds(case.graph, case.inputs, case.upstream)
    for name in case.graph.input_names:
        diff = np.abs(expected.grads[name] - truth[name])
        assert np.all(diff <= bounds.grads[name]), (name, expected.grads[name], truth[name])
