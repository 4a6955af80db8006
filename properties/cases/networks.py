"""Random micrograd-style MLPs, their initial weights, small datasets and a loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from properties.cases.common import arrays_of

# -- networks and data ---------------------------------------------------------------


def _no_tiny(v: float) -> float:
    """0 for a number below 1e-6 in size: products of tiny numbers would be subnormal,
    which JAX on the CPU flushes to zero."""
    return 0.0 if abs(v) < 1e-6 else v


@dataclass(frozen=True)
class NetworkCase:
    """A micrograd-style MLP (ReLU hidden layers, linear output), its initial weights,
    a small dataset and a loss: ``hinge`` (labels ±1) or ``mse``."""

    nin: int
    nouts: tuple[int, ...]
    weights: tuple[np.ndarray, ...]  # per layer, shape (nout, nin + 1): weights then bias
    X: np.ndarray
    y: np.ndarray
    loss: str

    def flat_parameters(self) -> list[float]:
        """The parameters in micrograd's order: layer by layer, neuron by neuron, w then b."""
        return [float(v) for layer in self.weights for v in layer.ravel()]


@st.composite
def network_cases(draw: st.DrawFn, max_hidden_layers: int = 2, max_width: int = 5) -> NetworkCase:
    """A random small MLP with random weights and a random dataset of up to 8 points."""
    nin = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, max_width), max_size=max_hidden_layers))
    nouts = (*hidden, 1)
    sizes = (nin, *nouts)
    weights = tuple(
        draw(
            arrays_of(
                (sizes[i + 1], sizes[i] + 1),
                st.floats(-1.0, 1.0, allow_subnormal=False).map(_no_tiny),
            )
        )
        for i in range(len(nouts))
    )
    n_points = draw(st.integers(1, 8))
    X = draw(arrays_of((n_points, nin), st.floats(-2.0, 2.0, allow_subnormal=False).map(_no_tiny)))
    loss = draw(st.sampled_from(["hinge", "mse"]))
    if loss == "hinge":
        y = draw(arrays_of((n_points,), st.sampled_from([-1.0, 1.0])))
    else:
        y = draw(arrays_of((n_points,), st.floats(-2.0, 2.0, allow_subnormal=False).map(_no_tiny)))
    return NetworkCase(nin, nouts, weights, X, y, loss)
