"""A correct NumPy tensor engine in the style of torch.autograd.Function.

Each operation is a `Function` subclass with a `forward` on arrays and a `backward` that
returns one gradient per input; `Function.apply` wires the result into the graph. A
tensor's ``.grad`` is ``None`` until a backward pass reaches it. `backward()` sorts the
graph with an explicit stack of iterators (no recursion) and keeps the adjoints of the
pass in a dictionary, adding them to ``.grad`` at the end. `optim` holds the five
optimizers of torch for `Tensor` parameters, each with every argument of the spec.

Intended defects: none. ``defects = []`` in MANIFEST.toml: every failure the suite
reports on this engine is a false alarm.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

__all__ = ["Tensor", "optim"]


def _array(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast gradient back to `shape`."""
    g = np.asarray(g, dtype=np.float64)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if kept:
        g = g.sum(axis=kept, keepdims=True)
    return g.reshape(shape)


def _axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


class Function:
    def __init__(self):
        self.inputs: tuple = ()
        self.saved: dict = {}

    @classmethod
    def apply(cls, *inputs, **options):
        fn = cls()
        fn.inputs = tuple(Tensor.lift(x) for x in inputs)
        with np.errstate(all="ignore"):
            data = fn.forward(*(t.data for t in fn.inputs), **options)
        out = Tensor(data)
        out.creator = fn
        return out

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, g):
        raise NotImplementedError


class Add(Function):
    def forward(self, a, b):
        self.saved = {"sa": a.shape, "sb": b.shape}
        return a + b

    def backward(self, g):
        return _unbroadcast(g, self.saved["sa"]), _unbroadcast(g, self.saved["sb"])


class Sub(Function):
    def forward(self, a, b):
        self.saved = {"sa": a.shape, "sb": b.shape}
        return a - b

    def backward(self, g):
        return _unbroadcast(g, self.saved["sa"]), _unbroadcast(-g, self.saved["sb"])


class Mul(Function):
    def forward(self, a, b):
        self.saved = {"a": a, "b": b}
        return a * b

    def backward(self, g):
        a, b = self.saved["a"], self.saved["b"]
        return _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)


