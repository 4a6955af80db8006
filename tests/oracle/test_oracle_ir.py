"""The IR: building, validation, capabilities, shapes, exact JSON round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import codec
from oracle.ir import SCALAR, TENSOR, Graph, GraphBuilder, Node, from_json, to_json
from properties.cases.random_scalar import random_scalar_graph


def scalar_graph(op: str, *, side: str | None = None, const: float | int = 2.0) -> Graph:
    """input x (and y) -> op -> output."""
    b = GraphBuilder()
    x = b.input("x")
    if side is not None:
        return b.build([b.op(op, x, const=const, side=side)])
    if op in ("add", "sub", "mul", "div", "pow"):
        return b.build([b.op(op, x, b.input("y"))])
    return b.build([b.op(op, x)])


CAPABILITIES = [
    (("add", None), "Value.__add__"),
    (("add", "right"), "Value.__add__"),
    (("add", "left"), "Value.__radd__"),
    (("sub", "left"), "Value.__rsub__"),
    (("mul", "left"), "Value.__rmul__"),
    (("div", "right"), "Value.__truediv__"),
    (("div", "left"), "Value.__rtruediv__"),
    (("pow", None), "Value.__pow__(Value)"),
    (("pow", "right"), "Value.__pow__"),
    (("pow", "left"), "Value.__rpow__"),
    (("neg", None), "Value.__neg__"),
    (("tanh", None), "Value.tanh"),
    (("sigmoid", None), "Value.sigmoid"),
]


@pytest.mark.parametrize(("form", "capability"), CAPABILITIES)
def test_each_scalar_node_names_its_capability(form: tuple, capability: str) -> None:
    op, side = form
    graph = scalar_graph(op, side=side)
    assert graph.capability(len(graph.nodes) - 1) == capability, f"{form}: {graph.capabilities()}"


def test_tensor_capabilities_depend_on_ranks_and_axes() -> None:
    b = GraphBuilder(TENSOR)
    a, v, m = b.input("a", (2, 3)), b.input("v", (3,)), b.input("m", (3, 4))
    nodes = {
        b.op("matmul", a, m): "Tensor.__matmul__",
        b.op("matmul", a, v): "Tensor.__matmul__(nd)",
        b.op("sum", a, axis=(0, 1)): "Tensor.sum(axis=tuple)",
        b.op("max", a, axis=-1): "Tensor.max",
        b.op("index", a, index=(np.array([1, 1]),)): "Tensor.__getitem__",
        b.op("T", a): "Tensor.T",
        b.op("pow", a, a): "Tensor.__pow__(Tensor)",
        b.op("add", a, const=np.ones(3), side="left"): "Tensor.__radd__",
    }
    graph = b.build(list(nodes))
    for i, capability in nodes.items():
        assert graph.capability(i) == capability, f"node {i} {graph.nodes[i]}"
    assert graph.capability(a) is None, "inputs need no capability"


SHAPES = [
    (("add", (2, 3), (3,)), {}, (2, 3)),
    (("mul", (2, 1), (1, 3)), {}, (2, 3)),
    (("matmul", (2, 3), (3,)), {}, (2,)),
    (("matmul", (3,), (3, 4)), {}, (4,)),
    (("matmul", (5, 2, 3), (3, 4)), {}, (5, 2, 4)),
    (("sum", (2, 3, 4)), {"axis": (0, -1), "keepdims": True}, (1, 3, 1)),
    (("mean", (2, 3, 4)), {"axis": -2}, (2, 4)),
    (("max", (2, 3)), {}, ()),
    (("reshape", (2, 3)), {"shape": (3, -1)}, (3, 2)),
    (("transpose", (2, 3, 4)), {"axes": (2, 0, 1)}, (4, 2, 3)),
    (("transpose", (2, 3, 4)), {}, (4, 3, 2)),
    (("T", (2, 3)), {}, (3, 2)),
    (("softmax", (2, 3)), {"axis": 0}, (2, 3)),
    (("index", (4, 3)), {"index": (np.array([0, 0, 3]), slice(None, None, 2))}, (3, 2)),
    (("index", (4, 3)), {"index": (-1,)}, (3,)),
]


@pytest.mark.parametrize(("call", "attrs", "shape"), SHAPES)
def test_shapes_follow_numpy(call: tuple, attrs: dict, shape: tuple) -> None:
    op, *in_shapes = call
    b = GraphBuilder(TENSOR)
    args = [b.input(f"x{k}", s) for k, s in enumerate(in_shapes)]
    graph = b.build([b.op(op, *args, **attrs)])
    assert graph.shapes[-1] == shape, f"{call} {attrs}: {graph.shapes}"


INVALID = [
    (lambda b: b.op("tanh", 5), "earlier nodes"),
    (lambda b: b.op("tanh", 0, 0), "takes 1 args"),
    (lambda b: b.op("add", 0, const=1.0, side="middle"), "side"),
    (lambda b: b.op("add", 0, const=np.ones(2)), "Python number"),
    (lambda b: b.op("softmax", 0), "not an op of scalar graphs"),
    (lambda b: b.input("x"), "duplicate"),
    (lambda b: b.input("n3"), "n<digits>"),
    (lambda b: b.input("np"), "keyword"),
    (lambda b: b.op("add", 0, const=True), "number"),
]


@pytest.mark.parametrize(("add_node", "message"), INVALID)
def test_invalid_scalar_graphs_are_rejected(add_node, message: str) -> None:
    b = GraphBuilder()
    b.input("x")
    with pytest.raises(ValueError, match=message):
        add_node(b)
        b.build()


@pytest.mark.parametrize(
    ("call", "attrs", "message"),
    [
        (("add", (2, 3), (2,)), {}, "shapes"),
        (("matmul", (2, 3), (2, 3)), {}, "shapes"),
        (("index", (2, 3)), {"index": (np.array([0, 2]),)}, "out of bounds"),
        (("max", (0, 3)), {"axis": 0}, "empty"),
        (("reshape", (2, 3)), {"shape": (4,)}, "reshape"),
        (("softmax", ()), {"axis": -1}, "axis"),
    ],
)
def test_invalid_tensor_graphs_are_rejected(call: tuple, attrs: dict, message: str) -> None:
    op, *in_shapes = call
    b = GraphBuilder(TENSOR)
    args = [b.input(f"x{k}", s) for k, s in enumerate(in_shapes)]
    b.op(op, *args, **attrs)
    with pytest.raises(ValueError, match=message):
        b.build()


def test_builder_fills_defaults_and_normalizes() -> None:
    b = GraphBuilder(TENSOR)
    x = b.input("x", [2, 3])
    s = b.op("sum", x, axis=[0, 1])
    i = b.op("index", x, index=[0, 1])
    graph = b.build([s, i])
    assert graph.nodes[s].attrs == {"axis": (0, 1), "keepdims": False}, graph.nodes[s].attrs
    item = graph.nodes[i].attrs["index"]
    assert len(item) == 1 and item[0].dtype == np.int64, f"a list index is one int array: {item}"
    assert graph.nodes[x].attrs["shape"] == (2, 3), graph.nodes[x].attrs


def test_depths_are_longest_paths() -> None:
    b = GraphBuilder()
    x, y = b.input("x"), b.input("y")
    t = b.op("tanh", b.op("exp", x))
    graph = b.build([b.op("mul", t, y)])
    assert graph.depths == (0, 0, 1, 2, 3), graph.depths


def test_graphs_with_equal_nodes_are_equal_and_hash_alike() -> None:
    g1, _ = random_scalar_graph(np.random.default_rng(3), 20)
    g2, _ = random_scalar_graph(np.random.default_rng(3), 20)
    assert g1 == g2 and hash(g1) == hash(g2), "same seed, same graph"
    assert Node("add", (0,), {"const": 1.0, "side": "left"}) != Node(
        "add", (0,), {"const": 1, "side": "left"}
    ), "1 and 1.0 are different constants"


SPECIAL_FLOATS = [
    0.0,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    5e-324,
    1.7976931348623157e308,
    0.1,
    -1 / 3,
]


def _same(a: object, b: object) -> bool:
    """Equal including type, the sign of zero and nan."""
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and codec.key(a) == codec.key(b)
        )
    return type(a) is type(b) and codec.key(a) == codec.key(b)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_nodes=st.integers(1, 40),
    values=st.lists(
        st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True)),
        min_size=6,
        max_size=6,
    ),
)
def test_scalar_json_round_trip_is_exact(seed: int, n_nodes: int, values: list[float]) -> None:
    graph, inputs = random_scalar_graph(np.random.default_rng(seed), n_nodes)
    inputs = {name: values[k % len(values)] for k, name in enumerate(inputs)}
    b = GraphBuilder()
    b.nodes = list(graph.nodes)
    b.op("add", 0, const=values[0], side="left")
    b.op("pow", 0, const=-3, side="right")
    graph = b.build([len(b.nodes) - 1, len(b.nodes) - 2])
    text = to_json(graph, inputs)
    json.loads(text, parse_constant=_reject)  # standard JSON: no NaN or Infinity
    back, back_inputs = from_json(text)
    assert back == graph, f"graph changed in the round trip: {text}"
    assert back_inputs is not None and all(_same(inputs[k], back_inputs[k]) for k in inputs), (
        f"{inputs} came back as {back_inputs}"
    )


def _reject(constant: str) -> None:
    raise AssertionError(f"non-standard JSON constant {constant}")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    shape=st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple),
    fill=st.sampled_from(SPECIAL_FLOATS),
    picks=st.lists(st.integers(-2, 1), min_size=1, max_size=4),
)
def test_tensor_json_round_trip_is_exact(shape: tuple, fill: float, picks: list[int]) -> None:
    b = GraphBuilder(TENSOR)
    x = b.input("x", (2, *shape))
    y = b.op("mul", x, const=np.full(shape, fill), side="left")
    z = b.op("index", y, index=(np.array(picks), *(slice(None, None, -1) for _ in shape)))
    graph = b.build([z, b.op("sum", y, axis=tuple(range(-len(shape), 0)) or None)])
    inputs = {"x": np.full((2, *shape), fill)}
    back, back_inputs = from_json(to_json(graph, inputs))
    assert back == graph, f"graph changed: {to_json(graph)}"
    assert back_inputs is not None and _same(back_inputs["x"], inputs["x"]), back_inputs
    assert back.shapes == graph.shapes, f"{back.shapes} != {graph.shapes}"


@pytest.mark.parametrize(
    "value",
    [
        3,
        3.0,
        -0.0,
        math.nan,
        (1, (2.5, None)),
        slice(1, None, -1),
        np.zeros((0, 3)),
        np.array(2.5),
        np.array([[1, -2]], np.int64),
        {"a": 1.5},
        True,
    ],
)
def test_codec_round_trips_values_exactly(value: object) -> None:
    back = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert _same(value, back), f"{value!r} came back as {back!r}"


def test_graph_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        Graph("matrix", (Node("input", (), {"name": "x"}),), (0,))
    assert Graph(SCALAR, (Node("input", (), {"name": "x"}),), (0,)).input_names == ("x",)
