"""A small, independent, correct engine following shared/target-spec.md.

It is the unmutated base of the planted-bug meta-tests (tests/planted/bugs.py patches
its source). Written apart from `engine/` on purpose: a `Value` stores the local partial
derivatives of its inputs, computed eagerly in the forward pass (in forms without
cancellation, such as tanh' = 4e / (1 + e)**2 with e = exp(-2|x|)); a `Tensor` stores a
pure function from its upstream gradient to one gradient per input; both are ordered by
one iterative depth-first postorder. Scalar arithmetic is IEEE (nan/inf, never raises).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np


def _ieee(f: Callable[..., Any], *xs: float) -> float:
    """f of float64 arguments as a Python float, with nan/inf instead of warnings."""
    with np.errstate(all="ignore"):
        return float(f(*(np.float64(x) for x in xs)))


def _topo(root: Any) -> list[Any]:
    """Every node `root` depends on, each after all of its consumers (root first)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order[::-1]


# ----------------------------------------------------------------------------- Value


class Value:
    """A scalar; `_prev[i]` is an input and `_partials[i]` is d(self)/d(input i)."""

    def __init__(self, data: float, _prev: tuple = (), _partials: tuple = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._partials = _partials

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other: Value | float) -> Value:
        o = _val(other)
        return Value(self.data + o.data, (self, o), (1.0, 1.0))

    def __radd__(self, other: float) -> Value:
        return _val(other) + self

    def __sub__(self, other: Value | float) -> Value:
        o = _val(other)
        return Value(self.data - o.data, (self, o), (1.0, -1.0))

    def __rsub__(self, other: float) -> Value:
        return _val(other) - self

    def __mul__(self, other: Value | float) -> Value:
        o = _val(other)
        return Value(self.data * o.data, (self, o), (o.data, self.data))

    def __rmul__(self, other: float) -> Value:
        return _val(other) * self

    def __truediv__(self, other: Value | float) -> Value:
        o = _val(other)
        a, b = self.data, o.data
        q = _ieee(np.divide, a, b)
        return Value(q, (self, o), (_ieee(np.divide, 1.0, b), -_ieee(np.divide, q, b)))

    def __rtruediv__(self, other: float) -> Value:
        return _val(other) / self

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), (-1.0,))

    def __pow__(self, other: Value | float) -> Value:
        x = self.data
        if isinstance(other, Value):
            y = other.data
            out = _ieee(np.power, x, y)
            dy = 0.0 if x == 0 else out * _ieee(np.log, x)
            return Value(out, (self, other), (y * _ieee(np.power, x, y - 1), dy))
        p = float(other)
        dx = 0.0 if p == 0 else p * _ieee(np.power, x, p - 1)
        return Value(_ieee(np.power, x, p), (self,), (dx,))

    def __rpow__(self, other: float) -> Value:
        return _val(other) ** self

    def relu(self) -> Value:
        x = self.data
        return Value(max(x, 0.0), (self,), (1.0 if x > 0 else 0.0,))

    def tanh(self) -> Value:
        e = math.exp(-2.0 * abs(self.data))  # tanh' = sech**2 = 4e / (1 + e)**2, no cancellation
        return Value(math.tanh(self.data), (self,), (4.0 * e / (1.0 + e) ** 2,))

    def exp(self) -> Value:
        e = _ieee(np.exp, self.data)
        return Value(e, (self,), (e,))

    def log(self) -> Value:
        x = self.data
        return Value(_ieee(np.log, x), (self,), (_ieee(np.divide, 1.0, x),))

    def sigmoid(self) -> Value:
        x = self.data
        e = math.exp(-abs(x))
        s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
        return Value(s, (self,), (e / (1.0 + e) ** 2,))  # s (1 - s) without cancellation

    def backward(self) -> None:
        """Add d(self)/d(leaf) to every leaf's grad; interior grads restart at 0."""
        order = _topo(self)
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0
        for node in order:
            for parent, partial in zip(node._prev, node._partials, strict=True):
                parent.grad += partial * node.grad


def _val(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)


# ---------------------------------------------------------------------------- Tensor


