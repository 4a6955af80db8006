"""Every operation's label, as the drawing shows it (`engine.draw.draw_dot`).

An op's name (``Value._op``, ``Tensor._op``) is only ever displayed, so the drawing is
where it is checked: a mutant that renames an op (found by `vgrad mutate`) draws a
wrong picture, and dies here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from engine import Tensor, Value
from engine import functional as F
from engine.draw import draw_dot
from engine.nn import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from engine.value import weighted_sum

_OP = re.compile(r'n(\d+)_op \[label="([^"]*)"\]')


def root_label(out: Value | Tensor) -> str:
    """The label of the operation that made `out` (the last node drawn)."""
    labels = {int(n): label for n, label in _OP.findall(draw_dot(out).source)}
    return labels[max(labels)]


def all_labels(out: Value | Tensor) -> list[str]:
    return [label for _, label in _OP.findall(draw_dot(out).source)]


a, b = Value(2.0), Value(3.0)

VALUE_OPS: list[tuple[str, Callable[[], Value], str]] = [
    ("add", lambda: a + b, "+"),
    ("radd", lambda: 1.5 + a, "+"),
    ("sub", lambda: a - b, "-"),
    ("rsub", lambda: 1.5 - a, "-"),
    ("mul", lambda: a * b, "*"),
    ("rmul", lambda: 1.5 * a, "*"),
    ("div", lambda: a / b, "/"),
    ("rdiv", lambda: 1.5 / a, "/"),
    ("pow value", lambda: a**b, "**"),
    ("rpow", lambda: 1.5**a, "**"),
    ("pow int", lambda: a**3, "**3"),
    ("pow float", lambda: a**0.5, "**0.5"),
    ("neg", lambda: -a, "neg"),
    ("relu", lambda: a.relu(), "relu"),
    ("tanh", lambda: a.tanh(), "tanh"),
    ("exp", lambda: a.exp(), "exp"),
    ("log", lambda: a.log(), "log"),
    ("sigmoid", lambda: a.sigmoid(), "sigmoid"),
    ("weighted sum", lambda: weighted_sum([a], [b], 1.0), "wsum"),
]


@pytest.mark.parametrize(
    ("build", "label"), [op[1:] for op in VALUE_OPS], ids=[op[0] for op in VALUE_OPS]
)
def test_value_op_labels(build: Callable[[], Value], label: str) -> None:
    assert root_label(build()) == label


x = Tensor(np.arange(6.0).reshape(2, 3) + 1.0)
y = Tensor(np.full((2, 3), 2.0))
m = Tensor(np.ones((3, 2)))

TENSOR_OPS: list[tuple[str, Callable[[], Tensor], str]] = [
    ("add", lambda: x + y, "+"),
    ("radd", lambda: 1.0 + x, "+"),
    ("sub", lambda: x - y, "-"),
    ("rsub", lambda: 1.0 - x, "-"),
    ("mul", lambda: x * y, "*"),
    ("rmul", lambda: 2.0 * x, "*"),
    ("div", lambda: x / y, "/"),
    ("rdiv", lambda: 2.0 / x, "/"),
    ("pow", lambda: x**2, "**2"),
    ("pow float", lambda: x**0.5, "**0.5"),
    ("pow tensor", lambda: x**y, "**"),
    ("rpow", lambda: 2.0**x, "**"),
    ("neg", lambda: -x, "neg"),
    ("matmul", lambda: x @ m, "@"),
    ("rmatmul", lambda: np.ones((2, 2)) @ x, "@"),
    ("exp", lambda: x.exp(), "exp"),
    ("log", lambda: x.log(), "log"),
    ("tanh", lambda: x.tanh(), "tanh"),
    ("relu", lambda: x.relu(), "relu"),
    ("sigmoid", lambda: x.sigmoid(), "sigmoid"),
    ("sum", lambda: x.sum(), "sum"),
    ("sum axis", lambda: x.sum(axis=1, keepdims=True), "sum axis=1, keepdims=True"),
    ("mean", lambda: x.mean(axis=0), "mean axis=0"),
    ("max", lambda: x.max(axis=-1), "max axis=-1"),
    ("reshape", lambda: x.reshape(3, 2), "reshape"),
    ("transpose", lambda: x.transpose(), "transpose axes=(1, 0)"),
    ("T", lambda: x.T, "transpose axes=(1, 0)"),
    ("index", lambda: x[1], "index [1]"),
    ("softmax", lambda: x.softmax(), "softmax axis=-1"),
    ("log_softmax", lambda: x.log_softmax(axis=0), "log_softmax axis=0"),
    ("linear", lambda: F.linear(x, m.T), "linear"),
    ("linear with bias", lambda: F.linear(x, m.T, np.zeros(2)), "linear"),
    ("conv2d", lambda: F.conv2d(Tensor(np.ones((1, 1, 3, 3))), np.ones((1, 1, 2, 2))), "conv2d"),
    ("max_pool2d", lambda: F.max_pool2d(Tensor(np.ones((1, 1, 2, 2))), 2), "max_pool2d"),
    ("avg_pool2d", lambda: F.avg_pool2d(Tensor(np.ones((1, 1, 2, 2))), 2), "avg_pool2d"),
    ("bce", lambda: binary_cross_entropy_with_logits(x, np.ones((2, 3))), "bce_with_logits"),
    ("cross_entropy", lambda: cross_entropy(x, np.array([0, 2])), "cross_entropy"),
]


@pytest.mark.parametrize(
    ("build", "label"), [op[1:] for op in TENSOR_OPS], ids=[op[0] for op in TENSOR_OPS]
)
def test_tensor_op_labels(build: Callable[[], Tensor], label: str) -> None:
    assert root_label(build()) == label


def test_losses_built_from_tensor_ops_draw_their_ops() -> None:
    assert all_labels(mse_loss(x, y)) == ["-", "**2", "mean"]
    assert all_labels(hinge_loss(x, -np.ones((2, 3)))) == ["*", "-", "relu", "mean"]
