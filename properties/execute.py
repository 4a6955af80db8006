"""Run an oracle IR graph on a target: build it with the target's own operators.

The upstream gradient is applied the way any engine of the spec can take it: the
outputs are weighted by the upstream values and summed into one scalar loss
(``loss = g0 * out0 + g1 * out1 + ...``; for tensors ``(out * G).sum()``), and
``loss.backward()`` is called once, so every input's gradient is the vector-Jacobian
product of the graph with the upstream gradient.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.ir import SCALAR, Graph, Node
from properties.targets import Target

_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
}
_DEFAULT_AXIS = {"softmax": -1, "log_softmax": -1}


@dataclass
class TargetRun:
    """What the target computed: output values and each input's gradient."""

    outputs: list[Any]
    grads: dict[str, Any]


def leaf(target: Target, graph: Graph, value: Any) -> Any:
    """A leaf of the right class for the graph's kind."""
    if graph.kind == SCALAR:
        return target.Value(float(value))
    return target.Tensor(np.array(value, dtype=np.float64))


def build(target: Target, graph: Graph, leaves: Mapping[str, Any]) -> list[Any]:
    """Every node of `graph` as a target object, inputs taken from `leaves` by name."""
    nodes: list[Any] = []
    for node in graph.nodes:
        args = [nodes[a] for a in node.args]
        if node.op == "input":
            nodes.append(leaves[node.attrs["name"]])
        else:
            nodes.append(apply(node, args))
    return nodes


def apply(node: Node, args: Sequence[Any]) -> Any:
    """One IR operation with the target's operators and methods."""
    op, attrs = node.op, node.attrs
    if op in _BINARY:
        if node.const_side == "right":
            return _BINARY[op](args[0], attrs["const"])
        if node.const_side == "left":
            return _BINARY[op](attrs["const"], args[0])
        return _BINARY[op](args[0], args[1])
    if op == "neg":
        return -args[0]
    if op == "matmul":
        return args[0] @ args[1]
    if op in ("sum", "mean", "max"):
        kwargs: dict[str, Any] = {} if attrs["axis"] is None else {"axis": attrs["axis"]}
        if attrs["keepdims"]:
            kwargs["keepdims"] = True
        return getattr(args[0], op)(**kwargs)
    if op == "reshape":
        return args[0].reshape(attrs["shape"])
    if op == "transpose":
        axes = attrs["axes"]
        return args[0].transpose() if axes is None else args[0].transpose(*axes)
    if op == "T":
        return args[0].T
    if op in _DEFAULT_AXIS:
        axis = attrs["axis"]
        return getattr(args[0], op)() if axis == -1 else getattr(args[0], op)(axis=axis)
    if op == "index":
        index = attrs["index"]
        return args[0][index[0] if len(index) == 1 else index]
    return getattr(args[0], op)()


def run(
    target: Target, graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any]
) -> TargetRun:
    """Evaluate `graph` on the target and backpropagate the `upstream` gradients."""
    leaves = {name: leaf(target, graph, inputs[name]) for name in graph.input_names}
    nodes = build(target, graph, leaves)
    outs = [nodes[i] for i in graph.outputs]
    loss = weighted_sum(graph, outs, upstream)
    loss.backward()
    return TargetRun(
        outputs=[_data(o) for o in outs],
        grads={name: leaf_grad(graph, leaves[name]) for name in graph.input_names},
    )


def weighted_sum(graph: Graph, outs: Sequence[Any], upstream: Sequence[Any]) -> Any:
    """``sum_k upstream_k * outs_k`` as one scalar of the target."""
    total = None
    for out, g in zip(outs, upstream, strict=True):
        term = out * float(g) if graph.kind == SCALAR else (out * np.asarray(g)).sum()
        total = term if total is None else total + term
    return total


def literal(value: Any) -> str:
    """Python source for a number or an array (the upstream gradient in a snippet)."""
    if np.ndim(value) == 0 and not isinstance(value, np.ndarray):
        return repr(float(value))
    return f"np.array({np.asarray(value).tolist()!r})"


def _data(obj: Any) -> Any:
    """A scalar's `.data` as it is (a complex number must show), a tensor's as an array."""
    return obj.data if isinstance(obj.data, (int, float, complex)) else np.asarray(obj.data)


def leaf_grad(graph: Graph, leaf_obj: Any) -> Any:
    """A leaf's gradient as a float or an array (zeros where the target holds None)."""
    grad = leaf_obj.grad
    if graph.kind == SCALAR:
        return grad
    return np.zeros(np.shape(leaf_obj.data)) if grad is None else np.asarray(grad)
