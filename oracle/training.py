"""Training references: a small MLP trained full-batch in JAX with an optax reference.

A `Network` holds layer sizes, an activation per layer, a loss and the initial weights,
as ``(W, b)`` per layer with ``W`` of shape (fan_out, fan_in) (torch's `Linear` layout),
or from a flat vector in micrograd's order (layer by layer, neuron by neuron, each
neuron's weights then its bias).  Each layer computes ``act(x @ W.T + b)``.

Losses, averaged over the batch (`y` in brackets):

* ``mse``: mean of (out - y)**2 over every entry [y: (N,) or (N, nout)];
* ``hinge``: mean of relu(1 - y * out) [y in {-1, 1}, nout = 1], micrograd's demo loss;
* ``bce_with_logits``: mean of log(1 + exp(z)) - z*y, computed stably [y in {0, 1}];
* ``cross_entropy``: mean of -log_softmax(z)[y] [y: integer class labels].

plus ``l2 * sum(p**2)`` over every parameter when `l2` is set (micrograd's demo uses 1e-4).
`train` runs full-batch steps with `oracle.optim`'s torch-exact optimizers and returns
the loss before each step and after the last, every step's gradients and parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from oracle import _jax, jax_ops, optim

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
LOSSES = ("mse", "hinge", "bce_with_logits", "cross_entropy")

Layer = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Network:
    """An MLP: sizes (nin, h1, ..., nout), one activation per layer, a loss, weights."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    weights: tuple[Layer, ...]
    l2: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        object.__setattr__(self, "activations", tuple(self.activations))
        object.__setattr__(
            self,
            "weights",
            tuple((np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in self.weights),
        )
        layers = len(self.sizes) - 1
        if layers < 1 or len(self.activations) != layers or len(self.weights) != layers:
            raise ValueError(
                f"{len(self.sizes)} sizes need {layers} activations and weights, "
                f"got {len(self.activations)} and {len(self.weights)}"
            )
        if bad := set(self.activations) - set(ACTIVATIONS):
            raise ValueError(f"unknown activations {sorted(bad)}; known: {ACTIVATIONS}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {LOSSES}")
        for k, (w, b) in enumerate(self.weights):
            expected = ((self.sizes[k + 1], self.sizes[k]), (self.sizes[k + 1],))
            if (w.shape, b.shape) != expected:
                raise ValueError(f"layer {k}: W {w.shape}, b {b.shape}, expected {expected}")

    @classmethod
    def from_flat(
        cls,
        sizes: Sequence[int],
        activations: Sequence[str],
        loss: str,
        flat: Sequence[float],
        l2: float = 0.0,
    ) -> Network:
        """Weights from micrograd's `parameters()` order."""
        flat = np.asarray(flat, np.float64)
        needed = sum(fan_out * (fan_in + 1) for fan_in, fan_out in pairwise(sizes))
        if needed != len(flat):
            raise ValueError(f"sizes {tuple(sizes)} need {needed} parameters, got {len(flat)}")
        weights, start = [], 0
        for fan_in, fan_out in pairwise(sizes):
            block = flat[start : start + fan_out * (fan_in + 1)].reshape(fan_out, fan_in + 1)
            weights.append((block[:, :fan_in], block[:, fan_in]))
            start += fan_out * (fan_in + 1)
        return cls(tuple(sizes), tuple(activations), loss, tuple(weights), l2)

    def parameters(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...]: the order `train` reports parameters and gradients in."""
        return [p for layer in self.weights for p in layer]


def to_flat(parameters: Sequence[np.ndarray]) -> np.ndarray:
    """[W1, b1, ...] as one vector in micrograd's order."""
    pairs = zip(parameters[0::2], parameters[1::2], strict=True)
    return np.concatenate([np.column_stack([w, b]).ravel() for w, b in pairs])


def micrograd_init(sizes: Sequence[int], rng: np.random.Generator) -> list[Layer]:
    """Weights and biases uniform in [-1, 1], as micrograd's `Neuron` draws them."""
    return [
        (rng.uniform(-1, 1, (n_out, n_in)), rng.uniform(-1, 1, n_out))
        for n_in, n_out in pairwise(sizes)
    ]


@dataclass(frozen=True)
class TrainingRun:
    """losses[t] and params[t] before step t (t = 0..steps), grads[t] used by step t."""

    losses: list[float]
    params: list[list[np.ndarray]]
    grads: list[list[np.ndarray]]


def loss_and_grads(
    network: Network, X: Any, y: Any, parameters: Sequence[Any] | None = None
) -> tuple[float, list[np.ndarray]]:
    """The loss and its gradient for every parameter ([W1, b1, ...]) on the full batch."""
    params = network.parameters() if parameters is None else parameters
    loss, grads = _loss_and_grads(
        [jnp.asarray(p, jnp.float64) for p in params],
        jnp.asarray(X, jnp.float64),
        jnp.asarray(y),
        network.activations,
        network.loss,
        network.l2,
    )
    return float(loss), [np.asarray(g) for g in grads]


def train(
    network: Network,
    X: Any,
    y: Any,
    optimizer: optim.OptimizerConfig | Mapping[str, Any],
    steps: int,
) -> TrainingRun:
    """Full-batch training for `steps` steps from the network's initial weights."""
    losses: list[float] = []
    grads: list[list[np.ndarray]] = []

    def gradient(params: list[np.ndarray]) -> list[np.ndarray]:
        loss, g = loss_and_grads(network, X, y, params)
        losses.append(loss)
        grads.append(g)
        return g

    params = optim.trajectory(optimizer, network.parameters(), gradient, steps)
    losses.append(loss_and_grads(network, X, y, params[-1])[0])
    return TrainingRun(losses, params, grads)


def _forward(params: list[jax.Array], X: jax.Array, activations: tuple[str, ...]) -> jax.Array:
    h = X
    for (w, b), act in zip(zip(params[0::2], params[1::2], strict=True), activations, strict=True):
        h = h @ w.T + b
        if act != "linear":
            h = jax_ops.UNARY[act](h)
    return h


def _loss(
    params: list[jax.Array],
    X: jax.Array,
    y: jax.Array,
    activations: tuple[str, ...],
    loss: str,
    l2: float,
) -> jax.Array:
    out = _forward(params, X, activations)
    if loss == "mse":
        value = jnp.mean((out - y.reshape(out.shape)) ** 2)
    elif loss == "hinge":
        value = jnp.mean(jax_ops.relu(1 - y.reshape(out.shape) * out))
    elif loss == "bce_with_logits":
        value = jnp.mean(jnp.logaddexp(0.0, out) - out * y.reshape(out.shape))
    else:
        picked = jnp.take_along_axis(
            jax.nn.log_softmax(out, axis=-1), y.astype(jnp.int64).reshape(-1, 1), axis=-1
        )
        value = -jnp.mean(picked)
    if l2:
        value = value + l2 * sum(jnp.sum(p * p) for p in params)
    return value


_loss_and_grads = jax.jit(
    jax.value_and_grad(_loss), static_argnums=(3, 4, 5), compiler_options=_jax.FAST_COMPILE
)
