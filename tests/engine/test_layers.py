"""engine.nn tensor layers, Sequential, and Module's state_dict round trip."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from tensor_checks import STEP

from engine import Tensor
from engine import functional as F
from engine.nn import (
    MLP,
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)


def test_linear_has_torch_shapes_and_init() -> None:
    layer = Linear(400, 300, rng=0)
    bound = 1 / math.sqrt(400)
    assert layer.weight.shape == (300, 400) and layer.bias.shape == (300,), "torch's shapes"
    for name, p in layer.named_parameters():
        assert np.abs(p.data).max() <= bound, f"{name} outside U(-{bound}, {bound})"
    std = layer.weight.data.std()
    assert abs(std - bound / math.sqrt(3)) < 0.01 * bound, f"std {std}: not uniform in the bound"
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"], "parameter order"


def test_linear_is_reproducible_and_computes_x_wt_plus_b() -> None:
    a, b = Linear(3, 2, rng=5), Linear(3, 2, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.data, b.weight.data, err_msg="same seed, same weights")
    x = np.random.default_rng(6).standard_normal((4, 3))
    expected = x @ a.weight.data.T + a.bias.data
    np.testing.assert_allclose(a(x).data, expected, rtol=1e-14, err_msg="Linear forward")
    assert Linear(3, 2, bias=False, rng=0).parameters()[0].shape == (2, 3), "bias=False"
    assert len(Linear(3, 2, bias=False).parameters()) == 1, "bias=False has no bias"


def test_conv2d_layer_shapes_and_init() -> None:
    layer = Conv2d(3, 8, 5, stride=2, padding=1, rng=0)
    assert layer.weight.shape == (8, 3, 5, 5) and layer.bias.shape == (8,), "torch's shapes"
    bound = 1 / math.sqrt(3 * 5 * 5)
    assert np.abs(layer.weight.data).max() <= bound, "weights outside the bound"
    assert np.abs(layer.bias.data).max() <= bound, "bias outside the bound"
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 9))
    expected = F.conv2d(x, layer.weight, layer.bias, 2, 1).data
    np.testing.assert_array_equal(layer(x).data, expected, err_msg="Conv2d forward")
    assert layer(x).shape == (2, 8, 4, 4), f"output shape {layer(x).shape}"


@pytest.mark.parametrize(
    ("module", "function"),
    [
        (MaxPool2d(2), lambda x: F.max_pool2d(x, 2)),
        (AvgPool2d(3, stride=1, padding=1), lambda x: F.avg_pool2d(x, 3, 1, 1)),
        (Flatten(), lambda x: F.flatten(x)),
        (ReLU(), lambda x: Tensor(x).relu()),
        (Tanh(), lambda x: Tensor(x).tanh()),
        (Sigmoid(), lambda x: Tensor(x).sigmoid()),
    ],
    ids=["MaxPool2d", "AvgPool2d", "Flatten", "ReLU", "Tanh", "Sigmoid"],
)
def test_parameterless_layers(module: Module, function) -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4))
    np.testing.assert_array_equal(module(Tensor(x)).data, function(x).data, err_msg=repr(module))
    assert module.parameters() == [], f"{module!r} has parameters"


def _small_cnn(seed: int) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 2, 3, padding=1, rng=rng),
        Tanh(),
        MaxPool2d(2),
        Flatten(),
        Sequential(Linear(8, 3, rng=rng), Sigmoid()),
    )


def test_sequential_names_parameters_by_position() -> None:
    model = _small_cnn(0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "4.0.weight", "4.0.bias"], names
    assert len(model) == 5 and isinstance(model[2], MaxPool2d), "indexing and len"
    assert [type(m).__name__ for m in model][:2] == ["Conv2d", "Tanh"], "iteration"


def test_gradient_through_a_whole_model() -> None:
    model = _small_cnn(1)
    rng = np.random.default_rng(2)
    images = Tensor(rng.standard_normal((2, 1, 4, 4)))
    out = model(images)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    params = model.parameters()
    for name, p in [("images", images), *model.named_parameters()]:
        expected = np.zeros(p.shape)
        for index in np.ndindex(p.shape):
            original = p.data[index]
            p.data[index] = original + STEP
            above = np.sum(upstream * model(images).data)
            p.data[index] = original - STEP
            below = np.sum(upstream * model(images).data)
            p.data[index] = original
            expected[index] = (above - below) / (2 * STEP)
        np.testing.assert_allclose(p.grad, expected, rtol=1e-5, atol=1e-8, err_msg=name)
    model.zero_grad()
    assert all(p.grad is None for p in params), "zero_grad should set tensor grads to None"


def test_state_dict_round_trip_through_savez(tmp_path) -> None:
    model, other = _small_cnn(4), _small_cnn(5)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()], list(state)
    model.parameters()[0].data[...] = 7.0
    assert not np.any(state["0.weight"] == 7.0), "state_dict should be a copy"
    path = tmp_path / "model.npz"
    np.savez(path, **state)
    with np.load(path) as loaded:
        other.load_state_dict(loaded)
    for name, p in other.named_parameters():
        np.testing.assert_array_equal(p.data, state[name], err_msg=name)
        assert p.data.dtype == np.float64, f"{name}: {p.data.dtype}"


def test_load_state_dict_is_strict_about_keys_and_shapes() -> None:
    model = _small_cnn(6)
    state = model.state_dict()
    missing = {k: v for k, v in state.items() if k != "0.bias"}
    with pytest.raises(ValueError, match=r"missing keys \['0.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        model.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'4.0.bias' has shape \(2,\).*\(3,\)"):
        model.load_state_dict({**state, "4.0.bias": np.zeros(2)})
    before = model.parameters()[0].data.copy()
    model.load_state_dict({"0.bias": np.zeros(2), "extra": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(model.parameters()[1].data, [0.0, 0.0], err_msg="partial load")
    np.testing.assert_array_equal(model.parameters()[0].data, before, err_msg="untouched key")


def test_state_dict_of_a_scalar_mlp() -> None:
    random.seed(0)
    model = MLP(2, [3, 1])
    random.seed(1)
    other = MLP(2, [3, 1])
    other.load_state_dict(model.state_dict())
    assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()], "MLP"
    assert all(isinstance(p.data, float) for p in other.parameters()), "Values hold floats"


def test_module_finds_tensors_in_attributes_and_lists() -> None:
    class Custom(Module):
        def __init__(self) -> None:
            self.scale = Tensor(1.0)
            self.blocks = [Linear(2, 2, rng=0), Tensor(np.zeros(3))]

    names = [name for name, _ in Custom().named_parameters()]
    assert names == ["scale", "blocks.0.weight", "blocks.0.bias", "blocks.1"], names
