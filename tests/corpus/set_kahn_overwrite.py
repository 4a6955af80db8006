"""A scalar engine whose backward order comes from popping a `set`.

Children are kept as ``set(_children)`` (as in many micrograd copies) and `backward()`
runs Kahn's algorithm: a node is ready once every node that consumes it has run, and the
next node is ``ready.pop()`` from a set of `Value`s. Those hash by identity (their memory
address), so the order among ready nodes changes from run to run. With correct closures
that only moves the last bits of a sum; this engine's multiplication also overwrites
instead of adding, so its gradients change substantially from run to run.

Intended defects (``E`` is this module):

1. mul-overwrites-right-operand (`Value.__mul__`): the closure assigns
   ``other.grad = self.data * out.grad`` instead of adding, which throws away whatever
   reached the right operand before (another path, or an earlier backward pass). What
   survives depends on the order `ready.pop()` gives, hence on memory addresses.
   ``a = E.Value(2.0); b = E.Value(3.0); out = a * b + b; out.backward(); print(b.grad)``
   prints 2.0; the truth is 3.0. With ``m = a * b; s = b + 1.0; out = m + s`` the result
   is 3.0 or 2.0 depending on the run. A second `backward()` does not double ``b.grad``.
Not a defect by itself (not in the manifest's defects): the order in which gradients are
summed at a node with several consumers varies between runs; a correct engine built this
way differs only in the last bits (see set_dfs_correct.py). Here it makes the defect
above show or hide depending on the run, and a report's snippet may print either.
"""

import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    @staticmethod
    def _wrap(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value._wrap(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value._wrap(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, p):
        assert isinstance(p, (int, float))
        out = Value(self.data**p, (self,), "**")

        def _backward():
            if p != 0:
                self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        return self + (-Value._wrap(other))

    def __rsub__(self, other):
        return Value._wrap(other) + (-self)

    def __truediv__(self, other):
        return self * Value._wrap(other) ** -1

    def __rtruediv__(self, other):
        return Value._wrap(other) * self**-1

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        # how many consumers each node has, within the graph of self
        consumers = {self: 0}
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node._prev:
                if child not in consumers:
                    consumers[child] = 0
                    stack.append(child)
                consumers[child] += 1
        for node in consumers:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0
        ready = {self}
        while ready:
            node = ready.pop()
            node._backward()
            for child in node._prev:
                consumers[child] -= 1
                if consumers[child] == 0:
                    ready.add(child)
