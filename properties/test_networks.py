"""Random networks: the target's `nn.MLP` computes the oracle's loss and gradients, its
`Tensor` ops agree with its `Value`s on the same network, and training follows the
oracle's run step by step and converges on separable data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle import training
from properties import networks, running
from properties.cases.networks import NetworkCase, network_cases
from properties.reference import bad_value, bounds, expected, mismatches
from properties.settings import fewer_examples
from properties.targets import Target, TargetRaised

TENSOR_OPS = ("Tensor.__matmul__", "Tensor.T", "Tensor.relu", "Tensor.reshape", "Tensor.mean")


def needs(target: Target, *capabilities: str) -> None:
    missing = target.missing(*capabilities)
    if missing:
        pytest.skip(f"target lacks {', '.join(missing)}")


def describe(net: NetworkCase) -> str:
    return (
        f"MLP({net.nin}, {list(net.nouts)}) with parameters {net.flat_parameters()}, "
        f"{net.loss} loss on X={net.X.tolist()}, y={net.y.tolist()}"
    )


def on_target(target: Target, net: NetworkCase, task: str, **kwargs: Any) -> Any:
    """Run a network task on the target; an exception is a failure that names the network."""
    try:
        return target.call(task, context=lambda: describe(net), net=networks.as_data(net), **kwargs)
    except TargetRaised as error:
        raise AssertionError(f"{describe(net)}: the target raised {error.describe()}") from None


@contextmanager
def reproducible(target: Target, net: NetworkCase, *tasks: str, **training: Any) -> Iterator[None]:
    """A failure inside ends with the snippets that run `tasks` on the target as the
    worker did, so a learner can paste them."""
    try:
        yield
    except AssertionError as error:
        said = str(error).split("\nassert ")[0]  # without pytest's rewritten assert
        snippets = [networks.snippet(net, task, target, **training) for task in tasks]
        raise AssertionError(f"{said}\nreproduce with:\n" + "\n".join(snippets)) from None


def bad_values(what: str, values: list[Any]) -> list[str]:
    return [f"{what}[{i}] is {why}" for i, v in enumerate(values) if (why := bad_value(v))]


# A hidden layer of width one: micrograd's `Layer` returns a bare `Value` (not a list)
# for one neuron, which the next layer cannot iterate over.
NARROW = NetworkCase(
    nin=2,
    nouts=(1, 1),
    weights=(np.array([[0.5, -0.3, 0.1]]), np.array([[0.8, -0.2]])),
    X=np.array([[1.0, 2.0], [-1.5, 0.5]]),
    y=np.array([1.0, -1.0]),
    loss="mse",
)


def test_network_loss_and_gradients_agree_with_oracle(target: Target) -> None:
    needs(target, "nn.MLP", "Value", "Value.relu")

    def check(net: NetworkCase) -> None:
        case = networks.as_graph_case(net)
        want = expected(case)
        value_bound, grad_bounds = bounds(case, want)
        with reproducible(target, net, "mlp_loss"):
            answer = on_target(target, net, "mlp_loss")
            names = networks.parameter_names(net)
            problems = mismatches(want.outputs, [answer["loss"]], value_bound, ["loss"])
            problems += mismatches(
                [want.grads[n] for n in names],
                answer["grads"],
                grad_bounds,
                [f"d loss / d parameters()[{i}]" for i in range(len(names))],
            )
            assert not problems, f"{describe(net)}:\n" + "\n".join(problems)

    check(NARROW)

    @fewer_examples(0.3)
    @given(net=network_cases())
    def agrees(net: NetworkCase) -> None:
        check(net)

    running.run(agrees, target)


def test_scalar_and_tensor_engines_agree_on_the_same_network(target: Target) -> None:
    needs(target, "nn.MLP", "Value", "Value.relu", "Tensor", *TENSOR_OPS)

    @fewer_examples(0.2)
    @given(net=network_cases())
    def agrees(net: NetworkCase) -> None:
        with reproducible(target, net, "mlp_loss", "tensor_loss"):
            case = networks.as_graph_case(net)
            want = expected(case)
            (value_bound,), grad_bounds = bounds(case, want)
            scalar = on_target(target, net, "mlp_loss")
            tensor = on_target(target, net, "tensor_loss")
            bad = (
                bad_values("Value gradient", scalar["grads"])
                + bad_values(
                    "Tensor weight gradient", [g for g in tensor["weight_grads"] if g is not None]
                )
                + bad_values(
                    "Tensor bias gradient", [g for g in tensor["bias_grads"] if g is not None]
                )
            )
            bad += bad_values("Value loss", [scalar["loss"]]) + bad_values(
                "Tensor loss", [tensor["loss"]]
            )
            assert not bad, f"{describe(net)}:\n" + "\n".join(bad)
            scalar_grads = np.array(scalar["grads"], dtype=np.float64)
            tensor_grads = networks.flat_tensor_grads(
                tensor["weight_grads"], tensor["bias_grads"], net
            )
            both = 2 * np.asarray(grad_bounds, dtype=np.float64)
            problems = mismatches(
                [scalar["loss"]],
                [np.asarray(tensor["loss"], dtype=np.float64).reshape(())],
                [2 * value_bound],
                ["loss (Value vs Tensor)"],
            )
            problems += mismatches(
                [scalar_grads], [tensor_grads], [both], ["gradients (Value vs Tensor)"]
            )
            assert not problems, f"{describe(net)}:\n" + "\n".join(problems)

    running.run(agrees, target)


def test_mlp_zero_grad_clears_every_parameter(target: Target) -> None:
    needs(target, "nn.MLP", "Value", "Value.relu")

    @fewer_examples(0.2)
    @given(net=network_cases())
    def clears(net: NetworkCase) -> None:
        with reproducible(target, net, "mlp_zero_grad"):
            grads = on_target(target, net, "mlp_zero_grad")
            left = [
                (i, g)
                for i, g in enumerate(grads)
                if not (g is None or (type(g) in (int, float) and g == 0))
            ]
            assert not left, (
                f"{describe(net)}: zero_grad() left gradients at parameters()"
                f"{[i for i, _ in left]}: got {[g for _, g in left]}, expected zeros"
            )

    running.run(clears, target)


def train_on_target(target: Target, net: NetworkCase, lr: float, steps: int) -> dict[str, Any]:
    """Parameters before each step and after the last, trained by the target (the model's
    `zero_grad()`, then its own `optim.SGD` when it has one, ``p.data -= lr * p.grad``
    otherwise), and the loss after the last step."""
    answer = on_target(target, net, "train", lr=lr, steps=steps)
    bad = [
        f"after step {t}: {line}"
        for t, params in enumerate(answer["history"])
        for line in bad_values("parameter", params)
    ]
    assert not bad, f"{describe(net)}, SGD lr={lr}:\n" + "\n".join(bad[:10])
    return answer


def oracle_run(net: NetworkCase, lr: float, steps: int, scale: float = 1.0) -> list[np.ndarray]:
    """The oracle's parameter trajectory (flat, micrograd's order) from weights * scale."""
    sizes = (net.nin, *net.nouts)
    activations = ["relu"] * (len(net.nouts) - 1) + ["linear"]
    network = training.Network.from_flat(
        sizes, activations, net.loss, np.asarray(net.flat_parameters()) * scale
    )
    run = training.train(network, net.X, net.y, {"name": "SGD", "lr": lr}, steps)
    return [training.to_flat(params) for params in run.params]


def update_noise(net: NetworkCase, lr: float, trajectory: list[np.ndarray]) -> np.ndarray:
    """Per step, how far each parameter may move from the oracle's by the rounding of its
    gradient alone: ``lr`` times the gradient's allowed error (the error analysis of the
    loss at that step's parameters), summed over the steps so far. A gradient that is 0 in
    exact arithmetic may come out as +-1e-17 on a correct engine; the nudged runs cannot
    show that (they move the parameters, not the rounding)."""
    noise = [np.zeros_like(trajectory[0])]
    for params in trajectory[:-1]:
        layers, start = [], 0
        for w in net.weights:
            layers.append(np.asarray(params[start : start + w.size]).reshape(w.shape))
            start += w.size
        case = networks.as_graph_case(dataclasses.replace(net, weights=tuple(layers)))
        _, grad_bounds = bounds(case, expected(case))
        noise.append(noise[-1] + lr * np.asarray(grad_bounds, dtype=np.float64))
    return np.asarray(noise)


def check_training(target: Target, net: NetworkCase, lr: float, steps: int) -> None:
    """The target's parameters after each SGD step are the oracle's, to the step's noise."""
    with reproducible(target, net, "train", lr=lr, steps=steps):
        want = oracle_run(net, lr, steps)
        nudged = [oracle_run(net, lr, steps, 1 + s * 2.0**-50) for s in (1.0, -1.0)]
        got = train_on_target(target, net, lr, steps)["history"]
        noise = update_noise(net, lr, want)
        for t in range(steps + 1):
            spread = np.max([np.abs(n[t] - want[t]) for n in nudged], axis=0)
            relative = 1e-10 * (np.abs(want[0]) + np.abs(want[t] - want[0]))
            bound = relative + 16 * spread + noise[t] + 1e-300
            error = np.abs(np.asarray(got[t]) - want[t])
            assert np.all(error <= bound), (
                f"{describe(net)}, SGD lr={lr}: the parameters after {t} steps: "
                f"expected (the oracle's) {want[t].tolist()}, got {got[t]}"
            )


