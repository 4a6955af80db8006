"""Seeded random scalar graphs whose values stay inside every op's domain.

`random_scalar_graph` grows a graph node by node, evaluating as it goes, and keeps a
candidate node only when its operands are away from poles and kinks by a margin and its
value is moderate, so value and gradient are finite and well defined.  Operands favour
recent nodes (deep graphs) but reach back to any node (fan-out, shared subexpressions).
For benchmarks, the oracle's self-tests and `vgrad report`; the properties draw theirs
with Hypothesis (`properties.cases.scalar`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np

from oracle.ir import BINARY_OPS, SCALAR, SCALAR_OPS, Graph, Node, op_capability

DEFAULT_OPS = tuple(op for op in SCALAR_OPS if op != "input")
_MARGIN = 0.05  # how far operands stay from poles (0 for log, x/0) and kinks (relu)
_LIMIT = 1e4  # largest |value| kept
_INT_EXPONENTS = (-2, -1, 0, 1, 2, 3)
_FLOAT_EXPONENTS = (-1.5, -0.5, 0.5, 1.5, 2.0, 2.5)
_ATTEMPTS = 10_000  # candidates tried for one node before the op set is declared unusable


def random_scalar_graph(
    rng: np.random.Generator,
    n_nodes: int,
    ops: Sequence[str] = DEFAULT_OPS,
    n_inputs: int | None = None,
    n_outputs: int = 1,
    capabilities: Collection[str] | None = None,
) -> tuple[Graph, dict[str, float]]:
    """A graph of `n_nodes` nodes (inputs included) and input values in every op's domain.

    The last node is an output; further outputs are drawn from the other nodes.  With
    `capabilities` (names as `Graph.capability` gives them, such as ``Value.__radd__``),
    only nodes a target offering those can evaluate are drawn.
    """
    if n_inputs is None:
        n_inputs = int(rng.integers(1, max(2, min(6, n_nodes // 3 + 1))))
    n_inputs = min(n_inputs, n_nodes)
    nodes: list[Node] = []  # made as GraphBuilder would (attributes already normalized)
    values: list[float] = []
    inputs: dict[str, float] = {}
    for k in range(n_inputs):
        name = f"x{k}"
        inputs[name] = (0.2 + 1.8 * rng.random()) * (1 if rng.random() < 0.5 else -1)
        nodes.append(Node("input", (), {"name": name}))
        values.append(inputs[name])
    while len(values) < n_nodes:
        for _ in range(_ATTEMPTS):
            node, value = _candidate(rng, ops, values)
            if node is not None and (
                capabilities is None or op_capability(SCALAR, node) in capabilities
            ):
                break
        else:
            raise ValueError(f"no node in the domain of ops {list(ops)} could be drawn")
        nodes.append(node)
        values.append(value)
    others = list(range(n_nodes - 1))
    extra = rng.choice(others, size=min(n_outputs - 1, len(others)), replace=False)
    return Graph(SCALAR, tuple(nodes), (n_nodes - 1, *(int(i) for i in extra))), inputs


def _candidate(
    rng: np.random.Generator, ops: Sequence[str], values: list[float]
) -> tuple[Node | None, float]:
    op = ops[int(rng.integers(len(ops)))]
    x = _operand(rng, len(values))
    attrs: dict = {}
    if op in BINARY_OPS:
        form = rng.random()
        if form < 0.6:
            args: tuple[int, ...] = (x, _operand(rng, len(values)))
        else:
            side = "right" if form < 0.8 else "left"
            args = (x,)
            attrs = {"const": _constant(rng, op, side), "side": side}
    else:
        args = (x,)
    operands = [values[a] for a in args]
    if "const" in attrs:
        c = float(attrs["const"])
        operands = [c, operands[0]] if attrs["side"] == "left" else [operands[0], c]
    if not _in_domain(op, operands, exponent_is_node=len(args) == 2):
        return None, math.nan
    node = Node(op, args, attrs)
    value = _value(op, operands)
    if not (math.isfinite(value) and abs(value) <= _LIMIT):
        return None, math.nan
    return node, value


def _operand(rng: np.random.Generator, n: int) -> int:
    """A node index, favouring the most recent nodes."""
    if rng.random() < 0.7:
        return max(0, n - int(rng.geometric(0.5)))
    return int(rng.integers(0, n))


def _constant(rng: np.random.Generator, op: str, side: str) -> int | float:
    if op == "pow" and side == "right":
        if rng.random() < 0.5:
            return _INT_EXPONENTS[int(rng.integers(len(_INT_EXPONENTS)))]
        return _FLOAT_EXPONENTS[int(rng.integers(len(_FLOAT_EXPONENTS)))]
    if op == "pow":  # the base of c ** x
        return 0.2 + 2.8 * rng.random()
    return (0.1 + 2.9 * rng.random()) * (1 if rng.random() < 0.5 else -1)


def _in_domain(op: str, operands: list[float], exponent_is_node: bool) -> bool:
    x = operands[0]
    if op == "div":
        return abs(operands[1]) > _MARGIN
    if op == "log":
        return x > _MARGIN
    if op == "relu":
        return abs(x) > _MARGIN
    if op == "exp":
        return x < 20
    if op == "pow":
        y = operands[1]
        if abs(x) < _MARGIN or (x < 0 and (exponent_is_node or not float(y).is_integer())):
            return False
        return abs(y * math.log(abs(x))) < 20
    return True


_FUNCTIONS = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x**y,
    "neg": lambda x: -x,
    "relu": lambda x: max(x, 0.0),
    "tanh": math.tanh,
    "exp": math.exp,
    "log": math.log,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
}


def _value(op: str, operands: list[float]) -> float:
    """A candidate's value in Python floats (nan where Python raises)."""
    try:
        return float(_FUNCTIONS[op](*operands))
    except (ArithmeticError, ValueError, TypeError):
        return math.nan
