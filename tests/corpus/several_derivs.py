"""A dataclass-based scalar engine with three unrelated slips in its calculus.

`Value` is a ``@dataclass(eq=False)``; every op returns a node whose ``backward_fn`` is a
small nested function taking the node's gradient. The topological sort is iterative
(Kahn-free: a depth-first post-order with an explicit stack over a list of parents),
and interior gradients are recomputed from scratch each pass.

All three slips show up in one property, the random scalar graphs, as well as in the
one-op properties of `log`, `sigmoid` and `sub` with a constant on the left.

Intended defects (``E`` is this module):

1. log-divides-by-output (`Value.log`): the derivative is ``g / log(x)`` (the output)
   instead of ``g / x``.
   ``x = E.Value(2.0); x.log().backward(); print(x.grad)`` prints 1.4426950408889634;
   the truth is 0.5.
2. sigmoid-derivative-of-input (`Value.sigmoid`): ``x * (1 - x)`` with x the input
   instead of ``s * (1 - s)`` with s = sigmoid(x).
   ``x = E.Value(0.5); x.sigmoid().backward(); print(x.grad)`` prints 0.25; the truth is
   0.2350037122015945.
3. rsub-swapped (`Value.__rsub__`): ``c - v`` computes ``v - c`` (``__rsub__`` was
   aliased to ``__sub__``), so the value and the gradient are wrong.
   ``print((1.0 - E.Value(3.0)).data)`` prints 2.0; the truth is -2.0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Value:
    data: float
    parents: list = field(default_factory=list)
    backward_fn: Callable | None = None
    grad: float = 0.0

    def __post_init__(self):
        self.data = float(self.data)

    @classmethod
    def cast(cls, x) -> Value:
        return x if isinstance(x, Value) else cls(x)

    def __add__(self, other):
        other = Value.cast(other)

        def back(g):
            self.grad += g
            other.grad += g

        return Value(self.data + other.data, [self, other], back)

    def __mul__(self, other):
        other = Value.cast(other)

        def back(g):
            self.grad += g * other.data
            other.grad += g * self.data

        return Value(self.data * other.data, [self, other], back)

    def __sub__(self, other):
        other = Value.cast(other)

        def back(g):
            self.grad += g
            other.grad -= g

        return Value(self.data - other.data, [self, other], back)

    __rsub__ = __sub__

    def __truediv__(self, other):
        other = Value.cast(other)
        q = self.data / other.data

        def back(g):
            self.grad += g / other.data
            other.grad -= g * q / other.data

        return Value(q, [self, other], back)

    def __rtruediv__(self, other):
        return Value.cast(other) / self

    def __neg__(self):
        def back(g):
            self.grad -= g

        return Value(-self.data, [self], back)

    def __pow__(self, p):
        if isinstance(p, Value):
            return NotImplemented

        def back(g):
            if p != 0:
                self.grad += g * p * self.data ** (p - 1)

        return Value(self.data**p, [self], back)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def exp(self):
        e = math.exp(self.data)

        def back(g):
            self.grad += g * e

        return Value(e, [self], back)

    def log(self):
        y = math.log(self.data)

        def back(g):
            self.grad += g / y

        return Value(y, [self], back)

    def tanh(self):
        t = math.tanh(self.data)

        def back(g):
            self.grad += g * (1.0 - t * t)

        return Value(t, [self], back)

    def sigmoid(self):
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))

        def back(g):
            self.grad += g * x * (1.0 - x)

        return Value(s, [self], back)

    def relu(self):
        def back(g):
            if self.data > 0:
                self.grad += g

        return Value(max(self.data, 0.0), [self], back)

    def backward(self):
        order, placed = [], set()
        stack = [self]
        while stack:
            node = stack[-1]
            pending = [p for p in node.parents if id(p) not in placed]
            if pending and id(node) not in placed:
                stack.extend(pending)
                continue
            stack.pop()
            if id(node) not in placed:
                placed.add(id(node))
                order.append(node)
        for node in order:
            if node.parents:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            if node.backward_fn is not None:
                node.backward_fn(node.grad)
