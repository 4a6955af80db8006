"""A minimal correct micrograd-style engine: the base every hostile target attacks from.

`Value` with ``+ - * /`` (either side a number), ``**`` with a number exponent, unary
``-``, ``relu``, ``tanh``, ``exp`` and ``backward`` (an iterative topological sort;
leaves accumulate, interior nodes restart each pass). Arithmetic is IEEE (nan/inf,
never an exception). New nodes are made with ``type(self)``, so an attack can subclass
`Value` and override one operation. Loaded by path, it passes `vgrad check` and
`vgrad report` (tests/test_hostile_targets.py checks that first).
"""

from __future__ import annotations

import math

import numpy as np


def _ieee(f, *xs):
    with np.errstate(all="ignore"):
        return float(f(*(np.float64(x) for x in xs)))


class Value:
    def __init__(self, data, _prev=(), _partials=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._partials = _partials

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def _new(self, data, prev, partials):
        return type(self)(data, prev, partials)

    def _lift(self, other):
        return other if isinstance(other, Value) else type(self)(other)

    def __add__(self, other):
        o = self._lift(other)
        return self._new(self.data + o.data, (self, o), (1.0, 1.0))

    def __sub__(self, other):
        o = self._lift(other)
        return self._new(self.data - o.data, (self, o), (1.0, -1.0))

    def __mul__(self, other):
        o = self._lift(other)
        return self._new(self.data * o.data, (self, o), (o.data, self.data))

    def __truediv__(self, other):
        o = self._lift(other)
        q = _ieee(np.divide, self.data, o.data)
        return self._new(
            q, (self, o), (_ieee(np.divide, 1.0, o.data), -_ieee(np.divide, q, o.data))
        )

    def __pow__(self, p):
        assert isinstance(p, (int, float)), "only int or float exponents"  # as micrograd
        x, p = self.data, float(p)
        slope = 0.0 if p == 0 else p * _ieee(np.power, x, p - 1)
        return self._new(_ieee(np.power, x, p), (self,), (slope,))

    def __neg__(self):
        return self._new(-self.data, (self,), (-1.0,))

    def __radd__(self, other):
        return self._lift(other) + self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def relu(self):
        x = self.data
        return self._new(max(x, 0.0), (self,), (1.0 if x > 0 else 0.0,))

    def tanh(self):
        e = math.exp(-2.0 * abs(self.data))  # sech**2 without cancellation
        return self._new(math.tanh(self.data), (self,), (4.0 * e / (1.0 + e) ** 2,))

    def exp(self):
        e = _ieee(np.exp, self.data)
        return self._new(e, (self,), (e,))

    def nodes(self):
        """Every node `self` depends on, `self` first, each before its inputs."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        return order[::-1]

    def backward(self):
        order = self.nodes()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0
        for node in order:
            for parent, partial in zip(node._prev, node._partials, strict=True):
                parent.grad += partial * node.grad
