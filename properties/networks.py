"""A network case run three ways: on the target's `nn.MLP` of `Value`s, on the target's
`Tensor` ops, and as an oracle IR graph whose inputs are the parameters.

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
from properties.targets import Target


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


def scalar_loss(target: Target, net: NetworkCase) -> tuple[Any, list[Any]]:
    """The loss on the target's `nn.MLP` (weights set from the case) and its parameters."""
    model = target.nn.MLP(net.nin, list(net.nouts))
    params = model.parameters()
    if len(params) != len(net.flat_parameters()):
        raise AssertionError(
            f"MLP({net.nin}, {list(net.nouts)}) has {len(params)} parameters, "
            f"expected {len(net.flat_parameters())}"
        )
    for p, value in zip(params, net.flat_parameters(), strict=True):
        p.data = value
    return mlp_loss(target, model, net), params


def mlp_loss(target: Target, model: Any, net: NetworkCase) -> Any:
    """The case's loss of `model` on the case's data, with the target's `Value`s."""
    terms = []
    for x, y in zip(net.X, net.y, strict=True):
        score = model([target.Value(float(v)) for v in x])
        if net.loss == "hinge":
            terms.append((1.0 + score * -float(y)).relu())
        else:
            terms.append((score - float(y)) ** 2)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * (1.0 / len(terms))


def tensor_loss(target: Target, net: NetworkCase) -> tuple[Any, list[Any]]:
    """The same loss with the target's `Tensor` ops: ``relu(X @ W.T + b)`` layer by layer."""
    weights = [target.Tensor(np.array(layer[:, :-1])) for layer in net.weights]
    biases = [target.Tensor(np.array(layer[:, -1])) for layer in net.weights]
    h = target.Tensor(np.array(net.X))
    for k, (w, bias) in enumerate(zip(weights, biases, strict=True)):
        h = h @ w.T + bias
        if k < len(weights) - 1:
            h = h.relu()
    scores = h.reshape(len(net.y))
    if net.loss == "hinge":
        loss = (1.0 - scores * net.y).relu().mean()
    else:
        loss = ((scores - net.y) ** 2).mean()
    return loss, [t for pair in zip(weights, biases, strict=True) for t in pair]


def flat_tensor_grads(params: list[Any]) -> np.ndarray:
    """Tensor gradients [W1, b1, ...] in micrograd's order (neuron by neuron, w then b)."""
    flat = []
    for w, b in zip(params[0::2], params[1::2], strict=True):
        gw = np.zeros(np.shape(w.data)) if w.grad is None else np.asarray(w.grad)
        gb = np.zeros(np.shape(b.data)) if b.grad is None else np.asarray(b.grad)
        flat.append(np.column_stack([gw, gb]).ravel())
    return np.concatenate(flat)
