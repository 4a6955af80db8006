"""The grower of `properties.cases.random_network` (`vgrad report --tensor --ops conv2d,...`):
seeded random tensor graphs whose values stay inside every op's domain by an absolute
margin, grown node by node with NumPy values alongside; a candidate is kept only when
every entry of its operands is away from poles and kinks (and ties of `max`) by 0.05 and
its values are moderate. The tensor graphs without `functional` ops come from
`properties.cases.random_tensor` (the properties' growth and safety model); the
functional ops' error tracking is not written yet, so these keep their own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from oracle.ir import (
    BINARY_OPS,
    TENSOR,
    Graph,
    GraphBuilder,
    Node,
    op_capability,
)

_MARGIN = 0.05
_LIMIT = 1e4
_ATTEMPTS = 10_000
_EXPONENTS = (-1, 2, 3, 0.5, 1.5)  # constant exponents (bases kept positive for floats)

_ELEMENTWISE = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
    "neg": np.negative,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


def grow_network_graph(
    rng: np.random.Generator,
    n_nodes: int,
    ops: Sequence[str],
    n_inputs: int | None = None,
    n_outputs: int = 1,
    capabilities: Collection[str] | None = None,
    grower_class: type[_Grower] | None = None,
) -> tuple[Graph, dict[str, np.ndarray]]:
    """A tensor graph of about `n_nodes` nodes (inputs included; matmul may add an input)
    and input arrays in every op's domain; the last node is an output.  `grower_class`
    (a subclass of `_Grower`: `random_network.NetworkGrower`) draws further ops."""
    if n_inputs is None:
        n_inputs = int(rng.integers(1, max(2, min(4, n_nodes // 3 + 1))))
    n_inputs = min(n_inputs, n_nodes)
    grower = (grower_class or _Grower)(rng, capabilities)
    for _ in range(n_inputs):
        grower.new_input(_shape(rng))
    while len(grower.values) < n_nodes:
        for _ in range(_ATTEMPTS):
            if grower.try_op(ops[int(rng.integers(len(ops)))]):
                break
        else:
            raise ValueError(f"no node in the domain of ops {list(ops)} could be drawn")
    n = len(grower.values)
    extra = rng.choice(n - 1, size=min(n_outputs - 1, n - 1), replace=False)
    return grower.builder.build([n - 1, *(int(i) for i in extra)]), grower.inputs


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    rank = int(rng.choice(4, p=[0.1, 0.3, 0.4, 0.2]))
    return tuple(int(d) for d in rng.integers(1, 5, size=rank))


class _Grower:
    """The graph so far, every node's NumPy value, and the candidate ops."""

    def __init__(self, rng: np.random.Generator, capabilities: Collection[str] | None) -> None:
        self.rng = rng
        self.capabilities = capabilities
        self.builder = GraphBuilder(TENSOR)
        self.values: list[np.ndarray] = []
        self.inputs: dict[str, np.ndarray] = {}

    def new_input(self, shape: tuple[int, ...]) -> int:
        name = f"x{len(self.inputs)}"
        magnitude = self.rng.uniform(0.2, 2.0, size=shape)
        self.inputs[name] = magnitude * self.rng.choice([-1.0, 1.0], size=shape)
        self.values.append(self.inputs[name])
        return self.builder.input(name, shape)

    def _operand(self) -> int:
        """A node index, favouring the most recent nodes."""
        n = len(self.values)
        if self.rng.random() < 0.7:
            return max(0, n - int(self.rng.geometric(0.5)))
        return int(self.rng.integers(0, n))

    def _keep(self, node: Node, value: np.ndarray, capability: str | None = None) -> bool:
        capability = capability or op_capability(TENSOR, node)
        if self.capabilities is not None and capability not in self.capabilities:
            return False
        if not (np.all(np.isfinite(value)) and np.all(np.abs(value) <= _LIMIT)):
            return False
        self.builder.op(node.op, *node.args, **node.attrs)
        self.values.append(np.asarray(value, dtype=np.float64))
        return True

    def try_op(self, op: str) -> bool:
        """Add one node of `op` if a candidate in its domain is drawn; say whether it was."""
        x = self._operand()
        if op in BINARY_OPS:
            return self._binary(op, x)
        if op in _ELEMENTWISE:
            return self._unary(op, x)
        return getattr(self, f"_{op}")(x)

    def _binary(self, op: str, x: int) -> bool:
        form = self.rng.random()
        if form < 0.6:
            y = self._partner(x)
            if y is None:
                return False
            node, operands = Node(op, (x, y), {}), [self.values[x], self.values[y]]
        else:
            side = "right" if form < 0.8 else "left"
            const = self._constant(op, side)
            node = Node(op, (x,), {"const": const, "side": side})
            pair = [self.values[x], np.asarray(const, np.float64)]
            operands = pair if side == "right" else pair[::-1]
        if not _in_domain(op, operands, exponent_is_node=len(node.args) == 2):
            return False
        with np.errstate(all="ignore"):
            return self._keep(node, _ELEMENTWISE[op](*operands))

    def _partner(self, x: int) -> int | None:
        """An earlier node whose shape broadcasts with node `x`'s, or None."""
        shape = self.values[x].shape
        fits = [k for k, v in enumerate(self.values) if _broadcastable(shape, v.shape)]
        return int(self.rng.choice(fits)) if fits else None

    def _constant(self, op: str, side: str) -> int | float:
        if op == "pow" and side == "right":
            return _EXPONENTS[int(self.rng.integers(len(_EXPONENTS)))]
        if op == "pow":
            return float(0.2 + 2.8 * self.rng.random())
        return float((0.1 + 2.9 * self.rng.random()) * self.rng.choice([-1.0, 1.0]))

    def _unary(self, op: str, x: int) -> bool:
        if not _in_domain(op, [self.values[x]], exponent_is_node=False):
            return False
        with np.errstate(all="ignore"):
            return self._keep(Node(op, (x,), {}), _ELEMENTWISE[op](self.values[x]))

    def _matmul(self, x: int) -> bool:
        a = self.values[x]
        if a.ndim == 0:
            return False
        inner = a.shape[-1]
        fits = [
            k
            for k, v in enumerate(self.values)
            if v.ndim >= 1
            and v.shape[0 if v.ndim == 1 else -2] == inner
            and (a.ndim <= 2 or v.ndim <= 2 or _broadcastable(a.shape[:-2], v.shape[:-2]))
        ]
        if fits and self.rng.random() < 0.7:
            y = int(self.rng.choice(fits))
        else:
            y = self.new_input(
                (inner,) if self.rng.random() < 0.3 else (inner, int(self.rng.integers(1, 5)))
            )
        b = self.values[y]
        capability = "Tensor.__matmul__" if a.ndim == 2 and b.ndim == 2 else "Tensor.__matmul__(nd)"
        return self._keep(Node("matmul", (x, y), {}), a @ b, capability)

    def _reduction(self, op: str, x: int) -> bool:
        a = self.values[x]
        axis: Any = None
        if a.ndim and self.rng.random() < 0.75:
            count = int(self.rng.integers(1, a.ndim + 1))
            axes = [int(v) for v in self.rng.permutation(a.ndim)[:count]]
            axis = (
                axes[0] - (a.ndim if self.rng.random() < 0.3 else 0)
                if len(axes) == 1
                else tuple(sorted(axes))
            )
        keepdims = bool(self.rng.random() < 0.4)
        if op == "max" and not _clear_maximum(a, axis):
            return False
        value = getattr(np, op)(a, axis=axis, keepdims=keepdims)
        capability = f"Tensor.{op}(axis=tuple)" if isinstance(axis, tuple) else f"Tensor.{op}"
        return self._keep(Node(op, (x,), {"axis": axis, "keepdims": keepdims}), value, capability)

    def _sum(self, x: int) -> bool:
        return self._reduction("sum", x)

    def _mean(self, x: int) -> bool:
        return self._reduction("mean", x)

    def _max(self, x: int) -> bool:
        return self._reduction("max", x)

    def _reshape(self, x: int) -> bool:
        a = self.values[x]
        shape = _factor(self.rng, a.size)
        return self._keep(Node("reshape", (x,), {"shape": shape}), a.reshape(shape))

    def _transpose(self, x: int) -> bool:
        a = self.values[x]
        axes = None
        if self.rng.random() < 0.7:
            axes = tuple(int(v) for v in self.rng.permutation(a.ndim))
        return self._keep(Node("transpose", (x,), {"axes": axes}), np.transpose(a, axes))

    def _T(self, x: int) -> bool:
        a = self.values[x]
        return a.ndim == 2 and self._keep(Node("T", (x,), {}), a.T)

    def _softmaxes(self, op: str, x: int) -> bool:
        a = self.values[x]
        if a.ndim == 0:
            return False
        axis = int(self.rng.integers(-a.ndim, a.ndim))
        shifted = a - a.max(axis=axis, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return self._keep(
            Node(op, (x,), {"axis": axis}), log_p if op == "log_softmax" else np.exp(log_p)
        )

    def _softmax(self, x: int) -> bool:
        return self._softmaxes("softmax", x)

    def _log_softmax(self, x: int) -> bool:
        return self._softmaxes("log_softmax", x)

    def _index(self, x: int) -> bool:
        a = self.values[x]
        if a.ndim == 0:
            return False
        n = a.shape[0]
        kind = self.rng.random()
        if kind < 0.5:  # integer array, repeats likely
            item: Any = self.rng.integers(-n, n, size=int(self.rng.integers(1, 5)))
        elif kind < 0.75:
            item = int(self.rng.integers(-n, n))
        else:
            start = int(self.rng.integers(0, n))
            item = slice(start, int(self.rng.integers(start + 1, n + 1)))
        return self._keep(Node("index", (x,), {"index": (item,)}), a[item])


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(p == q or p == 1 or q == 1 for p, q in zip(a[::-1], b[::-1], strict=False))


def _factor(rng: np.random.Generator, size: int) -> tuple[int, ...]:
    """A random shape of `size` entries, rank 1 to 3 (a reshape never makes a 0-d value:
    the spec calls ``reshape(*ints)``, which has no form for no ints that engines agree on)."""
    dims, rest = [], size
    for _ in range(int(rng.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = int(rng.choice(divisors))
        dims.append(d)
        rest //= d
    return (*dims, rest)


def _clear_maximum(a: np.ndarray, axis: Any) -> bool:
    """The largest entry of every slice exceeds the runner-up by the margin (no near ties)."""
    if a.size < 2:
        return True
    axes = tuple(range(a.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(*moved.shape[: moved.ndim - len(axes)], -1)
    if flat.shape[-1] < 2:
        return True
    top = np.sort(flat, axis=-1)[..., -2:]
    return bool(np.all(top[..., 1] - top[..., 0] > _MARGIN))


def _in_domain(op: str, operands: list[np.ndarray], exponent_is_node: bool) -> bool:
    x = np.asarray(operands[0])
    if op == "div":
        return bool(np.all(np.abs(operands[1]) > _MARGIN))
    if op == "log":
        return bool(np.all(x > _MARGIN))
    if op == "relu":
        return bool(np.all(np.abs(x) > _MARGIN))
    if op == "exp":
        return bool(np.all(x < 20))
    if op == "pow":
        y = np.asarray(operands[1], dtype=np.float64)
        integer = not exponent_is_node and np.all(y == np.round(y))
        if np.any(np.abs(x) < _MARGIN) or (np.any(x < 0) and not integer):
            return False
        with np.errstate(all="ignore"):
            return bool(np.all(np.abs(y * np.log(np.abs(x))) < 20))
    return True