def _axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _kept(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with the reduced `axes` kept as size 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back down to an operand's `shape`."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


class Tensor:
    """A float64 array; `_vjp(g)` maps its upstream gradient to one per `_prev` input."""

    __array_ufunc__ = None  # make `ndarray op Tensor` call the Tensor's reflected op

    def __init__(self, data: Any, _prev: tuple = (), _vjp: Callable | None = None) -> None:
        self.data = np.array(data, dtype=np.float64)
        self.grad: np.ndarray | None = None
        self._prev = _prev
        self._vjp = _vjp

    def __repr__(self) -> str:
        return f"Tensor({self.data.tolist()})"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __add__(self, other: Any) -> Tensor:
        return _binary(self, other, np.add, lambda g, x, y: (g, g))

    def __radd__(self, other: Any) -> Tensor:
        return _binary(other, self, np.add, lambda g, x, y: (g, g))

    def __sub__(self, other: Any) -> Tensor:
        return _binary(self, other, np.subtract, lambda g, x, y: (g, -g))

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(other, self, np.subtract, lambda g, x, y: (g, -g))

    def __mul__(self, other: Any) -> Tensor:
        return _binary(self, other, np.multiply, lambda g, x, y: (g * y, g * x))

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(other, self, np.multiply, lambda g, x, y: (g * y, g * x))

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(self, other, np.divide, _div_rule)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(other, self, np.divide, _div_rule)

    def __neg__(self) -> Tensor:
        return Tensor(-self.data, (self,), lambda g: (-g,))

    def __pow__(self, p: float) -> Tensor:
        x = self.data
        with np.errstate(all="ignore"):
            slope = np.zeros_like(x) if p == 0 else p * x ** (p - 1)
            return Tensor(x**p, (self,), lambda g: (g * slope,))

    def __matmul__(self, other: Any) -> Tensor:
        return _matmul(self, _tensor(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _matmul(_tensor(other), self)

    def _unary(self, out: np.ndarray, slope: np.ndarray) -> Tensor:
        return Tensor(out, (self,), lambda g: (g * slope,))

    def exp(self) -> Tensor:
        with np.errstate(over="ignore"):
            e = np.exp(self.data)
        return self._unary(e, e)

    def log(self) -> Tensor:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._unary(np.log(self.data), 1.0 / self.data)

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)
        e = np.exp(-2.0 * np.abs(self.data))
        return self._unary(t, 4.0 * e / (1.0 + e) ** 2)

    def relu(self) -> Tensor:
        x = self.data
        return self._unary(np.maximum(x, 0.0), (x > 0).astype(np.float64))

    def sigmoid(self) -> Tensor:
        x = self.data
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self._unary(s, e / (1.0 + e) ** 2)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes, shape = _axes(axis, self.data.ndim), self.data.shape
        out = self.data.sum(axis=axes, keepdims=keepdims)
        kept = _kept(shape, axes)
        return Tensor(out, (self,), lambda g: (np.broadcast_to(g.reshape(kept), shape),))

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = _axes(axis, self.data.ndim)
        count = math.prod(self.data.shape[a] for a in axes)
        return self.sum(axis, keepdims) / count

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes, x = _axes(axis, self.data.ndim), self.data
        top = x.max(axis=axes, keepdims=True)
        winners = (x == top).astype(np.float64)
        share = winners / winners.sum(axis=axes, keepdims=True)
        out = top if keepdims else top.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        return Tensor(out, (self,), lambda g: (share * g.reshape(top.shape),))

    def reshape(self, *shape: Any) -> Tensor:
        new = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        old = self.data.shape
        return Tensor(self.data.reshape(new), (self,), lambda g: (g.reshape(old),))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0])
        perm = tuple(a % self.data.ndim for a in axes) or tuple(reversed(range(self.data.ndim)))
        back = tuple(np.argsort(perm))
        return Tensor(self.data.transpose(perm), (self,), lambda g: (g.transpose(back),))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        shape = self.data.shape

        def vjp(g: np.ndarray) -> tuple[np.ndarray]:
            full = np.zeros(shape)
            np.add.at(full, index, g)
            return (full,)

        return Tensor(self.data[index], (self,), vjp)

    def softmax(self, axis: int = -1) -> Tensor:
        z = self.data - self.data.max(axis=axis, keepdims=True)
        e = np.exp(z)
        s = e / e.sum(axis=axis, keepdims=True)
        return Tensor(s, (self,), lambda g: (s * (g - (g * s).sum(axis=axis, keepdims=True)),))

    def log_softmax(self, axis: int = -1) -> Tensor:
        z = self.data - self.data.max(axis=axis, keepdims=True)
        out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        p = np.exp(out)
        return Tensor(out, (self,), lambda g: (g - p * g.sum(axis=axis, keepdims=True),))

    def backward(self, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) (or the VJP with `grad`) into each leaf's grad."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() needs one element, got shape {self.data.shape}")
            grad = np.ones_like(self.data)
        grad = grad.data if isinstance(grad, Tensor) else grad
        pending = {id(self): np.broadcast_to(np.asarray(grad, np.float64), self.data.shape)}
        for node in _topo(self):
            g = pending.pop(id(node))
            if not node._prev:
                node.grad = np.array(g) if node.grad is None else node.grad + g
                continue
            for parent, pg in zip(node._prev, node._vjp(g), strict=True):
                key = id(parent)
                pending[key] = pending[key] + pg if key in pending else pg


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _div_rule(g: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return g / y, -g * (x / y) / y


def _binary(a: Any, b: Any, f: Callable, rule: Callable) -> Tensor:
    """`f(a, b)` broadcast; `rule(g, a, b)` gives the unreduced gradients of a and b."""
    a, b = _tensor(a), _tensor(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = f(a.data, b.data)

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            ga, gb = rule(g, a.data, b.data)
        return _unbroadcast(ga, a.data.shape), _unbroadcast(gb, b.data.shape)

    return Tensor(out, (a, b), vjp)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """`a @ b` for 1-D, 2-D and batched operands (1-D ones promoted as NumPy does)."""
    x = a.data[None, :] if a.data.ndim == 1 else a.data
    y = b.data[:, None] if b.data.ndim == 1 else b.data

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if b.data.ndim == 1:
            g = g[..., None]
        if a.data.ndim == 1:
            g = g[..., None, :]
        gx = g @ np.swapaxes(y, -1, -2)
        gy = np.swapaxes(x, -1, -2) @ g
        return (
            _unbroadcast(gx, x.shape).reshape(a.data.shape),
            _unbroadcast(gy, y.shape).reshape(b.data.shape),
        )

    return Tensor(a.data @ b.data, (a, b), vjp)


# ----------------------------------------------------------------------------- optim


class _Optimizer:
    """Bookkeeping: parameters, per-parameter state, step count, weight decay, zero_grad."""

    defaults: ClassVar[dict[str, Any]] = {}  # torch.optim's keyword arguments and their defaults
    _decoupled = False  # AdamW: decay the weights themselves instead of adding L2

    def __init__(self, params: list, lr: float | None = None, **hyper: Any) -> None:
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown arguments {sorted(unknown)}")
        self.h = SimpleNamespace(
            **{**self.defaults, **hyper, "lr": self.defaults["lr"] if lr is None else lr}
        )
        self.params = list(params)
        self.state: list[dict] = [{} for _ in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None if isinstance(p, Tensor) else 0.0

    def step(self) -> None:
        self.t += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is None:
                continue
            x, g = p.data, np.asarray(p.grad, dtype=np.float64)
            if self.h.maximize:
                g = -g
            if self._decoupled or getattr(self.h, "decoupled_weight_decay", False):
                x = x * (1 - self.h.lr * self.h.weight_decay)
            else:
                g = g + self.h.weight_decay * x
            new = self._update(x, g, state)
            p.data = new if isinstance(p, Tensor) else float(new)

    def _update(self, x: Any, g: Any, state: dict) -> Any:
        raise NotImplementedError


class SGD(_Optimizer):
    defaults: ClassVar[dict[str, Any]] = dict(
        lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False
    )

    def _update(self, x: Any, g: Any, state: dict) -> Any:
        m = self.h.momentum
        if m != 0:
            buf = g if "buf" not in state else m * state["buf"] + (1 - self.h.dampening) * g
            state["buf"] = buf
            g = g + m * buf if self.h.nesterov else buf
        return x - self.h.lr * g


class Adam(_Optimizer):
    defaults: ClassVar[dict[str, Any]] = dict(
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        maximize=False,
        decoupled_weight_decay=False,
    )

    def _update(self, x: Any, g: Any, state: dict) -> Any:
        (b1, b2), t = self.h.betas, self.t
        m = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        state.update(m=m, v=v)
        c1, c2 = 1 - b1**t, 1 - b2**t
        if self.h.amsgrad:  # the largest v so far, corrected by this step's c2
            v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
        return x - (self.h.lr / c1) * m / (np.sqrt(v) / math.sqrt(c2) + self.h.eps)


class AdamW(Adam):
    defaults: ClassVar[dict[str, Any]] = {
        **{k: v for k, v in Adam.defaults.items() if k != "decoupled_weight_decay"},
        "weight_decay": 1e-2,
    }
    _decoupled = True


class RMSprop(_Optimizer):
    defaults: ClassVar[dict[str, Any]] = dict(
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        maximize=False,
    )

    def _update(self, x: Any, g: Any, state: dict) -> Any:
        a = self.h.alpha
        sq = a * state.get("sq", 0.0) + (1 - a) * g * g
        state["sq"] = sq
        var = sq
        if self.h.centered:  # the variance: minus the squared average gradient
            ga = a * state.get("ga", 0.0) + (1 - a) * g
            state["ga"] = ga
            var = sq - ga * ga
        step = g / (np.sqrt(var) + self.h.eps)
        if self.h.momentum > 0:
            step = self.h.momentum * state.get("buf", 0.0) + step
            state["buf"] = step
        return x - self.h.lr * step


class Adagrad(_Optimizer):
    defaults: ClassVar[dict[str, Any]] = dict(
        lr=1e-2,
        lr_decay=0.0,
        eps=1e-10,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        maximize=False,
    )

    def _update(self, x: Any, g: Any, state: dict) -> Any:
        total = state.get("sum", self.h.initial_accumulator_value) + g * g
        state["sum"] = total
        clr = self.h.lr / (1 + (self.t - 1) * self.h.lr_decay)
        return x - clr * g / (np.sqrt(total) + self.h.eps)


class StepLR:
    """Multiply the learning rate by gamma every step_size epochs (one epoch a step())."""

    def __init__(self, optimizer: _Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.epoch = 0

    def step(self) -> None:
        self.epoch += 1
        if self.epoch % self.step_size == 0:
            self.optimizer.h.lr = self.optimizer.h.lr * self.gamma


class LambdaLR:
    """The learning rate of epoch e is base_lr * lr_lambda(e), from epoch 0 on."""

    def __init__(self, optimizer: _Optimizer, lr_lambda: Any) -> None:
        self.optimizer, self.lr_lambda = optimizer, lr_lambda
        self.base_lr, self.epoch = optimizer.h.lr, 0
        optimizer.h.lr = self.base_lr * lr_lambda(0)

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.h.lr = self.base_lr * self.lr_lambda(self.epoch)


optim = SimpleNamespace(
    SGD=SGD,
    Adam=Adam,
    AdamW=AdamW,
    RMSprop=RMSprop,
    Adagrad=Adagrad,
    StepLR=StepLR,
    LambdaLR=LambdaLR,
)


# -------------------------------------------------------------------------------- nn


class Neuron:
    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: list) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin: int, nout: int, nonlin: bool = True) -> None:
        self.neurons = [Neuron(nin, nonlin) for _ in range(nout)]

    def __call__(self, x: list) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last) for i in range(len(nouts))]

    def __call__(self, x: list) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


