"""A scalar engine whose backward rules are methods, with slips in its network code.

Each op stores its operands in ``_prev`` and points ``_backward`` at a bound method of
the output node (``out._backward = out._mul_backward``), so the chain rule lives in
ordinary methods instead of closures. The sort is iterative. `nn` is a hand-written
MLP: the author applied ReLU after every layer, zeroed only the weights in
`zero_grad()`, and wrote the ReLU derivative with ``>=``.

Intended defects (``E`` is this module):

1. relu-grad-at-zero (`Value._relu_backward`): ``(x >= 0)`` gives relu'(0) = 1; the
   convention (JAX's, the spec's) is relu'(0) = 0.
   ``x = E.Value(0.0); x.relu().backward(); print(x.grad)`` prints 1.0; the truth is 0.0.
2. mlp-relu-on-last-layer (`MLP.__init__`): every layer, the last included, applies
   ReLU, so the network can never output a negative score (the spec: hidden layers
   ReLU, last layer linear).
   ``m = E.nn.MLP(1, [1]); m.parameters()[0].data = -1.0; m.parameters()[1].data = 0.0;
   print(m([E.Value(2.0)]).data)`` prints 0.0; the truth is -2.0.
3. zero-grad-skips-biases (`MLP.zero_grad`): only weights are reset; biases keep their
   gradients.
   ``m = E.nn.MLP(1, [1]); m.parameters()[0].data = 1.0; m.parameters()[1].data = 1.0;
   m([E.Value(2.0)]).backward(); m.zero_grad(); print(m.parameters()[1].grad)`` prints
   1.0; the truth is 0.
"""

import math
import random


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self._backward = self._leaf_backward

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def _leaf_backward(self):
        pass

    @staticmethod
    def _v(x):
        return x if isinstance(x, Value) else Value(x)

    # forward ------------------------------------------------------------------
    def _make(self, data, prev, op, rule):
        out = Value(data, prev, op)
        out._backward = getattr(out, rule)
        return out

    def __add__(self, o):
        o = Value._v(o)
        return self._make(self.data + o.data, (self, o), "+", "_add_backward")

    def __mul__(self, o):
        o = Value._v(o)
        return self._make(self.data * o.data, (self, o), "*", "_mul_backward")

    def __pow__(self, p):
        assert isinstance(p, (int, float))
        out = self._make(self.data**p, (self,), "**", "_pow_backward")
        out._p = p
        return out

    def relu(self):
        return self._make(max(0.0, self.data), (self,), "relu", "_relu_backward")

    def tanh(self):
        return self._make(math.tanh(self.data), (self,), "tanh", "_tanh_backward")

    def exp(self):
        return self._make(math.exp(self.data), (self,), "exp", "_exp_backward")

    def __neg__(self):
        return self * -1

    def __radd__(self, o):
        return self + o

    def __sub__(self, o):
        return self + (-o)

    def __rsub__(self, o):
        return o + (-self)

    def __rmul__(self, o):
        return self * o

    def __truediv__(self, o):
        return self * o**-1

    def __rtruediv__(self, o):
        return o * self**-1

    # backward -------------------------------------------------------------------
    def _add_backward(self):
        a, b = self._prev
        a.grad += self.grad
        b.grad += self.grad

    def _mul_backward(self):
        a, b = self._prev
        a.grad += b.data * self.grad
        b.grad += a.data * self.grad

    def _pow_backward(self):
        (a,) = self._prev
        if self._p != 0:
            a.grad += self._p * a.data ** (self._p - 1) * self.grad

    def _relu_backward(self):
        (a,) = self._prev
        a.grad += (a.data >= 0) * self.grad

    def _tanh_backward(self):
        (a,) = self._prev
        a.grad += (1 - self.data**2) * self.grad

    def _exp_backward(self):
        (a,) = self._prev
        a.grad += self.data * self.grad

    def backward(self):
        topo, seen = [], set()
        stack = [iter([self])]
        path = []
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                if path:
                    topo.append(path.pop())
                continue
            if child in seen:
                continue
            seen.add(child)
            path.append(child)
            stack.append(iter(child._prev))
        for v in topo:
            if v._prev:
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


class Neuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)

    def __call__(self, x):
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.relu()

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for layer in self.layers:
            for n in layer.neurons:
                for w in n.w:
                    w.grad = 0.0


class nn:
    Neuron, Layer, MLP = Neuron, Layer, MLP
