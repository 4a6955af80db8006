"""The running error analysis of the `functional` nodes of a tensor graph.

`oracle.tolerance` calls `forward` and `backward` for the ops of `oracle.ir.NETWORK_OPS`.
They are the analysis of `oracle.networks` (a convolution's or a linear layer's sums,
pooling windows, the stable losses), with one addition: in a graph, a weight, a bias or a
regression target is a node with an error of its own, not an exact parameter, so its
error is propagated too, as `oracle.tolerance` does for matmul (first order:
``|x| e_w`` forward and ``g_mag e_w`` backward).  A loss node's upstream gradient is a
0-d value with its own error: the loss's gradient for an upstream of 1, the product of
exact per-entry derivatives and rounding, scales linearly in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle import networks
from oracle.ir import Node

Array = np.ndarray
LOSSES = networks.LOSSES


def layer(node: Node, args: list[Array]) -> dict[str, Any]:
    """The node as a layer of `oracle.networks` (for its analysis)."""
    op, attrs = node.op, node.attrs
    if op == "conv2d":
        weight = args[1]
        return {
            "type": "Conv2d",
            "in_channels": weight.shape[1],
            "out_channels": weight.shape[0],
            "kernel_size": weight.shape[2:],
            "stride": attrs["stride"],
            "padding": attrs["padding"],
            "bias": len(args) > 2,
        }
    if op == "linear":
        return {"type": "Linear", "in_features": args[1].shape[1], "bias": len(args) > 2}
    if op == "flatten":
        return {"type": "Flatten", "start_dim": attrs["start_dim"]}
    kind = "MaxPool2d" if op == "max_pool2d" else "AvgPool2d"
    return {"type": kind, **{k: attrs[k] for k in ("kernel_size", "stride", "padding")}}


def _second(node: Node, args: list[Array]) -> Array:
    """A loss's second argument: the target node, or the constant labels or targets."""
    if node.op == "mse_loss":
        return args[1]
    return node.attrs["labels" if "labels" in node.attrs else "targets"]


def forward(node: Node, args: list[Array], errs: list[Array], v: Array) -> Array:
    """The error bound of the node's value from its operands' bounds and its rounding."""
    op = node.op
    if op in LOSSES:
        e = errs[0] + errs[1] if op == "mse_loss" else errs[0]
        return np.asarray(networks._loss_error(op, args[0], e, _second(node, args), 1.0)[0])
    x, e = args[0], errs[0]
    if op == "linear":
        x, e = _rows(x), _rows(e)
    own = layer(node, args)
    out = networks._forward_error(own, args[1:], x, e)
    if op == "conv2d":
        out = out + networks._conv(own, np.abs(x) + e, errs[1])
    elif op == "linear":
        out = out + (np.abs(x) + e) @ errs[1].T
    if op in ("conv2d", "linear") and len(args) > 2:
        out = out + (errs[2].reshape(1, -1, 1, 1) if op == "conv2d" else errs[2])
    return out.reshape(v.shape)


def backward(
    node: Node,
    args: list[Array],
    errs: list[Array],
    v: Array,
    e_v: Array,
    g_err: Array,
    g_mag: Array,
) -> list[tuple[Array, Array]]:
    """(error, magnitude) of the gradient reaching each of the node's args."""
    op = node.op
    if op in LOSSES:
        return _loss_backward(node, args, errs, g_err, g_mag)
    x, e = args[0], errs[0]
    if op == "linear":
        x, e = _rows(x), _rows(e)
        g_err, g_mag = g_err.reshape(-1, v.shape[-1]), g_mag.reshape(-1, v.shape[-1])
        v, e_v = v.reshape(g_mag.shape), e_v.reshape(g_mag.shape)
    own = layer(node, args)
    err, mag, param_errs = networks._backward_error(own, args[1:], x, e, v, e_v, g_err, g_mag)
    if op == "conv2d":
        err = err + networks._conv_by_input(own, g_mag, errs[1], x.shape)
        mags = [networks._conv_by_weight(own, g_mag, np.abs(x), args[1].shape)]
        mags.append(g_mag.sum(axis=(0, 2, 3)))
    elif op == "linear":
        err = err + g_mag @ errs[1]
        mags = [g_mag.T @ np.abs(x), g_mag.sum(axis=0)]
    else:
        mags = []
    shape = args[0].shape
    parts = [(err.reshape(shape), mag.reshape(shape))]
    return parts + list(zip(param_errs, mags[: len(param_errs)], strict=True))


def _rows(x: Array) -> Array:
    """A linear layer's input as rows: (..., in) as (-1, in)."""
    return x.reshape(-1, x.shape[-1])


def _loss_backward(
    node: Node, args: list[Array], errs: list[Array], g_err: Array, g_mag: Array
) -> list[tuple[Array, Array]]:
    op, z = node.op, args[0]
    e = errs[0] + errs[1] if op == "mse_loss" else errs[0]
    # the gradient for an upstream gradient of 1, then scaled by the upstream's magnitude
    # (rounding, kinks, the operands' errors) and its own error (exact derivatives)
    _, err_z, mag_z, err_y, mag_y = networks._loss_error(op, z, e, _second(node, args), 1.0)
    g_err, g_mag = float(g_err), float(g_mag)
    parts = [(mag_z * g_err + err_z * g_mag, mag_z * g_mag)]
    if op == "mse_loss":
        parts.append((mag_y * g_err + err_y * g_mag, mag_y * g_mag))
    return parts
