"""A NumPy tensor engine that computes in float32 ("like the GPU frameworks do").

Every array, data and gradients alike, is float32. The formulas are otherwise the usual
ones (closures, broadcasting undone by `_sum_to`, stable sigmoid and softmax), except
one slip in `mean`.

Intended defects (``E`` is this module, ``np`` NumPy):

1. float32 (`Tensor.__init__`, every op): the spec's `Tensor` holds float64 arrays; this
   one rounds every value and gradient to float32 (about 7 digits).
   ``print(E.Tensor([0.1]).data.dtype, E.Tensor([1.0 + 1e-9]).data[0] == 1.0)`` prints
   ``float32 True``; the truth is ``float64 False``.
2. mean-axis-divides-by-size (`Tensor.mean`): the backward divides by the number of
   elements of the whole input instead of the number averaged over, so ``mean(axis=k)``
   gets gradients too small by the factor of the other axes (``mean()`` with no axis is
   right).
   ``x = E.Tensor(np.ones((2, 3))); x.mean(axis=1).sum().backward(); print(x.grad[0, 0])``
   prints 0.16666667; the truth is 0.3333333333333333.

Not a listed defect: ``a @ b`` with a 1-D or batched operand runs forward and raises in
backward (the 2-D formula with ``.T``), which the spec calls a limitation.
"""

import numpy as np

DTYPE = np.float32


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, _children=()):
        self.data = np.asarray(data, dtype=DTYPE)
        self.grad = np.zeros_like(self.data)
        self._children = _children
        self._backward = lambda: None

    def __repr__(self):
        return f"Tensor({self.data}, dtype=float32)"

    @staticmethod
    def _t(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def _acc(self, g):
        g = np.asarray(g, dtype=DTYPE)
        self.grad = g.copy() if self.grad is None else self.grad + g

    def __add__(self, o):
        o = Tensor._t(o)
        out = Tensor(self.data + o.data, (self, o))

        def _backward():
            self._acc(_sum_to(out.grad, self.data.shape))
            o._acc(_sum_to(out.grad, o.data.shape))

        out._backward = _backward
        return out

    def __mul__(self, o):
        o = Tensor._t(o)
        out = Tensor(self.data * o.data, (self, o))

        def _backward():
            self._acc(_sum_to(out.grad * o.data, self.data.shape))
            o._acc(_sum_to(out.grad * self.data, o.data.shape))

        out._backward = _backward
        return out

    def __truediv__(self, o):
        o = Tensor._t(o)
        out = Tensor(self.data / o.data, (self, o))

        def _backward():
            self._acc(_sum_to(out.grad / o.data, self.data.shape))
            o._acc(_sum_to(-out.grad * out.data / o.data, o.data.shape))

        out._backward = _backward
        return out

    def __pow__(self, p):
        out = Tensor(self.data**p, (self,))

        def _backward():
            if p != 0:
                self._acc(out.grad * p * self.data ** (p - 1))

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __radd__(self, o):
        return self + o

    def __rmul__(self, o):
        return self * o

    def __sub__(self, o):
        return self + (-Tensor._t(o))

    def __rsub__(self, o):
        return Tensor._t(o) + (-self)

    def __rtruediv__(self, o):
        return Tensor._t(o) / self

    def __matmul__(self, o):
        o = Tensor._t(o)
        out = Tensor(self.data @ o.data, (self, o))

        def _backward():
            self._acc(out.grad @ o.data.T)
            o._acc(self.data.T @ out.grad)

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            g = out.grad
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._acc(np.broadcast_to(g, self.data.shape))

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        out = Tensor(self.data.mean(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            g = out.grad
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._acc(np.broadcast_to(g, self.data.shape) / self.data.size)

        out._backward = _backward
        return out

    def max(self, axis=None, keepdims=False):
        out = Tensor(self.data.max(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            m = self.data.max(axis=axis, keepdims=True)
            hit = (self.data == m).astype(DTYPE)
            hit = hit / hit.sum(axis=axis, keepdims=True)
            g = out.grad
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._acc(hit * g)

        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = Tensor(self.data.reshape(*shape), (self,))
        out._backward = lambda: self._acc(out.grad.reshape(self.data.shape))
        return out

    def transpose(self, *axes):
        perm = axes or tuple(reversed(range(self.data.ndim)))
        out = Tensor(self.data.transpose(perm), (self,))
        out._backward = lambda: self._acc(out.grad.transpose(np.argsort(perm)))
        return out

    @property
    def T(self):
        return self.transpose()

    def exp(self):
        out = Tensor(np.exp(self.data), (self,))
        out._backward = lambda: self._acc(out.grad * out.data)
        return out

    def log(self):
        out = Tensor(np.log(self.data), (self,))
        out._backward = lambda: self._acc(out.grad / self.data)
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,))
        out._backward = lambda: self._acc(out.grad * (1 - out.data * out.data))
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0), (self,))
        out._backward = lambda: self._acc(out.grad * (self.data > 0))
        return out

    def sigmoid(self):
        e = np.exp(-np.abs(self.data))
        out = Tensor(np.where(self.data >= 0, 1 / (1 + e), e / (1 + e)), (self,))
        out._backward = lambda: self._acc(out.grad * out.data * (1 - out.data))
        return out

    def softmax(self, axis=-1):
        z = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        out = Tensor(z / z.sum(axis=axis, keepdims=True), (self,))

        def _backward():
            s, g = out.data, out.grad
            self._acc(s * (g - (g * s).sum(axis=axis, keepdims=True)))

        out._backward = _backward
        return out

    def log_softmax(self, axis=-1):
        z = self.data - self.data.max(axis=axis, keepdims=True)
        out = Tensor(z - np.log(np.exp(z).sum(axis=axis, keepdims=True)), (self,))

        def _backward():
            g = out.grad
            self._acc(g - np.exp(out.data) * g.sum(axis=axis, keepdims=True))

        out._backward = _backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._children)
        for node in order:
            if node._children:
                node.grad = np.zeros_like(node.data)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            node._backward()
