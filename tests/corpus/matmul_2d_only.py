"""A NumPy tensor engine written for 2-D matrices, whose `@` happens to accept more.

Gradients are arrays of zeros from the start and accumulate in place
(``self.grad += ...``); each op's backward is a closure. The matmul backward is the
textbook 2-D formula ``dA = G @ B.T``, ``dB = A.T @ G``: NumPy's ``@`` runs the forward
for 1-D and batched operands too, but ``.T`` reverses *all* axes, so the backward raises
for most such shapes and silently computes nonsense for square batches.

Intended defects (``E`` is this module, ``np`` NumPy):

1. matmul-nd-backward-raises (`Tensor.__matmul__`): for a 1-D operand or a batch, the
   forward runs and the backward raises. The spec makes 1-D and batched `@` optional:
   a variant whose backward raises is a *limitation*, to be listed apart (a failure
   only under ``--strict``), not a failure.
   ``(E.Tensor(np.ones(3)) @ E.Tensor(np.ones((3, 2)))).sum().backward()`` raises
   ValueError (matmul: mismatch in its core dimension); the truth is a gradient of 2.0
   for each entry of the first operand.
2. matmul-square-batch-wrong (`Tensor.__matmul__`): where every axis has the same
   size, ``.T`` of a 3-D array has the right shape and the wrong entries, so the
   gradient is silently wrong.
   ``a = E.Tensor(np.arange(8.0).reshape(2, 2, 2)); b = E.Tensor(np.arange(8.0).reshape(2, 2, 2));
   (a @ b).sum().backward(); print(a.grad[1].tolist())`` prints [[4.0, 12.0], [4.0, 12.0]];
   the truth is [[9.0, 13.0], [9.0, 13.0]].
3. reset-to-none-crashes (every backward closure, ``self.grad += g``): the spec
   resets a tensor's gradient with ``t.grad = None`` (and allows None before the first
   pass); this engine then fails on the next backward.
   ``x = E.Tensor([1.0]); (x * 2.0).sum().backward(); x.grad = None;
   (x * 2.0).sum().backward()`` raises TypeError (unsupported operand type(s) for +:
   'NoneType' and 'float'); the truth is ``x.grad == [2.0]``.

Not a listed defect: ``max(axis=(0, 1))`` runs forward (NumPy) and raises in backward
(``argmax`` takes no tuple), a second limitation.
"""

import numpy as np


def sum_to(g, shape):
    """Undo broadcasting: sum g down to `shape`."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, _children=(), _op=""):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros(self.data.shape)
        self._backward = lambda: None
        self._children = _children
        self._op = _op

    def __repr__(self):
        return f"Tensor({self.data.tolist()})"

    @property
    def shape(self):
        return self.data.shape

    def _new(self, data, children, op):
        return Tensor(data, children, op)

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = self._new(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += sum_to(out.grad, self.shape)
            other.grad += sum_to(out.grad, other.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = self._new(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += sum_to(other.data * out.grad, self.shape)
            other.grad += sum_to(self.data * out.grad, other.shape)

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = self._new(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += sum_to(out.grad / other.data, self.shape)
            other.grad += sum_to(-out.grad * self.data / other.data**2, other.shape)

        out._backward = _backward
        return out

    def __pow__(self, n):
        out = self._new(self.data**n, (self,), "**")

        def _backward():
            if n != 0:
                self.grad += n * self.data ** (n - 1) * out.grad

        out._backward = _backward
        return out

    def __matmul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = self._new(self.data @ other.data, (self, other), "@")

        def _backward():
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __rtruediv__(self, other):
        return Tensor(other) / self

    def sum(self, axis=None, keepdims=False):
        out = self._new(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward():
            g = out.grad if keepdims or axis is None else np.expand_dims(out.grad, axis)
            self.grad += np.broadcast_to(g, self.shape)

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        count = self.data.size if axis is None else self.data.shape[axis]
        return self.sum(axis, keepdims) / count

    def max(self, axis=None, keepdims=False):
        out = self._new(self.data.max(axis=axis, keepdims=keepdims), (self,), "max")

        def _backward():
            mask = np.zeros(self.shape)
            if axis is None:
                mask.flat[np.argmax(self.data)] = 1.0
                self.grad += mask * out.grad
            else:
                idx = np.expand_dims(np.argmax(self.data, axis=axis), axis)
                np.put_along_axis(mask, idx, 1.0, axis=axis)
                g = out.grad if keepdims else np.expand_dims(out.grad, axis)
                self.grad += mask * g

        out._backward = _backward
        return out

    def relu(self):
        out = self._new(np.maximum(self.data, 0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = self._new(np.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = self._new(np.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = self._new(np.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = self._new(self.data.reshape(*shape), (self,), "reshape")

        def _backward():
            self.grad += out.grad.reshape(self.shape)

        out._backward = _backward
        return out

    def transpose(self, *axes):
        axes = axes or tuple(reversed(range(self.data.ndim)))
        out = self._new(self.data.transpose(axes), (self,), "transpose")

        def _backward():
            self.grad += out.grad.transpose(np.argsort(axes))

        out._backward = _backward
        return out

    @property
    def T(self):
        return self.transpose()

    def backward(self):
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((c, False) for c in node._children)
        for node in order:
            if node._children:
                node.grad = np.zeros(node.shape)
        self.grad = np.ones(self.shape)
        for node in reversed(order):
            node._backward()
