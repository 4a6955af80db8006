"""A scalar engine modelled on PyTorch's conventions rather than micrograd's.

Leaves have ``.grad = None`` until a backward pass reaches them (as torch tensors do);
`backward()` computes adjoints in a dict and accumulates them into leaves only
(``grad = g if grad is None else grad + g``); interior nodes keep no gradient. The
optimizers' and the model's `zero_grad()` set grads back to None (``set_to_none=True``,
torch's default). The author wrote the reflected operators they needed for their own
code and forgot `__rtruediv__`.

Intended defects (``E`` is this module):

1. grad-none-not-zero (`Value.__init__`, `Value.backward`): the spec says a Value's
   ``.grad`` is 0 until a backward pass reaches it, and an input the output does not
   depend on keeps gradient 0; here it is None.
   ``x = E.Value(1.0); y = E.Value(2.0); (x * 3.0).backward(); print(y.grad)`` prints
   None; the truth is 0 (0.0).
2. no-rtruediv (`Value`): ``number / Value`` is not supported.
   ``print((1.0 / E.Value(2.0)).data)`` raises TypeError: unsupported operand type(s);
   the truth is 0.5.
"""

import math
import random
from types import SimpleNamespace


class Value:
    def __init__(self, data, _inputs=(), _vjp=None):
        self.data = float(data)
        self.grad = None
        self._inputs = _inputs
        self._vjp = _vjp

    @property
    def is_leaf(self):
        return not self._inputs

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    @staticmethod
    def _as_value(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value._as_value(other)
        return Value(self.data + other.data, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        other = Value._as_value(other)
        a, b = self.data, other.data
        return Value(a * b, (self, other), lambda g: (g * b, g * a))

    def __sub__(self, other):
        other = Value._as_value(other)
        return Value(self.data - other.data, (self, other), lambda g: (g, -g))

    def __truediv__(self, other):
        other = Value._as_value(other)
        a, b = self.data, other.data
        return Value(a / b, (self, other), lambda g: (g / b, -g * a / b / b))

    def __neg__(self):
        return Value(-self.data, (self,), lambda g: (-g,))

    def __pow__(self, p):
        x = self.data
        return Value(x**p, (self,), lambda g: (g * p * x ** (p - 1) if p != 0 else 0.0,))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value._as_value(other) - self

    def relu(self):
        x = self.data
        return Value(max(x, 0.0), (self,), lambda g: (g if x > 0 else 0.0,))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), lambda g: (g * (1 - t * t),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), lambda g: (g * e,))

    def log(self):
        x = self.data
        return Value(math.log(x), (self,), lambda g: (g / x,))

    def backward(self):
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, ready = stack.pop()
            if ready:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((i, False) for i in node._inputs)
        adjoint = {id(self): 1.0}
        for node in reversed(order):
            g = adjoint.pop(id(node), 0.0)
            if node.is_leaf:
                node.grad = g if node.grad is None else node.grad + g
                continue
            for inp, gi in zip(node._inputs, node._vjp(g)):
                adjoint[id(inp)] = adjoint.get(id(inp), 0.0) + gi


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.gauss(0, nin**-0.5)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.b
        for w, xi in zip(self.w, x):
            act = act + w * xi
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [
            [Neuron(sizes[k], nonlin=k + 1 < len(nouts)) for _ in range(sizes[k + 1])]
            for k in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None


class SGD:
    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.momentum = lr, momentum
        self.nesterov, self.weight_decay = nesterov, weight_decay
        self.buffers = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data
            if self.momentum:
                buf = g if self.buffers[i] is None else self.momentum * self.buffers[i] + g
                self.buffers[i] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g


nn = SimpleNamespace(Neuron=Neuron, MLP=MLP)
optim = SimpleNamespace(SGD=SGD)
