"""Printed snippets rebuild the computation: run against a forward-only NumPy target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oracle.ir import TENSOR, GraphBuilder
from oracle.numpy_eval import evaluate
from oracle.snippet import to_python

# A forward-only target following the target spec: values by NumPy, backward() only
# records that it ran.  Every operator lifts numbers and arrays on either side.
FAKE_TARGET = """
import numpy as np


def _data(x):
    return x.data if isinstance(x, _Node) else np.asarray(x, dtype=np.float64)


class _Node:
    __array_ufunc__ = None  # ndarray (op) node defers to the node's reflected operator

    def __init__(self, data):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = None
        self.backward_calls = 0

    def _new(self, data):
        return type(self)(data)

    def __add__(self, o): return self._new(self.data + _data(o))
    def __radd__(self, o): return self._new(_data(o) + self.data)
    def __sub__(self, o): return self._new(self.data - _data(o))
    def __rsub__(self, o): return self._new(_data(o) - self.data)
    def __mul__(self, o): return self._new(self.data * _data(o))
    def __rmul__(self, o): return self._new(_data(o) * self.data)
    def __truediv__(self, o): return self._new(self.data / _data(o))
    def __rtruediv__(self, o): return self._new(_data(o) / self.data)
    def __pow__(self, o): return self._new(self.data ** _data(o))
    def __rpow__(self, o): return self._new(_data(o) ** self.data)
    def __neg__(self): return self._new(-self.data)
    def __matmul__(self, o): return self._new(self.data @ _data(o))
    def __getitem__(self, i): return self._new(self.data[i])
    def relu(self): return self._new(np.where(self.data > 0, self.data, 0.0))
    def tanh(self): return self._new(np.tanh(self.data))
    def exp(self): return self._new(np.exp(self.data))
    def log(self): return self._new(np.log(self.data))
    def sigmoid(self): return self._new(1 / (1 + np.exp(-self.data)))
    def sum(self, axis=None, keepdims=False):
        return self._new(self.data.sum(axis, keepdims=keepdims))
    def mean(self, axis=None, keepdims=False):
        return self._new(self.data.mean(axis, keepdims=keepdims))
    def max(self, axis=None, keepdims=False):
        return self._new(self.data.max(axis, keepdims=keepdims))
    def reshape(self, *shape): return self._new(self.data.reshape(*shape))
    def transpose(self, *axes): return self._new(self.data.transpose(*axes))
    @property
    def T(self): return self._new(self.data.T)
    def softmax(self, axis=-1):
        e = np.exp(self.data - self.data.max(axis, keepdims=True))
        return self._new(e / e.sum(axis, keepdims=True))
    def log_softmax(self, axis=-1):
        z = self.data - self.data.max(axis, keepdims=True)
        return self._new(z - np.log(np.exp(z).sum(axis, keepdims=True)))
    def backward(self): self.backward_calls += 1


class Value(_Node):
    pass


class Tensor(_Node):
    pass
"""


@pytest.fixture()
def fake_target(tmp_path: Path) -> str:
    path = tmp_path / "fake_target.py"
    path.write_text(FAKE_TARGET)
    return str(path)


def _run(source: str) -> dict:
    namespace: dict = {"__name__": "snippet"}
    exec(compile(source, "<snippet>", "exec"), namespace)
    return namespace


def _check_values(graph, inputs, namespace: dict, source: str) -> None:
    want = evaluate(graph, inputs)
    for i, node in enumerate(graph.nodes):
        name = node.attrs["name"] if node.op == "input" else f"n{i}"
        got = namespace[name].data
        np.testing.assert_allclose(
            got, want[i], rtol=1e-15, atol=0, err_msg=f"node {i} ({node.op}) in\n{source}"
        )


def test_scalar_snippet_rebuilds_every_op_form(fake_target: str) -> None:
    b = GraphBuilder()
    x, y = b.input("x"), b.input("y")
    nodes = [b.op(op, x, y) for op in ("add", "sub", "mul", "div", "pow")]
    for op in ("add", "sub", "mul", "div"):
        nodes += [b.op(op, x, const=-2.5, side="left"), b.op(op, y, const=3, side="right")]
    nodes += [b.op("pow", x, const=-2, side="right"), b.op("pow", y, const=2.0, side="left")]
    nodes += [b.op(op, x) for op in ("neg", "relu", "tanh", "exp", "log", "sigmoid")]
    graph = b.build(nodes[-3:])
    inputs = {"x": 1.25, "y": -0.5}
    source = to_python(graph, inputs, module=fake_target, upstream=[0.5, -1.0, 2.0])
    assert "(-2.5) + x" in source and "y + 3\n" in source and "2.0 ** y" in source, source
    assert "x ** (-2)" in source, source
    namespace = _run(source)
    _check_values(graph, inputs, namespace, source)
    assert namespace["loss"].backward_calls == 1, source


def test_tensor_snippet_rebuilds_every_op(fake_target: str) -> None:
    b = GraphBuilder(TENSOR)
    a, v = b.input("a", (2, 3)), b.input("v", (3,))
    s = b.op("add", a, v)
    nodes = [
        b.op("mul", s, const=np.array([1.5, -2.0, 0.5]), side="left"),
        b.op("div", s, const=2, side="right"),
        b.op("matmul", s, b.op("T", s)),
        b.op("sum", s, axis=(0, -1), keepdims=True),
        b.op("mean", s, axis=0),
        b.op("max", s),
        b.op("reshape", s, shape=(3, 2)),
        b.op("reshape", b.op("sum", s), shape=(1,)),
        b.op("transpose", s, axes=(1, 0)),
        b.op("transpose", s),
        b.op("softmax", s, axis=0),
        b.op("log_softmax", s),
        b.op("index", s, index=(np.array([1, 1, 0]), slice(None, None, -1))),
        b.op("index", s, index=(-1, slice(1, 3))),
        b.op("pow", b.op("exp", a), const=0.5, side="right"),
    ]
    graph = b.build([nodes[0], nodes[5]])
    inputs = {"a": np.arange(6.0).reshape(2, 3) / 7, "v": np.array([0.25, -1.0, 2.0])}
    source = to_python(
        graph, inputs, module=fake_target, upstream=[np.ones((2, 3)), np.float64(2.0)]
    )
    assert "np.array([1.5, -2.0, 0.5]) * n2" in source and ".T" in source, source
    namespace = _run(source)
    _check_values(graph, inputs, namespace, source)


def test_import_lines_name_the_target() -> None:
    b = GraphBuilder()
    graph = b.build([b.op("tanh", b.input("x"))])
    assert "from micrograd.engine import Value" in to_python(graph, {"x": 1.0}, "micrograd.engine")
    folder = to_python(graph, {"x": float("nan")}, "path/to/pkg/")
    assert "submodule_search_locations=['path/to/pkg']" in folder, folder
    assert "x = Value(float('nan'))" in folder, folder
