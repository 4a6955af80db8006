"""A scalar engine with one `_local_backward` method dispatching on the op name.

No closures: each node remembers its op as a string and its operands; the chain rule
for every op lives in one if/elif ladder. The topological sort is the recursive one of
the lecture, and tanh's derivative was written from the input instead of the output.

Intended defects (``E`` is this module):

1. recursive-topo-sort (`Value.backward`, inner `build`): the depth-first sort recurses
   once per node along the longest path, so a graph about 1000 nodes deep raises
   RecursionError.
   ``x = E.Value(0.5); y = x`` then ``for _ in range(5000): y = y * 1.0`` then
   ``y.backward()`` raises RecursionError; the truth is ``x.grad == 1.0``.
2. tanh-derivative-from-input (`Value._local_backward`, op "tanh"): uses
   ``1 - x**2`` (x the input) instead of ``1 - tanh(x)**2``.
   ``x = E.Value(0.5); x.tanh().backward(); print(x.grad)`` prints 0.75; the truth is
   0.7864477329659274.
"""

import math
import random


class Value:
    def __init__(self, data, args=(), op="leaf", const=None):
        self.data = float(data)
        self.grad = 0.0
        self.args = args
        self.op = op
        self.const = const

    def __repr__(self):
        return f"Value({self.data:.6g}, op={self.op})"

    @staticmethod
    def of(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        o = Value.of(o)
        return Value(self.data + o.data, (self, o), "add")

    def __mul__(self, o):
        o = Value.of(o)
        return Value(self.data * o.data, (self, o), "mul")

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("exponent must be a number")
        return Value(self.data**k, (self,), "pow", k)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, o):
        return self + (-Value.of(o))

    def __truediv__(self, o):
        return self * Value.of(o) ** -1

    def __radd__(self, o):
        return self + o

    def __rmul__(self, o):
        return self * o

    def __rsub__(self, o):
        return Value.of(o) - self

    def __rtruediv__(self, o):
        return Value.of(o) / self

    def tanh(self):
        return Value(math.tanh(self.data), (self,), "tanh")

    def exp(self):
        return Value(math.exp(self.data), (self,), "exp")

    def log(self):
        return Value(math.log(self.data), (self,), "log")

    def relu(self):
        return Value(max(0.0, self.data), (self,), "relu")

    def _local_backward(self):
        g = self.grad
        if self.op == "add":
            a, b = self.args
            a.grad += g
            b.grad += g
        elif self.op == "mul":
            a, b = self.args
            a.grad += b.data * g
            b.grad += a.data * g
        elif self.op == "pow":
            (a,) = self.args
            k = self.const
            if k != 0:
                a.grad += k * a.data ** (k - 1) * g
        elif self.op == "tanh":
            (a,) = self.args
            a.grad += (1 - a.data**2) * g
        elif self.op == "exp":
            (a,) = self.args
            a.grad += self.data * g
        elif self.op == "log":
            (a,) = self.args
            a.grad += g / a.data
        elif self.op == "relu":
            (a,) = self.args
            a.grad += g if a.data > 0 else 0.0

    def backward(self):
        topo = []
        visited = set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v.args:
                    build(child)
                topo.append(v)

        build(self)
        for v in topo:
            if v.args:
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            v._local_backward()


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.b
        for w, xi in zip(self.w, x):
            act = act + w * xi
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout, **kw):
        self.neurons = [Neuron(nin, **kw) for _ in range(nout)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + nouts
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class nn:
    Neuron, Layer, MLP = Neuron, Layer, MLP
