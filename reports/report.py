"""`vgrad report`: seeded random expression graphs, evaluated on a target and on the oracle.

Graph ``k`` of a run with seed ``S`` is drawn from ``numpy.random.default_rng(S + k)``,
so ``vgrad report --seed S+k --graphs 1`` (same ``--ops``, ``--max-nodes``, ``--tensor``)
regenerates it alone.  Each graph gets a random upstream gradient; the target computes
the outputs and the vector-Jacobian product with its own operators and ``backward()``,
the oracle with JAX in float64, many graphs per batch.

A graph *agrees* when every output and every input's gradient is within the bound of
the oracle's error analysis of that case (the bound `vgrad check` uses); errors within
``1e-12`` relative need no analysis.  Only summaries are kept per graph (errors, size,
depth, ops), so memory grows by a few bytes per graph; the worst cases and the
disagreements are regenerated from their seeds at the end (with the target's answers to
them, kept), explained in full (snippet, numbers, the JAX-free second opinion) and
written by `reports.report_files`.
"""

from __future__ import annotations

import heapq
import math
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle import evaluate, second_opinion, tolerance
from oracle.ir import NETWORK_OPS, SCALAR, TENSOR, Graph
from oracle.snippet import to_python
from properties.cases.random_network import random_network_graph
from properties.cases.random_scalar import DEFAULT_OPS, random_scalar_graph
from properties.cases.random_tensor import TENSOR_DEFAULT_OPS, random_tensor_graph
from properties.execute import leaf_grads, wire
from properties.reference import FLUSH, RTOL, allowed_error, bad_value, mismatches
from properties.targets import Target, TargetDied, TargetRaised

BATCH = 256  # scalar graphs evaluated by the oracle at once
TENSOR_BATCH = 64  # tensor graphs: a request to stop waits for one batch
WORST = 5  # worst agreeing cases explained in full
MAX_EXPLAINED = 50  # disagreements explained in full; the rest are counted and listed
MIN_NODES = 2
SECOND_OPINION_LIMIT = 300  # nodes


class ReportError(ValueError):
    """Arguments `vgrad report` cannot run with."""


class ReportInterrupted(Exception):
    """The run was asked to stop before it had checked any graph."""


@dataclass(frozen=True)
class ReportConfig:
    """What to generate: how many graphs, from which seed, of which ops and size."""

    target: str = "engine"
    graphs: int = 1000
    seed: int = 0
    ops: tuple[str, ...] | None = None
    max_nodes: int = 30
    tensor: bool = False

    @property
    def kind(self) -> str:
        return TENSOR if self.tensor else SCALAR

    def regenerate_command(self, index: int) -> str:
        """The command that draws graph `index` of this run alone, quoted for a POSIX shell."""
        words = ["vgrad", "report"]
        if self.target != "engine":
            target = self.target
            words += [f"--target={target}"] if target.startswith("-") else ["--target", target]
        words += ["--seed", str(self.seed + index), "--graphs", "1"]
        words += ["--max-nodes", str(self.max_nodes)]
        if self.ops is not None:
            words += ["--ops", ",".join(self.ops)]
        if self.tensor:
            words.append("--tensor")
        return shlex.join(words)


@dataclass
class Case:
    """One generated graph with its inputs and upstream gradient."""

    index: int
    graph: Graph
    inputs: dict[str, Any]
    upstream: list[Any]


@dataclass
class Outcome:
    """How one graph went: the target's answers (or its exception) against the oracle's."""

    status: str  # agree | disagree | error
    value_error: float  # largest relative error of an output
    gradient_error: float  # largest relative error of an input's gradient
    actual_outputs: list[Any] = field(default_factory=list)
    actual_grads: dict[str, Any] = field(default_factory=dict)
    exception: str = ""
    traceback: str = ""
    bad: list[str] = field(default_factory=list)  # values that are not float64 numbers


@dataclass
class ExplainedCase:
    """A worst case or a disagreement, with everything a reader needs to reproduce it."""

    why: str  # worst | disagreement
    case: Case
    outcome: Outcome
    expected_outputs: list[Any]
    expected_grads: dict[str, Any]
    node_values: tuple[Any, ...]  # the oracle's value of every node, for the drawing
    problems: list[str]
    snippet: str
    verdict: str
    regenerate: str


