"""A tensor engine whose `reshape` takes ints only, with two classic gradient slips.

Closures for backward, ``.grad`` None until reached, an iterative depth-first sort.
`reshape(*shape)` passes the ints on to ``np.reshape`` (so ``t.reshape(2, 3)`` and, for
a 0-d result, ``t.reshape()`` work; the one-tuple form ``t.reshape((2, 3))`` is not
supported, which the spec allows).

Intended defects (``E`` is this module, ``np`` NumPy):

1. unbroadcast-leading-axes-only (`_unbroadcast`): a broadcast gradient is summed over
   the added leading axes but not over axes of size 1, so an operand of shape (3, 1)
   added to one of shape (1, 4) gets a gradient of shape (3, 4).
   ``x = E.Tensor(np.ones((3, 1))); y = E.Tensor(np.ones((1, 4))); (x + y).sum().backward();
   print(x.grad.shape)`` prints (3, 4); the truth is (3, 1) (every entry 4.0).
2. relu-grad-at-zero (`Tensor.relu`): the mask is ``x >= 0``, so relu'(0) = 1; the
   spec's convention is 0.
   ``x = E.Tensor([0.0]); x.relu().sum().backward(); print(x.grad)`` prints [1.]; the
   truth is [0.].

Not a defect: ``t.reshape(())`` (the tuple form for a 0-d result) raises TypeError; a
0-d reshape is spelled ``t.reshape()`` in the ints form the spec requires.

Not a listed defect: ``a @ b`` with a 1-D or batched operand runs forward and raises in
backward (the 2-D formula with ``.T``), which the spec calls a limitation.
"""

import numpy as np


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, _prev=()):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = None
        self._prev = _prev
        self._backward = None

    def __repr__(self):
        return f"Tensor({self.data})"

    def _add_grad(self, g):
        self.grad = g if self.grad is None else self.grad + g

    @staticmethod
    def _lift(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def __add__(self, other):
        other = Tensor._lift(other)
        out = Tensor(self.data + other.data, (self, other))

        def _backward(g):
            self._add_grad(_unbroadcast(g, self.data.shape))
            other._add_grad(_unbroadcast(g, other.data.shape))

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Tensor._lift(other)
        out = Tensor(self.data * other.data, (self, other))

        def _backward(g):
            self._add_grad(_unbroadcast(g * other.data, self.data.shape))
            other._add_grad(_unbroadcast(g * self.data, other.data.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = Tensor._lift(other)
        out = Tensor(self.data / other.data, (self, other))

        def _backward(g):
            self._add_grad(_unbroadcast(g / other.data, self.data.shape))
            other._add_grad(_unbroadcast(-g * out.data / other.data, other.data.shape))

        out._backward = _backward
        return out

    def __neg__(self):
        out = Tensor(-self.data, (self,))
        out._backward = lambda g: self._add_grad(-g)
        return out

    def __pow__(self, p):
        out = Tensor(self.data**p, (self,))

        def _backward(g):
            self._add_grad(g * p * self.data ** (p - 1) if p != 0 else np.zeros_like(g))

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __sub__(self, other):
        return self + (-Tensor._lift(other))

    def __rsub__(self, other):
        return Tensor._lift(other) + (-self)

    def __rtruediv__(self, other):
        return Tensor._lift(other) / self

    def __matmul__(self, other):
        other = Tensor._lift(other)
        out = Tensor(self.data @ other.data, (self, other))

        def _backward(g):
            self._add_grad(_unbroadcast(g @ np.swapaxes(other.data, -1, -2), self.data.shape))
            other._add_grad(_unbroadcast(np.swapaxes(self.data, -1, -2) @ g, other.data.shape))

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,))

        def _backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._add_grad(np.broadcast_to(g, self.data.shape).copy())

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.data.size / self.data.size)

    def max(self, axis=None, keepdims=False):
        m = self.data.max(axis=axis, keepdims=True)
        out = Tensor(m if keepdims else self.data.max(axis=axis), (self,))

        def _backward(g):
            hit = (self.data == m).astype(float)
            hit /= hit.sum(axis=axis, keepdims=True)
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._add_grad(hit * g)

        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = Tensor(np.reshape(self.data, shape), (self,))
        out._backward = lambda g: self._add_grad(np.reshape(g, self.data.shape))
        return out

    def transpose(self, *axes):
        perm = axes if axes else tuple(range(self.data.ndim))[::-1]
        out = Tensor(np.transpose(self.data, perm), (self,))
        out._backward = lambda g: self._add_grad(np.transpose(g, np.argsort(perm)))
        return out

    @property
    def T(self):
        return self.transpose()

    def relu(self):
        out = Tensor(np.maximum(self.data, 0.0), (self,))
        out._backward = lambda g: self._add_grad(g * (self.data >= 0))
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,))
        out._backward = lambda g: self._add_grad(g * (1 - out.data**2))
        return out

    def exp(self):
        out = Tensor(np.exp(self.data), (self,))
        out._backward = lambda g: self._add_grad(g * out.data)
        return out

    def log(self):
        out = Tensor(np.log(self.data), (self,))
        out._backward = lambda g: self._add_grad(g / self.data)
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, post = stack.pop()
            if post:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        grads = {id(self): np.ones_like(self.data)}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not node._prev:
                node._add_grad(g)
                continue
            # let the closures write into the parents' .grad, then move it to `grads`
            unique = {id(p): p for p in node._prev}.values()
            saved = [(p, p.grad) for p in unique]
            for p in unique:
                p.grad = None
            node._backward(g)
            for p, before in saved:
                if p.grad is not None:
                    k = id(p)
                    grads[k] = p.grad if k not in grads else grads[k] + p.grad
                p.grad = before
