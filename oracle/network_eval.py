"""The `functional` ops of the IR (`oracle.ir.NETWORK_OPS`) in NumPy, without JAX.

For `oracle.numpy_eval`: the same functions run on float64 arrays and on object arrays
of `mpmath.mpf` (the second opinion's arithmetic), so they use only indexing, padding,
``einsum``, sums, maxima and the backend's own ``exp`` and ``log``.  Torch's semantics:
convolution is a cross-correlation with symmetric zero padding; max pooling pads with
-inf, average pooling with zeros that count (``count_include_pad=True``); the losses
average (over every element for ``mse_loss``, over the batch for the others) and are
written in their stable forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from oracle.ir import pair

Array = np.ndarray
Fn = Callable[[Array], Array]


def windows(x: Array, kernel: Any, stride: Any, padding: Any, fill: Any) -> Array:
    """Every window of the padded images x: (N, C, OH, OW, kh, kw)."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    return sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def apply(
    op: str,
    attrs: Mapping[str, Any],
    args: list[Array],
    lift: Callable[[Any], Array],
    exp: Fn,
    log: Fn,
) -> Array:
    """One `functional` node on float64 or mpf arrays (`lift` makes a number of their kind)."""
    args = [np.asarray(a) for a in args]  # mpmath's 0-d results are numbers, not arrays
    x = args[0]
    if op == "conv2d":
        weight = args[1]
        parts = windows(x, weight.shape[2:], attrs["stride"], attrs["padding"], lift(0.0))
        out = np.einsum("ncijuv,fcuv->nfij", parts, weight)
        return out + args[2].reshape(1, -1, 1, 1) if len(args) > 2 else out
    if op in ("max_pool2d", "avg_pool2d"):
        kernel = attrs["kernel_size"]
        stride = kernel if attrs["stride"] is None else attrs["stride"]
        fill = lift(-np.inf if op == "max_pool2d" else 0.0)
        parts = windows(x, kernel, stride, attrs["padding"], fill)
        if op == "max_pool2d":
            return np.max(parts, axis=(4, 5))
        return np.sum(parts, axis=(4, 5)) / int(np.prod(pair(kernel)))
    if op == "flatten":
        return x.reshape(*x.shape[: attrs["start_dim"]], -1)
    if op == "linear":
        out = np.matmul(x, args[1].T)
        return out + args[2] if len(args) > 2 else out
    if op == "mse_loss":
        d = np.asarray(x - args[1])
        return np.asarray(np.sum(d * d) / d.size)
    if op == "cross_entropy":
        labels = attrs["labels"]
        top = np.max(x, axis=1)
        lse = log(np.sum(exp(x - top[:, None]), axis=1)) + top
        return np.asarray(np.sum(lse - x[np.arange(len(labels)), labels]) / len(labels))
    if op == "binary_cross_entropy_with_logits":
        y = lift(attrs["targets"])
        positive = np.where(x > 0, x, lift(0.0))
        terms = positive - x * y + log(lift(1.0) + exp(-np.abs(x)))
        return np.asarray(np.sum(terms) / x.size)
    if op == "hinge_loss":
        margins = lift(1.0) - lift(attrs["labels"]) * x
        return np.asarray(np.sum(np.where(margins > 0, margins, lift(0.0))) / x.size)
    raise ValueError(f"unknown op {op!r}")
