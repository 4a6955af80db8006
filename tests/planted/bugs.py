"""Planted bugs: named source patches of clean_engine.py, each a real deviation from the spec.

A `Bug` replaces `old` (which occurs exactly once in the clean source) by `new`. Its
`witness` is a small direct check, given an engine module, that returns True when the
deviation shows: it proves the bug is real. The property suite must find every bug on
its own, with random properties; it must never use these witnesses.

Every witness input has a finite, defined truth, so an exception raised by a patched
engine on it counts as the deviation showing (see `shows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import clean_engine

CLEAN_SOURCE = Path(clean_engine.__file__).read_text()


@dataclass(frozen=True)
class Bug:
    """One planted bug: replace `old` by `new` in the clean engine's source."""

    name: str
    area: str
    description: str
    old: str
    new: str
    witness: Callable[[ModuleType], bool]

    def source(self) -> str:
        """The clean source with this bug planted."""
        count = CLEAN_SOURCE.count(self.old)
        assert count == 1, f"bug {self.name}: `old` occurs {count} times in clean_engine.py"
        return CLEAN_SOURCE.replace(self.old, self.new)


def shows(bug: Bug, engine: ModuleType) -> bool:
    """True when `bug.witness` sees the deviation on `engine` (an exception counts)."""
    try:
        return bool(bug.witness(engine))
    except Exception:
        return True


# ------------------------------------------------------------------- witness helpers


def _differ(actual: Any, expected: Any) -> bool:
    """True unless `actual` has `expected`'s shape and values (nan never matches)."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return a.shape != e.shape or not np.allclose(a, e, rtol=1e-9, atol=1e-12)


def _scalar(E: ModuleType, f: Callable, *xs: float) -> list[float]:
    """[f's value, d f/d x for each x] on the engine's `Value`."""
    leaves = [E.Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return [out.data, *(v.grad for v in leaves)]


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed, non-uniform upstream gradient of `shape`."""
    n = math.prod(shape)
    signs = np.where(np.arange(n) % 2, -1.0, 1.0)
    return (np.linspace(0.5, 2.0, n) * signs).reshape(shape)


def _tensor(E: ModuleType, f: Callable, *arrays: Any) -> tuple[np.ndarray, list, np.ndarray]:
    """f's value, each input's gradient of sum(G * f), and the upstream G used."""
    leaves = [E.Tensor(np.asarray(a, dtype=np.float64)) for a in arrays]
    out = f(*leaves)
    upstream = _weights(np.shape(out.data))
    (out * upstream).sum().backward()
    return np.asarray(out.data), [t.grad for t in leaves], upstream


def _tensor_differs(E: ModuleType, f: Callable, arrays: Sequence, truth: Callable) -> bool:
    """f on the engine against `truth(G, *arrays) -> (value, [grads])`."""
    value, grads, upstream = _tensor(E, f, *arrays)
    want_value, want_grads = truth(upstream, *(np.asarray(a, dtype=np.float64) for a in arrays))
    return _differ(value, want_value) or any(
        g is None or _differ(g, w) for g, w in zip(grads, want_grads, strict=True)
    )


# name -> (optimizer class name, keyword arguments); the sanity tests check the clean
# engine's trajectories on these against torch.optim.
OPTIM_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "sgd_weight_decay": ("SGD", {"lr": 0.1, "weight_decay": 0.5}),
    "adam": ("Adam", {"lr": 0.1}),
    "adam_eps": ("Adam", {"lr": 0.1, "eps": 0.5}),
    "adamw": ("AdamW", {"lr": 0.1, "weight_decay": 0.5}),
    "rmsprop": ("RMSprop", {"lr": 0.1}),
    "rmsprop_momentum": ("RMSprop", {"lr": 0.1, "momentum": 0.9}),
    "rmsprop_eps": ("RMSprop", {"lr": 0.1, "eps": 0.5}),
    "adagrad_eps": ("Adagrad", {"lr": 0.1, "eps": 0.5}),
    "adagrad_initial": ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 2.0}),
    # torch's further arguments (protocol v2)
    "sgd_dampening": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    "sgd_maximize_decay": ("SGD", {"lr": 0.1, "weight_decay": 0.5, "maximize": True}),
    "adam_amsgrad": ("Adam", {"lr": 0.1, "betas": (0.5, 0.9), "amsgrad": True}),
    "adam_decoupled": ("Adam", {"lr": 0.1, "weight_decay": 0.5, "decoupled_weight_decay": True}),
    "rmsprop_centered": ("RMSprop", {"lr": 0.1, "alpha": 0.9, "centered": True}),
    "adagrad_lr_decay": ("Adagrad", {"lr": 0.1, "lr_decay": 0.5}),
}
OPTIM_START = (1.5, [1.5, -0.7, 0.2])  # a Value parameter and a Tensor parameter
OPTIM_STEPS = 4