# ------------------------------------------------------------- functional (protocol v2)
# Written apart from engine/functional.py: a convolution or pooling loops over the
# kernel's offsets (u, v), each a strided slice of the padded images, instead of im2col.


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _padded(x: np.ndarray, ph: int, pw: int, fill: float) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def _grid(size: tuple[int, ...], k: tuple, s: tuple, p: tuple) -> tuple[int, int]:
    """Output height and width (torch's floor rule)."""
    return (size[2] + 2 * p[0] - k[0]) // s[0] + 1, (size[3] + 2 * p[1] - k[1]) // s[1] + 1


def _offset(u: int, v: int, oh: int, ow: int, s: tuple) -> tuple[slice, slice]:
    """The padded pixels that kernel offset (u, v) meets, one per output position."""
    return slice(u, u + s[0] * (oh - 1) + 1, s[0]), slice(v, v + s[1] * (ow - 1) + 1, s[1])


def _cropped(gp: np.ndarray, ph: int, pw: int, shape: tuple[int, ...]) -> np.ndarray:
    return gp[:, :, ph : ph + shape[2], pw : pw + shape[3]]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    x, weight = _tensor(x), _tensor(weight)
    inputs = (x, weight) if bias is None else (x, weight, _tensor(bias))
    out = x.data @ weight.data.T + (0.0 if bias is None else inputs[2].data)

    def vjp(g: np.ndarray) -> tuple:
        batch = tuple(range(g.ndim - 1))  # x is (*, in): every leading axis is a batch axis
        grads = (g @ weight.data, np.tensordot(g, x.data, axes=(batch, batch)))
        return grads if bias is None else (*grads, g.sum(axis=batch))

    return Tensor(out, inputs, vjp)


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0
) -> Tensor:
    x, weight = _tensor(x), _tensor(weight)
    inputs = (x, weight) if bias is None else (x, weight, _tensor(bias))
    w, (kh, kw) = weight.data, weight.data.shape[2:]
    s, (ph, pw) = _pair(stride), _pair(padding)
    xp = _padded(x.data, ph, pw, 0.0)
    oh, ow = _grid(x.data.shape, (kh, kw), s, (ph, pw))
    out = np.zeros((x.data.shape[0], w.shape[0], oh, ow))
    for u in range(kh):
        for v in range(kw):
            rows, cols = _offset(u, v, oh, ow, s)
            out += np.einsum("ncij,fc->nfij", xp[:, :, rows, cols], w[:, :, u, v])
    if bias is not None:
        out += inputs[2].data[None, :, None, None]

    def vjp(g: np.ndarray) -> tuple:
        gp, gw = np.zeros(xp.shape), np.zeros(w.shape)
        for u in range(kh):
            for v in range(kw):
                rows, cols = _offset(u, v, oh, ow, s)
                gp[:, :, rows, cols] += np.einsum("nfij,fc->ncij", g, w[:, :, u, v])
                gw[:, :, u, v] = np.einsum("nfij,ncij->fc", g, xp[:, :, rows, cols])
        grads = (_cropped(gp, ph, pw, x.data.shape), gw)
        return grads if bias is None else (*grads, g.sum(axis=(0, 2, 3)))

    return Tensor(out, inputs, vjp)


