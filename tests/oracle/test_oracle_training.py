"""Training references: losses, gradients, weight layouts, and whole runs against torch."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.second_opinion import central_difference
from oracle.training import Network, loss_and_grads, micrograd_init, to_flat, train

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 3))
SIGNS = np.where(X[:, 0] - 0.5 * X[:, 1] > 0, 1.0, -1.0)
LABELS = {
    "mse": RNG.normal(size=(12, 2)),
    "hinge": SIGNS,
    "bce_with_logits": (SIGNS > 0) * 1.0,
    "cross_entropy": RNG.integers(0, 3, size=12),
}
OUTS = {"mse": 2, "hinge": 1, "bce_with_logits": 1, "cross_entropy": 3}
ACTIVATIONS = {
    "mse": ("tanh", "linear"),
    "hinge": ("relu", "linear"),
    "bce_with_logits": ("sigmoid", "linear"),
    "cross_entropy": ("tanh", "sigmoid"),
}


def network(loss: str, l2: float = 0.0) -> Network:
    sizes = (3, 5, OUTS[loss])
    return Network(sizes, ACTIVATIONS[loss], loss, micrograd_init(sizes, RNG), l2)


def numpy_loss(net: Network, params: list[np.ndarray]) -> float:
    """The loss written out in NumPy from its definition."""
    h = X
    for (w, b), act in zip(
        zip(params[0::2], params[1::2], strict=True), net.activations, strict=True
    ):
        h = h @ w.T + b
        h = {
            "tanh": np.tanh,
            "relu": lambda z: np.maximum(z, 0),
            "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
            "linear": lambda z: z,
        }[act](h)
    y = LABELS[net.loss]
    if net.loss == "mse":
        value = np.mean((h - y) ** 2)
    elif net.loss == "hinge":
        value = np.mean(np.maximum(0, 1 - y * h[:, 0]))
    elif net.loss == "bce_with_logits":
        z = h[:, 0]
        value = np.mean(np.log1p(np.exp(z)) - z * y)
    else:
        z = h - h.max(1, keepdims=True)
        value = -np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1)))
    return float(value + net.l2 * sum(np.sum(p * p) for p in params))


@pytest.mark.parametrize("loss", sorted(LABELS))
def test_loss_and_gradients_match_definitions(loss: str) -> None:
    net = network(loss, l2=1e-2)
    value, grads = loss_and_grads(net, X, LABELS[loss])
    params = net.parameters()
    assert value == pytest.approx(numpy_loss(net, params), rel=1e-13), f"{loss}: loss value"
    for k, p in enumerate(params):

        def partial(x: np.ndarray, k: int = k) -> float:
            return numpy_loss(net, [x if j == k else q for j, q in enumerate(params)])

        numeric = central_difference(partial, p, step=1e-3)  # small: relu and hinge kinks
        np.testing.assert_allclose(
            grads[k], numeric, rtol=1e-7, atol=1e-8, err_msg=f"{loss}: gradient of parameter {k}"
        )


def test_flat_weights_follow_micrograd_order() -> None:
    sizes = (2, 3, 1)
    flat = np.arange(13.0)
    net = Network.from_flat(sizes, ("relu", "linear"), "hinge", flat)
    w1, b1 = net.weights[0]
    assert w1[0].tolist() == [0.0, 1.0] and b1[0] == 2.0 and w1[1].tolist() == [3.0, 4.0], (
        f"neuron by neuron, weights then bias: {w1}, {b1}"
    )
    assert net.weights[1][0].tolist() == [[9.0, 10.0, 11.0]] and net.weights[1][1][0] == 12.0
    assert to_flat(net.parameters()).tolist() == flat.tolist(), "to_flat inverts from_flat"
    with pytest.raises(ValueError, match="need 13 parameters"):
        Network.from_flat(sizes, ("relu", "linear"), "hinge", flat[:-1])


def test_training_converges_on_separable_data() -> None:
    net = network("hinge")
    run = train(net, X, SIGNS, {"name": "SGD", "lr": 0.2, "momentum": 0.9}, steps=60)
    assert len(run.losses) == 61 and len(run.params) == 61 and len(run.grads) == 60, (
        f"{len(run.losses)} losses, {len(run.params)} params, {len(run.grads)} grads"
    )
    assert run.losses[-1] < 0.1 * run.losses[0], f"loss {run.losses[0]} -> {run.losses[-1]}"


@pytest.mark.parametrize("loss", sorted(LABELS))
@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "SGD", "lr": 0.1, "momentum": 0.9},
        {"name": "Adam", "lr": 0.05, "weight_decay": 0.01},
    ],
)
def test_training_matches_torch(loss: str, optimizer: dict) -> None:
    torch = pytest.importorskip("torch")
    net = network(loss, l2=1e-3)
    steps = 15
    run = train(net, X, LABELS[loss], optimizer, steps)
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in net.parameters()]
    opt = getattr(torch.optim, optimizer["name"])(
        params, **{k: v for k, v in optimizer.items() if k != "name"}
    )
    x, y = torch.tensor(X), torch.tensor(LABELS[loss])
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z}
    functional = torch.nn.functional
    for step in range(steps + 1):
        h = x
        for (w, b), act in zip(
            zip(params[0::2], params[1::2], strict=True), net.activations, strict=True
        ):
            h = acts[act](h @ w.T + b)
        if loss == "mse":
            value = ((h - y) ** 2).mean()
        elif loss == "hinge":
            value = torch.relu(1 - y * h[:, 0]).mean()
        elif loss == "bce_with_logits":
            value = functional.binary_cross_entropy_with_logits(h[:, 0], y)
        else:
            value = functional.cross_entropy(h, y)
        value = value + 1e-3 * sum((p * p).sum() for p in params)
        assert value.item() == pytest.approx(run.losses[step], rel=1e-11), (
            f"{loss} {optimizer}: loss at step {step}"
        )
        for k, p in enumerate(params):
            np.testing.assert_allclose(
                p.detach().numpy(),
                run.params[step][k],
                rtol=1e-10,
                atol=1e-13,
                err_msg=f"{loss}: parameter {k}, step {step}",
            )
        opt.zero_grad()
        value.backward()
        opt.step()
