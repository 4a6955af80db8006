"""A scalar engine whose operators only take `Value`s (no plain-number operands).

Written from the lecture's first draft, before ``other = other if isinstance(other,
Value) else Value(other)`` was added: every binary operator reads ``other.data``, and
there are no reflected operators. The author also "fixed" stale gradients by zeroing
every node of the graph, leaves included, at the start of `backward()`, and wrote the
quotient rule from memory. Backward is a loop over an explicit topological order.

Intended defects (``E`` is this module):

1. no-plain-numbers (`__add__`, `__mul__`, `__sub__`, `__truediv__`; no `__radd__`,
   `__rmul__`, `__rsub__`, `__rtruediv__`): the spec asks for a `Value` or a plain
   number on either side.
   ``print((E.Value(2.0) * 3.0).data)`` raises AttributeError: 'float' object has no
   attribute 'data'; the truth is 6.0 (and ``3.0 * E.Value(2.0)`` raises TypeError).
2. backward-zeroes-leaves (`Value.backward`): every node's grad, leaves included, is
   set to 0 before the pass, so gradients never accumulate: a second `backward()` gives
   the same gradients instead of twice them, and `f.backward(); g.backward()` keeps only
   dg.
   ``x = E.Value(3.0); y = x * x; y.backward(); y.backward(); print(x.grad)`` prints 6.0;
   the truth is 12.0.
3. div-missing-square (`Value.__truediv__`): d(a/b)/db is written ``-a / b`` instead of
   ``-a / b**2``.
   ``a = E.Value(1.0); b = E.Value(2.0); (a / b).backward(); print(b.grad)`` prints
   -0.5; the truth is -0.25.
"""

import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = list(_children)
        self._op = _op

    def __repr__(self):
        return f"Value({self.data})"

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __pow__(self, n):
        out = Value(self.data**n, (self,), "pow")

        def _backward():
            if n != 0:
                self.grad += n * self.data ** (n - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def _topo(self):
        order, seen, todo = [], set(), [(self, 0)]
        while todo:
            node, i = todo.pop()
            if i == 0:
                if id(node) in seen:
                    continue
                seen.add(id(node))
            if i < len(node._prev):
                todo.append((node, i + 1))
                todo.append((node._prev[i], 0))
            else:
                order.append(node)
        return order

    def backward(self):
        order = self._topo()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
