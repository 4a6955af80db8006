"""engine.Tensor basics: construction, what it holds, constructors, type errors."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Tensor


@pytest.mark.parametrize(
    "data",
    [3, 2.5, [1, 2, 3], [[1.0, 2.0], [3.0, 4.0]], np.arange(6).reshape(2, 3), np.float32(1.5)],
    ids=["int", "float", "list", "nested list", "int array", "float32 scalar"],
)
def test_leaf_holds_a_float64_array_and_no_grad(data) -> None:
    t = Tensor(data)
    assert isinstance(t.data, np.ndarray), f"{data!r}: data is {type(t.data)}"
    assert t.data.dtype == np.float64, f"{data!r}: dtype {t.data.dtype}"
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64), err_msg=repr(data))
    assert t.grad is None, f"{data!r}: grad {t.grad}"
    assert t.requires_grad, f"{data!r}: a user's leaf should require a gradient"


def test_constructor_copies_the_array() -> None:
    a = np.ones(3)
    t = Tensor(a)
    a[0] = 5.0
    assert t.data[0] == 1.0, f"Tensor shares memory with its argument: {t.data}"


def test_shape_ndim_size_len_item_numpy() -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2), f"{t.shape} {t.ndim} {t.size}"
    assert t.numpy() is t.data, "numpy() should return the data array itself"
    assert Tensor([[4.5]]).item() == 4.5, "item() of a one-element tensor"
    with pytest.raises(ValueError):
        t.item()


def test_results_of_zero_dimensional_operations_are_arrays() -> None:
    a, b = Tensor(2.0), Tensor(3.0)
    out = (a * b + 1.0).sum()
    assert isinstance(out.data, np.ndarray) and out.shape == (), f"{type(out.data)} {out.shape}"
    out.backward()
    assert isinstance(a.grad, np.ndarray) and a.grad.shape == (), f"grad {a.grad!r}"
    assert a.grad == 3.0 and b.grad == 2.0, f"grads {a.grad} {b.grad}"


@pytest.mark.parametrize("maker", ["zeros", "ones"])
@pytest.mark.parametrize("shape", [(2, 3), ((2, 3),), ((),)], ids=["ints", "tuple", "0-d"])
def test_zeros_and_ones(maker: str, shape: tuple) -> None:
    t = getattr(Tensor, maker)(*shape)
    expected_shape = shape[0] if isinstance(shape[0], tuple) else shape
    assert t.shape == expected_shape, f"{maker}{shape}: shape {t.shape}"
    assert np.all(t.data == (0.0 if maker == "zeros" else 1.0)), f"{maker}{shape}: {t.data}"
    assert t.requires_grad and t.grad is None, f"{maker}{shape} should be a fresh leaf"


def test_randn_is_reproducible_from_a_seed_or_a_generator() -> None:
    a = Tensor.randn(3, 4, rng=7)
    b = Tensor.randn((3, 4), rng=np.random.default_rng(7))
    assert a.shape == (3, 4), f"shape {a.shape}"
    np.testing.assert_array_equal(a.data, b.data, err_msg="seed 7 and a Generator(7) differ")
    assert not np.array_equal(a.data, Tensor.randn(3, 4, rng=8).data), "seeds 7 and 8 agree"


def test_zeros_like_and_requires_grad_flag() -> None:
    t = Tensor.zeros_like(Tensor(np.ones((2, 5))), requires_grad=False)
    assert t.shape == (2, 5) and not t.requires_grad, f"{t.shape} {t.requires_grad}"
    assert Tensor.zeros_like(np.ones(4)).shape == (4,), "zeros_like of an array"


def test_detach_shares_data_and_blocks_gradients() -> None:
    x = Tensor([1.0, 2.0])
    d = x.detach()
    assert d.data is x.data and not d.requires_grad, "detach should share data, need no grad"
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0], err_msg="gradient flowed through detach")
    assert d.grad is None, f"a detached tensor got a gradient {d.grad}"


def test_repr_shows_the_data() -> None:
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])", repr(Tensor([1.0, 2.0]))
    text = repr(Tensor([1.0]).detach())
    assert text == "Tensor([1.], requires_grad=False)", text


@pytest.mark.parametrize(
    ("data", "name"),
    [("abc", "str"), (None, "NoneType"), (1 + 2j, "complex"), (np.array([1j]), "ndarray")],
)
def test_non_real_data_is_a_type_error_naming_the_type(data, name: str) -> None:
    with pytest.raises(TypeError, match=name):
        Tensor(data)


@pytest.mark.parametrize(
    "operation",
    [
        lambda t: t + "a",
        lambda t: "a" - t,
        lambda t: t * None,
        lambda t: [1] / t,
        lambda t: t ** "2",
        lambda t: t + np.array(["a"]),
        lambda t: t * (1 + 1j),
    ],
    ids=["t+str", "str-t", "t*None", "list/t", "t**str", "t+str array", "complex"],
)
def test_bad_operand_types_raise_type_error(operation) -> None:
    with pytest.raises(TypeError, match=r"str|NoneType|list|Tensor|float|complex|U1"):
        operation(Tensor([1.0, 2.0]))


def test_indexing_with_a_tensor_is_refused() -> None:
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="not a Tensor"):
        t[Tensor([0.0])]
