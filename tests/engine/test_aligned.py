"""engine.aligned: a tensor's data, loaded parameters and arrays made there start on a
64-byte boundary, with the values and dtype NumPy would give."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Tensor
from engine.aligned import ALIGNMENT, aligned_copy, aligned_empty, aligned_zeros
from engine.nn import Linear, Sequential

SHAPES = [(), (0,), (1,), (3,), (7, 5), (128, 64), (2, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_arrays_start_on_the_boundary_with_their_shape(shape: tuple[int, ...]) -> None:
    for _ in range(20):  # malloc hands out different addresses: every offset is met
        for make in (aligned_empty, aligned_zeros):
            array = make(shape)
            assert array.shape == shape and array.dtype == np.float64, f"{make.__name__} {shape}"
            # an empty array has no data to align (NumPy keeps an empty slice's start)
            aligned = array.size == 0 or array.ctypes.data % ALIGNMENT == 0
            assert aligned, f"{make.__name__}{shape} not aligned"
            assert array.flags.c_contiguous and array.flags.writeable, f"{make.__name__}{shape}"
        assert not aligned_zeros(shape).any(), f"aligned_zeros{shape} is not all zeros"


@pytest.mark.parametrize(
    "values",
    [
        np.arange(12.0).reshape(3, 4),
        np.arange(6).reshape(2, 3),  # integers
        np.array([True, False, True]),
        np.linspace(-1, 1, 9, dtype=np.float32),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.float64(2.5),
    ],
)
def test_a_copy_has_the_values_as_float64(values: np.ndarray) -> None:
    copy = aligned_copy(values)
    want = np.array(values, dtype=np.float64)
    assert copy.ctypes.data % ALIGNMENT == 0, f"copy of {values!r} not aligned"
    assert copy.dtype == np.float64 and copy.shape == want.shape, f"{copy!r} for {values!r}"
    np.testing.assert_array_equal(copy, want, err_msg=f"copy of {values!r}")
    assert not np.shares_memory(copy, values), f"the copy of {values!r} shares its memory"


def test_tensors_and_loaded_parameters_are_aligned() -> None:
    for data in ([1, 2, 3], [[0.5] * 5] * 3, 4.0, np.ones((64, 128))):
        t = Tensor(data)
        assert t.data.ctypes.data % ALIGNMENT == 0, f"Tensor({data!r}).data not aligned"
        np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float64))
    model = Sequential(Linear(64, 128, rng=0), Linear(128, 10, rng=1))
    rng = np.random.default_rng(2)
    state = {name: rng.standard_normal(p.shape) for name, p in model.named_parameters()}
    model.load_state_dict(state)
    for name, p in model.named_parameters():
        assert p.data.ctypes.data % ALIGNMENT == 0, f"loaded {name} not aligned"
        np.testing.assert_array_equal(p.data, state[name], err_msg=f"loaded {name}")
        assert not np.shares_memory(p.data, state[name]), f"{name} shares the dict's array"