@dataclass
class ReportData:
    """Everything a report shows; `reports.report_files` writes it."""

    config: ReportConfig
    target: Target
    ops_covered: list[str]
    ops_missing: dict[str, str]  # op -> the capability the target lacks
    seeds: np.ndarray
    nodes: np.ndarray
    depths: np.ndarray
    value_errors: np.ndarray
    gradient_errors: np.ndarray
    statuses: np.ndarray  # 0 agree, 1 disagree, 2 error
    partial: bool  # stopped (Ctrl-C, SIGTERM) before all of config.graphs were checked
    op_nodes: dict[str, int]
    op_members: dict[str, np.ndarray]  # op -> indices of the graphs containing it
    op_value_max: dict[str, float]
    explained: list[ExplainedCase]
    seconds: float

    STATUS = ("agree", "disagree", "error")

    def count(self, status: str) -> int:
        return int(np.sum(self.statuses == self.STATUS.index(status)))

    @property
    def exit_code(self) -> int:
        return 0 if self.count("agree") == len(self.statuses) and not self.partial else 1


def usable_ops(config: ReportConfig, target: Target) -> tuple[list[str], dict[str, str]]:
    """The ops the graphs will use, and those left out because the target lacks them (a
    `functional` op the target lacks is left out even when asked for: it is listed)."""
    every = TENSOR_DEFAULT_OPS if config.tensor else DEFAULT_OPS
    known = (*every, *NETWORK_OPS) if config.tensor else every
    requested = every if config.ops is None else config.ops
    unknown = [op for op in requested if op not in known]
    if unknown:
        raise ReportError(f"unknown op(s) {', '.join(unknown)}; known: {', '.join(known)}")
    prefix = "Tensor" if config.tensor else "Value"
    if prefix not in target.capabilities:
        raise ReportError(f"target {config.target} has no {prefix}")
    needs = {op: _needs(prefix, op) for op in requested}
    missing = {op: need for op, need in needs.items() if need not in target.capabilities}
    refused = {op: need for op, need in missing.items() if op not in NETWORK_OPS}
    if config.ops is not None and refused:
        lacks = ", ".join(f"{op} ({need})" for op, need in refused.items())
        raise ReportError(f"target {config.target} lacks {lacks}")
    covered = [op for op in requested if op not in missing]
    if not covered:
        raise ReportError(f"target {config.target} offers none of the ops {', '.join(requested)}")
    return covered, missing


_METHOD = {
    "add": "__add__",
    "sub": "__sub__",
    "mul": "__mul__",
    "div": "__truediv__",
    "pow": "__pow__",
    "neg": "__neg__",
    "matmul": "__matmul__",
    "index": "__getitem__",
}


def _needs(prefix: str, op: str) -> str:
    """The capability an op needs in its plainest form (reflected forms and arguments are
    filtered later)."""
    if op in NETWORK_OPS:
        return f"functional.{op}"
    return f"{prefix}.{_METHOD.get(op, op)}"


def validate(config: ReportConfig) -> None:
    """Raise ReportError for arguments no report can be made of."""
    if config.graphs < 1:
        raise ReportError(f"--graphs must be at least 1, got {config.graphs}")
    if config.max_nodes < MIN_NODES + 1:
        raise ReportError(f"--max-nodes must be at least {MIN_NODES + 1}, got {config.max_nodes}")
    if config.seed < 0:
        raise ReportError(f"--seed must be non-negative, got {config.seed}")


def generate(config: ReportConfig, ops: Sequence[str], target: Target, index: int) -> Case:
    """Graph `index` of the run: the same graph for the same seed, ops and size."""
    rng = np.random.default_rng(config.seed + index)
    n_nodes = int(rng.integers(MIN_NODES + 1, config.max_nodes + 1))
    n_outputs = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    draw = random_tensor_graph if config.tensor else random_scalar_graph
    if config.tensor and set(ops) & set(NETWORK_OPS):
        draw = random_network_graph
    graph, inputs = draw(
        rng, n_nodes, ops=ops, n_outputs=n_outputs, capabilities=target.capabilities
    )
    upstream = [_upstream(rng, graph.shapes[o], graph.kind) for o in graph.outputs]
    return Case(index, graph, inputs, upstream)


