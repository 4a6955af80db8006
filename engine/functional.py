"""Network operations on `Tensor`s: `linear`, `conv2d`, `max_pool2d`, `avg_pool2d`, `flatten`,
and the losses of `engine.nn.losses` (torch's `functional` holds both).

Each is one graph node made with `make_node`, its forward code and its backward rule
side by side, as in engine/tensor.py.  Images are NCHW: (batch, channels, height, width).

Convolution and pooling look at every (kh, kw) window of the input, taken with
NumPy's ``sliding_window_view`` (a view, no copy) as an array of shape
(N, C, OH, OW, kh, kw).  The backward rules produce a gradient per window element and
`_fold` adds each one back to the input pixel it came from: pixels shared by
overlapping windows collect the sum.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.matmul import matmul
from engine.tensor import Tensor, accumulate_grad, as_tensor, make_node

_Pair = int | tuple[int, int]


def linear(
    x: Tensor | np.ndarray, weight: Tensor | np.ndarray, bias: Tensor | np.ndarray | None = None
) -> Tensor:
    """``x @ weight.T + bias`` as one node (torch's ``F.linear``); weight is (out, in).

    The same numbers as the three-node expression, with the gradients computed in the
    weight's own layout and none at all for an input that needs none.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    inputs, w = x.data, weight.data
    if w.ndim != 2 or inputs.ndim == 0 or inputs.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {inputs.shape} does not fit weight of shape {w.shape} "
            "(a 2-D weight (out, in) whose second axis is the input's last)"
        )
    data = matmul(inputs, w.T)
    if bias is None:
        return make_node(data, (x, weight), "linear", _linear_backward)
    bias = as_tensor(bias)
    if bias.data.shape != w.shape[:1]:
        raise ValueError(f"linear: bias of shape {bias.shape} for weight of shape {w.shape}")
    data += bias.data
    return make_node(data, (x, weight, bias), "linear", _linear_backward)


def _linear_backward(out: Tensor) -> None:
    """out = x @ W^T + b:  d/dx = g @ W,  d/dW = g^T @ x,  d/db = sum of g over the batch."""
    x, weight, *bias = out._prev
    g = out.grad
    if x.requires_grad:
        accumulate_grad(x, matmul(g, weight.data))
    inputs = x.data
    if g.ndim != 2:  # leading axes are all batch axes: make them one
        # equivalent: -2 is -1 to numpy
        g = g.reshape(-1, g.shape[-1])  # pragma: no mutate
        inputs = inputs.reshape(-1, inputs.shape[-1])  # pragma: no mutate
    if weight.requires_grad:
        accumulate_grad(weight, matmul(g.T, inputs))
    if bias and bias[0].requires_grad:
        accumulate_grad(bias[0], g.sum(axis=0))


