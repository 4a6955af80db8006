"""engine.nn's micrograd-compatible Neuron, Layer and MLP."""

from __future__ import annotations

import math
import random

import pytest

from engine import Value
from engine.nn import MLP, Layer, Neuron


def test_mlp_parameter_count_matches_micrograd() -> None:
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337, len(model.parameters())


def test_parameter_order_layer_by_layer_neuron_by_neuron_weights_then_bias() -> None:
    model = MLP(3, [2, 1])
    expected = []
    for layer in model.layers:
        for neuron in layer.neurons:
            expected += [*neuron.w, neuron.b]
    got = model.parameters()
    assert len(got) == len(expected) == 3 * 2 + 2 + 2 + 1, len(got)
    assert all(p is q for p, q in zip(got, expected, strict=True)), "parameter order differs"


def test_same_seed_gives_micrograds_weights() -> None:
    random.seed(42)
    expected = [random.uniform(-1, 1) for _ in range(3)]
    random.seed(42)
    neuron = Neuron(3)
    assert [w.data for w in neuron.w] == expected, "init is not random.uniform(-1, 1)"
    assert neuron.b.data == 0.0, neuron.b.data


def test_neuron_computes_activation_of_weighted_sum() -> None:
    for activation, f in [
        ("relu", lambda z: max(z, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("linear", lambda z: z),
    ]:
        neuron = Neuron(2, activation=activation)
        neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -2.0, 0.25
        z = 0.25 + 0.5 * 1.5 - 2.0 * -0.5
        out = neuron([1.5, Value(-0.5)])
        assert math.isclose(out.data, f(z), rel_tol=1e-15), f"{activation}: {out.data}"


def test_last_layer_is_linear_and_hidden_layers_use_the_activation() -> None:
    model = MLP(2, [3, 3, 1], activation="tanh")
    kinds = [[n.activation for n in layer.neurons] for layer in model.layers]
    assert kinds == [["tanh"] * 3, ["tanh"] * 3, ["linear"]], kinds


def test_one_neuron_layer_returns_bare_value_and_feeds_the_next_layer() -> None:
    model = MLP(2, [16, 1, 1])
    out = model([0.5, -1.0])
    assert isinstance(out, Value), type(out)
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value), "a one-neuron layer returns a Value"
    assert len(Layer(2, 3)([1.0, 2.0])) == 3


def test_zero_grad_resets_every_parameter() -> None:
    model = MLP(2, [4, 1])
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters()), "backward reached no parameter"
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters()), "zero_grad left gradients"


def test_gradient_of_neuron_matches_hand_derivation() -> None:
    neuron = Neuron(2, activation="tanh")
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.3, -0.4, 0.1
    x = [Value(2.0), Value(1.0)]
    (neuron(x) * 2.0).backward()
    t = math.tanh(0.1 + 0.6 - 0.4)
    local = 2.0 * (1 - t * t)
    got = [neuron.w[0].grad, neuron.w[1].grad, neuron.b.grad, x[0].grad, x[1].grad]
    expected = [local * 2.0, local * 1.0, local, local * 0.3, local * -0.4]
    assert all(math.isclose(g, e, rel_tol=1e-14) for g, e in zip(got, expected, strict=True)), (
        got,
        expected,
    )


def test_wrong_input_count_and_activation_are_refused() -> None:
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(2, [3, 1], activation="gelu")


def test_repr_is_micrograds() -> None:
    assert repr(Neuron(2)) == "ReluNeuron(2)"
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert repr(MLP(1, [1])) == "MLP of [Layer of [LinearNeuron(1)]]"
