"""What an engine would answer to a probe if it worked in a given way (a `World`).

The probes are small graphs in the worker's form (``(op, args, attrs)`` nodes); this
module evaluates them in NumPy, forward and backward, under a world that says which
local rule each node applies, how contributions reach operands, and how the backward
pass treats the gradients it holds (interior reset, leaves, order, recursion). The
correct world is the spec's; each hypothesis of the catalogue changes one thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from properties.diagnosis.judge import Answer, Raises, Reading

Node = tuple[str, tuple[int, ...], dict[str, Any]]
# (op, a, b) -> (value, da, db): the local rule at operand values a, b (b None if unary)
Rule = Callable[[str, Any, Any], tuple[Any, Any, Any]]
BINARY = ("add", "sub", "mul", "div", "pow")


@dataclass(frozen=True)
class Probe:
    """One probe: a graph, its leaves' values and preset gradients, and a script of
    ``("backward", output, upstream or None)`` and ``("read",)`` steps."""

    kind: str
    nodes: tuple[Node, ...]
    outputs: tuple[int, ...]
    inputs: dict[str, Any]
    script: tuple[tuple[Any, ...], ...]
    preset: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        """The probe as the worker's `probe_graphs` task takes it."""
        return {
            "graph": (self.kind, self.nodes, self.outputs),
            "inputs": self.inputs,
            "preset": self.preset,
            "script": self.script,
        }


def correct_rule(op: str, a: Any, b: Any) -> tuple[Any, Any, Any]:
    """The spec's local rules: the value and the partial derivative for each operand."""
    one = np.ones_like(np.asarray(a, dtype=np.float64))
    if op == "add":
        return a + b, one, np.ones_like(np.asarray(b, dtype=np.float64))
    if op == "sub":
        return a - b, one, -np.ones_like(np.asarray(b, dtype=np.float64))
    if op == "mul":
        return a * b, b, a
    if op == "div":
        return a / b, 1 / b, -a / b**2
    if op == "pow":
        z = np.power(a, b)
        db = np.where(np.asarray(a) > 0, z * np.log(np.where(np.asarray(a) > 0, a, 1.0)), np.nan)
        da = np.where(np.asarray(b) == 0, 0.0, b * np.power(a, b - 1.0))
        return z, da, db
    if op == "neg":
        return -a, -one, None
    if op == "relu":
        return np.maximum(a, 0.0), (np.asarray(a) > 0) * one, None
    if op == "tanh":
        t = np.tanh(a)
        return t, 1 - t * t, None
    if op == "exp":
        e = np.exp(a)
        return e, e, None
    if op == "log":
        return np.log(a), 1 / a, None
    if op == "sigmoid":
        s = 1 / (1 + np.exp(-a))
        return s, s * (1 - s), None
    if op == "sum":
        return np.sum(a), one, None
    raise ValueError(f"no rule for {op}")


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient down to an operand's shape (the spec's rule)."""
    g = np.asarray(g, dtype=np.float64)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


@dataclass(frozen=True)
class World:
    """How an engine computes; the defaults are the spec's."""

    # the rule a node applies: (node, carrier) -> Rule
    rule: Callable[[Node, bool], Rule] = lambda node, carrier: correct_rule
    # the contribution an operand receives: (node, partial, upstream) -> contribution
    passes: Callable[[Node, bool, Any, Any], Any] = lambda node, carrier, d, u: d * u
    # operand positions (0: a, 1: b) whose gradient is assigned (=) instead of added (+=)
    assigns: Callable[[Node, bool], tuple[int, ...]] = lambda node, carrier: ()
    reduce: Callable[[Any, tuple[int, ...]], Any] = unbroadcast
    interior_reset: bool = True
    seed_assign: bool = False
    leaf_reset: bool = False
    shared_once: bool = False
    order: tuple[int, ...] | None = None  # interior nodes' backward order, when not topological
    recursion_depth: int | None = None  # a recursive traversal fails beyond this depth


def positions(node: Node) -> tuple[int, ...]:
    """The operand position (0: a, 1: b) of each of the node's arguments."""
    op, args, attrs = node
    if op in BINARY and "const" in attrs:
        return (1,) if attrs.get("side") == "left" else (0,)
    return tuple(range(len(args)))


def _operands(node: Node, values: list[Any]) -> tuple[Any, Any]:
    op, args, attrs = node
    if op in BINARY and "const" in attrs:
        c = np.asarray(attrs["const"], dtype=np.float64)
        x = values[args[0]]
        return (c, x) if attrs.get("side") == "left" else (x, c)
    a = values[args[0]]
    return a, (values[args[1]] if len(args) > 1 else None)


def _forward(nodes: list[Node], inputs: dict[str, Any], world: World) -> list[Any]:
    values: list[Any] = []
    for node in nodes:
        values.append(_value(node, values, inputs, world))
    return values


