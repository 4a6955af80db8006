"""engine.Tensor graphs: accumulation, reuse, no_grad, backward's arguments, freeing, depth."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest

from engine import Tensor, no_grad
from engine import functional as F
from engine.nn import cross_entropy


def _leaves(rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    return Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal(3))


def test_backward_twice_doubles_leaf_gradients() -> None:
    a, b = _leaves(np.random.default_rng(0))
    out = ((a * b).tanh() + b).sum()
    out.backward()
    first = (a.grad.copy(), b.grad.copy())
    out.backward()
    np.testing.assert_allclose(a.grad, 2 * first[0], rtol=1e-15, err_msg="a after two passes")
    np.testing.assert_allclose(b.grad, 2 * first[1], rtol=1e-15, err_msg="b after two passes")


def test_interior_gradients_hold_only_the_last_pass() -> None:
    a, b = _leaves(np.random.default_rng(1))
    interior = a * b
    out = interior.exp().sum()
    out.backward()
    once = interior.grad.copy()
    out.backward()
    np.testing.assert_array_equal(interior.grad, once, err_msg="interior grads accumulated")


def test_two_outputs_sharing_interior_nodes_add() -> None:
    """f.backward(); g.backward() leaves df/dx + dg/dx, where g is built on f's nodes."""
    x = Tensor([0.3, -0.7])
    shared = x * x
    f = (shared * 3.0).sum()
    g = (shared.exp() + shared * 3.0).sum()
    f.backward()
    g.backward()
    expected = 6 * x.data + (np.exp(x.data**2) * 2 * x.data + 6 * x.data)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14, err_msg=f"x={x.data}")


@pytest.mark.parametrize(
    ("build", "derivative"),
    [
        (lambda a: a + a, lambda x: 2 + 0 * x),
        (lambda a: a * a, lambda x: 2 * x),
        (lambda a: a * a * a, lambda x: 3 * x * x),
        (lambda a: (a + 1) * (a - 1), lambda x: 2 * x),
        (lambda a: a @ a, lambda x: 2 * x),
    ],
    ids=["a+a", "a*a", "a*a*a", "diamond", "a@a"],
)
def test_reuse(build, derivative) -> None:
    x = np.array([1.3, -0.4, 2.0])
    a = Tensor(x)
    out = build(a)
    upstream = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(upstream)
    np.testing.assert_allclose(a.grad, upstream * derivative(x), rtol=1e-14, err_msg=f"x={x}")


def test_grad_is_none_until_a_pass_reaches_the_leaf() -> None:
    a, unused = Tensor([1.0, 2.0]), Tensor([5.0])
    assert a.grad is None, "grad before any pass"
    (a * 2).sum().backward()
    assert unused.grad is None, f"unused leaf got {unused.grad}"
    np.testing.assert_array_equal(a.grad, [2.0, 2.0], err_msg="d(sum 2a)/da")


def test_leaves_never_share_a_gradient_array() -> None:
    a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
    (a + b).backward(np.array([1.0, 2.0, 3.0]))
    assert not np.shares_memory(a.grad, b.grad), "a + b gave both leaves one gradient array"
    a.grad *= 10.0
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0], err_msg="changing a.grad changed b")


def test_backward_copies_the_upstream_gradient() -> None:
    a = Tensor(np.ones(2))
    upstream = np.array([1.0, 2.0])
    (a + 0.0).backward(upstream)
    a.grad[0] = 99.0
    np.testing.assert_array_equal(upstream, [1.0, 2.0], err_msg="backward kept the caller's array")


def test_backward_on_a_leaf_adds_one() -> None:
    a = Tensor(3.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0, f"two passes on a leaf: {a.grad}"


def test_backward_without_gradient_needs_one_element() -> None:
    t = Tensor(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=r"one element.*\(2, 3\)"):
        t.backward()
    single = Tensor([[2.0]])
    (single * 3).backward()
    np.testing.assert_array_equal(single.grad, [[3.0]], err_msg="a (1, 1) output is a loss")


def test_backward_with_a_wrong_shape_names_both() -> None:
    t = Tensor(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        t.backward(np.ones(3))


def test_backward_accepts_a_tensor_gradient() -> None:
    a = Tensor(np.ones(2))
    (a * 3).backward(Tensor([1.0, -1.0]))
    np.testing.assert_array_equal(a.grad, [3.0, -3.0], err_msg="a Tensor upstream gradient")


def test_backward_on_a_constant_result_is_refused() -> None:
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (Tensor(1.0, requires_grad=False) * 2).backward()


def test_no_grad_records_nothing_and_restores() -> None:
    a = Tensor(np.ones(3))
    with no_grad():
        inside = (a * 2).sum()
        with no_grad():
            pass
        still_inside = a + 1
    after = a * 2
    assert not inside.requires_grad and inside._prev == (), "a graph was recorded in no_grad"
    assert not still_inside.requires_grad, "nested no_grad re-enabled gradients on exit"
    assert after.requires_grad and after._prev[0] is a, "gradients not restored after no_grad"


def test_no_grad_restores_after_an_exception() -> None:
    a = Tensor(np.ones(3))
    with pytest.raises(ZeroDivisionError), no_grad():
        raise ZeroDivisionError
    assert (a * 2).requires_grad, "no_grad left gradients off after an exception"


def test_graph_is_freed_without_the_cycle_collector() -> None:
    rng = np.random.default_rng(3)
    gc.disable()
    try:
        a, b = Tensor(rng.standard_normal((4, 3))), Tensor(rng.standard_normal(3))
        kernel = Tensor(rng.standard_normal((2, 1, 2, 2)))
        interior = (a @ b).tanh()
        images = F.max_pool2d(F.conv2d(interior.reshape(1, 1, 2, 2), kernel, padding=1), 2)
        logits = F.linear(F.flatten(images), Tensor(rng.standard_normal((3, 2))))
        out = cross_entropy(logits, np.array([1])) + (interior.log_softmax()[[0, 0]]).sum()
        out.backward()
        refs = [weakref.ref(node) for node in (interior, images, logits, out)]
        del interior, images, logits, out
        alive = [r() is not None for r in refs]
        assert not any(alive), f"nodes alive after their last reference went: {alive}"
    finally:
        gc.enable()


def test_hundred_thousand_deep_chain_at_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000, "the test must run at an ordinary limit"
    x = Tensor([0.5, 2.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0], err_msg="d/dx of the chain")
