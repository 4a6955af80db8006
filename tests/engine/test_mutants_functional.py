"""engine.functional on the shapes `vgrad mutate` found unchecked: tall images, one-sided
padding, 1x1 windows, kernels that do not fit, and the exact messages."""

from __future__ import annotations

import numpy as np
import pytest
from tensor_checks import assert_matches_central

from engine import Tensor
from engine import functional as F


def naive_windows(x: np.ndarray, kernel, stride, padding, fill: float) -> np.ndarray:
    """(N, C, OH, OW, kh, kw) windows of `x` padded with `fill`, by loops."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.empty((n, c, oh, ow, kh, kw))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = padded[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
    return out


# tall and wide images, padding on one axis only, strides that differ by axis
SHAPES = [
    ((1, 2, 7, 4), (3, 2), (2, 1), (1, 0)),
    ((2, 1, 4, 6), (2, 3), (1, 2), (0, 1)),
    ((1, 1, 5, 3), (3, 2), (1, 1), (1, 1)),
]


@pytest.mark.parametrize(("x_shape", "kernel", "stride", "padding"), SHAPES)
def test_pooling_of_tall_and_wide_images_with_one_sided_padding(
    x_shape, kernel, stride, padding
) -> None:
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape)
    avg = F.avg_pool2d(x, kernel, stride, padding)
    np.testing.assert_allclose(
        avg.data, naive_windows(x, kernel, stride, padding, 0.0).mean(axis=(4, 5)), rtol=1e-14
    )
    biggest = F.max_pool2d(x, kernel, stride, padding)
    np.testing.assert_array_equal(
        biggest.data, naive_windows(x, kernel, stride, padding, -np.inf).max(axis=(4, 5))
    )
    for pool in (F.avg_pool2d, F.max_pool2d):
        assert_matches_central(lambda t, pool=pool: pool(t, kernel, stride, padding), [x], rng)


@pytest.mark.parametrize(("x_shape", "kernel", "stride", "padding"), SHAPES)
def test_conv2d_of_tall_and_wide_images_with_one_sided_padding(
    x_shape, kernel, stride, padding
) -> None:
    rng = np.random.default_rng(sum(x_shape) + 1)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((2, x_shape[1], *kernel))
    b = rng.standard_normal(2)
    out = F.conv2d(x, w, b, stride, padding)
    windows = naive_windows(x, kernel, stride, padding, 0.0)
    expected = np.einsum("ncijuv,fcuv->nfij", windows, w) + b[:, None, None]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    assert_matches_central(lambda *t: F.conv2d(*t, stride=stride, padding=padding), [x, w, b], rng)


def test_one_by_one_windows_are_allowed() -> None:
    x = np.random.default_rng(8).standard_normal((1, 2, 3, 3))
    np.testing.assert_array_equal(F.max_pool2d(x, 1).data, x)
    np.testing.assert_array_equal(F.avg_pool2d(x, (1, 1)).data, x)


@pytest.mark.parametrize("kernel", [(5, 1), (1, 5), (5, 5)])
def test_a_kernel_larger_than_the_image_is_refused_naming_both(kernel) -> None:
    for call in (
        lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), kernel),
        lambda: F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, *kernel))),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == f"a {kernel} kernel does not fit (padded) images of 4x4"


def test_pooling_needs_nchw_images() -> None:
    with pytest.raises(ValueError) as info:
        F.avg_pool2d(np.zeros((4, 4)), 2)
    assert str(info.value) == "expected NCHW images (4 axes), got shape (4, 4)"
    with pytest.raises(TypeError) as info:
        F.max_pool2d(np.zeros((1, 1, 4, 4)), "2")
    assert str(info.value) == "kernel_size must be an int or a pair of ints, got str"
    with pytest.raises(ValueError) as info:
        F.max_pool2d(np.zeros((1, 1, 4, 4)), (2, 2, 2))
    assert str(info.value) == "kernel_size must be an int or a pair of ints >= 1, got (2, 2, 2)"


def test_linear_messages() -> None:
    with pytest.raises(ValueError) as info:
        F.linear(np.zeros(3), np.zeros((2, 3)), np.zeros(3))
    assert str(info.value) == "linear: bias of shape (3,) for weight of shape (2, 3)"
    with pytest.raises(ValueError, match=r"^linear: input of shape \(\) "):
        F.linear(np.float64(1.0), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"^linear: input of shape \(3,\) "):
        F.linear(np.zeros(3), np.zeros(3))


def test_flatten_keeps_the_leading_axes() -> None:
    x = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert F.flatten(x).shape == (2, 12)
    assert F.flatten(x, 0).shape == (24,)
    assert F.flatten(x, 2).shape == (2, 3, 4)


def test_max_pool_pads_with_minus_infinity_never_zero() -> None:
    x = -1.0 - np.random.default_rng(9).random((1, 2, 3, 3))  # all negative
    out = F.max_pool2d(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(
        out.data, naive_windows(x, (2, 2), (1, 1), (1, 1), -np.inf).max(axis=(4, 5))
    )
    assert (out.data < 0).all()


def test_non_tensor_inputs_are_refused_naming_the_type() -> None:
    with pytest.raises(TypeError) as info:
        F.linear("abc", np.zeros((2, 3)))
    assert str(info.value) == "expected a Tensor, a NumPy array or a number, got str"
