"""micrograd-compatible networks over scalar `Value`s: `Neuron`, `Layer`, `MLP`.

Signatures, defaults, parameter order (layer by layer, neuron by neuron, each neuron's
weights then its bias) and initialisation (`random.uniform(-1, 1)` from Python's global
`random`, so `random.seed` reproduces micrograd's weights) are micrograd's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from engine.nn.module import Module
from engine.value import Value, weighted_sum

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")

_Input = Value | float | int


class Neuron(Module):
    """``activation(w . x + b)`` for `nin` inputs."""

    def __init__(self, nin: int, nonlin: bool = True, activation: str = "relu") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        self.activation = activation if nonlin else "linear"

    def __call__(self, x: Sequence[_Input] | _Input) -> Value:
        if isinstance(x, (Value, int, float)):
            x = [x]  # the bare output of a one-neuron layer
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = weighted_sum(self.w, x, self.b)  # self.b + w[0] * x[0] + w[1] * x[1] + ...
        if self.activation == "linear":
            return act
        return getattr(act, self.activation)()

    def __repr__(self) -> str:
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons over the same inputs; a layer of one neuron returns a bare `Value`."""

    def __init__(self, nin: int, nout: int, **kwargs: object) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[_Input] | _Input) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers sized `nouts` after `nin` inputs; hidden ones use `activation`, the last is linear."""

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu") -> None:
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != last, activation=activation)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[_Input] | _Input) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
