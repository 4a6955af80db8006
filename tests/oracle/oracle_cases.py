"""Cases shared by the oracle's self-tests.

Seeded random scalar graphs (within 64 nodes, so every test shares the interpreter's
compiled programs for buckets 16 to 64), and every IR op with its closed-form value
and derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from oracle.ir import TENSOR, Graph, GraphBuilder
from properties.cases.random_scalar import random_scalar_graph

Case = tuple[Graph, dict[str, float], list[float]]


def make_cases(seed: int, count: int, max_nodes: int = 60) -> list[Case]:
    """`count` random graphs of 2..max_nodes nodes with 1..3 outputs and random upstreams."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n_outputs = int(rng.integers(1, 4))
        graph, inputs = random_scalar_graph(
            rng, int(rng.integers(n_outputs + 1, max_nodes + 1)), n_outputs=n_outputs
        )
        upstream = [float(u) for u in rng.normal(size=len(graph.outputs))]
        cases.append((graph, inputs, upstream))
    return cases


# -- every scalar op with closed forms -------------------------------------------------

X, Y, C = 0.7, -1.3, 2.5


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def scalar_op_graph(
    op: str, side: str | None = None, const: float | int = C, x: float = X, y: float = Y
) -> tuple[Graph, dict[str, float]]:
    b = GraphBuilder()
    xi = b.input("x")
    if side is not None:
        return b.build([b.op(op, xi, const=const, side=side)]), {"x": x}
    if op in ("add", "sub", "mul", "div", "pow"):
        return b.build([b.op(op, xi, b.input("y"))]), {"x": x, "y": y}
    return b.build([b.op(op, xi)]), {"x": x}


# (case, value, {input: derivative}) with closed forms
SCALAR_CASES: list[tuple[tuple, float, dict[str, float]]] = [
    (("add",), X + Y, {"x": 1, "y": 1}),
    (("add", "right"), X + C, {"x": 1}),
    (("add", "left"), C + X, {"x": 1}),
    (("sub",), X - Y, {"x": 1, "y": -1}),
    (("sub", "right"), X - C, {"x": 1}),
    (("sub", "left"), C - X, {"x": -1}),
    (("mul",), X * Y, {"x": Y, "y": X}),
    (("mul", "right"), X * C, {"x": C}),
    (("mul", "left"), C * X, {"x": C}),
    (("div",), X / Y, {"x": 1 / Y, "y": -X / Y**2}),
    (("div", "right"), X / C, {"x": 1 / C}),
    (("div", "left"), C / X, {"x": -C / X**2}),
    (("pow", None, C, 1.7, 0.6), 1.7**0.6, {"x": 0.6 * 1.7**-0.4, "y": 1.7**0.6 * math.log(1.7)}),
    (("pow", "right", 3), X**3, {"x": 3 * X**2}),
    (("pow", "right", -2, -1.5), (-1.5) ** -2, {"x": -2 * (-1.5) ** -3}),
    (("pow", "right", 2.5), X**2.5, {"x": 2.5 * X**1.5}),
    (("pow", "right", 0.5), X**0.5, {"x": 0.5 * X**-0.5}),
    (("pow", "left"), C**X, {"x": C**X * math.log(C)}),
    (("neg",), -X, {"x": -1}),
    (("relu",), X, {"x": 1}),
    (("relu", None, C, -X), 0.0, {"x": 0}),
    (("tanh",), math.tanh(X), {"x": 1 - math.tanh(X) ** 2}),
    (("exp",), math.exp(X), {"x": math.exp(X)}),
    (("log",), math.log(X), {"x": 1 / X}),
    (("sigmoid",), sigmoid(X), {"x": sigmoid(X) * (1 - sigmoid(X))}),
    (("sigmoid", None, C, -30.0), sigmoid(-30.0), {"x": sigmoid(-30.0) * (1 - sigmoid(-30.0))}),
]


# -- every tensor op with closed forms -------------------------------------------------

RNG = np.random.default_rng(7)
A = RNG.normal(size=(2, 3))
B = RNG.normal(size=(3,))
M = RNG.normal(size=(3, 4))
P = RNG.uniform(0.5, 2.0, size=(2, 3))
T3 = RNG.normal(size=(2, 3, 4))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(0)
    return g.sum(tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


def _index_vjp(shape: tuple, index: tuple, g: np.ndarray) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, index, g)
    return out


