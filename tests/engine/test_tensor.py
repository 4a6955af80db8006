"""engine.Tensor basics: construction, what it holds, constructors, type errors."""

from __future__ import annotations

import re

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


# -- constructors' flags, reprs and messages -----------------------------------------------------
# Each test pins down what a surviving mutant once changed.


# -- constructors ------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", [Tensor.zeros, Tensor.ones, Tensor.randn])
def test_constructors_pass_requires_grad_on(maker) -> None:
    assert maker(2, 3).requires_grad is True
    assert maker(2, 3, requires_grad=False).requires_grad is False
    assert maker((2,), requires_grad=True).requires_grad is True


def test_zeros_like_passes_requires_grad_on() -> None:
    assert Tensor.zeros_like(np.ones(3)).requires_grad is True
    assert Tensor.zeros_like(Tensor(np.ones(3)), requires_grad=False).requires_grad is False
    np.testing.assert_array_equal(Tensor.zeros_like(Tensor(np.ones((2, 1)))).data, np.zeros((2, 1)))


# -- repr ------------------------------------------------------------------------------------


def test_repr_of_a_matrix_aligns_rows_under_the_first() -> None:
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert repr(t) == "Tensor([[1., 2.],\n        [3., 4.]])"
    constant = Tensor([[1.0], [2.0]], requires_grad=False)
    assert repr(constant) == "Tensor([[1.],\n        [2.]], requires_grad=False)"


# -- messages ------------------------------------------------------------------------------


def test_reflected_matmul_with_a_non_array_names_the_operator() -> None:
    t = Tensor(np.ones((2, 2)))
    with pytest.raises(TypeError) as info:
        "ab" @ t
    assert str(info.value) == "unsupported operand type(s) for @: 'str' and 'Tensor'"


@pytest.mark.parametrize(
    ("symbol", "apply"),
    [
        ("+", lambda t: "ab" + t),
        ("-", lambda t: "ab" - t),
        ("*", lambda t: "ab" * t),
        ("/", lambda t: "ab" / t),
        ("**", lambda t: "ab" ** t),
    ],
)
def test_reflected_operators_with_a_non_number_name_the_operator(symbol, apply) -> None:
    with pytest.raises(TypeError) as info:
        apply(Tensor(np.ones(2)))
    assert str(info.value) == f"unsupported operand type(s) for {symbol}: 'str' and 'Tensor'"


def test_messages_of_tensor_operations() -> None:
    t = Tensor(np.ones(2))
    with pytest.raises(TypeError) as info:
        t[Tensor([0.0])]
    assert str(info.value) == "index a Tensor with ints, slices or NumPy arrays, not a Tensor"
    with pytest.raises(RuntimeError) as info:
        Tensor(np.ones(1), requires_grad=False).exp().backward()
    assert str(info.value) == (
        "backward() on a tensor that does not require a gradient: it was computed "
        "from constants only, under no_grad(), or detached"
    )
    with pytest.raises(TypeError) as info:
        Tensor("abc")
    assert str(info.value) == (
        "Tensor needs real numbers (an array, nested list or number), got str of dtype <U3"
    )
    with pytest.raises(ValueError) as info:
        t + Tensor(np.ones(3))
    assert str(info.value) == "shapes (2,) and (3,) do not broadcast for '+'"
    with pytest.raises(ValueError) as info:
        t @ Tensor(np.ones(3))
    assert str(info.value) == (
        "cannot matmul shapes (2,) and (3,) (inner dimensions must agree, batch dimensions "
        "broadcast, operands at least 1-D)"
    )
    with pytest.raises(TypeError, match=re.escape("Tensor arithmetic needs real numbers")):
        t + np.array(["a", "b"])


def test_numbers_are_accepted_where_arrays_are() -> None:
    assert Tensor.zeros_like(2.5).shape == ()
    t = Tensor(3.0)
    (t * t).backward(2.0)
    assert t.grad == 12.0 and t.grad.shape == ()