class Div(Function):
    def forward(self, a, b):
        q = a / b
        self.saved = {"a": a, "b": b, "q": q}
        return q

    def backward(self, g):
        a, b, q = self.saved["a"], self.saved["b"], self.saved["q"]
        return _unbroadcast(g / b, a.shape), _unbroadcast(-g * q / b, b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """x ** y, both tensors (a number is lifted to a constant tensor)."""

    def forward(self, x, y):
        z = np.power(x, y)
        self.saved = {"x": x, "y": y, "z": z}
        return z

    def backward(self, g):
        x, y, z = self.saved["x"], self.saved["y"], self.saved["z"]
        dx = np.where(y == 0, 0.0, y * np.power(x, y - 1))
        dy = np.where(z == 0, 0.0, z * np.log(np.where(x > 0, x, np.nan)))
        return _unbroadcast(g * dx, x.shape), _unbroadcast(g * dy, y.shape)


class Exp(Function):
    def forward(self, a):
        self.saved = {"e": np.exp(a)}
        return self.saved["e"]

    def backward(self, g):
        return (g * self.saved["e"],)


class Log(Function):
    def forward(self, a):
        self.saved = {"a": a}
        return np.log(a)

    def backward(self, g):
        return (g / self.saved["a"],)


class Tanh(Function):
    def forward(self, a):
        self.saved = {"t": np.tanh(a)}
        return self.saved["t"]

    def backward(self, g):
        t = self.saved["t"]
        return (g * (1.0 - t * t),)


class Sigmoid(Function):
    def forward(self, a):
        e = np.exp(-np.abs(a))
        s = np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self.saved = {"s": s}
        return s

    def backward(self, g):
        s = self.saved["s"]
        return (g * s * (1.0 - s),)


class Relu(Function):
    def forward(self, a):
        self.saved = {"on": a > 0}
        return np.where(a > 0, a, 0.0)

    def backward(self, g):
        return (np.where(self.saved["on"], g, 0.0),)


class MatMul(Function):
    def forward(self, a, b):
        self.saved = {"a": a, "b": b}
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.saved["a"], self.saved["b"]
        g = np.asarray(g)
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        ga = np.matmul(g, np.swapaxes(b2, -1, -2))
        gb = np.matmul(np.swapaxes(a2, -1, -2), g)
        if a.ndim == 1:
            ga = ga[..., 0, :]
        if b.ndim == 1:
            gb = gb[..., :, 0]
        return _unbroadcast(ga, a.shape), _unbroadcast(gb, b.shape)


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.saved = {"shape": a.shape, "axes": _axes(axis, a.ndim), "keep": keepdims}
        return np.sum(a, axis=axis, keepdims=keepdims)

    def _spread(self, g):
        shape, axes = self.saved["shape"], self.saved["axes"]
        if not self.saved["keep"]:
            g = np.expand_dims(g, axes)
        return np.broadcast_to(g, shape)

    def backward(self, g):
        return (np.array(self._spread(g)),)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        total = super().forward(a, axis, keepdims)
        count = math.prod(a.shape[i] for i in self.saved["axes"])
        self.saved["count"] = count
        return total / count

    def backward(self, g):
        return (np.array(self._spread(g)) / self.saved["count"],)


class Max(Sum):
    def forward(self, a, axis=None, keepdims=False):
        super().forward(a, axis, keepdims)
        m = np.max(a, axis=axis, keepdims=True)
        winners = (a == m).astype(np.float64)
        self.saved["share"] = winners / winners.sum(axis=self.saved["axes"], keepdims=True)
        return m if keepdims else np.max(a, axis=axis)

    def backward(self, g):
        return (np.array(self._spread(g)) * self.saved["share"],)


class Reshape(Function):
    def forward(self, a, shape=()):
        self.saved = {"shape": a.shape}
        return np.reshape(a, shape)

    def backward(self, g):
        return (np.reshape(g, self.saved["shape"]),)


class Transpose(Function):
    def forward(self, a, axes=None):
        axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
        self.saved = {"inverse": tuple(np.argsort(axes))}
        return np.transpose(a, axes)

    def backward(self, g):
        return (np.transpose(g, self.saved["inverse"]),)


class Index(Function):
    def forward(self, a, index=None):
        self.saved = {"shape": a.shape, "index": index}
        return np.array(a[index])

    def backward(self, g):
        full = np.zeros(self.saved["shape"])
        np.add.at(full, self.saved["index"], g)
        return (full,)


class Softmax(Function):
    def forward(self, a, axis=-1):
        shifted = a - np.max(a, axis=axis, keepdims=True)
        e = np.exp(shifted)
        s = e / np.sum(e, axis=axis, keepdims=True)
        self.saved = {"s": s, "axis": axis}
        return s

    def backward(self, g):
        s, axis = self.saved["s"], self.saved["axis"]
        return (s * (g - np.sum(g * s, axis=axis, keepdims=True)),)


class LogSoftmax(Function):
    def forward(self, a, axis=-1):
        shifted = a - np.max(a, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        self.saved = {"p": np.exp(out), "axis": axis}
        return out

    def backward(self, g):
        p, axis = self.saved["p"], self.saved["axis"]
        return (g - p * np.sum(g, axis=axis, keepdims=True),)


class Tensor:
    __array_ufunc__ = None  # ndarray (op) Tensor calls the Tensor's reflected operator

    def __init__(self, data):
        self.data = _array(data.data if isinstance(data, Tensor) else data)
        self.grad = None
        self.creator = None

    @staticmethod
    def lift(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    @property
    def shape(self):
        return self.data.shape

    def __repr__(self):
        return f"Tensor({self.data!r})"

    def __add__(self, o):
        return Add.apply(self, o)

    def __radd__(self, o):
        return Add.apply(o, self)

    def __sub__(self, o):
        return Sub.apply(self, o)

    def __rsub__(self, o):
        return Sub.apply(o, self)

    def __mul__(self, o):
        return Mul.apply(self, o)

    def __rmul__(self, o):
        return Mul.apply(o, self)

    def __truediv__(self, o):
        return Div.apply(self, o)

    def __rtruediv__(self, o):
        return Div.apply(o, self)

    def __neg__(self):
        return Neg.apply(self)

    def __pow__(self, o):
        return Pow.apply(self, o)

    def __rpow__(self, o):
        return Pow.apply(o, self)

    def __matmul__(self, o):
        return MatMul.apply(self, o)

    def __rmatmul__(self, o):
        return MatMul.apply(o, self)

    def __getitem__(self, index):
        return Index.apply(self, index=index)

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def relu(self):
        return Relu.apply(self)

    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose.apply(self, axes=axes or None)

    @property
    def T(self):
        return self.transpose()

    def softmax(self, axis=-1):
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return LogSoftmax.apply(self, axis=axis)

    def _graph(self):
        """Every tensor this one depends on, each after all of its inputs."""
        order, seen = [], {id(self)}
        stack = [(self, iter(self.creator.inputs if self.creator else ()))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.creator.inputs if parent.creator else ())))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self):
        if self.data.size != 1:
            raise RuntimeError("backward() needs a tensor with one element")
        order = self._graph()
        adjoints = {id(self): np.ones_like(self.data)}
        for node in reversed(order):
            g = adjoints.get(id(node))
            if g is None or node.creator is None:
                continue
            with np.errstate(all="ignore"):
                parts = node.creator.backward(g)
            for parent, part in zip(node.creator.inputs, parts):
                key = id(parent)
                adjoints[key] = part if key not in adjoints else adjoints[key] + part
        for node in order:
            g = adjoints.get(id(node))
            if g is not None:
                g = np.array(g, dtype=np.float64).reshape(node.data.shape)
                node.grad = g if node.grad is None else node.grad + g