def _upstream(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> Any:
    """A random upstream gradient, entries of magnitude 0.5 to 2 and either sign."""
    if kind == SCALAR:  # the same draws as below, without NumPy's 0-d arrays
        return rng.uniform(0.5, 2.0) * (-1.0, 1.0)[rng.integers(2)]
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


TargetAnswer = dict[str, Any] | TargetRaised | TargetDied
CHUNK = 64  # graphs sent to the target's worker at once


def run_target(target: Target, case: Case) -> TargetAnswer:
    """Every node's value, the outputs and the input gradients, computed by the target;
    or what the target raised, or how its worker died."""
    try:
        answer = target.call(
            "run_graph",
            graph=wire(case.graph),
            inputs=dict(case.inputs),
            upstream=list(case.upstream),
            values=True,
        )
    except (TargetRaised, TargetDied) as error:
        return error
    why = malformed(case, answer)
    if why:
        target.close()  # a tampered worker: the next case gets a fresh one
        return TargetDied(
            f"the target's worker answered in the wrong form ({why}); the target has "
            "tampered with the worker"
        )
    return answer


def malformed(case: Case, answer: Any) -> str:
    """Why `answer` is not an answer to `case` (plain data from the worker can be any
    data); "" when it is one."""
    if type(answer) is not dict:
        return f"{type(answer).__name__} instead of a dict"
    graph = case.graph
    outputs, grads, values = answer.get("outputs"), answer.get("grads"), answer.get("values")
    if type(outputs) is not list or len(outputs) != len(graph.outputs):
        return "not one output per output of the graph"
    if type(grads) is not dict or set(grads) != set(graph.input_names):
        return "not one gradient per input of the graph"
    if type(values) is not list or len(values) != len(graph.nodes):
        return "not one value per node of the graph"
    return ""


def run_targets(target: Target, cases: Sequence[Case]) -> list[TargetAnswer]:
    """`run_target` on many cases, a chunk per request; a chunk whose worker died (or
    answered in the wrong form) is run again case by case, so the case that did it is
    the only one that says so."""
    answers: list[TargetAnswer] = []
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start : start + CHUNK]
        try:
            replies = target.call(
                "run_graphs",
                cases=[(wire(c.graph), dict(c.inputs), list(c.upstream)) for c in chunk],
            )
        except TargetDied:
            replies = None
        parsed = _replies(chunk, replies)
        if parsed is None:
            answers += [run_target(target, c) for c in chunk]
        else:
            answers += parsed
    return answers


def _replies(chunk: Sequence[Case], replies: Any) -> list[TargetAnswer] | None:
    """The answers of a chunk's reply, or None when it is not one answer per case."""
    if type(replies) is not list or len(replies) != len(chunk):
        return None
    answers: list[TargetAnswer] = []
    for case, reply in zip(chunk, replies, strict=True):
        if type(reply) is dict and "ok" in reply and not malformed(case, reply["ok"]):
            answers.append(reply["ok"])
        elif type(reply) is dict and type(reply.get("raised")) is dict:
            answers.append(TargetRaised(reply["raised"]))
        else:
            return None
    return answers


def _number(x: Any) -> Any:
    """A float or float64 array as the target gave it; anything else as nan (the problem
    is said apart, in words)."""
    if bad_value(x) is None:
        return x if isinstance(x, np.ndarray | float) else float(x)
    return math.nan


def relative(actual: Any, expected: Any, scale: Any = 0.0) -> float:
    """Normwise relative error ``max|a - e| / max(|e|, scale)``; inf for a non-number,
    a mismatched shape, or a nan or infinity where the other has none."""
    if type(actual) is float and type(expected) is float:  # the common case, made cheap
        if actual == expected:
            return 0.0
        denominator = max(abs(expected), float(scale))
        error = abs(actual - expected)
        if math.isfinite(error) and denominator > 0:
            return error / denominator
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return math.inf
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return math.inf
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        same = np.array_equal(a, e, equal_nan=True)
        return 0.0 if same else math.inf
    error = float(np.max(np.abs(a - e), initial=0.0))
    if error == 0:
        return 0.0
    denominator = max(float(np.max(np.abs(e), initial=0.0)), float(np.max(scale, initial=0.0)))
    return error / denominator if denominator > 0 else math.inf