def test_backward_gradient_is_taken_as_float64() -> None:
    t = Tensor([1.0, 2.0])
    t.backward(np.array([1, 2]))  # ints
    assert t.grad.dtype == np.float64
    np.testing.assert_array_equal(t.grad, [1.0, 2.0])
    with pytest.raises(TypeError) as info:
        t.backward(["a", "b"])
    assert str(info.value) == (
        "backward(gradient) needs real numbers (an array, nested list or number), "
        "got list of dtype <U1"
    )
    with pytest.raises(ValueError) as info:
        t.backward()
    assert str(info.value) == (
        "backward() without a gradient needs a tensor with one element, this one has shape "
        "(2,); pass backward(gradient) with an array of that shape"
    )
    with pytest.raises(ValueError) as info:
        t.backward(np.ones(3))
    assert str(info.value) == (
        "backward(gradient): the gradient has shape (3,), the tensor has shape (2,)"
    )


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_shifts_each_slice_by_its_own_maximum(axis: int) -> None:
    rows = np.array([[0.0, 1.0, -1.0], [1000.0, 1001.0, 999.0]])  # the second is the first + 1000
    logits = rows if axis == -1 else rows.T
    s = np.exp([0.0, 1.0, -1.0]) / np.exp([0.0, 1.0, -1.0]).sum()
    expected = np.array([s, s]) if axis == -1 else np.array([s, s]).T
    np.testing.assert_allclose(Tensor(logits).softmax(axis=axis).data, expected, rtol=1e-14)
    np.testing.assert_allclose(
        Tensor(logits).log_softmax(axis=axis).data, np.log(expected), rtol=1e-13
    )
    t = Tensor(logits)
    upstream = np.arange(6.0).reshape(logits.shape)
    t.softmax(axis=axis).backward(upstream)
    assert np.isfinite(t.grad).all()
    per_slice = expected * (upstream - (upstream * expected).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(t.grad, per_slice, rtol=1e-12, atol=1e-15)


def test_addition_passes_the_gradient_through_without_copying() -> None:
    # "a gradient passes through +, reshape or transpose as the same array": only where
    # both inputs would get the very same array is the second one a copy
    a, b = Tensor(np.ones(1)), Tensor(np.ones(3))
    out = a + b  # a is broadcast: its gradient is a new (summed) array
    out.backward(np.arange(3.0))
    assert b.grad is out.grad
    np.testing.assert_array_equal(a.grad, [3.0])
    c, d = Tensor(np.ones(3)), Tensor(np.ones(3))
    same = c + d
    same.backward(np.arange(3.0))
    assert c.grad is same.grad and d.grad is not c.grad
    np.testing.assert_array_equal(d.grad, [0.0, 1.0, 2.0])


def test_integer_arrays_meeting_a_tensor_are_float64_constants() -> None:
    t = Tensor([1.5, 2.5])
    for out in (t + np.array([1, 2]), np.array([1, 2]) + t, t * np.array([True, False])):
        assert out.data.dtype == np.float64
    np.testing.assert_array_equal((t + np.array([1, 2])).data, [2.5, 4.5])
    (t * np.array([2, 3])).sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, 3.0])


def test_any_real_number_meeting_a_tensor_is_a_float64_constant() -> None:
    from fractions import Fraction

    t = Tensor([1.0, 2.0])
    for number in (Fraction(1, 4), 2**70, True, np.int8(3)):
        for out in (t + number, number - t, t * number):
            assert out.data.dtype == np.float64, (number, out.data.dtype)
    np.testing.assert_array_equal((t + Fraction(1, 4)).data, [1.25, 2.25])


def test_accumulate_grad_stores_the_first_array_as_it_is() -> None:
    from engine.tensor import accumulate_grad

    t, g = Tensor(np.zeros(3)), np.ones(3, dtype=np.float32)
    accumulate_grad(t, g)  # "the first gradient is stored as it is, not copied"
    assert t.grad is g
    accumulate_grad(t, np.ones(3))
    assert t.grad is not g and t.grad.dtype == np.float64


class _CountingLeaf(Tensor):
    """A leaf that counts how often backward's graph walk reads its inputs."""

    reads = 0

    @property
    def _prev(self):
        type(self).reads += 1
        return ()

    @_prev.setter
    def _prev(self, value) -> None:
        pass


def test_backward_walks_each_node_once_however_many_paths_reach_it() -> None:
    _CountingLeaf.reads = 0
    leaf = _CountingLeaf(np.ones(2))
    x = leaf
    for _ in range(12):  # 4096 paths from the output down to the leaf
        x = x + x
    _CountingLeaf.reads = 0
    x.sum().backward()
    assert _CountingLeaf.reads <= 3, f"the leaf was visited {_CountingLeaf.reads} times"
    np.testing.assert_array_equal(leaf.grad, [4096.0, 4096.0])


def test_results_that_record_no_graph_say_requires_grad_is_false() -> None:
    from engine.tensor import no_grad

    t = Tensor([1.0, 2.0])
    assert (t * 2.0).requires_grad is True
    assert Tensor([1.0], requires_grad=False).exp().requires_grad is False
    assert t.detach().requires_grad is False
    with no_grad():
        assert (t * 2.0).requires_grad is False


def test_a_tensor_made_from_a_tensor_copies_its_data() -> None:
    t = Tensor([1.0, 2.0])
    u = Tensor(t, requires_grad=False)
    np.testing.assert_array_equal(u.data, [1.0, 2.0])
    assert u.data is not t.data and u.requires_grad is False and u._prev == ()
