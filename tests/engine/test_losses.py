"""engine.nn losses: values and gradients against formulas and central differences."""

from __future__ import annotations

import numpy as np
import pytest
from tensor_checks import assert_matches_central

from engine import Tensor
from engine.nn import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss


def _backward_scaled(loss: Tensor, rng: np.random.Generator) -> float:
    """backward with a random upstream gradient; returns it."""
    upstream = float(rng.standard_normal())
    loss.backward(np.array(upstream))
    return upstream


def test_mse_loss() -> None:
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    prediction, target = Tensor(p), Tensor(t)
    loss = mse_loss(prediction, target)
    np.testing.assert_allclose(loss.data, np.mean((p - t) ** 2), rtol=1e-14, err_msg="mse")
    g = _backward_scaled(loss, rng)
    expected = g * 2 * (p - t) / p.size
    np.testing.assert_allclose(prediction.grad, expected, rtol=1e-13, err_msg=f"p={p} t={t}")
    np.testing.assert_allclose(target.grad, -expected, rtol=1e-13, err_msg=f"p={p} t={t}")
    assert_matches_central(mse_loss, [p, t], rng)


def test_hinge_loss_is_micrographs_max_margin() -> None:
    rng = np.random.default_rng(1)
    scores = np.array([0.3, -2.0, 1.7, 0.4, -0.2])
    labels = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    s = Tensor(scores)
    loss = hinge_loss(s, labels)
    margins = 1 - labels * scores
    expected = np.mean(np.maximum(0, margins))
    np.testing.assert_allclose(loss.data, expected, rtol=1e-15, err_msg=f"{scores} {labels}")
    g = _backward_scaled(loss, rng)
    expected_grad = g * -labels * (margins > 0) / len(scores)
    np.testing.assert_allclose(s.grad, expected_grad, rtol=1e-14, err_msg="hinge gradient")
    assert_matches_central(lambda t: hinge_loss(t, labels), [scores], rng)


def test_hinge_loss_labels_as_a_tensor_get_their_gradient() -> None:
    """d/d labels = -scores / n where the margin 1 - labels * scores is positive."""
    rng = np.random.default_rng(5)
    scores = np.array([0.3, -2.0, 1.7, 0.4, -0.2])
    labels = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    s, y = Tensor(scores), Tensor(labels)
    loss = hinge_loss(s, y)
    g = _backward_scaled(loss, rng)
    on = (1 - labels * scores > 0) / len(scores)
    np.testing.assert_allclose(s.grad, -g * labels * on, rtol=1e-14, err_msg="d/d scores")
    np.testing.assert_allclose(y.grad, -g * scores * on, rtol=1e-14, err_msg="d/d labels")
    assert_matches_central(hinge_loss, [scores, labels], rng)


def test_binary_cross_entropy_with_logits() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(6) * 3, rng.uniform(0, 1, 6)
    logits, targets = Tensor(x), Tensor(y)
    loss = binary_cross_entropy_with_logits(logits, targets)
    sigmoid = 1 / (1 + np.exp(-x))
    expected = np.mean(-y * np.log(sigmoid) - (1 - y) * np.log(1 - sigmoid))
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13, err_msg=f"x={x} y={y}")
    g = _backward_scaled(loss, rng)
    np.testing.assert_allclose(logits.grad, g * (sigmoid - y) / 6, rtol=1e-12, err_msg="d/dx")
    np.testing.assert_allclose(targets.grad, -g * x / 6, rtol=1e-13, err_msg="d/dy")
    assert_matches_central(binary_cross_entropy_with_logits, [x, y], rng)


def test_binary_cross_entropy_is_finite_for_huge_logits() -> None:
    logits = Tensor([1000.0, -1000.0, 1000.0, -1000.0])
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = binary_cross_entropy_with_logits(logits, targets)
        loss.backward()
    assert loss.item() == 500.0, f"(1000 + 1000 + 0 + 0) / 4, got {loss.item()}"
    np.testing.assert_array_equal(logits.grad, [0.25, -0.25, 0.0, 0.0], err_msg="(sigmoid-y)/4")


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_cross_entropy() -> None:
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((5, 4)), np.array([3, 0, 0, 2, 1])
    logits = Tensor(x)
    loss = cross_entropy(logits, labels)
    expected = -np.mean(_log_softmax(x)[np.arange(5), labels])
    np.testing.assert_allclose(loss.data, expected, rtol=1e-14, err_msg=f"labels {labels}")
    g = _backward_scaled(loss, rng)
    softmax = np.exp(_log_softmax(x))
    expected_grad = g * (softmax - np.eye(4)[labels]) / 5
    np.testing.assert_allclose(logits.grad, expected_grad, rtol=1e-13, err_msg="(p - onehot)/n")
    assert_matches_central(lambda t: cross_entropy(t, labels), [x], rng)


def test_cross_entropy_of_transposed_logits() -> None:
    """Logits that are a transposed view (Fortran-ordered data) get the same gradient (a
    random tensor graph of `vgrad report --tensor --ops ...` found it lost the one-hot)."""
    rng = np.random.default_rng(5)
    x, labels = rng.standard_normal((4, 3)), np.array([1, 0, 2])
    transposed, plain = Tensor(x), Tensor(x.T.copy())
    cross_entropy(transposed.T, labels).backward()
    cross_entropy(plain, labels).backward()
    np.testing.assert_allclose(transposed.grad, plain.grad.T, rtol=0, atol=0, err_msg="grads")


def test_cross_entropy_equals_the_chain_of_tensor_operations() -> None:
    rng = np.random.default_rng(4)
    x, labels = rng.standard_normal((6, 3)) * 5, rng.integers(0, 3, 6)
    fused, chained = Tensor(x), Tensor(x)
    loss = cross_entropy(fused, labels)
    reference = -chained.log_softmax()[np.arange(6), labels].mean()
    loss.backward()
    reference.backward()
    np.testing.assert_allclose(loss.data, reference.data, rtol=1e-14, err_msg="values")
    np.testing.assert_allclose(fused.grad, chained.grad, rtol=1e-13, atol=1e-16, err_msg="grads")


def test_cross_entropy_is_finite_for_huge_logits() -> None:
    logits = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = cross_entropy(logits, np.array([1, 1]))
        loss.backward()
    assert loss.item() == 1000.0, f"(2000 + 0) / 2, got {loss.item()}"
    np.testing.assert_array_equal(logits.grad, [[0.5, -0.5], [0.0, 0.0]], err_msg="(p-onehot)/2")


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.array([0.0, 1.0]), TypeError, "integers"),
        (np.array([0, 3]), ValueError, r"\[0, 3\)"),
        (np.array([-1, 0]), ValueError, r"\[0, 3\)"),
        (np.array([0, 1, 2]), ValueError, r"\(3,\)"),
    ],
    ids=["float labels", "too large", "negative", "wrong count"],
)
def test_cross_entropy_refuses_bad_labels(labels, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cross_entropy(Tensor(np.zeros((2, 3))), labels)


@pytest.mark.parametrize("loss", [mse_loss, hinge_loss, binary_cross_entropy_with_logits])
def test_losses_refuse_to_broadcast(loss) -> None:
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        loss(Tensor(np.zeros((4, 1))), np.ones(4))