def compare(case: Case, evaluation: evaluate.Evaluation, answer: TargetAnswer) -> Outcome:
    """Run the target on the case and judge its answers against the oracle's.

    Gradient errors are relative to the largest of the expected gradient, the magnitude of
    the terms summed into it and the error the analysis allows it, so a gradient that
    cancels to rounding noise (or is noise around zero) is not an error of order one; the
    analysis runs only for cases beyond the RTOL floor (within it, the plain relative
    error is at most RTOL anyway).
    """
    if isinstance(answer, TargetRaised):  # a raising target case is recorded, never fatal
        return Outcome(
            "error", math.inf, math.inf, exception=answer.describe(), traceback=answer.traceback
        )
    if isinstance(answer, TargetDied):
        return Outcome("error", math.inf, math.inf, exception=answer.message)
    names = case.graph.input_names
    grads = leaf_grads(case.graph, answer["grads"])
    bad = [
        f"output n{o}: {why}"
        for o, v in zip(case.graph.outputs, answer["outputs"], strict=True)
        if (why := bad_value(v))
    ]
    bad += [f"d/d{n}: {why}" for n in names if (why := bad_value(grads[n]))]
    outputs = [_number(v) for v in answer["outputs"]]
    grads = {n: _number(grads[n]) for n in names}
    outcome = Outcome("agree", 0.0, 0.0, outputs, grads, bad=bad)
    if bad:
        outcome.status, outcome.value_error, outcome.gradient_error = "disagree", math.inf, math.inf
        return outcome
    outcome.value_error = max(
        relative(a, e) for a, e in zip(outputs, evaluation.outputs, strict=True)
    )
    expected_grads = [evaluation.grads[n] for n in names]
    actual_grads = [grads[n] for n in names]
    if _within_floor(outputs, evaluation.outputs) and _within_floor(actual_grads, expected_grads):
        outcome.gradient_error = max(map(relative, actual_grads, expected_grads), default=0.0)
        return outcome
    analysis = tolerance.error_bounds(case.graph, case.inputs, case.upstream)
    outcome.gradient_error = max(
        (
            relative(
                grads[n], evaluation.grads[n], np.maximum(analysis.magnitudes[n], analysis.grads[n])
            )
            for n in names
        ),
        default=0.0,
    )
    if problems_of(case, evaluation, outcome, analysis):
        outcome.status = "disagree"
    return outcome


def _within_floor(actual: Sequence[Any], expected: Sequence[Any]) -> bool:
    """Every entry within RTOL (relative) of the oracle's: agreement without analysis."""
    for a, e in zip(actual, expected, strict=True):
        try:
            a_arr = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        e_arr = np.asarray(e, dtype=np.float64)
        if a_arr.shape != e_arr.shape or not np.all(
            np.abs(a_arr - e_arr) <= RTOL * np.abs(e_arr) + FLUSH
        ):
            return False
    return True


def problems_of(
    case: Case,
    evaluation: evaluate.Evaluation,
    outcome: Outcome,
    analysis: tolerance.Bounds | None = None,
) -> list[str]:
    """A line per output or gradient outside the error analysis's bound (none: agreement)."""
    graph = case.graph
    if analysis is None:
        analysis = tolerance.error_bounds(graph, case.inputs, case.upstream)
    value_bounds = [
        allowed_error(analysis.values[o], v)
        for o, v in zip(graph.outputs, evaluation.outputs, strict=True)
    ]
    grad_bounds = [allowed_error(analysis.grads[n], evaluation.grads[n]) for n in graph.input_names]
    labels = [f"output n{o}" for o in graph.outputs] + [f"d/d{n}" for n in graph.input_names]
    if outcome.bad:
        return list(outcome.bad)
    return mismatches(
        [*evaluation.outputs, *(evaluation.grads[n] for n in graph.input_names)],
        [*outcome.actual_outputs, *(outcome.actual_grads[n] for n in graph.input_names)],
        [*value_bounds, *grad_bounds],
        labels,
    )


def _batches(start: int, stop: int, size: int) -> Iterator[range]:
    for first in range(start, stop, size):
        yield range(first, min(stop, first + size))


@dataclass
class Judged:
    """Graphs ``start`` to ``stop - 1`` of a run, judged: a summary per graph, and the
    target's answers to the graphs that may be explained (the run's worst and first
    disagreeing ones are among them). Runs cut into chunks join theirs with `join`."""

    start: int
    stop: int
    nodes: np.ndarray
    depths: np.ndarray
    value_errors: np.ndarray
    gradient_errors: np.ndarray
    statuses: np.ndarray
    op_nodes: dict[str, int]
    op_members: dict[str, np.ndarray]  # op -> indices (in the run) of graphs containing it
    op_value_max: dict[str, float]
    worst: list[tuple[float, int]]  # (gradient error, -index) of the WORST largest errors
    disagreeing: list[int]
    kept: dict[int, TargetAnswer]


