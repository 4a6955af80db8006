"""A correct closure-based NumPy tensor engine with optimizers that drift from torch.

The engine keeps ``.grad`` as zeros from creation (a reset to ``None`` is accepted),
builds each op's backward as a closure, broadcasts with an `_unbroadcast` helper and
orders the graph with an explicit stack. `optim` holds all five optimizers; `SGD` is
right, the others carry one slip each.

Missing arguments (should be listed as missing, not failed): ``RMSprop(momentum=...)``.

Intended defects (``E`` is this module, ``np`` NumPy):

1. adam-eps-inside-sqrt (`Adam.step`, also used by AdamW): ``m_hat / sqrt(v_hat + eps)``
   instead of ``m_hat / (sqrt(v_hat) + eps)``.
   ``p = E.Tensor([1.0]); o = E.optim.Adam([p], lr=0.1, eps=1e-2); p.grad = np.array([1e-2]);
   o.step(); print(p.data.tolist())`` prints [0.9900496280979001]; the truth is [0.95].
2. adamw-decay-without-lr (`AdamW.step`): the decoupled decay is ``p -= wd * p``
   instead of ``p -= lr * wd * p``.
   ``p = E.Tensor([1.0]); o = E.optim.AdamW([p], lr=0.1, weight_decay=0.1);
   p.grad = np.array([0.0]); o.step(); print(p.data.tolist())`` prints [0.9]; the truth is [0.99].
3. rmsprop-no-one-minus-alpha (`RMSprop.step`): ``sq = alpha * sq + g**2`` (the factor
   ``1 - alpha`` on the new square is missing).
   ``p = E.Tensor([1.0]); o = E.optim.RMSprop([p], lr=0.01); p.grad = np.array([1.0]);
   o.step(); print(p.data.tolist())`` prints [0.9900000001]; the truth is
   [0.9000000099999991].
4. adagrad-ignores-initial-accumulator (`Adagrad.__init__`): the argument is accepted
   and stored, but the accumulator starts at zeros.
   ``p = E.Tensor([1.0]); o = E.optim.Adagrad([p], lr=0.1, initial_accumulator_value=3.0);
   p.grad = np.array([1.0]); o.step(); print(p.data.tolist())`` prints [0.90000000001]; the
   truth is [0.9500000000025].

Not a listed defect: ``a @ b`` with a 1-D or batched operand runs forward and raises in
backward (the 2-D formula with ``.T``), which the spec calls a limitation.
"""

import numpy as np


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


class Tensor:
    __array_priority__ = 1000

    def __init__(self, data, _children=(), _op=""):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Tensor({self.data}, grad={self.grad})"

    def _acc(self, g):
        g = np.broadcast_to(g, self.data.shape)
        self.grad = g.copy() if self.grad is None else self.grad + g

    @staticmethod
    def _t(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def __add__(self, other):
        other = Tensor._t(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward():
            self._acc(_unbroadcast(out.grad, self.data.shape))
            other._acc(_unbroadcast(out.grad, other.data.shape))

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Tensor._t(other)
        out = Tensor(self.data * other.data, (self, other), "*")

        def _backward():
            self._acc(_unbroadcast(out.grad * other.data, self.data.shape))
            other._acc(_unbroadcast(out.grad * self.data, other.data.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = Tensor._t(other)
        out = Tensor(self.data / other.data, (self, other), "/")

        def _backward():
            self._acc(_unbroadcast(out.grad / other.data, self.data.shape))
            other._acc(_unbroadcast(-out.grad * out.data / other.data, other.data.shape))

        out._backward = _backward
        return out

    def __pow__(self, p):
        out = Tensor(self.data**p, (self,), f"**{p}")

        def _backward():
            if p != 0:
                self._acc(p * self.data ** (p - 1) * out.grad)

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-Tensor._t(other))

    def __rsub__(self, other):
        return Tensor._t(other) + (-self)

    def __rtruediv__(self, other):
        return Tensor._t(other) / self

    __radd__ = __add__
    __rmul__ = __mul__

    def __matmul__(self, other):
        other = Tensor._t(other)
        out = Tensor(self.data @ other.data, (self, other), "@")

        def _backward():
            self._acc(out.grad @ other.data.T)
            other._acc(self.data.T @ out.grad)

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward():
            g = out.grad
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._acc(np.broadcast_to(g, self.data.shape))

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        n = self.data.size if axis is None else self.data.shape[axis]
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / n)

    def relu(self):
        out = Tensor(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward():
            self._acc((self.data > 0) * out.grad)

        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward():
            self._acc((1 - out.data**2) * out.grad)

        out._backward = _backward
        return out

    def exp(self):
        out = Tensor(np.exp(self.data), (self,), "exp")

        def _backward():
            self._acc(out.data * out.grad)

        out._backward = _backward
        return out

    def log(self):
        out = Tensor(np.log(self.data), (self,), "log")

        def _backward():
            self._acc(out.grad / self.data)

        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = Tensor(self.data.reshape(*shape), (self,), "reshape")

        def _backward():
            self._acc(out.grad.reshape(self.data.shape))

        out._backward = _backward
        return out

    @property
    def T(self):
        out = Tensor(self.data.T, (self,), "T")

        def _backward():
            self._acc(out.grad.T)

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                topo.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._prev)
        for node in topo:
            if node._prev:
                node.grad = np.zeros_like(node.data)
        self.grad = np.ones_like(self.data)
        for node in reversed(topo):
            node._backward()


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)


class SGD(Optimizer):
    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay
        self.buf = [None] * len(self.params)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data
            if self.momentum:
                self.buf[i] = g.copy() if self.buf[i] is None else self.momentum * self.buf[i] + g
                g = g + self.momentum * self.buf[i] if self.nesterov else self.buf[i]
            p.data = p.data - self.lr * g


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def _grad(self, p):
        return p.grad + self.weight_decay * p.data

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            g = self._grad(p)
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g**2
            m_hat = self.m[i] / (1 - self.beta1**self.t)
            v_hat = self.v[i] / (1 - self.beta2**self.t)
            p.data = p.data - self.lr * m_hat / np.sqrt(v_hat + self.eps)


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)

    def _grad(self, p):
        return p.grad

    def step(self):
        for p in self.params:
            p.data = p.data - self.weight_decay * p.data
        super().step()


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.sq = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data
            self.sq[i] = self.alpha * self.sq[i] + g**2
            p.data = p.data - self.lr * g / (np.sqrt(self.sq[i]) + self.eps)


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0, initial_accumulator_value=0.0):
        super().__init__(params, lr)
        self.eps, self.weight_decay = eps, weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.sums = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data
            self.sums[i] += g * g
            p.data = p.data - self.lr * g / (np.sqrt(self.sums[i]) + self.eps)


class optim:
    SGD, Adam, AdamW, RMSprop, Adagrad = SGD, Adam, AdamW, RMSprop, Adagrad