def _max_vjp(x: np.ndarray, axis, g: np.ndarray) -> np.ndarray:
    m = x.max(axis, keepdims=True)
    tied = x == m
    return (
        tied
        / tied.sum(axis, keepdims=True)
        * np.expand_dims(g, axis if axis is not None else tuple(range(x.ndim)))
    )


# (name, op, input arrays, attrs, value(*xs), vjp(g, *xs) -> grads)
TensorCase = tuple[str, str, list, dict, Callable, Callable]
IDX = (np.array([1, 1, 0]), slice(None, None, -2))
TENSOR_CASES: list[TensorCase] = [
    ("add broadcast", "add", [A, B], {}, np.add, lambda g, a, b: (g, g.sum(0))),
    (
        "sub column",
        "sub",
        [A, A[:, :1]],
        {},
        np.subtract,
        lambda g, a, b: (g, -g.sum(1, keepdims=True)),
    ),
    ("mul 0-d", "mul", [A, np.array(1.5)], {}, np.multiply, lambda g, a, b: (g * b, np.sum(g * a))),
    (
        "div broadcast",
        "div",
        [A, P[0]],
        {},
        np.divide,
        lambda g, a, b: (g / b, (-g * a / b**2).sum(0)),
    ),
    (
        "pow tensors",
        "pow",
        [P, A],
        {},
        np.power,
        lambda g, p, a: (g * a * p ** (a - 1), g * p**a * np.log(p)),
    ),
    (
        "add array left",
        "add",
        [A],
        {"const": B, "side": "left"},
        lambda a: B + a,
        lambda g, a: (g,),
    ),
    (
        "mul array right",
        "mul",
        [B],
        {"const": A, "side": "right"},
        lambda b: b * A,
        lambda g, b: ((g * A).sum(0),),
    ),
    (
        "rsub number",
        "sub",
        [A],
        {"const": 2.0, "side": "left"},
        lambda a: 2.0 - a,
        lambda g, a: (-g,),
    ),
    (
        "rdiv array",
        "div",
        [P],
        {"const": A, "side": "left"},
        lambda p: A / p,
        lambda g, p: (-g * A / p**2,),
    ),
    (
        "pow int",
        "pow",
        [A],
        {"const": 3, "side": "right"},
        lambda a: a**3,
        lambda g, a: (3 * g * a**2,),
    ),
    (
        "pow float",
        "pow",
        [P],
        {"const": -1.5, "side": "right"},
        lambda p: p**-1.5,
        lambda g, p: (-1.5 * g * p**-2.5,),
    ),
    (
        "rpow",
        "pow",
        [A],
        {"const": 3.0, "side": "left"},
        lambda a: 3.0**a,
        lambda g, a: (g * 3.0**a * np.log(3.0),),
    ),
    ("neg", "neg", [A], {}, np.negative, lambda g, a: (-g,)),
    ("relu", "relu", [A], {}, lambda a: np.maximum(a, 0), lambda g, a: (g * (a > 0),)),
    ("tanh", "tanh", [A], {}, np.tanh, lambda g, a: (g * (1 - np.tanh(a) ** 2),)),
    ("exp", "exp", [A], {}, np.exp, lambda g, a: (g * np.exp(a),)),
    ("log", "log", [P], {}, np.log, lambda g, p: (g / p,)),
    (
        "sigmoid",
        "sigmoid",
        [A * 40],
        {},
        lambda a: 1 / (1 + np.exp(-a)),
        lambda g, a: (g * np.exp(-a) / (1 + np.exp(-a)) ** 2,),
    ),
    ("matmul 2-D", "matmul", [A, M], {}, np.matmul, lambda g, a, m: (g @ m.T, a.T @ g)),
    (
        "matmul 1-D right",
        "matmul",
        [A, B],
        {},
        np.matmul,
        lambda g, a, b: (np.outer(g, b), a.T @ g),
    ),
    ("matmul 1-D left", "matmul", [B, M], {}, np.matmul, lambda g, b, m: (m @ g, np.outer(b, g))),
    (
        "matmul batched",
        "matmul",
        [T3, M.T],
        {},
        np.matmul,
        lambda g, t, m: (g @ m.T, np.einsum("bij,bjk->ik", t.transpose(0, 2, 1), g)),
    ),
    ("sum all", "sum", [T3], {}, np.sum, lambda g, t: (np.broadcast_to(g, t.shape),)),
    (
        "sum tuple keepdims",
        "sum",
        [T3],
        {"axis": (0, -1), "keepdims": True},
        lambda t: t.sum((0, -1), keepdims=True),
        lambda g, t: (np.broadcast_to(g, t.shape),),
    ),
    (
        "mean axis",
        "mean",
        [T3],
        {"axis": 1},
        lambda t: t.mean(1),
        lambda g, t: (np.broadcast_to(g[:, None, :] / 3, t.shape),),
    ),
    ("max axis", "max", [A], {"axis": -1}, lambda a: a.max(-1), lambda g, a: (_max_vjp(a, -1, g),)),
    (
        "max ties split",
        "max",
        [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])],
        {"axis": 1},
        lambda a: a.max(1),
        lambda g, a: (_max_vjp(a, 1, g),),
    ),
    (
        "max all keepdims",
        "max",
        [np.array([[4.0, 1.0], [4.0, 4.0]])],
        {"keepdims": True},
        lambda a: a.max(keepdims=True),
        lambda g, a: (g * (a == 4.0) / 3,),
    ),
    (
        "reshape",
        "reshape",
        [T3],
        {"shape": (6, -1)},
        lambda t: t.reshape(6, -1),
        lambda g, t: (g.reshape(t.shape),),
    ),
    (
        "transpose axes",
        "transpose",
        [T3],
        {"axes": (2, 0, 1)},
        lambda t: t.transpose(2, 0, 1),
        lambda g, t: (g.transpose(1, 2, 0),),
    ),
    (
        "transpose reverse",
        "transpose",
        [T3],
        {},
        lambda t: t.transpose(),
        lambda g, t: (g.transpose(),),
    ),
    ("T", "T", [A], {}, lambda a: a.T, lambda g, a: (g.T,)),
    (
        "softmax",
        "softmax",
        [A * 300],
        {"axis": 0},
        lambda a: softmax(a, 0),
        lambda g, a: (softmax(a, 0) * (g - (g * softmax(a, 0)).sum(0, keepdims=True)),),
    ),
    (
        "log_softmax",
        "log_softmax",
        [A * 300],
        {},
        lambda a: (
            a
            - a.max(-1, keepdims=True)
            - np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True))
        ),
        lambda g, a: (g - softmax(a, -1) * g.sum(-1, keepdims=True),),
    ),
    (
        "index repeats",
        "index",
        [A],
        {"index": IDX},
        lambda a: a[IDX],
        lambda g, a: (_index_vjp(a.shape, IDX, g),),
    ),
    (
        "index int",
        "index",
        [T3],
        {"index": (-1, slice(0, 2))},
        lambda t: t[-1, 0:2],
        lambda g, t: (_index_vjp(t.shape, (-1, slice(0, 2)), g),),
    ),
    (
        "index 2 arrays",
        "index",
        [T3],
        {"index": (np.array([0, 1, 1]), slice(None), np.array([3, 3, 0]))},
        lambda t: t[[0, 1, 1], :, [3, 3, 0]],
        lambda g, t: (
            _index_vjp(t.shape, (np.array([0, 1, 1]), slice(None), np.array([3, 3, 0])), g),
        ),
    ),
]


def tensor_op_graph(case: TensorCase) -> tuple[Graph, dict[str, np.ndarray]]:
    """The case's op applied to inputs x0, x1, ... holding its arrays."""
    _, op, arrays, attrs, _, _ = case
    b = GraphBuilder(TENSOR)
    args = [b.input(f"x{k}", np.shape(a)) for k, a in enumerate(arrays)]
    graph = b.build([b.op(op, *args, **attrs)])
    return graph, {f"x{k}": np.asarray(a, np.float64) for k, a in enumerate(arrays)}