def judge(
    config: ReportConfig,
    ops: Sequence[str],
    target: Target,
    start: int = 0,
    stop: int | None = None,
    advance: Callable[[int], None] = lambda _: None,
    stop_requests: Callable[[], int] = lambda: 0,
) -> Judged:
    """Generate, evaluate and compare graphs `start` to `stop - 1` (all: to config.graphs),
    batch by batch from `start`; a request to stop ends it at the end of a batch."""
    stop = config.graphs if stop is None else stop
    n = stop - start
    nodes, depths = np.zeros(n, np.int32), np.zeros(n, np.int32)
    value_errors, gradient_errors = np.zeros(n), np.zeros(n)
    statuses = np.zeros(n, np.int8)
    op_nodes = dict.fromkeys(ops, 0)
    op_members: dict[str, list[np.ndarray]] = {op: [np.zeros(0, np.int64)] for op in ops}
    op_value_max = dict.fromkeys(ops, 0.0)
    worst: list[tuple[float, int]] = []  # a min-heap of the WORST largest errors
    disagreeing: list[int] = []
    kept: dict[int, TargetAnswer] = {}  # of the cases explained at the end
    done = start
    for batch in _batches(start, stop, TENSOR_BATCH if config.tensor else BATCH):
        if stop_requests():
            break
        cases = [generate(config, ops, target, k) for k in batch]
        evaluations = evaluate.vjp_batch(
            [c.graph for c in cases], [c.inputs for c in cases], [c.upstream for c in cases]
        )
        answers = run_targets(target, cases)
        members: dict[str, list[int]] = {op: [] for op in ops}
        for case, evaluation, answer in zip(cases, evaluations, answers, strict=True):
            k, graph = case.index, case.graph
            outcome = compare(case, evaluation, answer)
            values = [_number(v) for v in answer["values"]] if isinstance(answer, dict) else []
            i = k - start
            nodes[i], depths[i] = len(graph.nodes), max(graph.depths)
            value_errors[i], gradient_errors[i] = outcome.value_error, outcome.gradient_error
            statuses[i] = ReportData.STATUS.index(outcome.status)
            for op in {node.op for node in graph.nodes} - {"input"}:
                members[op].append(k)
            for j, node in enumerate(graph.nodes):
                if node.op != "input":
                    op_nodes[node.op] += 1
                    if values:
                        error = relative(values[j], evaluation.values[j])
                        op_value_max[node.op] = max(op_value_max[node.op], error)
            if outcome.status == "agree":
                item = (outcome.gradient_error, -k)
                kept[k] = answer
                if len(worst) < WORST:
                    heapq.heappush(worst, item)
                else:
                    kept.pop(-heapq.heappushpop(worst, item)[1])
            else:
                disagreeing.append(k)
                if len(disagreeing) <= MAX_EXPLAINED:
                    kept[k] = answer
        for op, ks in members.items():
            op_members[op].append(np.asarray(ks, dtype=np.int64))
        done = batch.stop
        advance(len(batch))
    m = done - start
    return Judged(
        start,
        done,
        nodes[:m],
        depths[:m],
        value_errors[:m],
        gradient_errors[:m],
        statuses[:m],
        op_nodes,
        {op: np.concatenate(parts) for op, parts in op_members.items()},
        op_value_max,
        worst,
        disagreeing,
        kept,
    )


def join(parts: Sequence[Judged]) -> Judged:
    """Consecutive judged chunks as one: what `judge` over their whole range gives."""
    first = parts[0]
    worst = heapq.nlargest(WORST, [item for p in parts for item in p.worst])
    disagreeing = [k for p in parts for k in p.disagreeing]
    keep = {-k for _, k in worst} | set(disagreeing[:MAX_EXPLAINED])
    return Judged(
        first.start,
        parts[-1].stop,
        *(
            np.concatenate([getattr(p, name) for p in parts])
            for name in ("nodes", "depths", "value_errors", "gradient_errors", "statuses")
        ),
        {op: sum(p.op_nodes[op] for p in parts) for op in first.op_nodes},
        {op: np.concatenate([p.op_members[op] for p in parts]) for op in first.op_members},
        {op: max(p.op_value_max[op] for p in parts) for op in first.op_value_max},
        worst,
        disagreeing,
        {k: a for p in parts for k, a in p.kept.items() if k in keep},
    )


