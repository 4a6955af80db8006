"""Run an oracle IR graph on a target, through the target's worker.

The graph travels as plain data (`wire`); the worker builds it with the target's own
operators (`properties.worker.execute`), weights the outputs by the upstream gradient
into one scalar loss (``loss = g0 * out0 + g1 * out1 + ...``; for tensors
``(out * G).sum()``) and calls ``loss.backward()`` once, so every input's gradient is
the vector-Jacobian product of the graph with the upstream gradient.

`run` runs one graph; `run_cases` many cases, a chunk of them per request to the worker
(what `vgrad report` does for thousands of graphs), each case's answer a `TargetRun`,
what the target raised, or how its worker died.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.ir import SCALAR, Graph
from properties.cases.common import Case
from properties.targets import Target, TargetDied, TargetRaised

CHUNK = 64  # cases sent to the target's worker at once by `run_cases`


@dataclass
class TargetRun:
    """What the target computed: output values and each input's gradient (as data)."""

    outputs: list[Any]
    grads: dict[str, Any]
    values: list[Any] | None = None  # every node's value, when asked for


TargetAnswer = TargetRun | TargetRaised | TargetDied


def wire(graph: Graph) -> tuple[str, tuple, tuple[int, ...]]:
    """The graph as the worker receives it: ``(kind, ((op, args, attrs), ...), outputs)``."""
    nodes = tuple((n.op, tuple(n.args), dict(n.attrs)) for n in graph.nodes)
    return graph.kind, nodes, tuple(graph.outputs)


def run(
    target: Target,
    graph: Graph,
    inputs: Mapping[str, Any],
    upstream: Sequence[Any],
    context: Callable[[], str] | None = None,
    values: bool = False,
    timeout: float | None = None,
) -> TargetRun:
    """Evaluate `graph` on the target and backpropagate the `upstream` gradients."""
    answer = target.call(
        "run_graph",
        context=context,
        timeout=timeout,
        graph=wire(graph),
        inputs=dict(inputs),
        upstream=list(upstream),
        values=values,
    )
    why = malformed(graph, answer, values)
    if why:
        target.close()  # a tampered worker: the next case gets a fresh one
        raise TargetDied(
            f"the target's worker answered in the wrong form ({why}); the target has "
            "tampered with the worker"
        )
    return _target_run(graph, answer)


def _target_run(graph: Graph, answer: dict[str, Any]) -> TargetRun:
    return TargetRun(answer["outputs"], leaf_grads(graph, answer["grads"]), answer.get("values"))


def malformed(graph: Graph, answer: Any, values: bool = False) -> str:
    """Why `answer` is not the worker's answer to `graph` (plain data from the worker can be
    any data); "" when it is one."""
    if type(answer) is not dict:
        return f"{type(answer).__name__} instead of a dict"
    outputs, grads = answer.get("outputs"), answer.get("grads")
    if type(outputs) is not list or len(outputs) != len(graph.outputs):
        return "not one output per output of the graph"
    if type(grads) is not dict or set(grads) != set(graph.input_names):
        return "not one gradient per input of the graph"
    nodes = answer.get("values")
    if values and (type(nodes) is not list or len(nodes) != len(graph.nodes)):
        return "not one value per node of the graph"
    return ""


def run_case(target: Target, case: Case) -> TargetAnswer:
    """The target's run of `case` with every node's value, or what the target raised, or
    how its worker died."""
    try:
        return run(target, case.graph, case.inputs, case.upstream, values=True)
    except (TargetRaised, TargetDied) as error:
        return error


def run_cases(target: Target, cases: Sequence[Case]) -> list[TargetAnswer]:
    """`run_case` on many cases, a chunk per request; a chunk whose worker died (or
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
            answers += [run_case(target, c) for c in chunk]
        else:
            answers += parsed
    return answers


def _replies(chunk: Sequence[Case], replies: Any) -> list[TargetAnswer] | None:
    """The answers of a chunk's reply, or None when it is not one answer per case."""
    if type(replies) is not list or len(replies) != len(chunk):
        return None
    answers: list[TargetAnswer] = []
    for case, reply in zip(chunk, replies, strict=True):
        if type(reply) is dict and "ok" in reply and not malformed(case.graph, reply["ok"], True):
            answers.append(_target_run(case.graph, reply["ok"]))
        elif type(reply) is dict and type(reply.get("raised")) is dict:
            answers.append(TargetRaised(reply["raised"]))
        else:
            return None
    return answers


def leaf_grads(graph: Graph, grads: Mapping[str, Any]) -> dict[str, Any]:
    """Each input's gradient, with a tensor's None (never reached) read as zeros."""
    if graph.kind == SCALAR:
        return dict(grads)
    shapes = {graph.nodes[i].attrs["name"]: graph.shapes[i] for i in graph.input_indices}
    return {n: np.zeros(shapes[n]) if g is None else g for n, g in grads.items()}


def literal(value: Any) -> str:
    """Python source for a number or an array (the upstream gradient in a snippet)."""
    if np.ndim(value) == 0 and not isinstance(value, np.ndarray):
        return repr(float(value))
    return f"np.array({np.asarray(value).tolist()!r})"
