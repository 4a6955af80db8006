"""The expression-graph IR: the common language of strategies, targets, JAX and reports.

A `Graph` is a tuple of `Node`s in topological order plus the indices of its outputs.
Each node has an op name, the indices of the earlier nodes it reads (`args`) and
attributes.  Inputs are nodes too (op ``input`` with a ``name``; in tensor graphs also a
``shape``).  A graph is either ``scalar`` (the target spec's `Value`) or ``tensor``
(its `Tensor`).

Ops (attributes in brackets, defaults filled in by `GraphBuilder`):

* ``add sub mul div pow``: two nodes, or one node and a Python number (tensor graphs: or
  a NumPy array) ``[const, side]``; ``side="right"`` is ``x + c`` (`__add__`),
  ``side="left"`` is ``c + x`` (`__radd__`).  ``pow`` with ``side="right"`` is ``x ** p``
  with a constant exponent (an int exponent stays an int), with ``side="left"`` it is
  ``c ** x`` (`__rpow__`), between two nodes ``x ** y``.
* ``neg relu tanh exp log sigmoid``: one node.
* tensor graphs only: ``matmul`` (two nodes); ``sum mean max`` ``[axis=None, keepdims=False]``
  (axis: None, an int or a tuple of ints, negative allowed); ``reshape [shape]``;
  ``transpose [axes=None]``; ``T``; ``softmax log_softmax [axis=-1]``;
  ``index [index]``, a tuple of ints, slices and integer arrays (`numpy.ndarray`, int64).
* tensor graphs, the `functional` ops of protocol v2 (`NETWORK_OPS`, torch's semantics,
  images NCHW): ``conv2d`` (x, weight[, bias]) ``[stride=1, padding=0]``;
  ``max_pool2d avg_pool2d [kernel_size, stride=None, padding=0]``; ``flatten
  [start_dim=1]``; ``linear`` (x, weight[, bias]); ``mse_loss`` (prediction, target);
  ``cross_entropy [labels]`` (int64 class indices), ``binary_cross_entropy_with_logits
  [targets]`` and ``hinge_loss [labels]`` (float arrays): constants, not nodes.
  Stride, padding and kernel sizes are an int or a pair of ints.

Every node names the target capability it needs (`Graph.capability`), such as
``Value.tanh``, ``Value.__rpow__`` or ``Tensor.__pow__(Tensor)``, so a suite can skip the
graphs a target cannot run.  `to_json` / `from_json` write and read a graph with its
inputs exactly (`oracle.codec`); `oracle.snippet.to_python` prints a case as code a
person can paste.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from oracle import codec

SCALAR = "scalar"
TENSOR = "tensor"
FORMAT_VERSION = 1

BINARY_OPS = ("add", "sub", "mul", "div", "pow")
UNARY_OPS = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
REDUCTIONS = ("sum", "mean", "max")
TENSOR_ONLY_OPS = (
    "matmul",
    *REDUCTIONS,
    "reshape",
    "transpose",
    "T",
    "softmax",
    "log_softmax",
    "index",
)
NETWORK_OPS = (
    *("conv2d", "max_pool2d", "avg_pool2d", "flatten", "linear"),
    *("mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss"),
)
SCALAR_OPS = ("input", *BINARY_OPS, *UNARY_OPS)
TENSOR_OPS = (*SCALAR_OPS, *TENSOR_ONLY_OPS, *NETWORK_OPS)

_DUNDERS = {
    "add": ("__add__", "__radd__"),
    "sub": ("__sub__", "__rsub__"),
    "mul": ("__mul__", "__rmul__"),
    "div": ("__truediv__", "__rtruediv__"),
    "pow": ("__pow__", "__rpow__"),
}
_ARITY = {"input": 0, "matmul": 2, "mse_loss": 2}  # every other non-binary op takes one arg
_OPTIONAL_BIAS = ("conv2d", "linear")  # (x, weight) or (x, weight, bias)
_ATTRS: dict[str, dict[str, Any]] = {  # allowed attributes and their defaults
    "sum": {"axis": None, "keepdims": False},
    "mean": {"axis": None, "keepdims": False},
    "max": {"axis": None, "keepdims": False},
    "reshape": {"shape": None},
    "transpose": {"axes": None},
    "softmax": {"axis": -1},
    "log_softmax": {"axis": -1},
    "index": {"index": None},
    "conv2d": {"stride": 1, "padding": 0},
    "max_pool2d": {"kernel_size": None, "stride": None, "padding": 0},
    "avg_pool2d": {"kernel_size": None, "stride": None, "padding": 0},
    "flatten": {"start_dim": 1},
    "cross_entropy": {"labels": None},
    "binary_cross_entropy_with_logits": {"targets": None},
    "hinge_loss": {"labels": None},
}
_PAIRS = ("stride", "padding", "kernel_size")
_LABELS = {"cross_entropy": np.int64, "binary_cross_entropy_with_logits": np.float64}
_RESERVED = {  # names the printed snippet uses for itself
    "np",
    "Value",
    "Tensor",
    "loss",
    "target",
    "importlib",
    "float",
    "print",
    "sys",
    "spec",
    "functional",
}
_NODE_NAME = re.compile(r"n\d+")


@dataclass(frozen=True, eq=False)
class Node:
    """One operation: `op` applied to the nodes at `args`, configured by `attrs`."""

    op: str
    args: tuple[int, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def const_side(self) -> str | None:
        """``"left"`` or ``"right"`` for an arithmetic op with a constant, else None."""
        return self.attrs.get("side") if "const" in self.attrs else None

    def key(self) -> str:
        """A string equal for two nodes exactly when they are equal."""
        return codec.key((self.op, self.args, dict(self.attrs)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


@dataclass(frozen=True, eq=False)
class Graph:
    """Nodes in topological order and the indices of the outputs; validated on creation."""

    kind: str
    nodes: tuple[Node, ...]
    outputs: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "outputs", tuple(int(i) for i in self.outputs))
        _validate(self)
        if self.kind == TENSOR:
            _ = self.shapes  # raises for shapes that do not fit together

    @cached_property
    def input_indices(self) -> tuple[int, ...]:
        """Indices of the input nodes, in order."""
        return tuple(i for i, n in enumerate(self.nodes) if n.op == "input")

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        """Names of the inputs, in node order."""
        return tuple(self.nodes[i].attrs["name"] for i in self.input_indices)

    @cached_property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """The shape of every node's value (``()`` for every node of a scalar graph)."""
        if self.kind == SCALAR:
            return ((),) * len(self.nodes)
        return _infer_shapes(self.nodes)

    @cached_property
    def depths(self) -> tuple[int, ...]:
        """Length of the longest path from an input to each node (inputs: 0)."""
        depth: list[int] = []
        for node in self.nodes:
            depth.append(1 + max((depth[a] for a in node.args), default=-1))
        return tuple(depth)

    def capability(self, i: int) -> str | None:
        """The target capability node `i` needs (None for an input)."""
        return _capability(self, i)

    def capabilities(self) -> frozenset[str]:
        """Every capability the graph needs."""
        return frozenset(c for i in range(len(self.nodes)) if (c := self.capability(i)))

    def key(self) -> str:
        """A string equal for two graphs exactly when they are equal."""
        return self._key

    @cached_property
    def _key(self) -> str:
        return codec.key((self.kind, tuple(n.key() for n in self.nodes), self.outputs))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data (see `oracle.codec`)."""
        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "nodes": [
                {
                    "op": n.op,
                    "args": list(n.args),
                    "attrs": {k: codec.encode(v) for k, v in n.attrs.items()},
                }
                for n in self.nodes
            ],
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """The graph `to_dict` made `data` from."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported IR version {data.get('version')!r}")
        nodes = tuple(
            Node(n["op"], tuple(n["args"]), {k: codec.decode(v) for k, v in n["attrs"].items()})
            for n in data["nodes"]
        )
        return cls(data["kind"], nodes, tuple(data["outputs"]))


