"""Shared checks for the Tensor tests: central differences and a reference un-broadcast.

Both are written independently of engine's code (element by element, with loops) so a
test compares engine against something that cannot share its bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine import Tensor

STEP = 1e-6


def central_vjp(
    f: Callable[..., Tensor], arrays: Sequence[np.ndarray], upstream: np.ndarray
) -> list[np.ndarray]:
    """d/d(arrays) of sum(upstream * f(*arrays)) by central differences, element by element."""

    def objective(values: list[np.ndarray]) -> float:
        return float(np.sum(upstream * f(*[Tensor(v) for v in values]).data))

    grads = []
    for k, array in enumerate(arrays):
        grad = np.zeros(np.shape(array))
        for index in np.ndindex(grad.shape):
            values = [np.array(a, dtype=np.float64) for a in arrays]
            values[k][index] += STEP
            above = objective(values)
            values[k][index] -= 2 * STEP
            below = objective(values)
            grad[index] = (above - below) / (2 * STEP)
        grads.append(grad)
    return grads


def engine_vjp(
    f: Callable[..., Tensor], arrays: Sequence[np.ndarray], upstream: np.ndarray
) -> tuple[Tensor, list[np.ndarray]]:
    """engine's f(*arrays) and the gradients `backward(upstream)` gives its inputs."""
    inputs = [Tensor(a) for a in arrays]
    out = f(*inputs)
    out.backward(upstream)
    return out, [t.grad for t in inputs]


def assert_matches_central(
    f: Callable[..., Tensor],
    arrays: Sequence[np.ndarray],
    rng: np.random.Generator,
    rtol: float = 1e-6,
    atol: float = 1e-7,
) -> None:
    """engine's gradients under a random upstream gradient agree with central differences."""
    out = f(*[Tensor(a) for a in arrays])
    upstream = rng.standard_normal(out.shape)
    _, grads = engine_vjp(f, arrays, upstream)
    for k, (grad, expected) in enumerate(zip(grads, central_vjp(f, arrays, upstream), strict=True)):
        np.testing.assert_allclose(
            grad,
            expected,
            rtol=rtol,
            atol=atol,
            err_msg=f"input {k} of shapes {[np.shape(a) for a in arrays]}, upstream {upstream}",
        )


def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reference un-broadcast: add each element of `grad` onto the operand element it read."""
    out = np.zeros(shape)
    lead = grad.ndim - len(shape)
    for index in np.ndindex(grad.shape):
        source = tuple(0 if n == 1 else i for i, n in zip(index[lead:], shape, strict=True))
        out[source] += grad[index]
    return out