# -- optim ---------------------------------------------------------------------------


class _Optimizer:
    def __init__(self, params, lr, weight_decay=0.0, maximize=False):
        self.params = list(params)
        self.lr, self.weight_decay, self.maximize = lr, weight_decay, maximize
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = -p.grad if self.maximize else np.array(p.grad, dtype=np.float64)
            if self.weight_decay and not getattr(self, "decoupled", False):
                g = g + self.weight_decay * p.data
            p.data = self.update(p.data, g, state)


class SGD(_Optimizer):
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, lr, weight_decay, maximize)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def update(self, p, g, state):
        if self.momentum != 0:
            if "buf" in state:
                state["buf"] = self.momentum * state["buf"] + (1 - self.dampening) * g
            else:
                state["buf"] = g.copy()
            g = g + self.momentum * state["buf"] if self.nesterov else state["buf"]
        return p - self.lr * g


class Adam(_Optimizer):
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, weight_decay, maximize)
        self.beta1, self.beta2 = betas
        self.eps, self.amsgrad = eps, amsgrad

    def update(self, p, g, state):
        if self.decoupled:
            p = p * (1 - self.lr * self.weight_decay)
        t = state["t"] = state.get("t", 0) + 1
        m = state.get("m", np.zeros_like(p))
        v = state.get("v", np.zeros_like(p))
        m = state["m"] = m + (1 - self.beta1) * (g - m)
        v = state["v"] = self.beta2 * v + (1 - self.beta2) * g * g
        if self.amsgrad:
            v = state["vmax"] = np.maximum(state.get("vmax", v), v)
        denom = np.sqrt(v) / math.sqrt(1 - self.beta2**t) + self.eps
        return p - (self.lr / (1 - self.beta1**t)) * m / denom


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(_Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, lr, weight_decay, maximize)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered

    def update(self, p, g, state):
        a = self.alpha
        sq = state["sq"] = a * state.get("sq", np.zeros_like(p)) + (1 - a) * g * g
        if self.centered:
            avg_g = state.get("avg", np.zeros_like(p))
            avg_g = state["avg"] = avg_g + (1 - a) * (g - avg_g)
            denom = np.sqrt(sq - avg_g * avg_g) + self.eps
        else:
            denom = np.sqrt(sq) + self.eps
        if self.momentum > 0:
            buf = state["buf"] = self.momentum * state.get("buf", np.zeros_like(p)) + g / denom
            return p - self.lr * buf
        return p - self.lr * g / denom


class Adagrad(_Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        super().__init__(params, lr, weight_decay, maximize)
        self.lr_decay, self.eps = lr_decay, eps
        for p, state in zip(self.params, self.state):
            state["sum"] = np.full_like(p.data, initial_accumulator_value)
            state["t"] = 0

    def update(self, p, g, state):
        state["t"] += 1
        clr = self.lr / (1 + (state["t"] - 1) * self.lr_decay)
        state["sum"] = state["sum"] + g * g
        return p - clr * g / (np.sqrt(state["sum"]) + self.eps)


optim = SimpleNamespace(SGD=SGD, Adam=Adam, AdamW=AdamW, RMSprop=RMSprop, Adagrad=Adagrad)
