"""A correct engine's training run may part from the oracle's by its gradients' rounding,
carried by the optimizer: found by `vgrad check --target engine --profile default`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from properties.cases.layers import NetworkCase
from properties.targets import load_target
from properties.test_sequential import follow, rounding_noise

DATA = Path(__file__).parent / "data" / "saturated_tanh_adam.json"


def saturated_case() -> NetworkCase:
    """Conv2d, ReLU, MaxPool2d(1), Flatten, Linear(54, 4), Tanh, Linear(4, 1) on images
    whose pre-activations saturate the tanh: the conv weights' gradients are 1e-16 in one
    correct implementation and 0.0 in another, and Adam's first step moves a weight by
    lr * g / (|g| + 1e-8), 6e-11 for the one and 0 for the other."""
    data = json.loads(DATA.read_text())
    layers = tuple(
        {k: tuple(v) if isinstance(v, list) else v for k, v in layer.items()}
        for layer in data["layers"]
    )
    params = tuple(np.array(p) for p in data["params"])
    return NetworkCase(layers, params, np.array(data["x"]), data["loss"], np.array(data["y"]))


@pytest.fixture(scope="module")
def engine():
    target = load_target("engine")
    yield target
    target.close()


def test_adam_on_a_saturated_tanh_follows_within_its_rounding_noise(engine) -> None:
    case = saturated_case()
    follow(engine, case, "Adam", {"lr": 1e-3}, 1)  # raises AssertionError with the case


def test_the_rounding_noise_is_the_optimizers_sensitivity_not_a_constant() -> None:
    """The room is lr * (gradient error) / eps where Adam divides by eps, far less where
    a gradient is large: the noise of a weight with a large gradient stays tiny."""
    from oracle import networks

    case = saturated_case()
    config = {"name": "Adam", "lr": 1e-3}
    want = networks.train(case.layers, case.loss, case.params, case.x, case.y, config, 1)
    analysis = networks.bounds(case.layers, case.params, case.x, case.loss, case.y)
    noise = rounding_noise(case, config, 1, want, [analysis])
    conv, last_bias = noise.params[1][0], noise.params[1][-1]
    assert np.max(conv) > 1e-11, f"no room for the saturated conv weights: {conv}"
    assert np.max(last_bias) < 1e-14, f"room where the gradient is large: {last_bias}"


def test_a_loss_near_zero_is_judged_with_its_evaluation_error(engine) -> None:
    """RMSprop's first step jumps from a loss of 1.41 to 2.1e-9; computed as log(1 + s) it
    is uncertain by 1e-16, 5e-8 of itself, which 1e-10 relative did not allow (found by a
    thorough run on torch; engine gives the same number)."""
    layers = (
        {"type": "Conv2d", "in_channels": 2, "out_channels": 1, "kernel_size": (3, 1)}
        | {"stride": (2, 2), "bias": False},
        {"type": "Flatten"},
        {"type": "Linear", "in_features": 2, "out_features": 3, "bias": False},
    )
    params = (
        np.array([[[[1.0], [1.0], [1.0]], [[1.0], [1.0], [0.5]]]]),
        np.array([[0.5, 0.5], [0.25, 1.0], [1.0, 1.0]]),
    )
    x = np.arange(-3, 3, 0.25).reshape(1, 2, 6, 2)
    case = NetworkCase(layers, params, x, "cross_entropy", np.array([0]))
    follow(engine, case, "RMSprop", {"lr": 0.056234}, 1)
