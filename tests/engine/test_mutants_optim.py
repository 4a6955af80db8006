"""engine.optim: state handling, reprs, defaults and messages `vgrad mutate` found unchecked."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Tensor, Value, optim


def _stepped(name: str, params: list, **kwargs) -> optim.Optimizer:
    opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = 0.5 if isinstance(p, Value) else np.full(np.shape(p.data), 0.5)
    opt.step()
    return opt


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_loaded_state_is_a_copy_the_optimizer_does_not_write_through(name: str) -> None:
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    params = [Value(1.0), Value(2.0), Tensor(np.ones(2))]
    saved = _stepped(name, params, lr=0.1, **kwargs).state_dict()
    before = repr(saved)
    clone = [Value(1.0), Value(2.0), Tensor(np.ones(2))]
    other = getattr(optim, name)(clone, lr=0.1, **kwargs)
    other.load_state_dict(saved)
    for p in clone:
        p.grad = 1.0 if isinstance(p, Value) else np.ones(2)
    other.step()
    assert repr(saved) == before, "stepping the loaded optimizer changed the saved state"


def test_load_state_dict_refuses_other_scalars_or_other_tensors_alone() -> None:
    saved = _stepped("Adam", [Value(1.0), Tensor(np.ones(2))]).state_dict()
    fewer_scalars = optim.Adam([Value(1.0), Value(2.0), Tensor(np.ones(2))])
    with pytest.raises(ValueError) as info:
        fewer_scalars.load_state_dict(saved)
    assert str(info.value) == (
        "the state is for other parameters: this optimizer has 2 scalars and 1 tensors"
    )
    more_tensors = optim.Adam([Value(1.0), Tensor(np.ones(2)), Tensor(np.ones(2))])
    with pytest.raises(ValueError) as info:
        more_tensors.load_state_dict(saved)
    assert str(info.value) == (
        "the state is for other parameters: this optimizer has 1 scalars and 2 tensors"
    )
    other_shape = optim.Adam([Value(1.0), Tensor(np.ones(3))])
    with pytest.raises(ValueError) as info:
        other_shape.load_state_dict(saved)
    assert str(info.value) == "state 'exp_avg' has shape (2,), its parameter (3,)"


def test_reprs_list_the_hyperparameters() -> None:
    params = [Value(1.0), Tensor(np.ones(2))]
    assert repr(optim.SGD(params, lr=0.5)) == (
        "SGD(2 parameters, lr=0.5, momentum=0.0, dampening=0.0, weight_decay=0.0, "
        "nesterov=False, maximize=False)"
    )
    assert repr(optim.Adagrad(params)) == (
        "Adagrad(2 parameters, lr=0.01, lr_decay=0.0, weight_decay=0.0, "
        "initial_accumulator_value=0.0, eps=1e-10, maximize=False)"
    )


def test_step_lr_default_gamma_is_a_tenth() -> None:
    opt = optim.SGD([Value(0.0)], lr=1.0)
    scheduler = optim.StepLR(opt, step_size=1)
    scheduler.step()
    assert scheduler.get_last_lr() == [0.1]


@pytest.mark.parametrize(
    ("name", "kwargs", "keys"),
    [
        ("SGD", {}, {"step"}),
        ("SGD", {"momentum": 0.5}, {"step", "momentum_buffer"}),
        ("Adam", {}, {"step", "exp_avg", "exp_avg_sq"}),
        ("Adam", {"amsgrad": True}, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
        ("RMSprop", {}, {"step", "square_avg"}),
        ("RMSprop", {"momentum": 0.5}, {"step", "square_avg", "momentum_buffer"}),
        ("RMSprop", {"centered": True}, {"step", "square_avg", "grad_avg"}),
        ("Adagrad", {}, {"step", "sum"}),
    ],
)
def test_state_holds_exactly_what_the_rule_needs(name: str, kwargs: dict, keys: set) -> None:
    saved = _stepped(name, [Value(1.0), Tensor(np.ones(2))], **kwargs).state_dict()
    assert set(saved["scalar_state"]) == keys
    assert set(saved["tensor_states"][0]) == keys


# One step from p = 2 with gradient 0.5 and weight_decay = 1 (so g = 0.5 + 2 = 2.5),
# by each rule's formula.
_G = 2.5
WEIGHT_DECAY_ONE = {
    "SGD": 2.0 - 0.1 * _G,
    "Adam": 2.0 - 0.1 * (0.1 * _G / 0.1) / (np.sqrt(0.001 * _G**2) / np.sqrt(0.001) + 1e-8),
    "RMSprop": 2.0 - 0.1 * _G / (np.sqrt(0.01 * _G**2) + 1e-8),
    "Adagrad": 2.0 - 0.1 * _G / (np.sqrt(_G**2) + 1e-10),
    # decoupled: p = 2 * (1 - 0.1 * 1), then Adam's step with the bare gradient 0.5
    "AdamW": 2.0 * 0.9
    - (0.1 / 0.1) * (0.1 * 0.5) / (np.sqrt(0.001 * 0.25) / np.sqrt(0.001) + 1e-8),
}


@pytest.mark.parametrize("name", sorted(WEIGHT_DECAY_ONE))
def test_weight_decay_of_one_is_applied(name: str) -> None:
    params = [Value(2.0), Tensor([2.0])]
    _stepped(name, params, lr=0.1, weight_decay=1.0)
    assert params[0].data == pytest.approx(WEIGHT_DECAY_ONE[name], rel=1e-12)
    assert params[1].data[0] == pytest.approx(WEIGHT_DECAY_ONE[name], rel=1e-12)


def test_lerp_at_one_half_uses_torchs_second_form() -> None:
    # torch.lerp: start + w * (end - start) for w < 0.5, else end - (end - start) * (1 - w);
    # at w = 0.5 the two round differently for these numbers.
    from engine.optim import _lerp_

    start, end = -0.6232744625373522, -0.07729256326094218
    assert start + 0.5 * (end - start) != end - (end - start) * 0.5
    for weight in (0.5, 0.75):
        got = np.array([start])
        _lerp_(got, np.array([end]), weight)
        assert got[0] == end - (end - start) * (1 - weight)
    got = np.array([start])
    _lerp_(got, np.array([end]), 0.25)
    assert got[0] == start + 0.25 * (end - start)


def test_sgd_with_momentum_one_keeps_a_buffer() -> None:
    p = Value(1.0)
    opt = optim.SGD([p], lr=0.1, momentum=1.0)
    for expected in (0.95, 0.85, 0.7):  # buffers 0.5, 1.0, 1.5
        p.grad = 0.5
        opt.step()
        assert p.data == pytest.approx(expected, rel=1e-15)


def test_nesterov_message() -> None:
    with pytest.raises(ValueError) as info:
        optim.SGD([Value(1.0)], lr=0.1, nesterov=True)
    assert str(info.value) == "Nesterov momentum requires a momentum and zero dampening"


def test_zero_grad_without_none_makes_float_zeros_for_any_parameter() -> None:
    from types import SimpleNamespace

    p = SimpleNamespace(data=np.array([1, 2]), grad=np.array([3, 4]))  # .data and .grad suffice
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad.dtype == np.float64
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


def test_updates_are_computed_in_float64_for_any_parameter() -> None:
    from types import SimpleNamespace

    # a float32 gradient is used as float64, not rounded through float32 arithmetic
    g32 = np.array([0.1, 0.3], dtype=np.float32)
    t = Tensor([1.0, 1.0])
    t.grad = g32
    optim.SGD([t], lr=0.1).step()
    np.testing.assert_array_equal(t.data, 1.0 - 0.1 * g32.astype(np.float64))
    # an int array of data (a bare object with .data and .grad) becomes float64
    p = SimpleNamespace(data=np.array([1, 2]), grad=np.array([0.5, 0.5]))
    optim.SGD([p], lr=0.1).step()
    assert p.data.dtype == np.float64
    np.testing.assert_array_equal(p.data, [0.95, 1.95])


_Q = [Value(1.0)]

EXACT_REFUSALS = [
    (lambda: optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (
        lambda: optim.Adam(Value(1.0)),
        TypeError,
        "params should be an iterable of parameters, got a single Value; pass [p]",
    ),
    (
        # an array has a .data (its buffer) but no .grad: its numbers are not parameters
        lambda: optim.SGD(np.array([1.0, 2.0])),
        TypeError,
        "an optimizer can only optimize parameters (objects with .data and .grad), "
        "but params[0] is a float64",
    ),
    (
        lambda: optim.SGD([Value(1.0), np.ones(2)]),
        TypeError,
        "an optimizer can only optimize parameters (objects with .data and .grad), "
        "but params[1] is a ndarray",
    ),
    (
        lambda: optim.SGD(_Q + _Q),
        ValueError,
        "params[0] and params[1] are the same parameter; pass each parameter once",
    ),
    (lambda: optim.SGD(_Q, lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.Adam(_Q, eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda: optim.SGD(_Q, weight_decay=-2), ValueError, "Invalid weight_decay value: -2"),
    (lambda: optim.SGD(_Q, momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda: optim.RMSprop(_Q, alpha=-1), ValueError, "Invalid alpha value: -1"),
    (lambda: optim.Adagrad(_Q, lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (
        lambda: optim.Adagrad(_Q, initial_accumulator_value=-1),
        ValueError,
        "Invalid initial_accumulator_value value: -1",
    ),
    (
        lambda: optim.Adam(_Q, betas=(0.9, 1.0)),
        ValueError,
        "Invalid beta parameter at index 1: 1.0",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), EXACT_REFUSALS)
def test_refusal_messages_exactly(make, error, message: str) -> None:
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


def test_zero_hyperparameters_are_allowed() -> None:
    for opt in (
        optim.SGD([Value(1.0)], lr=0.0, momentum=0.0, weight_decay=0.0),
        optim.Adam([Value(1.0)], lr=0.0, eps=0.0, betas=(0.0, 0.0)),
        optim.RMSprop([Value(1.0)], lr=0.0, alpha=0.0, eps=0.0),
        optim.Adagrad([Value(1.0)], lr=0.0, lr_decay=0.0, initial_accumulator_value=0.0),
    ):
        assert opt.lr == 0.0
