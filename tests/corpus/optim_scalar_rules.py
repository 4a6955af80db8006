"""A correct scalar engine with home-made optimizers that drift from torch's rules.

The engine: module-level functions (`add`, `mul`, `power`, ...) build `Value` nodes and
give each a ``vjp`` lambda returning the gradients of its operands; the dunder methods
call them; `backward()` orders the graph with an explicit stack and keeps the adjoints
of the pass in a dict. `optim` has only `SGD` and `Adam`, with the textbook formulas the
author remembered, and without the arguments they never used.

Missing arguments (the spec lets an optimizer refuse an argument: the suite should list
it as missing and verify the configurations the optimizer accepts, not fail):
``SGD(weight_decay=..., nesterov=...)``, ``Adam(weight_decay=...)``; no AdamW, RMSprop,
Adagrad.

Intended defects (``E`` is this module):

1. sgd-momentum-ema (`SGD.step`): the velocity is an exponential moving average,
   ``v = m * v + (1 - m) * g``, where torch keeps ``v = m * v + g`` (and ``v = g`` on
   the first step), so every momentum step is (1 - m) times too short at first.
   ``p = E.Value(1.0); opt = E.optim.SGD([p], lr=0.1, momentum=0.9); p.grad = 1.0;
   opt.step(); print(p.data)`` prints 0.99; the truth is 0.9.
2. adam-no-bias-correction (`Adam.step`): ``p -= lr * m / (sqrt(v) + eps)`` without
   dividing m by ``1 - beta1**t`` and v by ``1 - beta2**t``.
   ``p = E.Value(1.0); opt = E.optim.Adam([p], lr=0.1); p.grad = 1.0; opt.step();
   print(p.data)`` prints 0.6837723339831306; the truth is 0.900000001 (1 - 0.1 / (1 + 1e-8)).
"""

import math
from types import SimpleNamespace


class Value:
    def __init__(self, data, inputs=(), vjp=None):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = inputs
        self.vjp = vjp

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, o):
        return add(self, o)

    def __radd__(self, o):
        return add(o, self)

    def __sub__(self, o):
        return add(self, neg(o))

    def __rsub__(self, o):
        return add(o, neg(self))

    def __mul__(self, o):
        return mul(self, o)

    def __rmul__(self, o):
        return mul(o, self)

    def __truediv__(self, o):
        return div(self, o)

    def __rtruediv__(self, o):
        return div(o, self)

    def __neg__(self):
        return neg(self)

    def __pow__(self, p):
        return power(self, p)

    def relu(self):
        return unary(self, lambda x: x if x > 0 else 0.0, lambda x, y: 1.0 if x > 0 else 0.0)

    def tanh(self):
        return unary(self, math.tanh, lambda x, y: 1.0 - y * y)

    def exp(self):
        return unary(self, math.exp, lambda x, y: y)

    def log(self):
        return unary(self, math.log, lambda x, y: 1.0 / x)

    def backward(self):
        order = _postorder(self)  # every node after its inputs
        adj = {id(self): 1.0}
        for node in reversed(order):
            g = adj.pop(id(node), 0.0)
            node.grad += g
            if node.vjp is not None:
                for inp, gi in zip(node.inputs, node.vjp(g)):
                    adj[id(inp)] = adj.get(id(inp), 0.0) + gi


def _postorder(root):
    out, done, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)
        elif id(node) not in done:
            done.add(id(node))
            stack.append((node, True))
            stack.extend((i, False) for i in node.inputs if id(i) not in done)
    return out


def lift(x):
    return x if isinstance(x, Value) else Value(x)


def add(a, b):
    a, b = lift(a), lift(b)
    return Value(a.data + b.data, (a, b), lambda g: (g, g))


def mul(a, b):
    a, b = lift(a), lift(b)
    return Value(a.data * b.data, (a, b), lambda g: (g * b.data, g * a.data))


def div(a, b):
    a, b = lift(a), lift(b)
    q = a.data / b.data
    return Value(q, (a, b), lambda g: (g / b.data, -g * q / b.data))


def neg(a):
    a = lift(a)
    return Value(-a.data, (a,), lambda g: (-g,))


def power(a, p):
    a = lift(a)
    y = a.data**p
    return Value(y, (a,), lambda g: (0.0 if p == 0 else g * p * a.data ** (p - 1),))


def unary(a, f, df):
    y = f(a.data)
    return Value(y, (a,), lambda g: (g * df(a.data, y),))


class SGD:
    def __init__(self, params, lr=0.01, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.velocity = [0.0] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        for i, p in enumerate(self.params):
            if self.momentum:
                self.velocity[i] = self.momentum * self.velocity[i] + (1 - self.momentum) * p.grad
                p.data -= self.lr * self.velocity[i]
            else:
                p.data -= self.lr * p.grad


class Adam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        for i, p in enumerate(self.params):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * p.grad
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * p.grad**2
            p.data -= self.lr * self.m[i] / (math.sqrt(self.v[i]) + self.eps)


optim = SimpleNamespace(SGD=SGD, Adam=Adam)