def optim_gradient(x: Any) -> Any:
    """The gradient fed to the optimizers: that of sum(x**3/3 - x/2)."""
    return x * x - 0.5


def optim_trajectory(E: ModuleType, name: str, kwargs: dict[str, Any]) -> list[float]:
    """Parameter values after each step of optim.`name`(**kwargs) on the engine."""
    scalar, tensor = E.Value(OPTIM_START[0]), E.Tensor(np.array(OPTIM_START[1]))
    opt = getattr(E.optim, name)([scalar, tensor], **kwargs)
    trajectory: list[float] = []
    for _ in range(OPTIM_STEPS):
        opt.zero_grad()
        scalar.grad = optim_gradient(scalar.data)
        tensor.grad = optim_gradient(tensor.data)
        opt.step()
        trajectory += [scalar.data, *np.asarray(tensor.data).tolist()]
    return trajectory


# name -> (scheduler class name, its arguments after the optimizer); over SGD(lr=0.1)
SCHEDULE_CASES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "step_lr": ("StepLR", (2, 0.5)),
    "lambda_lr_warmup": ("LambdaLR", (lambda epoch: min(1.0, (epoch + 1) / 3),)),
}


def schedule_trajectory(E: ModuleType, case: str) -> list[float]:
    """The Value parameter after each of OPTIM_STEPS steps of SGD with a scheduler."""
    name, args = SCHEDULE_CASES[case]
    scalar = E.Value(OPTIM_START[0])
    opt = E.optim.SGD([scalar], lr=0.1)
    scheduler = getattr(E.optim, name)(opt, *args)
    trajectory = []
    for _ in range(OPTIM_STEPS):
        opt.zero_grad()
        scalar.grad = optim_gradient(scalar.data)
        opt.step()
        scheduler.step()
        trajectory.append(scalar.data)
    return trajectory


def _schedule_differs(case: str) -> Callable[[ModuleType], bool]:
    return lambda E: _differ(schedule_trajectory(E, case), schedule_trajectory(clean_engine, case))


def _optim_differs(case: str) -> Callable[[ModuleType], bool]:
    name, kwargs = OPTIM_CASES[case]
    return lambda E: _differ(
        optim_trajectory(E, name, kwargs), optim_trajectory(clean_engine, name, kwargs)
    )


def _zero_grad_keeps(E: ModuleType) -> bool:
    scalar, tensor = E.Value(1.0), E.Tensor(np.ones(2))
    opt = E.optim.SGD([scalar, tensor], lr=0.1)
    scalar.grad, tensor.grad = 3.0, np.array([1.0, 2.0])
    opt.zero_grad()
    return scalar.grad != 0 or (tensor.grad is not None and bool(np.any(tensor.grad)))


def _mlp_output(E: ModuleType, nin: int, nouts: list[int], weights: list[float], x: list) -> Any:
    """An MLP's output with its parameters() set to `weights` in order."""
    net = E.nn.MLP(nin, nouts)
    for p, w in zip(net.parameters(), weights, strict=True):
        p.data = w
    out = net([E.Value(v) for v in x])
    return out.data


def _mlp_zero_grad_keeps(E: ModuleType) -> bool:
    net = E.nn.MLP(2, [2, 1])
    for p in net.parameters():
        p.grad = 1.0
    net.zero_grad()
    return any(p.grad != 0 for p in net.parameters())


def _twice(E: ModuleType, f: Callable, x: float) -> float:
    """x's grad after two backward passes of f(x)."""
    leaf = E.Value(x)
    out = f(leaf)
    out.backward()
    out.backward()
    return leaf.grad


def _shared_interior(v: Any) -> Any:
    """A DAG whose interior node `s` has two consumers: out = 2 s + s with s = v * v."""
    s = v * v
    return s * 2.0 + s


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_LOGITS = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
_HUGE_LOGITS = [[1000.0, -1000.0, 0.0]]
_CUBE = np.arange(24.0).reshape(2, 3, 4) / 7.0
SCALAR, GRAPH, BROADCAST, REDUCE = "scalar ops", "graph", "broadcasting", "reductions"
SHAPE, INDEX, SOFTMAX, TENSOR = "shape ops", "indexing", "softmax", "tensor ops"
OPTIM, NN, SCHEDULE = "optim", "nn", "schedule"