def to_json(graph: Graph, inputs: Mapping[str, Any] | None = None) -> str:
    """A case as JSON text: the graph and, when given, the input values by name."""
    case: dict[str, Any] = {"graph": graph.to_dict()}
    if inputs is not None:
        case["inputs"] = {name: codec.encode(_as_value(v)) for name, v in inputs.items()}
    return json.dumps(case)


def from_json(text: str) -> tuple[Graph, dict[str, Any] | None]:
    """The graph and inputs (None when absent) of `to_json`'s text."""
    case = json.loads(text)
    inputs = case.get("inputs")
    if inputs is not None:
        inputs = {name: codec.decode(v) for name, v in inputs.items()}
    return Graph.from_dict(case["graph"]), inputs


class GraphBuilder:
    """Builds a graph node by node; each method returns the new node's index.

    >>> b = GraphBuilder()
    >>> x, y = b.input("x"), b.input("y")
    >>> out = b.op("tanh", b.op("mul", x, y))
    >>> graph = b.build([b.op("add", out, const=1.0, side="left")])
    """

    def __init__(self, kind: str = SCALAR) -> None:
        if kind not in (SCALAR, TENSOR):
            raise ValueError(f"kind must be {SCALAR!r} or {TENSOR!r}, got {kind!r}")
        self.kind = kind
        self.nodes: list[Node] = []

    def input(self, name: str, shape: Sequence[int] | None = None) -> int:
        """A new input; in a tensor graph, of shape `shape` (default: 0-d)."""
        attrs: dict[str, Any] = {"name": name}
        if shape is not None or self.kind == TENSOR:
            attrs["shape"] = tuple(int(s) for s in shape or ())
        return self._add(Node("input", (), attrs))

    def op(self, op: str, *args: int, **attrs: Any) -> int:
        """A new node applying `op` to the nodes at `args`."""
        return self._add(Node(op, tuple(int(a) for a in args), _normalize(op, attrs)))

    def build(self, outputs: Iterable[int] | None = None) -> Graph:
        """The graph; outputs default to the last node."""
        outs = tuple(outputs) if outputs is not None else (len(self.nodes) - 1,)
        return Graph(self.kind, tuple(self.nodes), outs)

    def _add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1


