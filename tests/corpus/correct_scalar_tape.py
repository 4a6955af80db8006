"""A correct scalar engine in an unusual style: no closures at all.

Every operation computes its local partial derivatives during the forward pass and
stores them next to its parents as ``(parent, partial)`` pairs; `backward()` orders the
graph with an explicit stack (no recursion), keeps the adjoints of the pass in a
dictionary of its own (so nothing left over from an earlier pass is propagated again)
and only then adds them to ``.grad``. `Value` uses ``__slots__``. `nn.MLP` and the five
optimizers of torch (every argument of the spec, ``maximize`` ... included) and the two
schedules are written for `Value` parameters.

Intended defects: none. ``defects = []`` in MANIFEST.toml: every failure the suite
reports on this engine is a false alarm.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

__all__ = ["Value", "nn", "optim"]


def _power(x: float, p: float) -> float:
    """x ** p in real arithmetic: inf at a pole, nan where not real (never complex)."""
    if x == 0.0 and p < 0:
        return math.inf
    if x < 0 and not float(p).is_integer():
        return math.nan
    try:
        return math.pow(x, p)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


class Value:
    __slots__ = ("data", "grad", "op", "parents")

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0
        self.parents = parents  # ((node, d self / d node), ...)
        self.op = op

    def __repr__(self):
        return f"Value({self.data!r}, grad={self.grad!r})"

    # -- arithmetic ---------------------------------------------------------------
    @staticmethod
    def lift(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value.lift(other)
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

    __radd__ = __add__

    def __mul__(self, other):
        other = Value.lift(other)
        return Value(self.data * other.data, ((self, other.data), (other, self.data)), "*")

    __rmul__ = __mul__

    def __neg__(self):
        return Value(-self.data, ((self, -1.0),), "neg")

    def __sub__(self, other):
        other = Value.lift(other)
        return Value(self.data - other.data, ((self, 1.0), (other, -1.0)), "-")

    def __rsub__(self, other):
        return Value.lift(other) - self

    def __truediv__(self, other):
        other = Value.lift(other)
        q = self.data / other.data
        return Value(q, ((self, 1.0 / other.data), (other, -(q / other.data))), "/")

    def __rtruediv__(self, other):
        return Value.lift(other) / self

    def __pow__(self, other):
        if isinstance(other, Value):
            z = _power(self.data, other.data)
            dx = other.data * _power(self.data, other.data - 1) if other.data != 0 else 0.0
            dy = z * _log(self.data) if z != 0 else 0.0
            return Value(z, ((self, dx), (other, dy)), "**")
        p = other
        z = _power(self.data, p)
        slope = 0.0 if p == 0 else p * _power(self.data, p - 1)
        return Value(z, ((self, slope),), f"**{p}")

    def __rpow__(self, base):
        z = _power(base, self.data)
        return Value(z, ((self, z * _log(base) if z != 0 else 0.0),), "rpow")

    # -- functions ---------------------------------------------------------------
    def relu(self):
        on = self.data > 0
        return Value(self.data if on else 0.0, ((self, 1.0 if on else 0.0),), "relu")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, ((self, 1.0 - t * t),), "tanh")

    def exp(self):
        try:
            e = math.exp(self.data)
        except OverflowError:
            e = math.inf
        return Value(e, ((self, e),), "exp")

    def log(self):
        x = self.data
        return Value(_log(x), ((self, 1.0 / x if x != 0 else math.inf),), "log")

    def sigmoid(self):
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return Value(s, ((self, s * (1.0 - s)),), "sigmoid")

    # -- reverse mode ------------------------------------------------------------
    def _order(self):
        """Nodes with every node after all of its parents (explicit stack)."""
        order, state, stack = [], {}, [self]
        while stack:
            node = stack[-1]
            key = id(node)
            if key not in state:
                state[key] = False
                for parent, _ in node.parents:
                    if id(parent) not in state:
                        stack.append(parent)
            else:
                stack.pop()
                if state[key] is False:
                    state[key] = True
                    order.append(node)
        return order

    def backward(self):
        order = self._order()
        adjoint = {id(self): 1.0}
        for node in reversed(order):
            a = adjoint.get(id(node), 0.0)
            for parent, partial in node.parents:
                adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + partial * a
        for node in order:
            node.grad = node.grad + adjoint.get(id(node), 0.0)


# -- nn ------------------------------------------------------------------------------


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def parameters(self):
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
            if not isinstance(x, list):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0


nn = SimpleNamespace(Neuron=Neuron, Layer=Layer, MLP=MLP)


# -- optim ---------------------------------------------------------------------------


class _Optimizer:
    def __init__(self, params, lr, maximize=False, weight_decay=0.0):
        self.params = list(params)
        self.lr = lr
        self.maximize = maximize
        self.weight_decay = weight_decay
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = 0

    def _gradient(self, p):
        g = -p.grad if self.maximize else p.grad
        return g + self.weight_decay * p.data if self.weight_decay else g

    def step(self):
        for p, s in zip(self.params, self.state):
            p.data = self._update(p, s)


class SGD(_Optimizer):
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, lr, maximize, weight_decay)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def _update(self, p, s):
        g = self._gradient(p)
        if self.momentum:
            buf = g if "buf" not in s else self.momentum * s["buf"] + (1 - self.dampening) * g
            s["buf"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return p.data - self.lr * g


class Adam(_Optimizer):
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, maximize, 0.0 if self.decoupled else weight_decay)
        self.decay = weight_decay
        self.betas, self.eps, self.amsgrad = betas, eps, amsgrad

    def _update(self, p, s):
        b1, b2 = self.betas
        x = p.data
        if self.decoupled:
            x = x * (1 - self.lr * self.decay)
        g = self._gradient(p)
        t = s["t"] = s.get("t", 0) + 1
        m = s["m"] = s.get("m", 0.0) + (1 - b1) * (g - s.get("m", 0.0))
        v = s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        if self.amsgrad:
            v = s["vmax"] = max(s.get("vmax", 0.0), v)
        denom = math.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
        return x - (self.lr / (1 - b1**t)) * m / denom


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(_Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, lr, maximize, weight_decay)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered

    def _update(self, p, s):
        a = self.alpha
        g = self._gradient(p)
        sq = s["sq"] = a * s.get("sq", 0.0) + (1 - a) * g * g
        if self.centered:
            mean = s["mean"] = s.get("mean", 0.0) + (1 - a) * (g - s.get("mean", 0.0))
            avg = math.sqrt(sq - mean * mean) + self.eps
        else:
            avg = math.sqrt(sq) + self.eps
        if self.momentum > 0:
            buf = s["buf"] = self.momentum * s.get("buf", 0.0) + g / avg
            return p.data - self.lr * buf
        return p.data - self.lr * g / avg


class Adagrad(_Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        super().__init__(params, lr, maximize, weight_decay)
        self.lr_decay, self.eps = lr_decay, eps
        for s in self.state:
            s["sum"] = initial_accumulator_value
            s["t"] = 0

    def _update(self, p, s):
        g = self._gradient(p)
        s["t"] += 1
        clr = self.lr / (1 + (s["t"] - 1) * self.lr_decay)
        s["sum"] = s["sum"] + g * g
        return p.data - clr * g / (math.sqrt(s["sum"]) + self.eps)


class StepLR:
    def __init__(self, optimizer, step_size, gamma=0.1):
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self):
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.epoch // self.step_size)


class LambdaLR:
    def __init__(self, optimizer, lr_lambda):
        self.optimizer, self.lr_lambda = optimizer, lr_lambda
        self.base_lr, self.epoch = optimizer.lr, 0
        optimizer.lr = self.base_lr * lr_lambda(0)

    def step(self):
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.lr_lambda(self.epoch)


optim = SimpleNamespace(
    SGD=SGD, Adam=Adam, AdamW=AdamW, RMSprop=RMSprop, Adagrad=Adagrad,
    StepLR=StepLR, LambdaLR=LambdaLR,
)
