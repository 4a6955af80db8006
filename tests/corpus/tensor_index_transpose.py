"""A tensor engine with a table of backward rules, and slips in indexing and transpose.

Each result remembers ``(op, inputs, saved)`` in ``_ctx``; the `BACKWARD` table maps an
op name to a function of ``(saved, g)`` returning one gradient per input. ``.grad``
starts as None; the sort is an explicit-stack post-order.

Indexing first rewrites the index into a "canonical" one (non-negative ints, slices
with explicit start/stop/step, clamped into the axis as NumPy clamps out-of-range
bounds); the clamp is applied before wrapping negative starts. `transpose(*axes)`
inverts its permutation with ``np.argsort(axes)``, which is empty when no axes are given.

Intended defects (``E`` is this module, ``np`` NumPy):

1. negative-slice-start (`_canonical`, used by `Tensor.__getitem__`): a negative slice
   start is clamped to 0 (or to the last index for a negative step) instead of counting
   from the end, so ``x[-2:]`` is ``x[0:]``; values and gradients are both wrong.
   ``x = E.Tensor(np.arange(4.0)); print(x[-2:].data)`` prints [0. 1. 2. 3.]; the truth
   is [2. 3.].
2. transpose-no-axes-backward (`BACKWARD["transpose"]`): ``t.transpose()`` (reverse all
   axes, as the spec says) runs forward, but its backward calls
   ``np.transpose(g, np.argsort(()))`` and raises for any tensor of 1 or more axes.
   ``x = E.Tensor(np.ones((2, 3))); x.transpose().sum().backward()`` raises ValueError:
   axes don't match array; the truth is ``x.grad`` = ones of shape (2, 3). (``.T`` is a
   separate op and is right.)
"""

import numpy as np

BACKWARD = {}


def backward_rule(name):
    def register(f):
        BACKWARD[name] = f
        return f

    return register


def _sum_like(g, shape):
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis, keepdims=True)
    return g


def _canonical(index, shape):
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item, n in zip(items, shape):
        if isinstance(item, slice):
            step = 1 if item.step is None else item.step
            if item.start is None:
                start = 0 if step > 0 else n - 1
            else:
                start = min(max(item.start, 0), n if step > 0 else n - 1)
            stop = item.stop
            if stop is not None and stop < 0:
                stop += n
            out.append(slice(start, stop, step))
        elif isinstance(item, (int, np.integer)):
            out.append(int(item) % n)
        else:
            out.append(np.asarray(item) % n)
    return tuple(out)


