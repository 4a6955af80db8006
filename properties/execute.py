"""Run an oracle IR graph on a target, through the target's worker.

The graph travels as plain data (`wire`); the worker builds it with the target's own
operators (`properties.worker.execute`), weights the outputs by the upstream gradient
into one scalar loss (``loss = g0 * out0 + g1 * out1 + ...``; for tensors
``(out * G).sum()``) and calls ``loss.backward()`` once, so every input's gradient is
the vector-Jacobian product of the graph with the upstream gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.ir import SCALAR, Graph
from properties.targets import Target, wrong_form


@dataclass
class TargetRun:
    """What the target computed: output values and each input's gradient (as data)."""

    outputs: list[Any]
    grads: dict[str, Any]
    values: list[Any] | None = None  # every node's value, when asked for


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
    if len(answer["outputs"]) != len(graph.outputs) or set(answer["grads"]) != set(
        graph.input_names
    ):
        raise wrong_form("run_graph")
    return TargetRun(answer["outputs"], leaf_grads(graph, answer["grads"]), answer.get("values"))


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