def conv2d(
    x: Tensor | np.ndarray,
    weight: Tensor | np.ndarray,
    bias: Tensor | np.ndarray | None = None,
    stride: _Pair = 1,
    padding: _Pair = 0,
) -> Tensor:
    """2-D cross-correlation, as torch's ``F.conv2d``: x (N, C, H, W), weight (F, C, kh, kw).

    im2col: the windows become the rows of a (N*OH*OW, C*kh*kw) matrix, so the whole
    convolution is one matrix product with the (F, C*kh*kw) weight matrix.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: input (N, C, H, W) of shape {x.shape} does not fit weight "
            f"(F, C, kh, kw) of shape {weight.shape}"
        )
    inputs = (x, weight)
    if bias is not None:
        inputs = (x, weight, as_tensor(bias))
        if inputs[2].shape != weight.shape[:1]:
            raise ValueError(
                f"conv2d: bias of shape {inputs[2].shape} for weight of shape {weight.shape}"
            )
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    n, channels, kh, kw = x.shape[0], x.shape[1], *weight.shape[2:]
    filters = weight.shape[0]
    windows = _windows(_pad(x.data, padding, 0.0), (kh, kw), stride)
    oh, ow = windows.shape[2:4]
    columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, channels * kh * kw)
    # (N*OH*OW, F)
    # equivalent: -2 is -1 to numpy
    rows = columns @ weight.data.reshape(filters, -1).T  # pragma: no mutate
    if bias is not None:
        rows += inputs[2].data
    data = rows.reshape(n, oh, ow, filters).transpose(0, 3, 1, 2)
    return make_node(data, inputs, "conv2d", _conv2d_backward, (columns, stride, padding))


def _conv2d_backward(out: Tensor) -> None:
    """out[n, f, i, j] = sum over c, u, v of window(n, i, j)[c, u, v] * W[f, c, u, v] + b[f].

    With the windows as the rows of `columns` (im2col) and g as a (N*OH*OW, F) matrix:
    d/dW = g^T @ columns,  d/db = sum of g over batch and positions,
    d/dcolumns = g @ W, folded back onto the input pixels (col2im).
    """
    x, weight, *bias = out._prev
    columns, stride, padding = out._aux
    filters = weight.data.shape[0]
    # equivalent: -2 is -1 to numpy
    g = out.grad.transpose(0, 2, 3, 1).reshape(-1, filters)  # pragma: no mutate
    if weight.requires_grad:
        accumulate_grad(weight, (g.T @ columns).reshape(weight.data.shape))
    if bias and bias[0].requires_grad:
        accumulate_grad(bias[0], g.sum(axis=0))
    if x.requires_grad:
        n, _, oh, ow = out.data.shape
        channels, kh, kw = weight.data.shape[1:]
        # equivalent: -2 is -1 to numpy
        weight_rows = weight.data.reshape(filters, -1)  # pragma: no mutate
        window_grad = (g @ weight_rows).reshape(n, oh, ow, channels, kh, kw)
        accumulate_grad(x, _fold(window_grad.transpose(0, 3, 1, 2, 4, 5), x.shape, stride, padding))


def max_pool2d(
    x: Tensor | np.ndarray, kernel_size: _Pair, stride: _Pair | None = None, padding: _Pair = 0
) -> Tensor:
    """The maximum of each window, as torch's ``F.max_pool2d`` (stride defaults to the kernel).

    Padding is -inf, so it is never the maximum.
    """
    x = as_tensor(x)
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding)
    windows = _windows(_pad(x.data, padding, -np.inf), kernel, stride)
    kept = windows.max(axis=(4, 5), keepdims=True)
    data = kept[..., 0, 0]
    return make_node(
        data, (x,), "max_pool2d", _max_pool2d_backward, (windows, kept, stride, padding)
    )


def _max_pool2d_backward(out: Tensor) -> None:
    """out = max of a window:  d/dx = 1/k for each of the k tied maxima of the window, else 0.

    Ties split equally, as `Tensor.max` (torch gives everything to one of them).
    """
    (x,) = out._prev
    windows, kept, stride, padding = out._aux
    is_max = windows == kept
    ties = is_max.sum(axis=(4, 5), keepdims=True)
    window_grad = is_max * (out.grad[..., np.newaxis, np.newaxis] / ties)
    accumulate_grad(x, _fold(window_grad, x.shape, stride, padding))


def avg_pool2d(
    x: Tensor | np.ndarray, kernel_size: _Pair, stride: _Pair | None = None, padding: _Pair = 0
) -> Tensor:
    """The mean of each window, as torch's ``F.avg_pool2d`` (stride defaults to the kernel).

    Padding is 0 and counts in the mean (torch's default ``count_include_pad=True``).
    """
    x = as_tensor(x)
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding)
    windows = _windows(_pad(x.data, padding, 0.0), kernel, stride)
    data = windows.mean(axis=(4, 5))
    return make_node(data, (x,), "avg_pool2d", _avg_pool2d_backward, (kernel, stride, padding))


def _avg_pool2d_backward(out: Tensor) -> None:
    """out = mean of a window of kh*kw pixels:  d/dx = 1/(kh*kw) for each pixel of the window."""
    (x,) = out._prev
    (kh, kw), stride, padding = out._aux
    share = out.grad[..., np.newaxis, np.newaxis] / (kh * kw)
    window_grad = np.broadcast_to(share, (*out.data.shape, kh, kw))
    accumulate_grad(x, _fold(window_grad, x.shape, stride, padding))


def flatten(x: Tensor | np.ndarray, start_dim: int = 1) -> Tensor:
    """Merge the axes from `start_dim` on into one (a reshape; its backward reshapes back)."""
    x = as_tensor(x)
    # equivalent: -2 is -1 to numpy
    return x.reshape(*x.shape[:start_dim], -1)  # pragma: no mutate


# -- windows ---------------------------------------------------------------------------


def _pair(value: _Pair, name: str, smallest: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints as a pair, each at least `smallest`."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if not isinstance(pair, tuple | list) or not all(isinstance(v, numbers.Integral) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {type(value).__name__}")
    if len(pair) != 2 or min(pair) < smallest:
        raise ValueError(f"{name} must be an int or a pair of ints >= {smallest}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _pool_arguments(
    kernel_size: _Pair, stride: _Pair | None, padding: _Pair
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Kernel, stride (the kernel by default) and padding of a pooling, each as a pair."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    return kernel, stride, _pair(padding, "padding", 0)


def _pad(images: np.ndarray, padding: tuple[int, int], fill: float) -> np.ndarray:
    """NCHW images with `padding` rows and columns of `fill` added on each side."""
    if images.ndim != 4:
        raise ValueError(f"expected NCHW images (4 axes), got shape {images.shape}")
    ph, pw = padding
    if ph == pw == 0:
        return images
    return np.pad(images, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def _windows(images: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Every kernel-sized window at the given stride: a (N, C, OH, OW, kh, kw) view."""
    height, width = images.shape[2:]
    if kernel[0] > height or kernel[1] > width:
        raise ValueError(f"a {kernel} kernel does not fit (padded) images of {height}x{width}")
    sh, sw = stride
    return sliding_window_view(images, kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def _fold(
    window_grad: np.ndarray,
    shape: tuple[int, ...],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """Add a (N, C, OH, OW, kh, kw) gradient per window element onto the input's pixels.

    Window (i, j)'s element (u, v) came from padded pixel (i*sh + u, j*sw + v): one
    strided slice per (u, v) receives all windows' gradients at once.  The padding's
    gradient is dropped.
    """
    (sh, sw), (ph, pw) = stride, padding
    n, c, oh, ow, kh, kw = window_grad.shape
    # equivalent 3 * ph, 3 * pw: a bigger zero buffer, cropped to the same view
    grad = np.zeros((n, c, shape[2] + 2 * ph, shape[3] + 2 * pw))  # pragma: no mutate
    for u in range(kh):
        for v in range(kw):
            grad[:, :, u : u + sh * oh : sh, v : v + sw * ow : sw] += window_grad[..., u, v]
    return grad[:, :, ph : ph + shape[2], pw : pw + shape[3]]


# torch.nn.functional holds the losses too: the same functions as engine.nn's
from engine.nn.losses import (  # noqa: E402
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
)

__all__ = [  # noqa: RUF022  (in the order of the module, as docs/api.md shows them)
    "linear",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "flatten",
    "mse_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge_loss",
]