class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, _ctx=None):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self._ctx = _ctx

    def __repr__(self):
        return f"Tensor({self.data!r})"

    @staticmethod
    def _of(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def _op(self, name, data, inputs, **saved):
        return Tensor(data, (name, inputs, saved))

    # arithmetic
    def __add__(self, o):
        o = Tensor._of(o)
        return self._op("add", self.data + o.data, (self, o), a=self.data.shape, b=o.data.shape)

    def __radd__(self, o):
        return Tensor._of(o) + self

    def __sub__(self, o):
        o = Tensor._of(o)
        return self._op("sub", self.data - o.data, (self, o), a=self.data.shape, b=o.data.shape)

    def __rsub__(self, o):
        return Tensor._of(o) - self

    def __mul__(self, o):
        o = Tensor._of(o)
        return self._op("mul", self.data * o.data, (self, o), a=self.data, b=o.data)

    def __rmul__(self, o):
        return Tensor._of(o) * self

    def __truediv__(self, o):
        o = Tensor._of(o)
        q = self.data / o.data
        return self._op("div", q, (self, o), a=self.data, b=o.data, q=q)

    def __rtruediv__(self, o):
        return Tensor._of(o) / self

    def __neg__(self):
        return self._op("neg", -self.data, (self,))

    def __pow__(self, p):
        return self._op("pow", self.data**p, (self,), x=self.data, p=p)

    def __matmul__(self, o):
        o = Tensor._of(o)
        return self._op("matmul", self.data @ o.data, (self, o), a=self.data, b=o.data)

    # reductions
    def sum(self, axis=None, keepdims=False):
        return self._op("sum", self.data.sum(axis=axis, keepdims=keepdims), (self,),
                        shape=self.data.shape, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        s = self.sum(axis=axis, keepdims=keepdims)
        return s * (s.data.size / self.data.size)

    def max(self, axis=None, keepdims=False):
        m = self.data.max(axis=axis, keepdims=True)
        return self._op("max", m if keepdims else self.data.max(axis=axis), (self,),
                        x=self.data, m=m, axis=axis, keepdims=keepdims)

    # shapes
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], tuple):
            shape = shape[0]
        return self._op("reshape", self.data.reshape(shape), (self,), shape=self.data.shape)

    def transpose(self, *axes):
        return self._op("transpose", np.transpose(self.data, axes or None), (self,), axes=axes)

    @property
    def T(self):
        return self._op("T", self.data.T, (self,))

    def __getitem__(self, index):
        canon = _canonical(index, self.data.shape)
        return self._op("index", self.data[canon], (self,), shape=self.data.shape, index=canon)

    # elementwise
    def exp(self):
        y = np.exp(self.data)
        return self._op("scale", y, (self,), d=y)

    def log(self):
        return self._op("scale", np.log(self.data), (self,), d=1.0 / self.data)

    def tanh(self):
        t = np.tanh(self.data)
        return self._op("scale", t, (self,), d=1.0 - t * t)

    def relu(self):
        return self._op("scale", np.maximum(self.data, 0.0), (self,), d=(self.data > 0) * 1.0)

    def sigmoid(self):
        e = np.exp(-np.abs(self.data))
        s = np.where(self.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self._op("scale", s, (self,), d=s * (1.0 - s))

    def softmax(self, axis=-1):
        z = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        s = z / z.sum(axis=axis, keepdims=True)
        return self._op("softmax", s, (self,), s=s, axis=axis)

    def log_softmax(self, axis=-1):
        z = self.data - self.data.max(axis=axis, keepdims=True)
        out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        return self._op("log_softmax", out, (self,), p=np.exp(out), axis=axis)

    def backward(self):
        order, done, stack = [], set(), [self]
        while stack:
            node = stack[-1]
            if id(node) in done:
                stack.pop()
                continue
            inputs = node._ctx[1] if node._ctx else ()
            todo = [i for i in inputs if id(i) not in done]
            if todo:
                stack.extend(todo)
            else:
                stack.pop()
                done.add(id(node))
                order.append(node)
        grads = {id(self): np.ones_like(self.data)}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._ctx is None:
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            name, inputs, saved = node._ctx
            for inp, gi in zip(inputs, BACKWARD[name](saved, g)):
                k = id(inp)
                grads[k] = gi if k not in grads else grads[k] + gi


@backward_rule("add")
def _(s, g):
    return _sum_like(g, s["a"]), _sum_like(g, s["b"])


@backward_rule("sub")
def _(s, g):
    return _sum_like(g, s["a"]), _sum_like(-g, s["b"])


@backward_rule("mul")
def _(s, g):
    return _sum_like(g * s["b"], s["a"].shape), _sum_like(g * s["a"], s["b"].shape)


@backward_rule("div")
def _(s, g):
    b = s["b"]
    return _sum_like(g / b, s["a"].shape), _sum_like(-g * s["q"] / b, b.shape)


@backward_rule("neg")
def _(s, g):
    return (-g,)


@backward_rule("pow")
def _(s, g):
    x, p = s["x"], s["p"]
    return (np.zeros_like(x) if p == 0 else g * p * x ** (p - 1),)


@backward_rule("scale")
def _(s, g):
    return (g * s["d"],)


@backward_rule("matmul")
def _(s, g):
    a, b = s["a"], s["b"]
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:
        g2 = g2[..., None]
    if a.ndim == 1:
        g2 = g2[..., None, :]
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    if a.ndim == 1:
        ga = ga[..., 0, :]
    if b.ndim == 1:
        gb = gb[..., 0]
    return _sum_like(ga, a.shape), _sum_like(gb, b.shape)


@backward_rule("sum")
def _(s, g):
    if s["axis"] is not None and not s["keepdims"]:
        g = np.expand_dims(g, s["axis"])
    return (np.broadcast_to(g, s["shape"]),)


@backward_rule("max")
def _(s, g):
    hit = (s["x"] == s["m"]) * 1.0
    hit = hit / hit.sum(axis=s["axis"], keepdims=True)
    if s["axis"] is not None and not s["keepdims"]:
        g = np.expand_dims(g, s["axis"])
    return (hit * g,)


@backward_rule("reshape")
def _(s, g):
    return (np.reshape(g, s["shape"]),)


@backward_rule("transpose")
def _(s, g):
    return (np.transpose(g, np.argsort(s["axes"])),)


@backward_rule("T")
def _(s, g):
    return (np.asarray(g).T,)


@backward_rule("index")
def _(s, g):
    full = np.zeros(s["shape"])
    np.add.at(full, s["index"], g)
    return (full,)


@backward_rule("softmax")
def _(s, g):
    p = s["s"]
    return (p * (g - (g * p).sum(axis=s["axis"], keepdims=True)),)


@backward_rule("log_softmax")
def _(s, g):
    return (g - s["p"] * g.sum(axis=s["axis"], keepdims=True),)
