"""A tensor engine with four of the classic tensor-gradient mistakes.

Closure-based, ``requires_grad`` on by default, ``.grad`` None until reached, an
iterative sort. Each of the four slips below is something people write when they test
only with 2-D arrays, distinct indices and small logits.

Intended defects (``E`` is this module, ``np`` NumPy):

1. index-repeats-counted-once (`Tensor.__getitem__`): the backward does
   ``full[index] += g``, which NumPy buffers: an index repeated in an integer array
   receives its gradient once instead of once per occurrence.
   ``x = E.Tensor(np.arange(3.0)); x[np.array([0, 0])].sum().backward(); print(x.grad)``
   prints [1. 0. 0.]; the truth is [2. 0. 0.].
2. softmax-diagonal-jacobian (`Tensor.softmax`): the backward is ``g * s * (1 - s)``, the
   diagonal of the Jacobian only (each output as if it were a sigmoid of its own input).
   ``x = E.Tensor([1.0, 2.0]); (x.softmax() * np.array([1.0, 0.0])).sum().backward();
   print(x.grad)`` prints [0.19661193 0.        ]; the truth is
   [ 0.19661193 -0.19661193].
3. log-softmax-as-log-of-softmax (`Tensor.log_softmax`): ``log(softmax(x))`` underflows to
   -inf where a probability is below 1e-308 (logits spread by more than about 745),
   where log_softmax is finite.
   ``print(E.Tensor([1000.0, -1000.0, 0.0]).log_softmax().data)`` prints
   [  0. -inf -inf]; the truth is [0. -2000. -1000.].
4. sum-axis-without-expand-dims (`Tensor.sum`): with ``keepdims=False`` the backward
   broadcasts the reduced gradient without re-inserting the reduced axis, which is right
   only when the axis is the first one: it raises for most other axes and is silently
   wrong for square shapes.
   ``x = E.Tensor(np.ones((2, 2))); (x.sum(axis=1) * np.array([1.0, 2.0])).sum().backward();
   print(x.grad.tolist())`` prints [[1.0, 2.0], [1.0, 2.0]]; the truth is
   [[1.0, 1.0], [2.0, 2.0]].

Not a listed defect: ``a @ b`` with a 1-D or batched operand runs forward and raises in
backward (the 2-D formula with ``.T``), which the spec calls a limitation.
"""

import numpy as np


def _reduce_to(g, shape):
    g = np.asarray(g)
    if g.ndim > len(shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    squeeze = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=squeeze, keepdims=True) if squeeze else g


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=True, _parents=()):
        self.data = np.array(data, dtype=np.float64)
        self.requires_grad = requires_grad
        self.grad = None
        self._parents = _parents
        self._backward = lambda: None
        self._g = None  # gradient of the current pass

    def __repr__(self):
        return f"Tensor({self.data}, requires_grad={self.requires_grad})"

    def _send(self, g):
        if self.requires_grad:
            self._g = g if self._g is None else self._g + g

    @staticmethod
    def _ensure(x):
        return x if isinstance(x, Tensor) else Tensor(x, requires_grad=False)

    def _child(self, data, parents):
        return Tensor(data, any(p.requires_grad for p in parents), parents)

    def __add__(self, other):
        other = Tensor._ensure(other)
        out = self._child(self.data + other.data, (self, other))

        def _backward():
            self._send(_reduce_to(out._g, self.data.shape))
            other._send(_reduce_to(out._g, other.data.shape))

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Tensor._ensure(other)
        out = self._child(self.data * other.data, (self, other))

        def _backward():
            self._send(_reduce_to(out._g * other.data, self.data.shape))
            other._send(_reduce_to(out._g * self.data, other.data.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = Tensor._ensure(other)
        out = self._child(self.data / other.data, (self, other))

        def _backward():
            self._send(_reduce_to(out._g / other.data, self.data.shape))
            other._send(_reduce_to(-out._g * out.data / other.data, other.data.shape))

        out._backward = _backward
        return out

    def __pow__(self, e):
        out = self._child(self.data**e, (self,))

        def _backward():
            self._send(out._g * e * self.data ** (e - 1) if e != 0 else 0 * out._g)

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __sub__(self, other):
        return self + (-Tensor._ensure(other))

    def __rsub__(self, other):
        return Tensor._ensure(other) + (-self)

    def __rtruediv__(self, other):
        return Tensor._ensure(other) / self

    def __matmul__(self, other):
        other = Tensor._ensure(other)
        out = self._child(self.data @ other.data, (self, other))

        def _backward():
            self._send(out._g @ other.data.T)
            other._send(self.data.T @ out._g)

        out._backward = _backward
        return out

    def __getitem__(self, index):
        out = self._child(self.data[index], (self,))

        def _backward():
            full = np.zeros_like(self.data)
            full[index] += out._g
            self._send(full)

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = self._child(self.data.sum(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            self._send(np.broadcast_to(out._g, self.data.shape).copy())

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        out = self._child(self.data.mean(axis=axis, keepdims=keepdims), (self,))
        count = self.data.size // max(out.data.size, 1)

        def _backward():
            g = out._g
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._send(np.broadcast_to(g / count, self.data.shape).copy())

        out._backward = _backward
        return out

    def max(self, axis=None, keepdims=False):
        out = self._child(self.data.max(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            m = self.data.max(axis=axis, keepdims=True)
            mask = (self.data == m).astype(np.float64)
            mask /= mask.sum(axis=axis, keepdims=True)
            g = out._g
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self._send(mask * g)

        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = self._child(self.data.reshape(*shape), (self,))
        out._backward = lambda: self._send(out._g.reshape(self.data.shape))
        return out

    def transpose(self, *axes):
        axes = axes or None
        out = self._child(np.transpose(self.data, axes), (self,))
        inverse = None if axes is None else np.argsort(axes)
        out._backward = lambda: self._send(np.transpose(out._g, inverse))
        return out

    @property
    def T(self):
        return self.transpose()

    def exp(self):
        out = self._child(np.exp(self.data), (self,))
        out._backward = lambda: self._send(out._g * out.data)
        return out

    def log(self):
        out = self._child(np.log(self.data), (self,))
        out._backward = lambda: self._send(out._g / self.data)
        return out

    def tanh(self):
        out = self._child(np.tanh(self.data), (self,))
        out._backward = lambda: self._send(out._g * (1.0 - out.data**2))
        return out

    def relu(self):
        out = self._child(np.maximum(self.data, 0.0), (self,))
        out._backward = lambda: self._send(out._g * (self.data > 0))
        return out

    def sigmoid(self):
        e = np.exp(-np.abs(self.data))
        s = np.where(self.data >= 0, 1 / (1 + e), e / (1 + e))
        out = self._child(s, (self,))
        out._backward = lambda: self._send(out._g * s * (1 - s))
        return out

    def softmax(self, axis=-1):
        z = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        s = z / z.sum(axis=axis, keepdims=True)
        out = self._child(s, (self,))
        out._backward = lambda: self._send(out._g * s * (1 - s))
        return out

    def log_softmax(self, axis=-1):
        z = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        s = z / z.sum(axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            out = self._child(np.log(s), (self,))
        out._backward = lambda: self._send(out._g - s * out._g.sum(axis=axis, keepdims=True))
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, finished = stack.pop()
            if finished:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack += [(p, False) for p in node._parents]
        for node in order:
            node._g = None
        self._g = np.ones_like(self.data)
        for node in reversed(order):
            if node._g is not None:
                node._backward()
        for node in order:
            if node._g is not None and not node._parents and node.requires_grad:
                node.grad = node._g.copy() if node.grad is None else node.grad + node._g
