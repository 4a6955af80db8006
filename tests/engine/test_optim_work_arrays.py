"""engine.optim.Adam's work arrays: reused, aligned, shared safely, and the same numbers.

Adam writes its temporaries into two arrays per shape kept from step to step (and its
moments start on a 64-byte boundary) for speed; these tests check that this changes no
number and that the arrays are what the speed relies on.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import Tensor, optim

SHAPES = [(3, 2), (3,), (2, 3), (2,), ()]


def _tensors(seed: int) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(shape)) for shape in SHAPES]


def _set_grads(params: list[Tensor], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = rng.standard_normal(p.data.shape)


def _adam_with_fresh_temporaries(p, g, m, v, t, lr, beta1, beta2, eps) -> None:
    """Adam's rule in torch's order with new temporary arrays (the engine before reuse)."""
    gap, weight = g - m, 1 - beta1
    if weight < 0.5:  # torch's lerp: start + weight * gap, or end - (1 - weight) * gap
        gap *= weight
        m += gap
    else:
        gap *= 1 - weight
        m[...] = g - gap
    v *= beta2
    square = g * (1 - beta2)
    square *= g
    v += square
    denom = np.sqrt(v)
    denom /= (1 - beta2**t) ** 0.5
    denom += eps
    step = m * (lr / (1 - beta1**t))
    step /= denom
    p -= step


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.3, 0.5)])
def test_adam_with_work_arrays_is_bit_identical_to_fresh_temporaries(betas) -> None:
    params, expected = _tensors(0), [p.data.copy() for p in _tensors(0)]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in expected]
    adam = optim.Adam(params, lr=0.01, betas=betas, eps=1e-8)
    for t in range(1, 8):
        _set_grads(params, t)
        adam.step()
        for p, q, (m, v) in zip(params, expected, moments, strict=True):
            _adam_with_fresh_temporaries(q, p.grad, m, v, t, 0.01, *betas, 1e-8)
            assert np.array_equal(p.data, q), f"betas {betas}, step {t}: {p.data} != {q}"


def test_work_arrays_are_made_once_per_shape_aligned_and_reused() -> None:
    params = _tensors(1)
    arrays = [p.data for p in params]
    adam = optim.Adam(params)
    _set_grads(params, 1)
    adam.step()
    work = {shape: tuple(pair) for shape, pair in adam._work.items()}
    assert set(work) == set(SHAPES), f"work arrays for {set(work)}, shapes {SHAPES}"
    for shape, pair in work.items():
        for array in pair:
            assert array.shape == shape, f"a work array of shape {array.shape} for {shape}"
            assert array.ctypes.data % 64 == 0, f"work array for {shape} not on 64 bytes"
    for state in adam._tensor_states:
        for name in ("exp_avg", "exp_avg_sq"):
            assert state[name].ctypes.data % 64 == 0, f"{name} not on a 64-byte boundary"
    _set_grads(params, 2)
    adam.step()
    again = {shape: tuple(pair) for shape, pair in adam._work.items()}
    assert all(a is b for shape in work for a, b in zip(work[shape], again[shape], strict=True)), (
        "the work arrays were made again at the second step"
    )
    assert all(p.data is a for p, a in zip(params, arrays, strict=True)), "not in place"


def test_parameters_of_one_shape_sharing_work_arrays_move_as_if_alone() -> None:
    rng = np.random.default_rng(2)
    starts, grads = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 2, 4, 3))
    together = [Tensor(x) for x in starts]
    alone = [[Tensor(x)] for x in starts]
    adam = optim.Adam(together, lr=0.1)
    adams = [optim.Adam(ps, lr=0.1) for ps in alone]
    for g in grads:
        for p, q, gi in zip(together, alone, g, strict=True):
            p.grad, q[0].grad = gi, gi.copy()
        adam.step()
        for a in adams:
            a.step()
    for i, (p, q) in enumerate(zip(together, alone, strict=True)):
        assert np.array_equal(p.data, q[0].data), f"parameter {i}: {p.data} != {q[0].data}"


def test_a_step_allocates_no_array_of_the_parameters_size() -> None:
    """After its first step, Adam's temporaries all go into its work arrays: a step on an
    800 kB parameter allocates far less than one array of that size (tracemalloc sees
    NumPy's allocations)."""
    import tracemalloc

    p = Tensor(np.random.default_rng(3).standard_normal((1000, 100)))
    adam = optim.Adam([p], lr=0.01)
    p.grad = np.ones_like(p.data)
    adam.step()  # moments and work arrays made here
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        adam.step()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes // 4, f"a step allocated {peak} bytes at its peak"
