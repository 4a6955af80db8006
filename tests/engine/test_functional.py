"""engine.functional: linear, conv2d, max_pool2d, avg_pool2d, flatten.

Forward values against naive loops written from the definitions; gradients against
hand-derived formulas (linear) and central differences under a random upstream gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from tensor_checks import assert_matches_central, engine_vjp

from engine import Tensor
from engine import functional as F


@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4)], ids=["1-D", "2-D", "3-D"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(x_shape, with_bias: bool) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((3, 4)), rng.standard_normal(3)
    arrays = [x, w, b] if with_bias else [x, w]
    expected = x @ w.T + (b if with_bias else 0.0)
    upstream = rng.standard_normal(expected.shape)
    out, grads = engine_vjp(F.linear, arrays, upstream)
    case = f"linear x{x_shape}, bias {with_bias}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, err_msg=case)
    rows, inputs = upstream.reshape(-1, 3), x.reshape(-1, 4)
    np.testing.assert_allclose(grads[0], upstream @ w, rtol=1e-13, err_msg=case)
    np.testing.assert_allclose(grads[1], rows.T @ inputs, rtol=1e-13, err_msg=case)
    if with_bias:
        np.testing.assert_allclose(grads[2], rows.sum(axis=0), rtol=1e-13, err_msg=case)
    assert_matches_central(F.linear, arrays, rng)


def test_linear_takes_a_plain_array_input() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((5, 4)), Tensor(rng.standard_normal((3, 4)))
    out = F.linear(x, w)
    out.backward(np.ones((5, 3)))
    np.testing.assert_allclose(w.grad, np.ones((3, 5)) @ x, rtol=1e-13, err_msg="array input")


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape"),
    [((5, 4), (3, 5), (3,)), ((5, 4), (4,), (3,)), ((5, 4), (3, 4), (4,)), ((), (3, 4), (3,))],
)
def test_linear_shape_errors_name_the_shapes(x_shape, w_shape, b_shape) -> None:
    with pytest.raises(ValueError) as caught:
        F.linear(np.ones(x_shape), np.ones(w_shape), np.ones(b_shape))
    message = str(caught.value)
    assert str(w_shape) in message, message


def _naive_conv(x, w, b, stride, padding) -> np.ndarray:
    (sh, sw), (ph, pw) = np.broadcast_to(stride, 2), np.broadcast_to(padding, 2)
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, height, width = x.shape
    filters, _, kh, kw = w.shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((n, filters, oh, ow))
    for i in range(n):
        for f in range(filters):
            for r in range(oh):
                for c in range(ow):
                    window = x[i, :, r * sh : r * sh + kh, c * sw : c * sw + kw]
                    out[i, f, r, c] = np.sum(window * w[f]) + (0.0 if b is None else b[f])
    return out


CONV_CASES = [
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0),
    ((1, 3, 6, 5), (2, 3, 3, 2), 2, 1),
    ((2, 1, 4, 4), (2, 1, 1, 1), 1, 0),
    ((1, 2, 5, 6), (2, 2, 2, 3), (2, 1), (0, 1)),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES, ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d(x_shape, w_shape, stride, padding, with_bias: bool) -> None:
    rng = np.random.default_rng(2)
    x, w, b = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )
    arrays = [x, w, b] if with_bias else [x, w]

    def conv(*tensors: Tensor) -> Tensor:
        return F.conv2d(*tensors, stride=stride, padding=padding)

    np.testing.assert_allclose(
        conv(*[Tensor(a) for a in arrays]).data,
        _naive_conv(x, w, b if with_bias else None, stride, padding),
        rtol=1e-12,
        atol=1e-13,
        err_msg=f"conv2d {x_shape} {w_shape} stride {stride} padding {padding}",
    )
    assert_matches_central(conv, arrays, rng)


def test_conv2d_input_without_gradient() -> None:
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 4, 4)), Tensor(rng.standard_normal((1, 1, 2, 2)))
    F.conv2d(x, w).sum().backward()
    assert w.grad.shape == (1, 1, 2, 2), f"weight grad {w.grad}"


@pytest.mark.parametrize(
    ("x_shape", "w_shape"),
    [((2, 3, 5, 5), (4, 2, 3, 3)), ((3, 5, 5), (4, 3, 3, 3)), ((1, 1, 2, 2), (1, 1, 3, 3))],
    ids=["channels", "3-D input", "kernel too big"],
)
def test_conv2d_shape_errors(x_shape, w_shape) -> None:
    with pytest.raises(ValueError, match=r"\d"):
        F.conv2d(np.ones(x_shape), np.ones(w_shape))


def _naive_pool(x, kernel: int, stride: int, padding: int, reduce, fill: float) -> np.ndarray:
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    oh = (x.shape[2] - kernel) // stride + 1
    ow = (x.shape[3] - kernel) // stride + 1
    out = np.zeros((*x.shape[:2], oh, ow))
    for r in range(oh):
        for c in range(ow):
            window = x[:, :, r * stride : r * stride + kernel, c * stride : c * stride + kernel]
            out[:, :, r, c] = reduce(window, axis=(2, 3))
    return out


POOL_CASES = [(2, None, 0), (2, 1, 0), (3, 2, 1), (2, 2, 1)]


@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES, ids=str)
def test_max_pool2d(kernel: int, stride, padding: int) -> None:
    rng = np.random.default_rng(4)
    x = rng.permutation(np.arange(2 * 2 * 5 * 5, dtype=float)).reshape(2, 2, 5, 5) / 10  # no ties
    expected = _naive_pool(x, kernel, stride or kernel, padding, np.max, -np.inf)

    def pool(t: Tensor) -> Tensor:
        return F.max_pool2d(t, kernel, stride, padding)

    np.testing.assert_array_equal(pool(Tensor(x)).data, expected, err_msg=f"{kernel} {stride}")
    assert_matches_central(pool, [x], rng)


def test_max_pool2d_splits_ties_equally() -> None:
    x = Tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]))
    F.max_pool2d(x, 2).backward(np.array([[[[4.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 2.0], [2.0, 0.0]]]], err_msg="tied maxima")


@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES, ids=str)
def test_avg_pool2d(kernel: int, stride, padding: int) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 5, 5))
    expected = _naive_pool(x, kernel, stride or kernel, padding, np.mean, 0.0)

    def pool(t: Tensor) -> Tensor:
        return F.avg_pool2d(t, kernel, stride, padding)

    np.testing.assert_allclose(pool(Tensor(x)).data, expected, rtol=1e-14, err_msg=f"{kernel}")
    assert_matches_central(pool, [x], rng)


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-1, ValueError), ((2, 2, 2), ValueError), (1.5, TypeError)],
)
def test_pool_refuses_bad_kernel_sizes(bad, error: type) -> None:
    with pytest.raises(error, match="kernel_size"):
        F.max_pool2d(np.ones((1, 1, 4, 4)), bad)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("padding", [0, 1])
def test_pool_needs_nchw_images(pool, padding: int) -> None:
    with pytest.raises(ValueError, match=r"NCHW.*\(3, 4, 4\)"):
        pool(np.ones((3, 4, 4)), 2, padding=padding)


def test_flatten() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 2, 2))
    upstream = rng.standard_normal((2, 12))
    out, (grad,) = engine_vjp(F.flatten, [x], upstream)
    np.testing.assert_array_equal(out.data, x.reshape(2, 12), err_msg="flatten")
    np.testing.assert_array_equal(grad, upstream.reshape(x.shape), err_msg="flatten'")
    assert F.flatten(Tensor(x), start_dim=2).shape == (2, 3, 4), "start_dim=2"


# -- edge shapes and messages -------------------------------------------------------------
# Tall images, one-sided padding, 1x1 windows, kernels that do not fit, and the exact
# messages: each test pins down what a surviving mutant once changed.


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
