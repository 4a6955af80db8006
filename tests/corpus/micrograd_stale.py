"""A micrograd-style scalar engine: closures for backward, an iterative topological sort.

Written the way most people first write micrograd after the lecture: each operator sets
`out._backward` to a closure that adds into its operands' ``.grad``; `backward()` builds
the order with an explicit stack (so deep graphs are fine), seeds ``self.grad = 1`` and
runs the closures in reverse. `nn` is micrograd's Neuron/Layer/MLP.

Intended defects (each with a snippet; ``E`` is this module):

1. stale-interior-grads (`Value.backward`): interior nodes keep the gradient of the
   previous pass, and their closures propagate it again, so a second `backward()` on
   the same output more than doubles leaf gradients, and `f.backward(); g.backward()`
   is wrong where f and g share interior nodes.
   ``x = E.Value(3.0); z = (x * x) * 2.0; z.backward(); z.backward(); print(x.grad)``
   prints 36.0; the truth (twice dz/dx = 2 * 12) is 24.0.
2. pow-zero-at-zero (`Value.__pow__`): the derivative ``p * x**(p - 1)`` is evaluated
   for ``p = 0`` too, and ``0.0 ** -1`` raises ZeroDivisionError, although x**0 is the
   constant 1 with derivative 0.
   ``x = E.Value(0.0); (x ** 0).backward(); print(x.grad)`` raises ZeroDivisionError;
   the truth is 0.0.
3. mlp-width-one-hidden (`Layer.__call__`, as in micrograd): a layer of one neuron
   returns a bare `Value` instead of a list, so the next layer cannot iterate over it:
   any MLP with a hidden layer of width 1 raises.
   ``print(E.nn.MLP(2, [1, 1])([1.0, 2.0]))`` raises TypeError: 'Value' object is not
   iterable; the truth is a Value.
"""

import math
import random


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

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

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers"
        out = Value(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

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

    def backward(self):
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            for child in node._prev:
                if child not in visited:
                    stack.append((child, False))
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1


class Module:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self):
        return []


class Neuron(Module):
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP(Module):
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class nn:
    Neuron = Neuron
    Layer = Layer
    MLP = MLP