def _pool(x: Tensor, kernel_size: Any, stride: Any, padding: Any, fill: float) -> tuple:
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    oh, ow = _grid(x.data.shape, k, s, p)
    xp = _padded(x.data, p[0], p[1], fill)
    # (kh*kw, N, C, OH, OW): what each kernel offset meets
    parts = np.stack(
        [
            xp[(slice(None), slice(None), *_offset(u, v, oh, ow, s))]
            for u in range(k[0])
            for v in range(k[1])
        ]
    )
    return k, s, p, xp, parts


def _unpool(
    parts_grad: np.ndarray, k: tuple, s: tuple, p: tuple, xp: np.ndarray, shape: tuple
) -> np.ndarray:
    gp = np.zeros(xp.shape)
    oh, ow = parts_grad.shape[-2:]
    for i, (u, v) in enumerate((u, v) for u in range(k[0]) for v in range(k[1])):
        rows, cols = _offset(u, v, oh, ow, s)
        gp[:, :, rows, cols] += parts_grad[i]
    return _cropped(gp, p[0], p[1], shape)


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    x = _tensor(x)
    k, s, p, xp, parts = _pool(x, kernel_size, stride, padding, -np.inf)
    top = parts.max(axis=0)
    winners = (parts == top).astype(np.float64)
    share = winners / winners.sum(axis=0)

    def vjp(g: np.ndarray) -> tuple:
        return (_unpool(share * g, k, s, p, xp, x.data.shape),)

    return Tensor(top, (x,), vjp)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    x = _tensor(x)
    k, s, p, xp, parts = _pool(x, kernel_size, stride, padding, 0.0)
    count = k[0] * k[1]

    def vjp(g: np.ndarray) -> tuple:
        return (_unpool(np.broadcast_to(g / count, parts.shape), k, s, p, xp, x.data.shape),)

    return Tensor(parts.sum(axis=0) / count, (x,), vjp)


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    x = _tensor(x)
    shape = x.data.shape
    out = x.data.reshape(*shape[:start_dim], -1)
    return Tensor(out, (x,), lambda g: (g.reshape(shape),))


