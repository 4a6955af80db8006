"""A tensor engine built from free functions, with no `max` and a tuple-only `reshape`.

Ops are module-level functions (`add`, `mul`, `matmul`, `reduce_sum`, ...) that return
a new `Tensor` with a ``grad_fn`` mapping the output gradient to a list of input
gradients; the dunder methods delegate to them. `backward()` runs Kahn's algorithm with a
`collections.deque`, counting consumers in a dict. ``.grad`` is None until reached.

The author never needed `max`, so there is none (the spec makes every method optional:
the suite should skip max's properties, saying so). `reshape` takes one tuple, as
``reshape(self, shape)``.

Intended defects (``E`` is this module, ``np`` NumPy):

1. reshape-tuple-only (`Tensor.reshape`): the spec calls ``reshape(*shape)`` with ints
   (accepting one tuple as well is optional); this one only takes a tuple, so
   ``t.reshape(2, 3)`` raises. A single int happens to work (``reshape(6)``).
   ``print(E.Tensor(np.ones(6)).reshape(2, 3).data.shape)`` raises TypeError:
   Tensor.reshape() takes 2 positional arguments but 3 were given; the truth is (2, 3).
"""

from collections import deque

import numpy as np


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, parents=(), grad_fn=None):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self.parents = parents
        self.grad_fn = grad_fn

    def __repr__(self):
        return f"Tensor({self.data})"

    def __add__(self, o):
        return add(self, o)

    def __radd__(self, o):
        return add(o, self)

    def __sub__(self, o):
        return add(self, neg(o))

    def __rsub__(self, o):
        return add(o, neg(self))

    def __mul__(self, o):
        return mul(self, o)

    def __rmul__(self, o):
        return mul(o, self)

    def __truediv__(self, o):
        return div(self, o)

    def __rtruediv__(self, o):
        return div(o, self)

    def __neg__(self):
        return neg(self)

    def __pow__(self, p):
        return power(self, p)

    def __matmul__(self, o):
        return matmul(self, o)

    def __getitem__(self, index):
        return take(self, index)

    def sum(self, axis=None, keepdims=False):
        return reduce_sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        s = reduce_sum(self, axis, keepdims)
        return mul(s, s.data.size / self.data.size)

    def reshape(self, shape):
        return reshape(self, shape)

    def transpose(self, *axes):
        return transpose(self, axes or None)

    @property
    def T(self):
        return transpose(self, None)

    def exp(self):
        return elementwise(self, np.exp, lambda x, y: y)

    def log(self):
        return elementwise(self, np.log, lambda x, y: 1.0 / x)

    def tanh(self):
        return elementwise(self, np.tanh, lambda x, y: 1.0 - y * y)

    def relu(self):
        return elementwise(self, lambda x: np.maximum(x, 0.0), lambda x, y: (x > 0) * 1.0)

    def sigmoid(self):
        def f(x):
            z = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + z), z / (1 + z))

        return elementwise(self, f, lambda x, y: y * (1 - y))

    def softmax(self, axis=-1):
        return softmax(self, axis)

    def log_softmax(self, axis=-1):
        return log_softmax(self, axis)

    def backward(self):
        waiting = {id(self): 0}
        todo, nodes = [self], [self]
        while todo:
            node = todo.pop()
            for p in node.parents:
                if id(p) not in waiting:
                    waiting[id(p)] = 0
                    todo.append(p)
                    nodes.append(p)
                waiting[id(p)] += 1
        grads = {id(self): np.ones_like(self.data)}
        queue = deque([self])
        while queue:
            node = queue.popleft()
            g = grads.pop(id(node))
            node.grad = g if node.grad is None else node.grad + g
            if node.grad_fn is not None:
                for p, gp in zip(node.parents, node.grad_fn(g)):
                    grads[id(p)] = gp if id(p) not in grads else grads[id(p)] + gp
            for p in node.parents:
                waiting[id(p)] -= 1
                if waiting[id(p)] == 0:
                    queue.append(p)


def tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] > 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def add(a, b):
    a, b = tensor(a), tensor(b)
    return Tensor(a.data + b.data, (a, b),
                  lambda g: [unbroadcast(g, a.data.shape), unbroadcast(g, b.data.shape)])


def mul(a, b):
    a, b = tensor(a), tensor(b)
    return Tensor(a.data * b.data, (a, b),
                  lambda g: [unbroadcast(g * b.data, a.data.shape),
                             unbroadcast(g * a.data, b.data.shape)])


def div(a, b):
    a, b = tensor(a), tensor(b)
    q = a.data / b.data
    return Tensor(q, (a, b),
                  lambda g: [unbroadcast(g / b.data, a.data.shape),
                             unbroadcast(-g * q / b.data, b.data.shape)])


def neg(a):
    a = tensor(a)
    return Tensor(-a.data, (a,), lambda g: [-g])


def power(a, p):
    a = tensor(a)
    x = a.data
    return Tensor(x**p, (a,), lambda g: [g * p * x ** (p - 1) if p != 0 else np.zeros_like(x)])


def matmul(a, b):
    a, b = tensor(a), tensor(b)
    A, B = a.data, b.data

    def grad_fn(g):
        A2 = A.reshape(1, -1) if A.ndim == 1 else A
        B2 = B.reshape(-1, 1) if B.ndim == 1 else B
        G = g
        if B.ndim == 1:
            G = np.expand_dims(G, -1)
        if A.ndim == 1:
            G = np.expand_dims(G, -2)
        gA = G @ np.swapaxes(B2, -1, -2)
        gB = np.swapaxes(A2, -1, -2) @ G
        if A.ndim == 1:
            gA = gA.squeeze(-2)
        if B.ndim == 1:
            gB = gB.squeeze(-1)
        return [unbroadcast(gA, A.shape), unbroadcast(gB, B.shape)]

    return Tensor(A @ B, (a, b), grad_fn)


def reduce_sum(a, axis, keepdims):
    shape = a.data.shape

    def grad_fn(g):
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        return [np.broadcast_to(g, shape).copy()]

    return Tensor(a.data.sum(axis=axis, keepdims=keepdims), (a,), grad_fn)


def reshape(a, shape):
    old = a.data.shape
    return Tensor(np.reshape(a.data, shape), (a,), lambda g: [np.reshape(g, old)])


def transpose(a, axes):
    perm = tuple(reversed(range(a.data.ndim))) if axes is None else tuple(axes)
    back = np.argsort(perm)
    return Tensor(np.transpose(a.data, perm), (a,), lambda g: [np.transpose(g, back)])


def take(a, index):
    shape = a.data.shape

    def grad_fn(g):
        full = np.zeros(shape)
        np.add.at(full, index, g)
        return [full]

    return Tensor(a.data[index], (a,), grad_fn)


def elementwise(a, f, df):
    x = a.data
    with np.errstate(all="ignore"):
        y = f(x)
    return Tensor(y, (a,), lambda g: [g * df(x, y)])


def softmax(a, axis):
    z = a.data - a.data.max(axis=axis, keepdims=True)
    e = np.exp(z)
    s = e / e.sum(axis=axis, keepdims=True)
    return Tensor(s, (a,), lambda g: [s * (g - (g * s).sum(axis=axis, keepdims=True))])


def log_softmax(a, axis):
    z = a.data - a.data.max(axis=axis, keepdims=True)
    out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    s = np.exp(out)
    return Tensor(out, (a,), lambda g: [g - s * g.sum(axis=axis, keepdims=True)])