def run_report(
    config: ReportConfig,
    target: Target,
    advance: Callable[[int], None] = lambda _: None,
    stop_requests: Callable[[], int] = lambda: 0,
) -> ReportData:
    """Generate, evaluate and compare `config.graphs` graphs; explain the notable ones.

    `stop_requests` counts the requests to stop (Ctrl-C, SIGTERM): after the first, the
    graphs checked so far are explained and returned as a partial report; after a second,
    the explanations stop too."""
    validate(config)
    started = time.perf_counter()
    ops, _ = usable_ops(config, target)
    judged = judge(config, ops, target, 0, config.graphs, advance, stop_requests)
    return finish(config, target, judged, started, stop_requests)


def finish(
    config: ReportConfig,
    target: Target,
    judged: Judged,
    started: float,
    stop_requests: Callable[[], int] = lambda: 0,
) -> ReportData:
    """The report of the graphs `judged` (from graph 0): the notable ones explained."""
    ops, missing = usable_ops(config, target)
    done = judged.stop
    if done == 0:
        raise ReportInterrupted("interrupted before any graph was checked: no report written")
    explained = []
    requests = stop_requests()
    for why, k in [
        *(("disagreement", k) for k in judged.disagreeing[:MAX_EXPLAINED]),
        *(("worst", -k) for _, k in sorted(judged.worst, reverse=True)),
    ]:
        if stop_requests() > requests:  # asked again: what is explained so far is kept
            break
        # with the very answer counted: a target run again may answer otherwise, and a
        # case that crashed or hung its worker would cost another worker or time limit
        explained.append(explain(config, ops, target, k, why, judged.kept[k]))
    return ReportData(
        config=config,
        target=target,
        ops_covered=ops,
        ops_missing=missing,
        seeds=config.seed + np.arange(done),
        nodes=judged.nodes,
        depths=judged.depths,
        value_errors=judged.value_errors,
        gradient_errors=judged.gradient_errors,
        statuses=judged.statuses,
        partial=done < config.graphs,
        op_nodes=judged.op_nodes,
        op_members=judged.op_members,
        op_value_max=judged.op_value_max,
        explained=explained,
        seconds=time.perf_counter() - started,
    )


def explain(
    config: ReportConfig,
    ops: Sequence[str],
    target: Target,
    index: int,
    why: str,
    answer: TargetAnswer | None = None,
) -> ExplainedCase:
    """Regenerate graph `index` and explain it: snippet, numbers, problems, second opinion
    (on the target's `answer` when given, else on a new run)."""
    case = generate(config, ops, target, index)
    evaluation = evaluate.vjp(case.graph, case.inputs, case.upstream)
    outcome = compare(case, evaluation, run_target(target, case) if answer is None else answer)
    problems = [] if outcome.status == "error" else problems_of(case, evaluation, outcome)
    return ExplainedCase(
        why=why,
        case=case,
        outcome=outcome,
        expected_outputs=list(evaluation.outputs),
        expected_grads=dict(evaluation.grads),
        node_values=evaluation.values,
        problems=problems,
        snippet=to_python(
            case.graph,
            case.inputs,
            module=target.import_name,
            upstream=case.upstream,
            constants_as_leaves=target.constants_as_leaves(case.graph.kind),
        ),
        verdict="" if outcome.status == "error" else _verdict(case, evaluation, outcome),
        regenerate=config.regenerate_command(index),
    )


def _verdict(case: Case, evaluation: evaluate.Evaluation, outcome: Outcome) -> str:
    """The JAX-free second opinion (mpmath, 50 digits or what tiny numbers need) on who is
    closer to the truth, for the gradients and the values."""
    if len(case.graph.nodes) > SECOND_OPINION_LIMIT:
        return (
            f"second opinion not asked: {len(case.graph.nodes)} nodes, over "
            f"{SECOND_OPINION_LIMIT} (mpmath differentiates input by input)"
        )
    dps = second_opinion.digits_to_resolve(evaluation.grads, outcome.actual_grads)
    truth = second_opinion.gradient(case.graph, case.inputs, case.upstream, dps=dps)
    actual = {}
    for name, g in outcome.actual_grads.items():
        try:
            actual[name] = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            actual[name] = np.full(np.shape(truth[name]), np.nan)
    verdict = second_opinion.verdict(evaluation.grads, actual, truth)
    values = second_opinion.verdict(
        list(evaluation.outputs),
        list(outcome.actual_outputs),
        second_opinion.outputs(case.graph, case.inputs, dps),
    )
    return (
        f"second opinion (mpmath, {dps} digits): gradients: {verdict.message}; "
        f"values: {values.message}"
    )
