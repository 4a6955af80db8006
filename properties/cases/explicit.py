"""Hand-picked cases, run every time before the random ones: the patterns where gradient
rules most often go wrong."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from oracle.ir import BINARY_OPS, REDUCTIONS, SCALAR, TENSOR, GraphBuilder
from properties.cases.common import ARITHMETIC, Case

# -- explicit tensor cases: the patterns where gradient rules most often go wrong ----------


def _pattern(shape_inputs: Sequence[tuple[int, ...]], build: Callable[..., int]) -> Case:
    """A single-op tensor case on inputs of the given shapes, with fixed non-trivial values."""
    b = GraphBuilder(TENSOR)
    args = [b.input(f"x{i}", shape) for i, shape in enumerate(shape_inputs)]
    out = build(b, *args)
    graph = b.build([out])
    inputs = {
        f"x{i}": np.linspace(-1.5, 2.0, math.prod(shape)).reshape(shape) + 0.1 * i
        for i, shape in enumerate(shape_inputs)
    }
    upstream_shape = graph.shapes[out]
    upstream = np.linspace(0.5, -1.25, math.prod(upstream_shape)).reshape(upstream_shape)
    return Case(graph, inputs, (upstream,))


def explicit_scalar_cases(op: str, side: str | None) -> list[Case]:
    """The op on an input that also feeds another op, summed both ways round: a backward
    rule that assigns its operand's gradient (``=`` where ``+=`` belongs) loses the other
    path's part in one of the two orders, whatever order the engine's backward takes."""
    cases = []
    for op_first in (True, False):
        b = GraphBuilder(SCALAR)
        x = b.input("x")
        if side is None and op in BINARY_OPS:
            y = b.input("y")
            node = b.op(op, x, y)
        elif side is None:
            node = b.op(op, x)
        else:
            node = b.op(op, x, const=1.5 if op == "pow" else 2.5, side=side)
        other = b.op("mul", x, const=-1.25)
        out = b.op("add", node, other) if op_first else b.op("add", other, node)
        inputs = {"x": 0.7, **({"y": 1.3} if side is None and op in BINARY_OPS else {})}
        cases.append(Case(b.build([out]), inputs, (-1.5,)))
    return cases


def explicit_tensor_cases(op: str, variant: str | None) -> list[Case]:
    """Hand-picked cases for one menu entry: broadcasting both ways, negative and tuple axes
    with keepdims, batched and 1-D matmuls, non-involutive 3-D permutations, repeated
    indices. They run every time, before the random ones."""
    if op in ARITHMETIC and variant is None:
        return [
            _pattern([(3, 1), (1, 4)], lambda b, x, y: b.op(op, x, y)),
            _pattern([(2, 3), (3,)], lambda b, x, y: b.op(op, x, y)),
            _pattern([(), (2, 2)], lambda b, x, y: b.op(op, x, y)),
        ]
    if op == "matmul" and variant == "nd":
        return [
            _pattern([(2, 3, 4), (4, 2)], lambda b, x, y: b.op("matmul", x, y)),
            _pattern([(4,), (2, 4, 3)], lambda b, x, y: b.op("matmul", x, y)),
            _pattern([(3,), (3,)], lambda b, x, y: b.op("matmul", x, y)),
            # a square batch: a backward that transposes every axis (`.T`) runs here
            _pattern([(2, 2, 2), (2, 2, 2)], lambda b, x, y: b.op("matmul", x, y)),
        ]
    if op in REDUCTIONS:
        axes = [(0, -1), (-2,)] if variant == "tuple" else [-1, -2]
        return [
            _pattern([(2, 3, 4)], lambda b, x, ax=ax, k=k: b.op(op, x, axis=ax, keepdims=k))
            for ax in axes
            for k in (True, False)
        ]
    if op == "transpose":
        return [
            _pattern([(2, 3, 4)], lambda b, x, axes=axes: b.op("transpose", x, axes=axes))
            for axes in ((1, 2, 0), (2, 0, 1), None)  # None: transpose() reverses every axis
        ]
    if op == "index":
        repeated = np.array([0, 2, 0, -1], dtype=np.int64)
        return [
            _pattern([(3, 2)], lambda b, x: b.op("index", x, index=(repeated,))),
            _pattern(
                [(3, 4)], lambda b, x: b.op("index", x, index=(repeated, np.array([1, 1, 3, 3])))
            ),
            # negative slice starts and stops, counted from the end
            _pattern([(5, 3)], lambda b, x: b.op("index", x, index=(slice(-3, None, None),))),
            _pattern([(4, 5)], lambda b, x: b.op("index", x, index=(1, slice(-4, -1, None)))),
        ]
    if op in ("softmax", "log_softmax"):
        return [_pattern([(2, 3)], lambda b, x: b.op(op, x, axis=0))]
    return []
