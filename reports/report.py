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
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.ir import NETWORK_OPS, SCALAR, TENSOR
from properties.cases.capabilities import plain_capability
from properties.cases.common import Case
from properties.cases.random_network import random_network_graph
from properties.cases.random_scalar import DEFAULT_OPS, random_scalar_graph
from properties.cases.random_tensor import TENSOR_DEFAULT_OPS, random_tensor_graph
from properties.execute import TargetAnswer, TargetRun, run_case, run_cases
from properties.reference import (
    Expected,
    Outcome,
    as_number,
    compare,
    oracle_answer,
    oracle_answers,
    relative,
    second_opinion_on,
    snippet,
)
from properties.targets import Target

BATCH = 256  # scalar graphs evaluated by the oracle at once
TENSOR_BATCH = 64  # tensor graphs: a request to stop waits for one batch
WORST = 5  # worst agreeing cases explained in full
MAX_EXPLAINED = 50  # disagreements explained in full; the rest are counted and listed
MIN_NODES = 2
SECOND_OPINION_LIMIT = 300  # nodes
GRADIENT = "d/d{}"  # an input's gradient in the problems found


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
class ExplainedCase:
    """A worst case or a disagreement, with everything a reader needs to reproduce it."""

    why: str  # worst | disagreement
    index: int  # graph `index` of the run
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
    kind = TENSOR if config.tensor else SCALAR
    needs = {op: plain_capability(kind, op) for op in requested}
    missing = {op: need for op, need in needs.items() if need not in target.capabilities}
    refused = {op: need for op, need in missing.items() if op not in NETWORK_OPS}
    if config.ops is not None and refused:
        lacks = ", ".join(f"{op} ({need})" for op, need in refused.items())
        raise ReportError(f"target {config.target} lacks {lacks}")
    covered = [op for op in requested if op not in missing]
    if not covered:
        raise ReportError(f"target {config.target} offers none of the ops {', '.join(requested)}")
    return covered, missing


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
    upstream = tuple(_upstream(rng, graph.shapes[o], graph.kind) for o in graph.outputs)
    return Case(graph, inputs, upstream)


def _upstream(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> Any:
    """A random upstream gradient, entries of magnitude 0.5 to 2 and either sign."""
    if kind == SCALAR:  # the same draws as below, without NumPy's 0-d arrays
        return rng.uniform(0.5, 2.0) * (-1.0, 1.0)[rng.integers(2)]
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


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
        wants = oracle_answers(cases)
        answers = run_cases(target, cases)
        members: dict[str, list[int]] = {op: [] for op in ops}
        for k, case, want, answer in zip(batch, cases, wants, answers, strict=True):
            graph = case.graph
            outcome = compare(case, want, answer, GRADIENT)
            values = (
                [as_number(v) for v in answer.values or ()] if isinstance(answer, TargetRun) else []
            )
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
                        error = relative(values[j], want.values[j])
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
    want = oracle_answer(case)
    outcome = compare(case, want, run_case(target, case) if answer is None else answer, GRADIENT)
    return ExplainedCase(
        why=why,
        index=index,
        case=case,
        outcome=outcome,
        expected_outputs=want.outputs,
        expected_grads=want.grads,
        node_values=want.values,
        problems=outcome.bad or outcome.problems,
        snippet=snippet(case, target),
        verdict="" if outcome.status == "error" else _verdict(case, want, outcome),
        regenerate=config.regenerate_command(index),
    )


def _verdict(case: Case, want: Expected, outcome: Outcome) -> str:
    """The JAX-free second opinion on who is closer to the truth, for the gradients and
    the values, when the graph is small enough to ask it."""
    if len(case.graph.nodes) > SECOND_OPINION_LIMIT:
        return (
            f"second opinion not asked: {len(case.graph.nodes)} nodes, over "
            f"{SECOND_OPINION_LIMIT} (mpmath differentiates input by input)"
        )
    grads = {n: np.asarray(g, dtype=np.float64) for n, g in outcome.actual_grads.items()}
    return second_opinion_on(case, want, outcome.actual_outputs, grads)
