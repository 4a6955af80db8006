"""Build a graph with the target's own operators: the only code that touches target objects.

A graph arrives as plain data, ``(kind, nodes, outputs)`` with each node
``(op, args, attrs)`` as in `oracle.ir` (this module never imports it). The upstream
gradient is applied the way any engine of the spec can take it: the outputs are weighted
by the upstream values and summed into one scalar loss (``loss = g0 * out0 + g1 * out1``;
for tensors ``(out * G).sum()``, also for a one-element output), and ``loss.backward()``
is called once, so every input's gradient is the vector-Jacobian product of the graph.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from properties.worker import network_ops

SCALAR = "scalar"
_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_DEFAULT_AXIS = {"softmax": -1, "log_softmax": -1}


# How a constant becomes an operand, by kind: as it is, unless the target refuses plain
# numbers (then a leaf of its own type, `constants_as_leaves`), so its other defects are
# still found.
_OPERAND: dict[str, Callable[[Any], Any]] = {}


def constants_as_leaves(kind: str, make: Callable[[Any], Any]) -> None:
    _OPERAND[kind] = make


def operand(kind: str, constant: Any) -> Any:
    """A constant as the target takes it: a plain number or array, or one of its leaves."""
    make = _OPERAND.get(kind)
    return constant if make is None else make(constant)


class Graph(NamedTuple):
    """A graph as the worker receives it."""

    kind: str
    nodes: tuple[tuple[str, tuple[int, ...], dict[str, Any]], ...]
    outputs: tuple[int, ...]

    @property
    def input_names(self) -> list[str]:
        return [attrs["name"] for op, _, attrs in self.nodes if op == "input"]


def leaf(namespace: Any, kind: str, value: Any) -> Any:
    """A leaf of the right class for the graph's kind."""
    if kind == SCALAR:
        return namespace.Value(float(value))
    return namespace.Tensor(np.array(value, dtype=np.float64))


def build(
    graph: Graph, leaves: Mapping[str, Any], phase: Callable[[str], None] = lambda _: None
) -> list[Any]:
    """Every node of `graph` as a target object, inputs taken from `leaves` by name."""
    nodes: list[Any] = []
    for i, (op, args, attrs) in enumerate(graph.nodes):
        if op == "input":
            nodes.append(leaves[attrs["name"]])
            continue
        phase(f"computing n{i} = {describe(op, args, attrs)}")
        nodes.append(apply(op, attrs, [nodes[a] for a in args], graph.kind))
    return nodes


def describe(op: str, args: Sequence[int], attrs: Mapping[str, Any]) -> str:
    """The node as the snippet writes it, roughly: ``n1 * n2``, ``n3.tanh()``."""
    names = [f"n{a}" for a in args]
    if op in _SYMBOL:
        side = attrs.get("side") if "const" in attrs else None
        if side == "right":
            names.append(repr(attrs["const"]))
        elif side == "left":
            names.insert(0, repr(attrs["const"]))
        return f" {_SYMBOL[op]} ".join(names)
    if op == "neg":
        return f"-{names[0]}"
    if op == "matmul":
        return f"{names[0]} @ {names[1]}"
    if op in network_ops.OPS:
        return f"functional.{op}({', '.join(names)}, ...)"
    return f"{names[0]}.{op}(...)" if attrs else f"{names[0]}.{op}()"


def apply(op: str, attrs: Mapping[str, Any], args: Sequence[Any], kind: str = SCALAR) -> Any:
    """One IR operation with the target's operators and methods."""
    if op in network_ops.OPS:
        return network_ops.apply(op, attrs, args)
    if op in _BINARY:
        side = attrs.get("side") if "const" in attrs else None
        # an exponent stays a number: `x ** 2` is the spec's own form
        const = operand(kind, attrs["const"]) if side and op != "pow" else attrs.get("const")
        if side == "right":
            return _BINARY[op](args[0], const)
        if side == "left":
            return _BINARY[op](const, args[0])
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
        return args[0].reshape(*attrs["shape"])  # ints, as the spec calls it (none: 0-d)
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


def weighted_sum(kind: str, outs: Sequence[Any], upstream: Sequence[Any]) -> Any:
    """``sum_k upstream_k * outs_k`` as one scalar of the target."""
    total = None
    for out, g in zip(outs, upstream, strict=True):
        if kind == SCALAR:
            term = out * operand(kind, float(g))
        else:
            term = (out * operand(kind, np.asarray(g, dtype=np.float64))).sum()
        total = term if total is None else total + term
    return total
