"""A network case run three ways: on the target's `nn.MLP` of `Value`s, on the target's
`Tensor` ops (both in the worker, `properties.worker.tasks`), and as an oracle IR graph
whose inputs are the parameters.

The IR graph computes exactly what micrograd's demo computes (each neuron
``b + w0*x0 + w1*x1 + ...``, ReLU on hidden layers, then the mean hinge loss
``relu(1 - y*score)`` or the mean squared error), so the oracle's values, gradients and
error bounds for a network come from the same machinery as for any random graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.ir import SCALAR, GraphBuilder
from properties.strategies import Case, NetworkCase


def parameter_names(net: NetworkCase) -> list[str]:
    return [f"p{i}" for i in range(len(net.flat_parameters()))]


def as_graph_case(net: NetworkCase) -> Case:
    """The network's loss as a scalar IR graph of its parameters (upstream 1)."""
    b = GraphBuilder(SCALAR)
    params = iter(b.input(name) for name in parameter_names(net))
    layers = [
        [([next(params) for _ in range(w.shape[1] - 1)], next(params)) for _ in range(w.shape[0])]
        for w in net.weights
    ]
    terms = []
    for x, y in zip(net.X, net.y, strict=True):
        activations: list[Any] = [float(v) for v in x]
        for k, layer in enumerate(layers):
            outputs = []
            for weights, bias in layer:
                total = bias
                for w, a in zip(weights, activations, strict=True):
                    product = b.op("mul", w, const=a) if isinstance(a, float) else b.op("mul", w, a)
                    total = b.op("add", total, product)
                last = k == len(layers) - 1
                outputs.append(total if last else b.op("relu", total))
            activations = outputs
        score = activations[0]
        if net.loss == "hinge":
            margin = b.op("mul", score, const=-float(y))
            terms.append(b.op("relu", b.op("add", margin, const=1.0, side="left")))
        else:
            terms.append(b.op("pow", b.op("sub", score, const=float(y)), const=2))
    total = terms[0]
    for term in terms[1:]:
        total = b.op("add", total, term)
    loss = b.op("mul", total, const=1.0 / len(terms))
    inputs = dict(zip(parameter_names(net), net.flat_parameters(), strict=True))
    return Case(b.build([loss]), inputs, (1.0,))


def as_data(net: NetworkCase) -> dict[str, Any]:
    """The network case as the worker receives it (`properties.worker.tasks`)."""
    return {
        "nin": net.nin,
        "nouts": list(net.nouts),
        "weights": [np.asarray(w, dtype=np.float64) for w in net.weights],
        "X": np.asarray(net.X, dtype=np.float64),
        "y": np.asarray(net.y, dtype=np.float64),
        "loss": net.loss,
    }


def flat_tensor_grads(weight_grads: list[Any], bias_grads: list[Any], net: NetworkCase) -> Any:
    """Tensor gradients [W1, b1, ...] in micrograd's order (neuron by neuron, w then b);
    None (never reached) read as zeros."""
    flat = []
    for w, gw, gb in zip(net.weights, weight_grads, bias_grads, strict=True):
        gw = np.zeros(w[:, :-1].shape) if gw is None else np.asarray(gw, dtype=np.float64)
        gb = np.zeros(w.shape[0]) if gb is None else np.asarray(gb, dtype=np.float64)
        flat.append(np.column_stack([gw, gb]).ravel())
    return np.concatenate(flat)
