"""Losses over `Tensor`s, each a mean over its elements (torch's ``reduction='mean'``).

`mse_loss` and `hinge_loss` are built from `Tensor` operations.  The two losses on
logits are single nodes with the textbook gradient, ``(softmax - one_hot) / n`` and
``(sigmoid - y) / n``: computed from the logits in a stable form, so they stay finite
for logits of any size, and cheaper than the chain of nodes they replace.
"""

from __future__ import annotations

import numpy as np

from engine.tensor import Tensor, accumulate_grad, as_tensor, make_node

_TensorLike = Tensor | np.ndarray | float


def mse_loss(prediction: _TensorLike, target: _TensorLike) -> Tensor:
    """mean((prediction - target)**2) over every element; the shapes must be equal."""
    prediction, target = as_tensor(prediction), as_tensor(target)
    _same_shapes("mse_loss", prediction, target)
    return ((prediction - target) ** 2).mean()


def hinge_loss(scores: _TensorLike, labels: _TensorLike) -> Tensor:
    """micrograd's max-margin loss: mean(relu(1 - labels * scores)), labels in {-1, +1}."""
    scores, labels = as_tensor(scores), as_tensor(labels)
    _same_shapes("hinge_loss", scores, labels)
    return (1.0 - labels * scores).relu().mean()


def binary_cross_entropy_with_logits(logits: _TensorLike, targets: _TensorLike) -> Tensor:
    """mean(-y log sigmoid(x) - (1 - y) log(1 - sigmoid(x))) for logits x and targets y in [0, 1].

    Written as max(x, 0) - x*y + log(1 + exp(-|x|)), which never overflows.
    """
    logits, targets = as_tensor(logits), as_tensor(targets)
    _same_shapes("binary_cross_entropy_with_logits", logits, targets)
    x, y = logits.data, targets.data
    losses = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return make_node(losses.mean(), (logits, targets), "bce_with_logits", _bce_backward)


def _bce_backward(out: Tensor) -> None:
    """out = mean of the losses over n elements:  d/dx = (sigmoid(x) - y) / n,  d/dy = -x / n."""
    logits, targets = out._prev
    x = logits.data
    share = out.grad / max(x.size, 1)
    if logits.requires_grad:
        e = np.exp(-np.abs(x))  # sigmoid from exp of a non-positive number, as Tensor.sigmoid
        # equivalent x > 0: at x = 0, e is 1.0
        sigmoid = np.where(x >= 0, 1.0, e) / (1.0 + e)  # pragma: no mutate
        accumulate_grad(logits, (sigmoid - targets.data) * share)
    if targets.requires_grad:
        accumulate_grad(targets, -x * share)


def cross_entropy(logits: _TensorLike, labels: np.ndarray) -> Tensor:
    """Mean over the batch of -log softmax(logits)[label]: logits (N, C), labels N ints in [0, C).

    The same number as ``-logits.log_softmax()[np.arange(n), labels].mean()``, stable
    for logits of any size (computed from logits - max).
    """
    logits = as_tensor(logits)
    labels = np.asarray(labels)
    # equivalent "XXiuXX": no kind is "X"
    if labels.dtype.kind not in "iu":  # pragma: no mutate
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy: logits of shape {logits.shape} need (N, C) with labels of shape "
            f"(N,), got labels of shape {labels.shape}"
        )
    n, classes = logits.shape
    try:  # each row's label as an index into the flattened logits; checks the range
        picked = np.ravel_multi_index((np.arange(n), labels), (n, classes))
    except ValueError as error:
        raise ValueError(
            f"cross_entropy: labels must be in [0, {classes}), got {labels}"
        ) from error
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    data = (np.log(total).reshape(n) - shifted.take(picked)).sum() / n
    return make_node(data, (logits,), "cross_entropy", _cross_entropy_backward, (picked, e, total))


def _cross_entropy_backward(out: Tensor) -> None:
    """out = mean_i (log sum_c exp(x_ic) - x_i,label_i):  d/dx = (softmax(x) - one_hot) / n.

    softmax(x) = e / total with e = exp(x - max(x)), kept from the forward pass.
    """
    (logits,) = out._prev
    picked, e, total = out._aux
    share = float(out.grad) / len(total)  # the loss is one number, so is its gradient
    # C order, so that reshape is a view (e has the logits' order: a transposed tensor's
    # logits are Fortran-ordered, and reshape would copy and drop the subtraction)
    grad = np.ascontiguousarray(e * (share / total))
    # equivalent: numpy reads any negative size as -1
    grad.reshape(-1)[picked] -= share  # pragma: no mutate
    accumulate_grad(logits, grad)


def _same_shapes(loss: str, a: Tensor, b: Tensor) -> None:
    """Refuse to broadcast a loss's two arguments: a (N, 1) against an (N,) is a bug."""
    if a.shape != b.shape:
        raise ValueError(f"{loss}: the arguments' shapes {a.shape} and {b.shape} differ")