def _normalize(op: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes with defaults filled in and lists/arrays in canonical form."""
    out = dict(_ATTRS.get(op, {}))
    out.update(attrs)
    if op in BINARY_OPS and "const" in out:
        out.setdefault("side", "right")
        out["const"] = _as_const(out["const"])
    for name in ("axis", "shape", "axes"):
        if isinstance(out.get(name), (list, tuple, np.ndarray)):
            out[name] = tuple(int(v) for v in out[name])
    if op in NETWORK_OPS:
        for name in _PAIRS:
            if isinstance(out.get(name), (list, tuple, np.ndarray)):
                out[name] = tuple(int(v) for v in out[name])
        for name in ("labels", "targets"):
            if name in out:
                out[name] = np.array(out[name], dtype=_LABELS.get(op, np.float64))
    if op == "index":
        index = out["index"]
        items = index if isinstance(index, tuple) else (index,)
        out["index"] = tuple(_index_item(v) for v in items)
    return out


def _as_const(c: Any) -> int | float | np.ndarray:
    if isinstance(c, (bool, np.bool_)):
        raise ValueError(f"a constant must be a number, got {c!r}")
    if isinstance(c, (int, np.integer)):
        return int(c)
    if isinstance(c, (float, np.floating)):
        return float(c)
    return np.array(c, dtype=np.float64)


def _as_value(v: Any) -> float | np.ndarray:
    return v if isinstance(v, (int, float, np.ndarray)) else np.asarray(v, dtype=np.float64)


def _index_item(v: Any) -> int | slice | np.ndarray:
    if isinstance(v, slice):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    arr = np.asarray(v)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"index items are ints, slices or integer arrays, got {v!r}")
    return arr.astype(np.int64)


def _validate(graph: Graph) -> None:
    if graph.kind not in (SCALAR, TENSOR):
        raise ValueError(f"kind must be {SCALAR!r} or {TENSOR!r}, got {graph.kind!r}")
    allowed = SCALAR_OPS if graph.kind == SCALAR else TENSOR_OPS
    names: set[str] = set()
    for i, node in enumerate(graph.nodes):
        where = f"node {i} ({node.op})"
        if node.op not in allowed:
            raise ValueError(f"{where}: not an op of {graph.kind} graphs")
        if any(not 0 <= a < i for a in node.args):
            raise ValueError(f"{where}: args {node.args} must be earlier nodes")
        if node.op in BINARY_OPS:
            _check_binary(graph.kind, node, where)
        elif len(node.args) not in _arities(node.op):
            arity = " or ".join(map(str, _arities(node.op)))
            raise ValueError(f"{where}: takes {arity} args, got {len(node.args)}")
        elif node.op == "input":
            _check_input(graph.kind, node, where, names)
        elif set(node.attrs) != set(_ATTRS.get(node.op, {})):
            raise ValueError(
                f"{where}: attributes {sorted(node.attrs)}, "
                f"expected {sorted(_ATTRS.get(node.op, {}))}"
            )
    if not graph.outputs or any(not 0 <= o < len(graph.nodes) for o in graph.outputs):
        raise ValueError(f"outputs {graph.outputs} must be node indices")


def _arities(op: str) -> tuple[int, ...]:
    return (2, 3) if op in _OPTIONAL_BIAS else (_ARITY.get(op, 1),)


def _check_binary(kind: str, node: Node, where: str) -> None:
    if "const" not in node.attrs:
        if len(node.args) != 2 or node.attrs:
            raise ValueError(f"{where}: needs two args, or one arg and const/side")
        return
    if len(node.args) != 1 or set(node.attrs) != {"const", "side"}:
        raise ValueError(f"{where}: with a constant takes one arg and const/side")
    if node.attrs["side"] not in ("left", "right"):
        raise ValueError(f"{where}: side must be 'left' or 'right'")
    const = node.attrs["const"]
    numeric = isinstance(const, (int, float)) and not isinstance(const, bool)
    if not numeric and not (kind == TENSOR and isinstance(const, np.ndarray)):
        raise ValueError(
            f"{where}: constant {const!r} must be a Python number"
            + (" or an array" if kind == TENSOR else "")
        )


def _check_input(kind: str, node: Node, where: str, names: set[str]) -> None:
    name = node.attrs.get("name")
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or name in _RESERVED
        or _NODE_NAME.fullmatch(name)
    ):
        raise ValueError(
            f"{where}: name {name!r} must be an identifier, not a keyword, "
            f"{sorted(_RESERVED)} or n<digits>"
        )
    if name in names:
        raise ValueError(f"{where}: duplicate input name {name!r}")
    names.add(name)
    expected = {"name", "shape"} if kind == TENSOR else {"name"}
    if set(node.attrs) != expected:
        raise ValueError(f"{where}: attributes {sorted(node.attrs)}, expected {sorted(expected)}")


def _capability(graph: Graph, i: int) -> str | None:
    node = graph.nodes[i]
    if node.op == "matmul":
        two_d = all(len(graph.shapes[a]) == 2 for a in node.args)
        return "Tensor.__matmul__" if two_d else "Tensor.__matmul__(nd)"
    if node.op in REDUCTIONS and isinstance(node.attrs["axis"], tuple):
        return f"Tensor.{node.op}(axis=tuple)"
    if node.op == "index":
        return "Tensor.__getitem__"
    return op_capability(graph.kind, node)


def op_capability(kind: str, node: Node) -> str | None:
    """The capability a node needs, where its op and constant alone decide it (not for
    matmul, reductions over a tuple of axes and indexing, which depend on shapes)."""
    prefix = "Value" if kind == SCALAR else "Tensor"
    if node.op == "input":
        return None
    if node.op in BINARY_OPS:
        forward, reflected = _DUNDERS[node.op]
        if node.const_side == "left":
            return f"{prefix}.{reflected}"
        if node.op == "pow" and node.const_side is None:
            return f"{prefix}.__pow__({prefix})"
        return f"{prefix}.{forward}"
    if node.op == "neg":
        return f"{prefix}.__neg__"
    if node.op in NETWORK_OPS:
        return f"functional.{node.op}"
    return f"{prefix}.{node.op}"


def _infer_shapes(nodes: Sequence[Node]) -> tuple[tuple[int, ...], ...]:
    """Every node's shape, found by applying NumPy to stand-ins of no memory."""
    shapes: list[tuple[int, ...]] = []
    for i, node in enumerate(nodes):
        ins = [shapes[a] for a in node.args]
        try:
            shapes.append(_shape_of(node, ins))
        except (ValueError, IndexError, TypeError) as err:
            raise ValueError(f"node {i} ({node.op}) on shapes {ins}: {err}") from err
    return tuple(shapes)


def _shape_of(node: Node, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    def dummy(shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(np.float64(0.0), shape)

    op, attrs = node.op, node.attrs
    if op == "input":
        return tuple(attrs["shape"])
    if op in BINARY_OPS:
        other = ins[1] if len(ins) == 2 else np.shape(attrs["const"])
        return tuple(np.broadcast_shapes(ins[0], other))
    if op == "matmul":
        return np.matmul(dummy(ins[0]), dummy(ins[1])).shape
    if op in REDUCTIONS:
        axis, keepdims = attrs["axis"], attrs["keepdims"]
        _check_axes(axis, len(ins[0]))
        if op == "max" and 0 in ins[0]:
            reduced = range(len(ins[0])) if axis is None else np.atleast_1d(axis)
            if any(ins[0][a] == 0 for a in reduced):
                raise ValueError("max over an empty axis")
        return np.sum(dummy(ins[0]), axis=axis, keepdims=keepdims).shape
    if op == "reshape":
        return np.reshape(dummy(ins[0]), attrs["shape"]).shape
    if op == "transpose":
        return np.transpose(dummy(ins[0]), attrs["axes"]).shape
    if op == "T":
        return ins[0][::-1]
    if op in ("softmax", "log_softmax"):
        _check_axes(attrs["axis"], len(ins[0]))
        return ins[0]
    if op == "index":
        return dummy(ins[0])[attrs["index"]].shape
    if op in NETWORK_OPS:
        return network_shape(op, attrs, ins)
    return ins[0]


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """An int or a pair of ints as a pair."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def _windows(size: int, kernel: int, stride: int, padding: int) -> int:
    """How many windows torch's floor rule fits along one axis (at least one, or raise)."""
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(f"kernel {kernel}, stride {stride}, padding {padding}")
    count = (size + 2 * padding - kernel) // stride + 1
    if count < 1:
        raise ValueError(f"kernel {kernel} larger than the padded size {size + 2 * padding}")
    return count


def network_shape(op: str, attrs: Mapping[str, Any], ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The output shape of a `functional` op (torch's rules), or ValueError."""
    x = ins[0]
    if op == "conv2d":
        w = ins[1]
        if len(x) != 4 or len(w) != 4 or x[1] != w[1] or ins[2:] not in ([], [(w[0],)]):
            raise ValueError("conv2d takes (N, C, H, W), (F, C, kh, kw) and (F,)")
        sh, sw = pair(attrs["stride"])
        ph, pw = pair(attrs["padding"])
        return (x[0], w[0], _windows(x[2], w[2], sh, ph), _windows(x[3], w[3], sw, pw))
    if op in ("max_pool2d", "avg_pool2d"):
        kh, kw = pair(attrs["kernel_size"])
        sh, sw = pair(attrs["kernel_size"] if attrs["stride"] is None else attrs["stride"])
        ph, pw = pair(attrs["padding"])
        if len(x) != 4 or 2 * ph > kh or 2 * pw > kw:
            raise ValueError(f"{op} takes (N, C, H, W) and padding at most half the kernel")
        return (*x[:2], _windows(x[2], kh, sh, ph), _windows(x[3], kw, sw, pw))
    if op == "flatten":
        start = attrs["start_dim"]
        if not 0 <= start < max(len(x), 1):
            raise ValueError(f"start_dim {start} out of range for {len(x)} dimensions")
        return (*x[:start], int(np.prod(x[start:], dtype=np.int64)))
    if op == "linear":
        w = ins[1]
        if len(x) < 1 or len(w) != 2 or x[-1] != w[1] or ins[2:] not in ([], [(w[0],)]):
            raise ValueError("linear takes (..., in), (out, in) and (out,)")
        return (*x[:-1], w[0])
    if op == "mse_loss":
        if x != ins[1]:
            raise ValueError("mse_loss takes a prediction and a target of one shape")
        return ()
    labels = np.shape(attrs["labels" if "labels" in attrs else "targets"])
    if op == "cross_entropy":
        classes = attrs["labels"]
        if len(x) != 2 or labels != x[:1] or np.any((classes < 0) | (classes >= x[1])):
            raise ValueError("cross_entropy takes (N, C) logits and N labels in [0, C)")
    elif labels != x:
        raise ValueError(f"{op} takes labels of the logits' shape")
    return ()


def _check_axes(axis: int | tuple[int, ...] | None, ndim: int) -> None:
    """Each axis in range for `ndim` dimensions, none repeated (NumPy lets 0-d pass)."""
    axes = () if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"axis {axis} out of range for {ndim} dimensions")
    if len({a % ndim for a in axes}) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
