"""A correct micrograd-style engine whose topological order comes from iterating sets.

``_prev = set(_children)`` as in micrograd itself, and an iterative depth-first sort that
walks those sets. Sets of `Value`s iterate in an order that depends on memory
addresses, so the topological order, hence the order in which contributions are summed
at a node with three or more consumers, changes between runs: gradients may differ in
the last bits from run to run. Everything else follows the spec: interior gradients
are reset at the start of each pass, leaves accumulate, plain numbers work on both
sides, relu'(0) = 0, x**0 has derivative 0, sigmoid is computed stably.

Intended defects: none. ``defects = []`` in MANIFEST.toml. A failure the suite reports
here is a false alarm (for instance a snippet whose last digits differ from the report
because the order changed, unless the report says the target is not deterministic).
"""

import math
import random


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def _lift(self, other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = self._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._lift(other)
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.data / other.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, p):
        if isinstance(p, Value):
            return self._pow_value(p)
        if self.data < 0 and not float(p).is_integer():
            value = math.nan
        elif self.data == 0 and p < 0:
            value = math.inf
        else:
            value = self.data**p
        out = Value(value, (self,), f"**{p}")

        def _backward():
            if p == 0:
                return
            if math.isnan(value):
                self.grad += math.nan
            elif self.data == 0 and p < 1:
                self.grad += math.inf * out.grad
            else:
                self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def _pow_value(self, p):
        out = Value(self.data**p.data, (self, p), "**")

        def _backward():
            self.grad += p.data * self.data ** (p.data - 1) * out.grad
            p.grad += out.data * math.log(self.data) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base):
        out = Value(base**self.data, (self,), "rpow")

        def _backward():
            self.grad += out.data * math.log(base) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._lift(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            if self.data > 0:
                self.grad += out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()
        stack = [(self, iter(self._prev))]
        visited.add(self)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                topo.append(node)
            elif child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
        for node in topo:
            if node._prev:
                node.grad = 0
        self.grad = 1 if self._prev else self.grad + 1
        for node in reversed(topo):
            node._backward()


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
        return self.w + [self.b]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [
            [Neuron(sizes[i], nonlin=i < len(nouts) - 1) for _ in range(sizes[i + 1])]
            for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0


class nn:
    Neuron = Neuron
    MLP = MLP