# Found by a thorough run: the bias gradient is 0 in exact arithmetic (three labels +1,
# three -1, every input 0) and +-2.8e-17 in floating point, on a correct engine too.
CANCELLING = NetworkCase(
    nin=3,
    nouts=(1,),
    weights=(np.zeros((1, 4)),),
    X=np.zeros((6, 3)),
    y=np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0]),
    loss="hinge",
)


def test_training_follows_the_oracle_step_by_step(target: Target) -> None:
    needs(target, "nn.MLP", "Value", "Value.relu")
    check_training(target, CANCELLING, lr=0.5, steps=1)

    @fewer_examples(0.2)
    @given(net=network_cases(), lr=st.floats(1e-3, 0.5), steps=st.integers(1, 6))
    def follows(net: NetworkCase, lr: float, steps: int) -> None:
        check_training(target, net, lr, steps)

    running.run(follows, target)


SEPARABLE = NetworkCase(
    nin=2,
    nouts=(4, 1),
    weights=(
        np.array([[0.5, -0.3, 0.1], [-0.4, 0.8, 0.0], [0.7, 0.2, -0.1], [-0.6, -0.5, 0.2]]),
        np.array([[0.3, -0.2, 0.4, -0.5, 0.0]]),
    ),
    X=np.array([[2.0, 1.5], [1.5, 2.5], [2.5, 2.0], [-2.0, -1.0], [-1.5, -2.5], [-2.5, -1.5]]),
    y=np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0]),
    loss="hinge",
)


def test_training_converges_on_separable_data(target: Target) -> None:
    """Two well-separated clusters: 40 SGD steps drive the hinge loss to zero, as the
    oracle's run does from the same weights."""
    needs(target, "nn.MLP", "Value", "Value.relu")
    with reproducible(target, SEPARABLE, "train", lr=0.1, steps=40):
        run = train_on_target(target, SEPARABLE, lr=0.1, steps=40)
        history, final = run["history"], run["loss"]
        want = oracle_run(SEPARABLE, lr=0.1, steps=40)
        why = bad_value(final)
        assert not why, f"the hinge loss after 40 steps is {why}"
        assert final < 1e-3, f"hinge loss after 40 steps is {final}, expected below 1e-3"
        assert np.allclose(history[-1], want[-1], rtol=1e-9, atol=1e-12), (
            f"final parameters: expected (the oracle's) {want[-1].tolist()}, got {history[-1]}"
        )
