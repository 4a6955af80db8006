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
from oracle.snippet import import_lines
from properties.cases.common import Case
from properties.cases.networks import NetworkCase


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


def snippet(
    net: NetworkCase, task: str, target: Any, lr: float | None = None, steps: int = 0
) -> str:
    """Python that runs `task` (``mlp_loss``, ``tensor_loss``, ``mlp_zero_grad`` or
    ``train``) on the target exactly as the worker does (`properties.worker.tasks`) and
    prints what the property compared."""
    tensor = task == "tensor_loss"
    leaves = target.constants_as_leaves("tensor" if tensor else "scalar")
    cls = "Tensor" if tensor else "Value"

    def constant(text: str) -> str:
        return f"{cls}({text})" if leaves else text

    names = ["Tensor"] if tensor else ["Value", "nn"]
    if task == "train" and target.has("optim.SGD"):
        names.append("optim")
    lines = ["import numpy as np", *import_lines(target.import_name, names), ""]
    lines += ["np.set_printoptions(precision=17)"]
    lines.append(f"X = np.array({np.asarray(net.X, dtype=np.float64).tolist()!r})")
    lines.append(f"y = np.array({np.asarray(net.y, dtype=np.float64).tolist()!r})")
    if tensor:
        weights = [np.asarray(w, dtype=np.float64) for w in net.weights]
        lines.append(
            "weights = ["
            + ", ".join(f"Tensor(np.array({w[:, :-1].tolist()!r}))" for w in weights)
            + "]"
        )
        lines.append(
            "biases = ["
            + ", ".join(f"Tensor(np.array({w[:, -1].tolist()!r}))" for w in weights)
            + "]"
        )
        lines += [
            "h = Tensor(X)",
            "for k, (w, b) in enumerate(zip(weights, biases)):",
            "    h = h @ w.T + b",
            "    if k < len(weights) - 1:",
            "        h = h.relu()",
            "scores = h.reshape(len(y))",
        ]
        if net.loss == "hinge":
            lines.append(f"loss = ({constant('1.0')} - scores * {constant('y')}).relu().mean()")
        else:
            lines.append(f"loss = ((scores - {constant('y')}) ** 2).mean()")
        lines += [
            "loss.backward()",
            "print('loss =', loss.data)",
            "print('weight gradients:', [w.grad for w in weights])",
            "print('bias gradients:', [b.grad for b in biases])",
        ]
        return "\n".join(lines) + "\n"
    lines.append(f"model = nn.MLP({net.nin}, {list(net.nouts)!r})")
    lines.append("params = list(model.parameters())")
    lines.append(f"for p, v in zip(params, {net.flat_parameters()!r}):")
    lines.append("    p.data = v")
    lines.append("")
    lines.append("def loss_of(model):")
    lines.append("    terms = []")
    lines.append("    for x, target in zip(X, y):")
    lines.append("        score = model([Value(float(v)) for v in x])")
    if net.loss == "hinge":
        one, minus_y = constant("1.0"), constant("-float(target)")
        lines.append(f"        terms.append(({one} + score * {minus_y}).relu())")
    else:
        lines.append(f"        terms.append((score - {constant('float(target)')}) ** 2)")
    lines.append("    total = terms[0]")
    lines.append("    for term in terms[1:]:")
    lines.append("        total = total + term")
    lines.append(f"    return total * {constant(repr(1.0 / len(net.y)))}")
    lines.append("")
    if task == "mlp_loss":
        lines += ["loss = loss_of(model)", "loss.backward()", "print('loss =', loss.data)"]
        lines.append("print('gradients:', [p.grad for p in params])")
    elif task == "mlp_zero_grad":
        lines += ["loss_of(model).backward()", "model.zero_grad()"]
        lines.append("print('gradients after zero_grad():', [p.grad for p in model.parameters()])")
    else:
        if "optim" in names:
            lines.append(f"optimizer = optim.SGD(params, lr={lr!r})")
        lines.append("print('step 0:', [p.data for p in params])")
        lines.append(f"for t in range({steps}):")
        lines += ["    loss = loss_of(model)", "    model.zero_grad()", "    loss.backward()"]
        if "optim" in names:
            lines.append("    optimizer.step()")
        else:
            lines += ["    for p in params:", f"        p.data -= {lr!r} * p.grad"]
        lines.append("    print(f'step {t + 1}:', [p.data for p in params])")
        lines.append("print('loss after training =', loss_of(model).data)")
    return "\n".join(lines) + "\n"