def _value(node: Node, values: list[Any], inputs: dict[str, Any], world: World) -> Any:
    op, _, attrs = node
    if op == "input":
        return np.asarray(inputs[attrs["name"]], dtype=np.float64)
    a, b = _operands(node, values)
    return world.rule(node, bool(attrs.get("carrier")))(op, a, b)[0]


def _reachable(nodes: list[Node], root: int) -> list[int]:
    seen, stack = {root}, [root]
    while stack:
        for a in nodes[stack.pop()][1]:
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return sorted(seen)


def _depth(nodes: list[Node], root: int) -> int:
    depth: dict[int, int] = {}
    for i in _reachable(nodes, root):
        depth[i] = 1 + max((depth[a] for a in nodes[i][1]), default=0)
    return depth[root]


def _carrier(kind: str, out: int, upstream: Any) -> list[Node]:
    """The nodes the worker adds to weigh an output by its upstream gradient."""
    mul: Node = ("mul", (out,), {"const": upstream, "side": "right", "carrier": True})
    return [mul] if kind == "scalar" else [mul, ("sum", (-1,), {"carrier": True})]


def simulate(probe: Probe, world: World) -> Answer:
    """The readings an engine working as `world` gives on `probe` (or its exception)."""
    with np.errstate(all="ignore"):
        return _simulate(probe, world)


def _simulate(probe: Probe, world: World) -> Answer:
    nodes = list(probe.nodes)
    values = _forward(nodes, probe.inputs, world)
    # None: nothing reached the node yet (its first contribution is taken as it is, the
    # way engines start a gradient, whatever its shape)
    grads: dict[int, Any] = dict.fromkeys(range(len(values)))
    leaves = {attrs["name"]: i for i, (op, _, attrs) in enumerate(nodes) if op == "input"}
    for name, g in probe.preset.items():
        grads[leaves[name]] = np.asarray(g, dtype=np.float64)
    readings: list[Reading] = []
    for action, *args in probe.script:
        if action == "read":
            readings.append(
                {
                    "outputs": [values[o] for o in probe.outputs],
                    "grads": {n: _zero(grads[i], values[i]) for n, i in leaves.items()},
                }
            )
            continue
        root = probe.outputs[args[0]]
        if args[1] is not None:
            for node in _carrier(probe.kind, root, args[1]):
                op, (a,), attrs = node
                node = (op, (len(nodes) - 1 if a == -1 else a,), attrs)
                nodes.append(node)
                values.append(_value(node, values, probe.inputs, world))
                grads[len(nodes) - 1] = None
            root = len(nodes) - 1
        if world.recursion_depth is not None and _depth(nodes, root) > world.recursion_depth:
            return Raises(("RecursionError",))
        _backward(nodes, values, grads, root, world)
    return readings


def _backward(
    nodes: list[Node], values: list[Any], grads: dict[int, Any], root: int, world: World
) -> None:
    reached = _reachable(nodes, root)
    interior = [i for i in reached if nodes[i][0] != "input"]
    for i in reached:
        if (world.interior_reset and i in interior) or (world.leaf_reset and i not in interior):
            grads[i] = None
    seed = np.ones_like(values[root])
    grads[root] = seed if world.seed_assign else _zero(grads[root], seed) + seed
    if world.order is None:
        order = sorted(interior, reverse=True)
    else:
        order = [i for i in world.order if i in interior]
    for i in order:
        node = nodes[i]
        op, args, attrs = node
        carrier = bool(attrs.get("carrier"))
        a, b = _operands(node, values)
        _, da, db = world.rule(node, carrier)(op, a, b)
        partials = (da, db)
        done: set[int] = set()
        for arg, pos in zip(args, positions(node), strict=True):
            if world.shared_once and arg in done:
                continue
            done.add(arg)
            d = partials[pos] if op == "sum" else partials[pos] + np.zeros_like(values[i])
            upstream = _zero(grads[i], values[i])
            contribution = world.reduce(world.passes(node, carrier, d, upstream), values[arg].shape)
            if pos in world.assigns(node, carrier) or grads[arg] is None:
                grads[arg] = np.asarray(contribution, dtype=np.float64)
            else:
                grads[arg] = grads[arg] + contribution


def _zero(grad: Any, value: Any) -> Any:
    """A gradient, zeros of the value's shape where nothing reached it yet."""
    return np.zeros_like(value) if grad is None else grad


def interior_orders(probe: Probe) -> list[tuple[int, ...]]:
    """Every order of the interior nodes of `probe` (for an out-of-order traversal)."""
    nodes = list(probe.nodes)
    reached = {i for out in probe.outputs for i in _reachable(nodes, out)}
    return list(itertools.permutations(sorted(i for i in reached if nodes[i][0] != "input")))


def changed(world: World, **kwargs: Any) -> World:
    """`world` with the given fields changed (one mistake)."""
    return replace(world, **kwargs)
