"""A scalar engine whose backward pushes gradients down every path, recursively.

No topological sort at all: each node stores its parents with the local derivatives
(computed in the forward pass), and ``backward(g)`` adds g to its own ``.grad`` and calls
``parent.backward(g * local)`` on each parent. The numbers are right (the gradient is
the sum over paths), but the work is the number of paths, not of nodes, and the
recursion is as deep as the graph.

Intended defects (``E`` is this module, ``functools`` imported):

1. exponential-paths (`Value.backward`): on a ladder of diamonds ``y = y + y`` (or
   ``y * y``, or any reuse of a node by two operands) the number of paths doubles per
   rung, so 30 rungs take 2**30 calls (minutes), where a node-wise backward takes
   microseconds.
   ``x = E.Value(1.0); y = functools.reduce(lambda v, _: v + v, range(24), x);
   y.backward(); print(x.grad)`` prints 16777216.0 after 2**25 calls, about 4 s here
   (each further rung doubles it: 28 rungs take over a minute); the truth is
   16777216.0, which a node-wise backward gives in microseconds.
2. recursion-depth (`Value.backward`): one Python frame per node along a path, so a
   chain about 1000 nodes deep raises RecursionError.
   ``x = E.Value(0.5); y = functools.reduce(lambda v, _: v * 1.0, range(5000), x);
   y.backward()`` raises RecursionError; the truth is ``x.grad == 1.0``.
"""

import math


class Value:
    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents  # [(parent, d self / d parent), ...]

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def backward(self, g=1.0):
        self.grad += g
        for parent, local in self.parents:
            parent.backward(g * local)

    @staticmethod
    def v(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        o = Value.v(o)
        return Value(self.data + o.data, [(self, 1.0), (o, 1.0)])

    def __radd__(self, o):
        return self + o

    def __sub__(self, o):
        o = Value.v(o)
        return Value(self.data - o.data, [(self, 1.0), (o, -1.0)])

    def __rsub__(self, o):
        return Value.v(o) - self

    def __mul__(self, o):
        o = Value.v(o)
        return Value(self.data * o.data, [(self, o.data), (o, self.data)])

    def __rmul__(self, o):
        return self * o

    def __truediv__(self, o):
        o = Value.v(o)
        q = self.data / o.data
        return Value(q, [(self, 1.0 / o.data), (o, -q / o.data)])

    def __rtruediv__(self, o):
        return Value.v(o) / self

    def __neg__(self):
        return Value(-self.data, [(self, -1.0)])

    def __pow__(self, p):
        d = 0.0 if p == 0 else p * self.data ** (p - 1)
        return Value(self.data**p, [(self, d)])

    def relu(self):
        return Value(max(self.data, 0.0), [(self, 1.0 if self.data > 0 else 0.0)])

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, [(self, 1.0 - t * t)])

    def exp(self):
        e = math.exp(self.data)
        return Value(e, [(self, e)])

    def log(self):
        return Value(math.log(self.data), [(self, 1.0 / self.data)])