def mse_loss(prediction: Tensor, target: Tensor) -> Tensor:
    return ((_tensor(prediction) - target) ** 2).mean()


def hinge_loss(scores: Tensor, labels: Tensor) -> Tensor:
    return (1.0 - _tensor(labels) * scores).relu().mean()


def binary_cross_entropy_with_logits(logits: Tensor, targets: Tensor) -> Tensor:
    z, y = _tensor(logits), _tensor(targets)
    n = z.data.size
    e = np.exp(-np.abs(z.data))
    losses = np.maximum(z.data, 0.0) - z.data * y.data + np.log1p(e)
    sigmoid = np.where(z.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return Tensor(losses.sum() / n, (z, y), lambda g: (g * (sigmoid - y.data) / n, -g * z.data / n))


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    z, labels = _tensor(logits), np.asarray(labels)
    n = z.data.shape[0]
    shifted = z.data - z.data.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    one_hot = np.zeros(z.data.shape)
    one_hot[np.arange(n), labels] = 1.0
    return Tensor(
        -log_p[np.arange(n), labels].sum() / n,
        (z,),
        lambda g: (g * (np.exp(log_p) - one_hot) / n,),
    )


functional = SimpleNamespace(
    linear=linear,
    conv2d=conv2d,
    max_pool2d=max_pool2d,
    avg_pool2d=avg_pool2d,
    flatten=flatten,
    mse_loss=mse_loss,
    cross_entropy=cross_entropy,
    binary_cross_entropy_with_logits=binary_cross_entropy_with_logits,
    hinge_loss=hinge_loss,
)


# ------------------------------------------------------------ nn layers (protocol v2)


def _uniform(bound: float, shape: tuple[int, ...]) -> Tensor:
    return Tensor(np.random.default_rng(0).uniform(-bound, bound, shape))


class Linear:
    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        bound = in_features**-0.5
        self.weight = _uniform(bound, (out_features, in_features))
        self.bias = _uniform(bound, (out_features,)) if bias else None

    def __call__(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]


class Conv2d:
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        bias: bool = True,
    ) -> None:
        kh, kw = _pair(kernel_size)
        bound = (in_channels * kh * kw) ** -0.5
        self.weight = _uniform(bound, (out_channels, in_channels, kh, kw))
        self.bias = _uniform(bound, (out_channels,)) if bias else None
        self.stride, self.padding = stride, padding

    def __call__(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]


class _Stateless:
    def parameters(self) -> list[Tensor]:
        return []


class MaxPool2d(_Stateless):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def __call__(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(MaxPool2d):
    def __call__(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(_Stateless):
    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = start_dim

    def __call__(self, x: Tensor) -> Tensor:
        return flatten(x, self.start_dim)


class ReLU(_Stateless):
    def __call__(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(_Stateless):
    def __call__(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(_Stateless):
    def __call__(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Sequential:
    def __init__(self, *layers: Any) -> None:
        self.layers = list(layers)

    def __call__(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]


nn = SimpleNamespace(
    Neuron=Neuron,
    Layer=Layer,
    MLP=MLP,
    Linear=Linear,
    Conv2d=Conv2d,
    MaxPool2d=MaxPool2d,
    AvgPool2d=AvgPool2d,
    Flatten=Flatten,
    ReLU=ReLU,
    Tanh=Tanh,
    Sigmoid=Sigmoid,
    Sequential=Sequential,
)
