"""JAX-free evaluation of the IR: NumPy float64, or mpmath at any precision.

The second opinion and the tolerance model need values that do not come from JAX.
`evaluate` runs a graph with NumPy in float64 (IEEE results: nan/inf, never an
exception), or, given `dps`, on object arrays of `mpmath.mpf` with `dps` significant
digits, where only the inputs and constants are rounded.  Real-valued conventions in
both: ``log(x < 0)`` and ``(-8) ** (1/3)`` are nan, ``x / 0`` is +-inf (nan for 0/0),
``0 ** -1`` is inf.  Softmax and log-softmax subtract the maximum first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import numpy as np

from oracle import network_eval
from oracle.ir import BINARY_OPS, NETWORK_OPS, Graph, Node


def evaluate(graph: Graph, inputs: Mapping[str, Any], dps: int | None = None) -> list[np.ndarray]:
    """Every node's value: float64 arrays, or `mpf` object arrays when `dps` is given."""
    if dps is None:
        with np.errstate(all="ignore"):
            return _run(graph, inputs, _FLOAT64)
    with mpmath.workdps(dps):
        return _run(graph, inputs, _MP)


def _run(graph: Graph, inputs: Mapping[str, Any], backend: _Backend) -> list[np.ndarray]:
    values: list[np.ndarray] = []
    for node in graph.nodes:
        if node.op == "input":
            values.append(backend.lift(inputs[node.attrs["name"]]))
        else:
            values.append(_apply(node, [values[a] for a in node.args], backend))
    return values


def _apply(node: Node, args: list[np.ndarray], backend: _Backend) -> np.ndarray:
    op, attrs = node.op, node.attrs
    if op in BINARY_OPS:
        if node.const_side is None:
            x, y = args
        else:
            const = backend.lift(attrs["const"])
            x, y = (const, args[0]) if node.const_side == "left" else (args[0], const)
        return backend.binary[op](x, y)
    x = args[0] if args else None
    if op in backend.unary:
        return backend.unary[op](x)
    if op == "matmul":
        return np.asarray(np.matmul(x, args[1]))
    if op == "sum":
        return np.asarray(np.sum(x, axis=attrs["axis"], keepdims=attrs["keepdims"]))
    if op == "mean":
        return np.asarray(np.mean(x, axis=attrs["axis"], keepdims=attrs["keepdims"]))
    if op == "max":
        return np.asarray(np.max(x, axis=attrs["axis"], keepdims=attrs["keepdims"]))
    if op == "reshape":
        return x.reshape(attrs["shape"])
    if op == "transpose":
        return np.transpose(x, attrs["axes"])
    if op == "T":
        return x.T
    if op == "index":
        return np.asarray(x[attrs["index"]])
    if op in NETWORK_OPS:
        exp, log = backend.unary["exp"], backend.unary["log"]
        return network_eval.apply(op, attrs, args, backend.lift, exp, log)
    axis = attrs["axis"]
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exps = backend.unary["exp"](shifted)
    total = np.sum(exps, axis=axis, keepdims=True)
    if op == "softmax":
        return backend.binary["div"](exps, total)
    return shifted - backend.unary["log"](total)  # log_softmax


class _Backend:
    """How to lift numbers and apply elementwise functions in one arithmetic."""

    def __init__(
        self,
        lift: Callable[[Any], np.ndarray],
        unary: dict[str, Callable[[np.ndarray], np.ndarray]],
        binary: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    ) -> None:
        self.lift, self.unary, self.binary = lift, unary, binary


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64 without overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_FLOAT64 = _Backend(
    lift=lambda v: np.asarray(v, dtype=np.float64),
    unary={
        "neg": np.negative,
        "relu": lambda x: np.where(x > 0, x, 0.0),
        "tanh": np.tanh,
        "exp": np.exp,
        "log": np.log,
        "sigmoid": sigmoid,
    },
    binary={
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "pow": lambda x, y: np.power(x, y.astype(np.float64)),
    },
)


def _mp_log(x: mpmath.mpf) -> mpmath.mpf:
    if x > 0:
        return mpmath.log(x)
    return mpmath.ninf if x == 0 else mpmath.nan


def _mp_div(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
    if y != 0:
        return x / y
    if x == 0 or mpmath.isnan(x):
        return mpmath.nan
    return mpmath.inf if x > 0 else mpmath.ninf


def _mp_pow(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
    if mpmath.isnan(x) or mpmath.isnan(y):
        return mpmath.nan
    if x == 0:
        return mpmath.inf if y < 0 else (mpmath.mpf(1) if y == 0 else mpmath.mpf(0))
    if x < 0 and not mpmath.isint(y):
        return mpmath.nan
    return mpmath.power(x, y)


def _mp_sigmoid(x: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-x))


def _elementwise(f: Callable[..., Any]) -> Callable[..., np.ndarray]:
    vectorized = np.vectorize(f, otypes=[object])
    return lambda *arrays: np.asarray(vectorized(*arrays), dtype=object)


def _mp_lift(v: Any) -> np.ndarray:
    """Numbers and float arrays as mpf object arrays (mpf arrays pass through)."""
    if isinstance(v, np.ndarray) and v.dtype == object:
        return v
    if isinstance(v, mpmath.mpf):
        return np.asarray(v, dtype=object)
    floats = np.asarray(v, dtype=np.float64)
    return np.asarray(_elementwise(mpmath.mpf)(floats), dtype=object)


_MP = _Backend(
    lift=_mp_lift,
    unary={
        "neg": _elementwise(lambda x: -x),
        "relu": _elementwise(lambda x: x if x > 0 else mpmath.mpf(0)),
        "tanh": _elementwise(mpmath.tanh),
        "exp": _elementwise(mpmath.exp),
        "log": _elementwise(_mp_log),
        "sigmoid": _elementwise(_mp_sigmoid),
    },
    binary={
        "add": _elementwise(lambda x, y: x + y),
        "sub": _elementwise(lambda x, y: x - y),
        "mul": _elementwise(lambda x, y: x * y),
        "div": _elementwise(_mp_div),
        "pow": _elementwise(_mp_pow),
    },
)
