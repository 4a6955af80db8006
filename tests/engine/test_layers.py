"""engine.nn tensor layers, Sequential, and Module's state_dict round trip."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
from tensor_checks import STEP

from engine import Tensor, Value
from engine import functional as F
from engine.nn import (
    MLP,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
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


# -- reprs, messages and edge cases of engine.nn ------------------------------------------
# The text a module prints, which loss an error message names, the gradient of a
# one-element loss: each test pins down what a surviving mutant once changed.

# -- reprs ---------------------------------------------------------------------------------


def test_tensor_layer_reprs_are_torchs() -> None:
    assert repr(ReLU()) == "ReLU()"
    assert repr(Tanh()) == "Tanh()"
    assert repr(Sigmoid()) == "Sigmoid()"
    assert repr(Linear(3, 2, rng=0)) == "Linear(3, 2, bias=True)"
    assert repr(Linear(3, 2, bias=False, rng=0)) == "Linear(3, 2, bias=False)"
    assert repr(Conv2d(3, 4, (2, 3), stride=2, padding=1, rng=0)) == (
        "Conv2d(3, 4, kernel_size=(2, 3), stride=2, padding=1)"
    )
    assert repr(MaxPool2d(2)) == "MaxPool2d(2, stride=None, padding=0)"
    assert repr(AvgPool2d(3, stride=1, padding=1)) == "AvgPool2d(3, stride=1, padding=1)"
    assert repr(Flatten(2)) == "Flatten(start_dim=2)"


def test_sequential_repr_lists_the_modules_by_position() -> None:
    model = Sequential(Linear(2, 3, rng=0), ReLU())
    assert repr(model) == "Sequential(\n  (0): Linear(2, 3, bias=True)\n  (1): ReLU()\n)"
    assert repr(Sequential()) == "Sequential(\n)"


def test_scalar_network_reprs_separate_their_parts_with_a_comma() -> None:
    assert repr(Layer(1, 2)) == "Layer of [ReluNeuron(1), ReluNeuron(1)]"
    assert repr(MLP(1, [2, 1])) == (
        "MLP of [Layer of [ReluNeuron(1), ReluNeuron(1)], Layer of [LinearNeuron(2)]]"
    )
    assert repr(Neuron(3, activation="tanh")) == "TanhNeuron(3)"


# -- loss errors name the loss ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "name"),
    [
        (mse_loss, "mse_loss"),
        (hinge_loss, "hinge_loss"),
        (binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
    ],
)
def test_shape_mismatch_message_names_the_loss(loss, name: str) -> None:
    with pytest.raises(ValueError) as info:
        loss(Tensor(np.zeros((4, 1))), np.ones(4))
    assert str(info.value) == f"{name}: the arguments' shapes (4, 1) and (4,) differ"


def test_cross_entropy_messages() -> None:
    with pytest.raises(TypeError) as info:
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    assert str(info.value) == "cross_entropy: labels must be integers, got dtype float64"
    with pytest.raises(ValueError) as info:
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    assert str(info.value) == "cross_entropy: labels must be in [0, 3), got [0 3]"
    with pytest.raises(ValueError) as info:
        cross_entropy(np.zeros(3), np.array([0]))
    assert str(info.value) == (
        "cross_entropy: logits of shape (3,) need (N, C) with labels of shape (N,), "
        "got labels of shape (1,)"
    )
    unsigned = cross_entropy(np.zeros((2, 3)), np.array([0, 2], dtype=np.uint8))
    assert unsigned.item() == pytest.approx(np.log(3.0))


# -- gradients at the edges ------------------------------------------------------------------


def test_bce_gradient_of_a_single_logit_is_not_halved() -> None:
    x, y = Tensor([0.5]), Tensor([1.0])
    binary_cross_entropy_with_logits(x, y).backward()
    sigmoid = 1.0 / (1.0 + np.exp(-0.5))
    np.testing.assert_allclose(x.grad, [sigmoid - 1.0], rtol=1e-15)
    np.testing.assert_allclose(y.grad, [-0.5], rtol=1e-15)


def test_bce_gradient_is_the_mean_over_elements() -> None:
    logits = np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 40.0]])
    targets = np.array([[0.0, 1.0, 0.25], [1.0, 0.0, 0.5]])
    x, y = Tensor(logits), Tensor(targets)
    binary_cross_entropy_with_logits(x, y).backward(np.array(2.0))
    sigmoid = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(x.grad, 2.0 * (sigmoid - targets) / 6, rtol=1e-14)
    np.testing.assert_allclose(y.grad, 2.0 * -logits / 6, rtol=1e-14)


# -- Module ------------------------------------------------------------------------------------


def test_load_state_dict_messages() -> None:
    model = Linear(2, 1, rng=0)
    with pytest.raises(ValueError) as info:
        model.load_state_dict({"weight": np.zeros((1, 2)), "extra": np.zeros(1)})
    assert str(info.value) == ("load_state_dict: missing keys ['bias'], unexpected keys ['extra']")
    with pytest.raises(ValueError) as info:
        model.load_state_dict({"weight": np.zeros((2, 1)), "bias": np.zeros(1)})
    assert str(info.value) == "load_state_dict: 'weight' has shape (2, 1), the parameter (1, 2)"


def test_zero_grad_of_a_module_holding_values_and_tensors() -> None:
    class Both(Module):
        def __init__(self) -> None:
            self.v = Value(1.0)
            self.t = Tensor(np.ones(2))

    both = Both()
    both.v.grad, both.t.grad = 3.0, np.ones(2)
    both.zero_grad()
    assert both.v.grad == 0.0 and isinstance(both.v.grad, float)
    assert both.t.grad is None


def test_neuron_messages() -> None:
    with pytest.raises(ValueError) as info:
        Neuron(2, activation="gelu")
    assert str(info.value) == (
        "activation must be one of ('relu', 'tanh', 'sigmoid', 'linear'), got 'gelu'"
    )
    with pytest.raises(ValueError) as info:
        Neuron(2)([1.0])
    assert str(info.value) == "ReluNeuron(2) takes 2 inputs, got 1"


def test_functional_messages_name_the_argument() -> None:
    with pytest.raises(ValueError) as info:
        F.linear(np.zeros((2, 3)), np.zeros((4, 2)))
    assert str(info.value) == (
        "linear: input of shape (2, 3) does not fit weight of shape (4, 2) "
        "(a 2-D weight (out, in) whose second axis is the input's last)"
    )
    image, kernel = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2))
    for name, call in [
        ("stride", lambda: F.conv2d(image, kernel, stride=0)),
        ("padding", lambda: F.conv2d(image, kernel, padding=-1)),
        ("kernel_size", lambda: F.max_pool2d(image, 0)),
        ("stride", lambda: F.avg_pool2d(image, 2, stride=(1, 0))),
        ("padding", lambda: F.max_pool2d(image, 2, padding=(0, -1))),
        ("kernel_size", lambda: Conv2d(1, 1, 0)),
    ]:
        with pytest.raises(ValueError, match=rf"^{name} must be an int or a pair of ints >= "):
            call()
    with pytest.raises(TypeError, match=re.escape("stride must be an int or a pair of ints")):
        F.conv2d(image, kernel, stride=1.5)


def test_state_dict_holds_float64_arrays_and_loading_makes_float64() -> None:
    class Both(Module):
        def __init__(self) -> None:
            self.v = Value(1.0)
            self.t = Tensor(np.ones(2))

    both = Both()
    both.v.data = 2  # an int assigned by hand
    state = both.state_dict()
    assert state["v"].dtype == np.float64 and state["v"].item() == 2.0
    both.load_state_dict({"v": np.array(3), "t": np.array([4, 5])})
    assert both.v.data == 3.0 and isinstance(both.v.data, float)
    assert both.t.data.dtype == np.float64
    np.testing.assert_array_equal(both.t.data, [4.0, 5.0])


def test_pooling_pads_nothing_by_default() -> None:
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    for pool in (F.avg_pool2d, F.max_pool2d):
        assert pool(x, 2).shape == (1, 1, 2, 2)
        np.testing.assert_array_equal(pool(x, 2).data, pool(x, 2, padding=0).data)
    np.testing.assert_array_equal(F.avg_pool2d(x, 2).data, [[[[2.5, 4.5], [10.5, 12.5]]]])


def test_parameterless_layers_built_inside_the_test_apply_their_arguments() -> None:
    # (test_layers builds its modules at import, before a mutant of __init__ is active)
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 5))
    cases = [
        (MaxPool2d(2), F.max_pool2d(x, 2)),
        (MaxPool2d(3, stride=1, padding=1), F.max_pool2d(x, 3, 1, 1)),
        (AvgPool2d(2), F.avg_pool2d(x, 2)),
        (AvgPool2d(3, stride=1, padding=1), F.avg_pool2d(x, 3, 1, 1)),
        (AvgPool2d((2, 3), stride=(1, 2)), F.avg_pool2d(x, (2, 3), (1, 2), 0)),
        (Flatten(), F.flatten(x)),
        (Flatten(2), F.flatten(x, 2)),
    ]
    for module, expected in cases:
        got = module(Tensor(x))
        assert got.shape == expected.shape, repr(module)
        np.testing.assert_array_equal(got.data, expected.data, err_msg=repr(module))


def test_conv2d_layer_defaults_and_reproducible_init() -> None:
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4))
    layer = Conv2d(2, 3, 2, rng=7)
    assert layer(Tensor(x)).shape == (1, 3, 3, 3)  # stride 1, no padding
    again = Conv2d(2, 3, 2, rng=7)
    np.testing.assert_array_equal(layer.weight.data, again.weight.data)
    np.testing.assert_array_equal(layer.bias.data, again.bias.data)
    bound = 1 / np.sqrt(2 * 2 * 2)
    assert np.abs(layer.weight.data).max() <= bound and layer.weight.shape == (3, 2, 2, 2)
    for p in (layer.weight.data, layer.bias.data):  # U(-bound, bound): both signs
        assert p.min() < 0 < p.max(), p
    pointwise = Conv2d(2, 3, 1, rng=0)  # a 1x1 kernel is a kernel
    assert pointwise(Tensor(x)).shape == (1, 3, 4, 4)


def test_cross_entropy_shifts_each_row_by_its_own_maximum() -> None:
    logits = np.array([[0.0, 1.0, -1.0], [1000.0, 1001.0, 999.0]])
    labels = np.array([1, 0])
    x = Tensor(logits)
    loss = cross_entropy(x, labels)
    lse = np.log(np.exp([0.0, 1.0, -1.0]).sum())
    row_losses = [lse - 1.0, lse - 0.0]  # the second row is the first shifted by 1000
    assert loss.item() == pytest.approx(np.mean(row_losses), rel=1e-14)
    loss.backward()
    softmax = np.exp([0.0, 1.0, -1.0]) / np.exp([0.0, 1.0, -1.0]).sum()
    expected = np.array([softmax - [0, 1, 0], softmax - [1, 0, 0]]) / 2
    np.testing.assert_allclose(x.grad, expected, rtol=1e-13, atol=1e-16)


def test_layer_biases_are_optional_and_drawn_from_both_signs() -> None:
    assert Conv2d(2, 3, 2, bias=False, rng=0).bias is None
    assert Linear(2, 3, bias=False, rng=0).bias is None
    assert Conv2d(2, 3, 2, bias=False, rng=0).parameters()[1:] == []
    linear = Linear(4, 64, rng=1)
    bound = 1 / np.sqrt(4)
    for p in (linear.weight.data, linear.bias.data):
        assert p.min() < 0 < p.max() and np.abs(p).max() <= bound, p


def test_conv2d_defaults_and_messages() -> None:
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 5))
    w = np.random.default_rng(6).standard_normal((3, 2, 2, 2))
    assert F.conv2d(x, w).shape == (1, 3, 4, 4)  # stride 1, padding 0
    np.testing.assert_array_equal(F.conv2d(x, w).data, F.conv2d(x, w, None, 1, 0).data)
    for bad_x, bad_w in [
        (np.zeros((1, 3, 5, 5)), w),  # channels differ
        (np.zeros((2, 5, 5)), w),  # a 3-D input
        (x, np.zeros((3, 2, 2))),  # a 3-D weight
    ]:
        with pytest.raises(ValueError) as info:
            F.conv2d(bad_x, bad_w)
        assert str(info.value) == (
            f"conv2d: input (N, C, H, W) of shape {bad_x.shape} does not fit weight "
            f"(F, C, kh, kw) of shape {np.shape(bad_w)}"
        )
    with pytest.raises(ValueError) as info:
        F.conv2d(x, w, np.zeros(2))
    assert str(info.value) == "conv2d: bias of shape (2,) for weight of shape (3, 2, 2, 2)"
