"""A scalar and tensor engine whose tanh and sigmoid lose precision in the last bits.

Everything is right to the usual rounding except two formulas chosen to "avoid
overflow": tanh is computed as ``sign(x) * (1 - e) / (1 + e)`` with ``e = exp(-2|x|)``,
which cancels catastrophically near 0, and sigmoid as ``0.5 * tanh(x / 2) + 0.5``, which
cancels for negative x (the result is the small difference of two numbers near 0.5).
Both never overflow and look right to a few digits; the errors are tiny in absolute
terms but large relative to the result. Value and Tensor share the formulas.

`Value` uses closures; `Tensor` (grads None until backward) gives each node a list of
``(parent, vjp)`` pairs; both sort the graph with an explicit stack.

Intended defects (``E`` is this module, ``np`` NumPy):

1. tanh-cancellation-near-zero (`Value.tanh`, `Tensor.tanh`): relative error about
   1e-16 / |x| for small |x|.
   ``print(E.Value(1e-8).tanh().data)`` prints 9.999999983714139e-09; the truth is
   1e-08 (tanh(1e-8) = 1e-8 - 3.3e-25, which rounds to 1e-08). At x = 1e-5 the relative
   error is 1.2e-13, at x = 1e-3 it is 6e-15; below |x| = 1.1e-16, exp(-2|x|) rounds to
   1.0 and the result is exactly 0 (``E.Value(1e-300).tanh().data`` is 0.0, the truth
   1e-300).
2. sigmoid-cancellation-negative (`Value.sigmoid`, `Tensor.sigmoid`): relative error about
   1e-16 / sigmoid(x) for negative x; below about -37 the result is exactly 0 (and so is
   the gradient) although the truth is positive.
   ``print(E.Value(-40.0).sigmoid().data)`` prints 0.0; the truth is 4.248354255291589e-18.
   ``print(E.Value(-20.0).sigmoid().data)`` prints 2.0611536366565986e-09; the truth is
   2.0611536181902033e-09 (relative error 9e-9).
   ``print(E.Tensor([-30.0]).sigmoid().data[0])`` prints 9.35918009759007e-14; the truth
   is 9.3576229688393e-14 (relative error 1.7e-4).

Not a listed defect: ``a @ b`` with a 1-D or batched operand runs forward and raises in
backward (the 2-D formula with ``.T``), which the spec calls a limitation.
"""

import math

import numpy as np


def _tanh(x):
    e = math.exp(-2.0 * abs(x))
    return math.copysign((1.0 - e) / (1.0 + e), x)


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self._backward = None

    def __repr__(self):
        return f"Value({self.data})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "number exponents only"
        out = Value(self.data**k, (self,), "**")

        def _backward():
            if k != 0:
                self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * out.data / other.data

        out._backward = _backward
        return out

    def __rtruediv__(self, other):
        return Value(other) / self

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def tanh(self):
        t = _tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 0.5 * math.tanh(self.data / 2) + 0.5
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

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

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += out.grad if self.data > 0 else 0.0

        out._backward = _backward
        return out

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
                continue
            if v in seen:
                continue
            seen.add(v)
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev if c not in seen)
        for v in topo:
            if v._prev:
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            if v._backward:
                v._backward()


def _reduce(g, shape):
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, links=()):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = None
        self.links = links  # ((parent, vjp), ...)

    def __repr__(self):
        return f"Tensor({self.data})"

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def __add__(self, o):
        o = Tensor.wrap(o)
        return Tensor(self.data + o.data, (
            (self, lambda g: _reduce(g, self.data.shape)),
            (o, lambda g: _reduce(g, o.data.shape)),
        ))

    def __radd__(self, o):
        return Tensor.wrap(o) + self

    def __sub__(self, o):
        o = Tensor.wrap(o)
        return Tensor(self.data - o.data, (
            (self, lambda g: _reduce(g, self.data.shape)),
            (o, lambda g: _reduce(-g, o.data.shape)),
        ))

    def __rsub__(self, o):
        return Tensor.wrap(o) - self

    def __mul__(self, o):
        o = Tensor.wrap(o)
        return Tensor(self.data * o.data, (
            (self, lambda g: _reduce(g * o.data, self.data.shape)),
            (o, lambda g: _reduce(g * self.data, o.data.shape)),
        ))

    def __rmul__(self, o):
        return Tensor.wrap(o) * self

    def __truediv__(self, o):
        o = Tensor.wrap(o)
        q = self.data / o.data
        return Tensor(q, (
            (self, lambda g: _reduce(g / o.data, self.data.shape)),
            (o, lambda g: _reduce(-g * q / o.data, o.data.shape)),
        ))

    def __rtruediv__(self, o):
        return Tensor.wrap(o) / self

    def __neg__(self):
        return Tensor(-self.data, ((self, lambda g: -g),))

    def __pow__(self, p):
        x = self.data
        return Tensor(x**p, ((self, lambda g: g * p * x ** (p - 1) if p != 0 else 0 * g),))

    def __matmul__(self, o):
        o = Tensor.wrap(o)
        return Tensor(self.data @ o.data, (
            (self, lambda g: g @ o.data.T),
            (o, lambda g: self.data.T @ g),
        ))

    def sum(self, axis=None, keepdims=False):
        shape = self.data.shape

        def vjp(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return np.broadcast_to(g, shape)

        return Tensor(self.data.sum(axis=axis, keepdims=keepdims), ((self, vjp),))

    def mean(self, axis=None, keepdims=False):
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.data.size / self.data.size)

    def reshape(self, *shape):
        old = self.data.shape
        return Tensor(self.data.reshape(*shape), ((self, lambda g: g.reshape(old)),))

    @property
    def T(self):
        return Tensor(self.data.T, ((self, lambda g: g.T),))

    def exp(self):
        y = np.exp(self.data)
        return Tensor(y, ((self, lambda g: g * y),))

    def log(self):
        x = self.data
        return Tensor(np.log(x), ((self, lambda g: g / x),))

    def relu(self):
        on = self.data > 0
        return Tensor(np.where(on, self.data, 0.0), ((self, lambda g: g * on),))

    def tanh(self):
        e = np.exp(-2.0 * np.abs(self.data))
        t = np.sign(self.data) * (1.0 - e) / (1.0 + e)
        return Tensor(t, ((self, lambda g: g * (1.0 - t * t)),))

    def sigmoid(self):
        s = 0.5 * np.tanh(self.data / 2) + 0.5
        return Tensor(s, ((self, lambda g: g * s * (1.0 - s)),))

    def backward(self):
        order, seen, stack = [], set(), [(self, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0 and id(node) in seen:
                continue
            seen.add(id(node))
            if i < len(node.links):
                stack.append((node, i + 1))
                parent = node.links[i][0]
                if id(parent) not in seen:
                    stack.append((parent, 0))
            else:
                order.append(node)
        adj = {id(self): np.ones_like(self.data)}
        for node in reversed(order):
            g = adj.pop(id(node), None)
            if g is None:
                continue
            node.grad = np.array(g) if node.grad is None else node.grad + g
            for parent, vjp in node.links:
                part = vjp(g)
                k = id(parent)
                adj[k] = part if k not in adj else adj[k] + part