def _tanh1(x: float) -> float:
    return 1.0 / math.cosh(x) ** 2


def _sigmoid_truth(x: float) -> list[float]:
    s = 1.0 / (1.0 + math.exp(-x))
    return [s, s * (1.0 - s)]


def _tensor_twice_differs(E: ModuleType) -> bool:
    leaf = E.Tensor(np.array([1.0, -2.0]))
    out = (leaf * leaf).sum()
    out.backward()
    out.backward()
    return _differ(leaf.grad, [4.0, -8.0])


# fmt: off
BUGS: list[Bug] = [
    # -- scalar ops: derivatives, reflected operators, overflow ----------------------
    Bug(
        "add_right_partial_zero", SCALAR, "a + b passes no gradient to b",
        "(self, o), (1.0, 1.0))", "(self, o), (1.0, 0.0))",
        lambda E: _differ(_scalar(E, lambda a, b: a + b, 2.0, 3.0), [5.0, 1.0, 1.0]),
    ),
    Bug(
        "sub_partial_sign", SCALAR, "a - b gives b the gradient +1 instead of -1",
        "(self, o), (1.0, -1.0))", "(self, o), (1.0, 1.0))",
        lambda E: _differ(_scalar(E, lambda a, b: a - b, 2.0, 3.0), [-1.0, 1.0, -1.0]),
    ),
    Bug(
        "mul_partials_swapped", SCALAR, "d(a*b)/da = a instead of b",
        "(o.data, self.data))", "(self.data, o.data))",
        lambda E: _differ(_scalar(E, lambda a, b: a * b, 2.0, 3.0), [6.0, 3.0, 2.0]),
    ),
    Bug(
        "div_denominator_sign", SCALAR, "d(a/b)/db = +a/b**2 instead of -a/b**2",
        "-_ieee(np.divide, q, b)", "_ieee(np.divide, q, b)",
        lambda E: _differ(_scalar(E, lambda a, b: a / b, 3.0, 2.0), [1.5, 0.5, -0.75]),
    ),
    Bug(
        "neg_partial_sign", SCALAR, "d(-x)/dx = +1",
        "(self,), (-1.0,))", "(self,), (1.0,))",
        lambda E: _differ(_scalar(E, lambda x: -x, 2.0), [-2.0, -1.0]),
    ),
    Bug(
        "pow_exponent_off_by_one", SCALAR, "d(x**p)/dx = p * x**p",
        "p * _ieee(np.power, x, p - 1)", "p * _ieee(np.power, x, p)",
        lambda E: _differ(_scalar(E, lambda x: x**2, 3.0), [9.0, 6.0]),
    ),
    Bug(
        "pow_missing_factor", SCALAR, "d(x**p)/dx = x**(p-1), the factor p dropped",
        "p * _ieee(np.power, x, p - 1)", "_ieee(np.power, x, p - 1)",
        lambda E: _differ(_scalar(E, lambda x: x**2, 3.0), [9.0, 6.0]),
    ),
    Bug(
        "pow_zero_exponent_nan", SCALAR,
        "d(x**0)/dx at x = 0 is 0 * 0**-1 = nan instead of 0 (only at that point)",
        "dx = 0.0 if p == 0 else p * ", "dx = p * ",
        lambda E: _differ(_scalar(E, lambda x: x**0, 0.0), [1.0, 0.0]),
    ),
    Bug(
        "vpow_exponent_partial", SCALAR, "d(x**y)/dy = log(x), the factor x**y dropped",
        "out * _ieee(np.log, x)", "_ieee(np.log, x)",
        lambda E: _differ(_scalar(E, lambda x, y: x**y, 2.0, 3.0), [8.0, 12.0, 8 * math.log(2)]),
    ),
    Bug(
        "vpow_base_partial", SCALAR, "d(x**y)/dx = x**(y-1), the factor y dropped",
        "(y * _ieee(np.power, x, y - 1), dy)", "(_ieee(np.power, x, y - 1), dy)",
        lambda E: _differ(_scalar(E, lambda x, y: x**y, 2.0, 3.0), [8.0, 12.0, 8 * math.log(2)]),
    ),
    Bug(
        "rpow_operands_swapped", SCALAR, "c ** x computes x ** c",
        "return _val(other) ** self", "return self ** _val(other)",
        lambda E: _differ(_scalar(E, lambda x: 2.0**x, 3.0), [8.0, 8 * math.log(2)]),
    ),
    Bug(
        "radd_detached", SCALAR,
        "c + x returns a new leaf with the right value: no gradient reaches x",
        "return _val(other) + self", "return Value(other + self.data)",
        lambda E: _differ(_scalar(E, lambda x: 2.0 + x, 3.0), [5.0, 1.0]),
    ),
    Bug(
        "rsub_operands_swapped", SCALAR, "c - x computes x - c",
        "return _val(other) - self", "return self - _val(other)",
        lambda E: _differ(_scalar(E, lambda x: 5.0 - x, 2.0), [3.0, -1.0]),
    ),
    Bug(
        "rtruediv_operands_swapped", SCALAR, "c / x computes x / c",
        "return _val(other) / self", "return self / _val(other)",
        lambda E: _differ(_scalar(E, lambda x: 6.0 / x, 2.0), [3.0, -1.5]),
    ),
    Bug(
        "relu_grad_at_zero", SCALAR, "relu' uses x >= 0, so relu'(0) = 1",
        "(1.0 if x > 0 else 0.0,)", "(1.0 if x >= 0 else 0.0,)",
        lambda E: _differ(_scalar(E, lambda x: x.relu(), 0.0), [0.0, 0.0]),
    ),
    Bug(
        "tanh_grad_missing_factor", SCALAR, "tanh' = e / (1 + e)**2, the factor 4 of sech**2 lost",
        "(4.0 * e / (1.0 + e) ** 2,)", "(e / (1.0 + e) ** 2,)",
        lambda E: _differ(_scalar(E, lambda x: x.tanh(), 0.5), [math.tanh(0.5), _tanh1(0.5)]),
    ),
    Bug(
        "tanh_grad_uses_input", SCALAR, "tanh' = 1 - x**2 (the input, not the output)",
        "(4.0 * e / (1.0 + e) ** 2,)", "(1.0 - self.data * self.data,)",
        lambda E: _differ(_scalar(E, lambda x: x.tanh(), 0.5), [math.tanh(0.5), _tanh1(0.5)]),
    ),
    Bug(
        "tanh_naive_overflow", SCALAR,
        "tanh as (e**2x - 1)/(e**2x + 1): OverflowError for x above about 355",
        "Value(math.tanh(self.data),",
        "Value((math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1),",
        lambda E: _differ(_scalar(E, lambda x: x.tanh(), 400.0), [1.0, 0.0]),
    ),
    Bug(
        "exp_grad_uses_input", SCALAR, "exp' = x instead of exp(x)",
        "return Value(e, (self,), (e,))", "return Value(e, (self,), (self.data,))",
        lambda E: _differ(_scalar(E, lambda x: x.exp(), 2.0), [math.exp(2), math.exp(2)]),
    ),
    Bug(
        "log_grad_sign", SCALAR, "log' = -1/x",
        "(_ieee(np.divide, 1.0, x),)", "(-_ieee(np.divide, 1.0, x),)",
        lambda E: _differ(_scalar(E, lambda x: x.log(), 2.0), [math.log(2), 0.5]),
    ),
    Bug(
        "sigmoid_grad_uses_input", SCALAR, "sigmoid' = x (1 - x) (the input, not the output)",
        "(e / (1.0 + e) ** 2,)", "(x * (1.0 - x),)",
        lambda E: _differ(_scalar(E, lambda x: x.sigmoid(), 0.5), _sigmoid_truth(0.5)),
    ),
    Bug(
        "sigmoid_naive_overflow", SCALAR,
        "sigmoid as 1/(1 + exp(-x)): OverflowError for x below about -709",
        "        e = math.exp(-abs(x))\n        s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)\n",
        "        e = math.exp(-x)\n        s = 1.0 / (1.0 + e)\n",
        lambda E: _differ(_scalar(E, lambda x: x.sigmoid(), -800.0), [0.0, 0.0]),
    ),
    # -- graph: accumulation and topological order -----------------------------------
    Bug(
        "interior_grads_not_reset", GRAPH,
        "interior grads keep the last pass's values (micrograd's double-backward defect)",
        "        for node in order:\n            if node._prev:\n                node.grad = 0.0\n",
        "",
        lambda E: _differ(_twice(E, lambda x: (x * x) * (x * x), 3.0), 2 * 4 * 27.0),
    ),
    Bug(
        "leaf_grads_reset_each_pass", GRAPH,
        "backward zeroes leaf grads too: a second pass assigns instead of accumulating",
        "            if node._prev:\n                node.grad = 0.0\n",
        "            node.grad = 0.0\n",
        lambda E: _differ(_twice(E, lambda x: x * x, 3.0), 12.0),
    ),
    Bug(
        "tensor_leaf_grad_assigned", GRAPH,
        "Tensor leaves take the last pass's gradient (=) instead of adding it (+=)",
        "node.grad = np.array(g) if node.grad is None else node.grad + g",
        "node.grad = np.array(g)",
        _tensor_twice_differs,
    ),
    Bug(
        "topo_preorder", GRAPH,
        "DFS preorder instead of postorder: right for trees, but a shared interior node "
        "can pass its gradient on before all of its consumers have added theirs",
        "            stack.append((node, True))\n",
        "            order.insert(0, node)\n",
        lambda E: _differ(_scalar(E, _shared_interior, 3.0), [27.0, 18.0]),
    ),
    # -- tensor broadcasting: reducing gradients to operand shapes --------------------
    Bug(
        "unbroadcast_leading_axes_kept", BROADCAST,
        "gradients are not summed over broadcast-added leading axes",
        "    while g.ndim > len(shape):\n        g = g.sum(axis=0)\n", "",
        lambda E: _tensor_differs(
            E, lambda a, b: a * b, ([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [2.0, -1.0, 0.5]),
            lambda G, a, b: (a * b, [G * b, (G * a).sum(axis=0)]),
        ),
    ),
    Bug(
        "unbroadcast_leading_axes_averaged", BROADCAST,
        "gradients are averaged, not summed, over broadcast-added leading axes",
        "        g = g.sum(axis=0)\n", "        g = g.mean(axis=0)\n",
        lambda E: _tensor_differs(
            E, lambda a, b: a + b, ([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [2.0, -1.0, 0.5]),
            lambda G, a, b: (a + b, [G, G.sum(axis=0)]),
        ),
    ),
    Bug(
        "unbroadcast_size_one_axes_kept", BROADCAST,
        "gradients are not summed over size-1 axes that were broadcast",
        "    for i, n in enumerate(shape):\n        if n == 1 and g.shape[i] != 1:\n"
        "            g = g.sum(axis=i, keepdims=True)\n",
        "",
        lambda E: _tensor_differs(
            E, lambda a, b: a * b, ([[2.0], [-1.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
            lambda G, a, b: (a * b, [(G * b).sum(axis=1, keepdims=True), G * a]),
        ),
    ),
    Bug(
        "unbroadcast_keepdims_dropped", BROADCAST,
        "size-1 axes are summed without keepdims, so the axis disappears",
        "g = g.sum(axis=i, keepdims=True)", "g = g.sum(axis=i)",
        lambda E: _tensor_differs(
            E, lambda a, b: a + b, ([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
            lambda G, a, b: (a + b, [G.sum(axis=0, keepdims=True), G]),
        ),
    ),
    # -- reductions ---------------------------------------------------------------
    Bug(
        "mean_count_added", REDUCE,
        "mean divides by the sum of the reduced axes' lengths, not their product",
        "count = math.prod(self.data.shape[a] for a in axes)",
        "count = sum(self.data.shape[a] for a in axes)",
        lambda E: _tensor_differs(
            E, lambda x: x.mean(axis=(0, 2)), [_CUBE],
            lambda G, x: (x.mean(axis=(0, 2)), [np.broadcast_to(G[None, :, None] / 8, x.shape)]),
        ),
    ),
    Bug(
        "max_ties_full_upstream", REDUCE,
        "max sends the full upstream gradient to every tied maximum",
        "share = winners / winners.sum(axis=axes, keepdims=True)", "share = winners",
        lambda E: _tensor_differs(
            E, lambda x: x.max(), [[1.0, 3.0, 3.0]],
            lambda G, x: (3.0, [[0.0, G / 2, G / 2]]),
        ),
    ),
    Bug(
        "negative_axis_not_normalized", REDUCE,
        "negative axes are not taken modulo ndim, so the backward reshape misses them",
        "tuple(sorted(a % ndim for a in axes))", "tuple(sorted(axes))",
        lambda E: _tensor_differs(
            E, lambda x: x.sum(axis=-1), [[[1.0, 2.0], [3.0, 4.0]]],
            lambda G, x: (x.sum(axis=-1), [np.broadcast_to(G[..., None], x.shape)]),
        ),
    ),
    Bug(
        "max_keepdims_ignored", REDUCE, "max(keepdims=True) drops the reduced axes",
        "out = top if keepdims else top.reshape(", "out = top.reshape(",
        lambda E: _differ(E.Tensor(np.ones((2, 3))).max(axis=1, keepdims=True).data, [[1], [1]]),
    ),
    # -- shape ops ------------------------------------------------------------------
    Bug(
        "transpose_grad_same_axes", SHAPE,
        "transpose's gradient applies the same permutation instead of its inverse",
        "back = tuple(np.argsort(perm))", "back = perm",
        lambda E: _tensor_differs(
            E, lambda x: x.transpose(1, 2, 0), [_CUBE],
            lambda G, x: (x.transpose(1, 2, 0), [G.transpose(2, 0, 1)]),
        ),
    ),
    Bug(
        "matmul_grad_full_transpose", SHAPE,
        "matmul's gradient uses .T (all axes reversed), wrong for batched operands",
        "        gx = g @ np.swapaxes(y, -1, -2)\n        gy = np.swapaxes(x, -1, -2) @ g\n",
        "        gx = g @ y.T\n        gy = x.T @ g\n",
        lambda E: _tensor_differs(
            E, lambda a, b: a @ b, [_CUBE[:, :2, :3], _CUBE[:, :3, :]],
            lambda G, a, b: (a @ b, [G @ b.transpose(0, 2, 1), a.transpose(0, 2, 1) @ G]),
        ),
    ),
    # -- indexing -------------------------------------------------------------------
    Bug(
        "index_repeats_dropped", INDEX,
        "indexing gradient uses grad[idx] += g, so repeated indices count once",
        "np.add.at(full, index, g)", "full[index] += g",
        lambda E: _tensor_differs(
            E, lambda x: x[np.array([0, 0, 2])], [[1.0, 2.0, 3.0]],
            lambda G, x: ([1.0, 1.0, 3.0], [[G[0] + G[1], 0.0, G[2]]]),
        ),
    ),
    # -- softmax --------------------------------------------------------------------
    Bug(
        "softmax_grad_missing_term", SOFTMAX,
        "softmax's gradient is s * g, the - sum(g * s) term missing",
        "s * (g - (g * s).sum(axis=axis, keepdims=True))", "s * g",
        lambda E: _tensor_differs(
            E, lambda x: x.softmax(), [_LOGITS],
            lambda G, x: (
                _softmax(x), [_softmax(x) * (G - (G * _softmax(x)).sum(-1, keepdims=True))]
            ),
        ),
    ),
    Bug(
        "softmax_naive_overflow", SOFTMAX,
        "softmax without subtracting the max: nan for logits in the hundreds",
        "        z = self.data - self.data.max(axis=axis, keepdims=True)\n        e = np.exp(z)\n",
        "        e = np.exp(self.data)\n",
        lambda E: _differ(E.Tensor(np.array(_HUGE_LOGITS)).softmax().data, [[1.0, 0.0, 0.0]]),
    ),
    Bug(
        "log_softmax_grad_missing_sum", SOFTMAX,
        "log_softmax's gradient is g - p * g instead of g - p * sum(g)",
        "g - p * g.sum(axis=axis, keepdims=True)", "g - p * g",
        lambda E: _tensor_differs(
            E, lambda x: x.log_softmax(), [_LOGITS],
            lambda G, x: (
                np.log(_softmax(x)), [G - _softmax(x) * G.sum(-1, keepdims=True)]
            ),
        ),
    ),
    Bug(
        "log_softmax_of_softmax", SOFTMAX,
        "log_softmax as log(softmax): -inf where softmax underflows (truth: -2000)",
        "out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))",
        "out = np.log(np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True))",
        lambda E: _differ(
            E.Tensor(np.array(_HUGE_LOGITS)).log_softmax().data, [[0.0, -2000.0, -1000.0]]
        ),
    ),
    # -- other tensor ops -----------------------------------------------------------
    Bug(
        "tensor_relu_grad_at_zero", TENSOR, "Tensor relu' uses x >= 0, so relu'(0) = 1",
        "(x > 0).astype(np.float64)", "(x >= 0).astype(np.float64)",
        lambda E: _tensor_differs(
            E, lambda x: x.relu(), [[-1.0, 0.0, 2.0]],
            lambda G, x: ([0.0, 0.0, 2.0], [G * [0.0, 0.0, 1.0]]),
        ),
    ),
    Bug(
        "tensor_tanh_naive_overflow", TENSOR,
        "Tensor tanh as (e**2x - 1)/(e**2x + 1): nan for inputs above about 355",
        "t = np.tanh(self.data)",
        "e = np.exp(2 * self.data)\n        t = (e - 1) / (e + 1)",
        lambda E: _differ(E.Tensor(np.array([900.0, -2.0])).tanh().data, np.tanh([900.0, -2.0])),
    ),
    Bug(
        "tensor_div_denominator_sign", TENSOR, "Tensor d(a/b)/db = +a/b**2",
        "return g / y, -g * (x / y) / y", "return g / y, g * (x / y) / y",
        lambda E: _tensor_differs(
            E, lambda a, b: a / b, ([[3.0, 1.0]], [[2.0], [4.0]]),
            lambda G, a, b: (
                a / b, [(G / b).sum(0, keepdims=True), (-G * a / b**2).sum(1, keepdims=True)]
            ),
        ),
    ),
    Bug(
        "tensor_rsub_operands_swapped", TENSOR, "c - t computes t - c for Tensors",
        "return _binary(other, self, np.subtract,", "return _binary(self, other, np.subtract,",
        lambda E: _tensor_differs(
            E, lambda x: 5.0 - x, [[1.0, 2.0]], lambda G, x: (5.0 - x, [-G]),
        ),
    ),
    # -- optimizers -----------------------------------------------------------------
    Bug(
        "sgd_momentum_dampened", OPTIM,
        "SGD momentum as an average from zero: buf = m buf + (1 - m) g (torch: buf = g, "
        "then m buf + g)",
        'buf = g if "buf" not in state else m * state["buf"] + (1 - self.h.dampening) * g',
        'buf = m * state.get("buf", 0.0) + (1 - m) * g',
        _optim_differs("sgd_momentum"),
    ),
    Bug(
        "sgd_nesterov_swapped", OPTIM, "nesterov step buf + m g instead of g + m buf",
        "g = g + m * buf if self.h.nesterov", "g = buf + m * g if self.h.nesterov",
        _optim_differs("sgd_nesterov"),
    ),
    Bug(
        "weight_decay_sign", OPTIM, "L2 weight decay subtracted from the gradient (all but AdamW)",
        "g = g + self.h.weight_decay * x", "g = g - self.h.weight_decay * x",
        _optim_differs("sgd_weight_decay"),
    ),
    Bug(
        "adam_no_bias_correction", OPTIM, "Adam without bias correction",
        "c1, c2 = 1 - b1**t, 1 - b2**t", "c1, c2 = 1.0, 1.0",
        _optim_differs("adam"),
    ),
    Bug(
        "adam_step_off_by_one", OPTIM, "Adam's bias correction uses t + 1",
        "c1, c2 = 1 - b1**t, 1 - b2**t", "c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)",
        _optim_differs("adam"),
    ),
    Bug(
        "adam_eps_inside_sqrt", OPTIM, "Adam's denominator sqrt(v_hat + eps)",
        "(np.sqrt(v) / math.sqrt(c2) + self.h.eps)", "np.sqrt(v / c2 + self.h.eps)",
        _optim_differs("adam_eps"),
    ),
    Bug(
        "adamw_decay_as_l2", OPTIM, "AdamW adds weight decay to the gradient like Adam",
        "_decoupled = True", "_decoupled = False",
        _optim_differs("adamw"),
    ),
    Bug(
        "rmsprop_alpha_swapped", OPTIM, "RMSprop: sq = (1 - alpha) sq + alpha g**2",
        'sq = a * state.get("sq", 0.0) + (1 - a) * g * g',
        'sq = (1 - a) * state.get("sq", 0.0) + a * g * g',
        _optim_differs("rmsprop"),
    ),
    Bug(
        "rmsprop_momentum_not_kept", OPTIM,
        "RMSprop never stores its momentum buffer, so momentum has no effect",
        '            state["buf"] = step\n', "",
        _optim_differs("rmsprop_momentum"),
    ),
    Bug(
        "rmsprop_eps_inside_sqrt", OPTIM, "RMSprop's denominator sqrt(sq + eps)",
        "np.sqrt(var) + self.h.eps", "np.sqrt(var + self.h.eps)",
        _optim_differs("rmsprop_eps"),
    ),
    Bug(
        "adagrad_eps_inside_sqrt", OPTIM, "Adagrad's denominator sqrt(sum + eps)",
        "np.sqrt(total) + self.h.eps", "np.sqrt(total + self.h.eps)",
        _optim_differs("adagrad_eps"),
    ),
    Bug(
        "adagrad_initial_accumulator_ignored", OPTIM,
        "Adagrad's sum starts at 0 whatever initial_accumulator_value is",
        'state.get("sum", self.h.initial_accumulator_value)', 'state.get("sum", 0.0)',
        _optim_differs("adagrad_initial"),
    ),
    # torch's further arguments and the schedulers (protocol v2)
    Bug(
        "sgd_dampening_first_step", OPTIM,
        "SGD damps the first step too: buf = (1 - dampening) g (torch: buf = g)",
        'buf = g if "buf" not in state', 'buf = (1 - self.h.dampening) * g if "buf" not in state',
        _optim_differs("sgd_dampening"),
    ),
    Bug(
        "maximize_after_weight_decay", OPTIM,
        "maximize negates the gradient after weight decay is added: -(grad + wd p) "
        "(torch: -grad + wd p)",
        "g = g + self.h.weight_decay * x",
        "g = g - self.h.weight_decay * x if self.h.maximize else g + self.h.weight_decay * x",
        _optim_differs("sgd_maximize_decay"),
    ),
    Bug(
        "adam_amsgrad_max_of_corrected", OPTIM,
        "amsgrad keeps the largest bias-corrected v / c2 (optax's rule; torch: the largest v)",
        'v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)',
        'v = c2 * np.maximum(state.get("v_max", 0.0), v / c2)\n'
        '            state["v_max"] = v / c2',
        _optim_differs("adam_amsgrad"),
    ),
    Bug(
        "adam_decoupled_ignored", OPTIM,
        "Adam(decoupled_weight_decay=True) adds the decay to the gradient anyway",
        'getattr(self.h, "decoupled_weight_decay", False)', "False",
        _optim_differs("adam_decoupled"),
    ),
    Bug(
        "rmsprop_centered_average_not_kept", OPTIM,
        "centered RMSprop never stores its average gradient: (1 - alpha) g each step",
        '            state["ga"] = ga\n', "",
        _optim_differs("rmsprop_centered"),
    ),
    Bug(
        "adagrad_lr_decay_off_by_one", OPTIM,
        "Adagrad decays the rate from the first step: lr / (1 + t lr_decay) (torch: t - 1)",
        "(1 + (self.t - 1) * self.h.lr_decay)", "(1 + self.t * self.h.lr_decay)",
        _optim_differs("adagrad_lr_decay"),
    ),
    Bug(
        "step_lr_one_epoch_early", SCHEDULE,
        "StepLR multiplies by gamma one epoch early: at epoch k step_size - 1",
        "if self.epoch % self.step_size == 0:", "if (self.epoch + 1) % self.step_size == 0:",
        _schedule_differs("step_lr"),
    ),
    Bug(
        "lambda_lr_skips_epoch_zero", SCHEDULE,
        "LambdaLR leaves epoch 0 at the base rate instead of base_lr * lr_lambda(0)",
        "        optimizer.h.lr = self.base_lr * lr_lambda(0)\n", "",
        _schedule_differs("lambda_lr_warmup"),
    ),
    Bug(
        "zero_grad_compares", OPTIM, "optimizer zero_grad compares (==) instead of assigning",
        "p.grad = None if isinstance(p, Tensor) else 0.0",
        "p.grad == (None if isinstance(p, Tensor) else 0.0)",
        _zero_grad_keeps,
    ),
    # -- nn -------------------------------------------------------------------------
    Bug(
        "mlp_bias_first", NN, "a neuron lists its bias before its weights in parameters()",
        "return [*self.w, self.b]", "return [self.b, *self.w]",
        lambda E: _differ(_mlp_output(E, 2, [1], [1.0, 2.0, 0.5], [3.0, 4.0]), 11.5),
    ),
    Bug(
        "mlp_relu_last_layer", NN, "the last layer applies relu too",
        "nonlin=i != last)", "nonlin=True)",
        lambda E: _differ(_mlp_output(E, 1, [1], [-1.0, 0.0], [2.0]), -2.0),
    ),
    Bug(
        "mlp_zero_grad_last_layer_only", NN, "MLP.zero_grad clears only the last layer",
        "        for p in self.parameters():\n            p.grad = 0.0\n",
        "        for p in self.layers[-1].parameters():\n            p.grad = 0.0\n",
        _mlp_zero_grad_keeps,
    ),
]
# fmt: on
