"""Network references in torch's layout and semantics: functional ops, losses, `Sequential`.

Everything is JAX in float64, written from torch's documentation, never from `engine`:

* ``linear(x, W, b) = x @ W.T + b`` with W of shape (out, in), x of shape (*, in);
* ``conv2d``: `lax.conv_general_dilated` in NCHW / OIHW with torch's symmetric zero
  padding, strides, dilation and groups (a cross-correlation, as torch's);
* ``max_pool2d``: `lax.reduce_window` of `max` with -inf padding (never the maximum);
* ``avg_pool2d``: `lax.reduce_window` of `add` with zero padding, divided by kh*kw
  (padding counts, torch's ``count_include_pad=True``); both with stride = kernel by
  default and torch's floor rule for the output size;
* ``flatten(x, start_dim=1)``;
* the losses, means as torch's ``reduction="mean"``, in stable forms: ``mse_loss``,
  ``cross_entropy`` (logsumexp), ``binary_cross_entropy_with_logits``
  (``logaddexp(0, z) - z*y``) and micrograd's ``hinge_loss`` = mean(relu(1 - y*s)).

A network is data: a list of layer dicts (``{"type": "Conv2d", "in_channels": 1, ...}``
with torch's argument names) and its parameters in torch's ``parameters()`` order (each
layer's weight, then its bias).  `loss_and_grads` evaluates and differentiates it,
`train` runs it with `oracle.optim`'s torch-exact optimizers.

`bounds` is a running error analysis of the same computation, layer by layer, in the
model of `oracle.tolerance` (u the unit roundoff, SAFETY for what the model leaves out):
forward, each layer's output gets an error bound from its input's bound and its own
rounding (a sum of k terms: k u times the sum of their magnitudes); backward, each
gradient gets an error bound and a magnitude (the same gradient computed with absolute
values), so every summation's rounding is bounded by k u times the magnitude it sums,
and a kink within an input's error (relu near 0, near-tied maxima, a hinge at its
margin) allows any routing of the gradient there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from numpy.lib.stride_tricks import sliding_window_view

from oracle import _jax, jax_ops, optim, tolerance

FUNCTIONS = ("linear", "conv2d", "max_pool2d", "avg_pool2d", "flatten")
LOSSES = ("mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss")
LAYERS = ("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "ReLU", "Tanh", "Sigmoid")
ACTIVATIONS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}

Array = np.ndarray


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """An int or a pair as a pair."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


# -- the functions ------------------------------------------------------------------------


def linear(x: Any, weight: Any, bias: Any = None) -> jax.Array:
    out = jnp.matmul(x, weight.T, precision=lax.Precision.HIGHEST)
    return out if bias is None else out + bias


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> jax.Array:
    ph, pw = pair(padding)
    sh, sw = pair(stride)
    # The stride as a slice of the stride-1 output (the same windows): XLA's CPU compiler
    # (jaxlib 0.10.2) aborts the process on the weight gradient of some strided
    # convolutions (algebraic_simplifier: "Window dimensions do not match RHS shape").
    out = lax.conv_general_dilated(
        x,
        weight,
        window_strides=(1, 1),
        padding=((ph, ph), (pw, pw)),
        rhs_dilation=pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
        precision=lax.Precision.HIGHEST,
    )[:, :, ::sh, ::sw]
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def _window(kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple, tuple, tuple]:
    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    return (1, 1, kh, kw), (1, 1, sh, sw), ((0, 0), (0, 0), (ph, ph), (pw, pw))


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> jax.Array:
    dims, strides, pads = _window(kernel_size, stride, padding)
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, strides, pads)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> jax.Array:
    dims, strides, pads = _window(kernel_size, stride, padding)
    return lax.reduce_window(x, 0.0, lax.add, dims, strides, pads) / (dims[2] * dims[3])


def flatten(x: Any, start_dim: int = 1) -> jax.Array:
    return x.reshape(*x.shape[:start_dim], -1)


def mse_loss(prediction: Any, target: Any) -> jax.Array:
    return jnp.mean((prediction - target) ** 2)


def cross_entropy(logits: Any, labels: Any) -> jax.Array:
    picked = jnp.take_along_axis(logits, jnp.asarray(labels).reshape(-1, 1), axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> jax.Array:
    return jnp.mean(jnp.logaddexp(0.0, logits) - logits * targets)


def hinge_loss(scores: Any, labels: Any) -> jax.Array:
    return jnp.mean(jax_ops.relu(1.0 - labels * scores))


REFERENCES: dict[str, Callable[..., jax.Array]] = {
    "linear": linear,
    "conv2d": conv2d,
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "flatten": flatten,
    "mse_loss": mse_loss,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "hinge_loss": hinge_loss,
}


@dataclass(frozen=True)
class Call:
    """One functional call: `tensors` are differentiated (in order), `rest` are the
    other positional arguments (the labels of cross_entropy), `kwargs` torch's keywords."""

    name: str
    tensors: tuple[Array, ...]
    kwargs: Mapping[str, Any]
    rest: tuple[Any, ...] = ()


def vjp(call: Call, upstream: Any) -> tuple[Array, list[Array]]:
    """The call's output and the gradient of ``sum(upstream * output)`` for each tensor."""
    _jax.ensure_x64()
    tensors = [_np(t) for t in call.tensors]
    rest = [_host(r) for r in call.rest]
    out, grads = _vjp(call.name, _frozen(call.kwargs), tensors, rest, _host(upstream))
    return np.asarray(out), [np.asarray(g) for g in grads]


def _frozen(kwargs: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments as a hashable, static argument (lists made tuples)."""
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(kwargs.items()))


@partial(jax.jit, static_argnums=(0, 1), compiler_options=_jax.FAST_COMPILE)
def _vjp(
    name: str, kwargs: tuple, tensors: list, rest: list, upstream: jax.Array
) -> tuple[jax.Array, list[jax.Array]]:
    """One compiled program per function, arguments and shapes (cached on disk by JAX)."""

    def f(*tensors: jax.Array) -> jax.Array:
        return REFERENCES[name](*tensors, *rest, **dict(kwargs))

    out, back = jax.vjp(f, *tensors)
    return out, list(back(upstream.astype(jnp.float64).reshape(out.shape)))


# -- networks as data -----------------------------------------------------------------------


def layer_parameters(layer: Mapping[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of a layer's parameters in torch's order: weight, then bias."""
    kind = layer["type"]
    if kind == "Linear":
        shapes = [("weight", (layer["out_features"], layer["in_features"]))]
        bias = layer["out_features"]
    elif kind == "Conv2d":
        kh, kw = pair(layer["kernel_size"])
        groups = layer.get("groups", 1)
        c_in = layer["in_channels"] // groups
        shapes = [("weight", (layer["out_channels"], c_in, kh, kw))]
        bias = layer["out_channels"]
    else:
        return []
    return shapes + ([("bias", (bias,))] if layer.get("bias", True) else [])


def parameter_shapes(layers: Sequence[Mapping[str, Any]]) -> list[tuple[int, ...]]:
    return [shape for layer in layers for _, shape in layer_parameters(layer)]


def _split(layers: Sequence[Mapping[str, Any]], params: Sequence[Any]) -> list[list[Any]]:
    """The flat parameter list cut into each layer's list."""
    out, start = [], 0
    for layer in layers:
        count = len(layer_parameters(layer))
        out.append(list(params[start : start + count]))
        start += count
    return out


def _conv_kwargs(layer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: layer[k] for k in ("stride", "padding", "dilation", "groups") if k in layer}


def _pool_kwargs(layer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: layer[k] for k in ("kernel_size", "stride", "padding") if k in layer}


def apply_layer(layer: Mapping[str, Any], params: Sequence[Any], x: Any) -> jax.Array:
    """One layer of the network in JAX."""
    kind = layer["type"]
    if kind == "Linear":
        return linear(x, *params)
    if kind == "Conv2d":
        weight, *bias = params
        return conv2d(x, weight, bias[0] if bias else None, **_conv_kwargs(layer))
    if kind == "MaxPool2d":
        return max_pool2d(x, **_pool_kwargs(layer))
    if kind == "AvgPool2d":
        return avg_pool2d(x, **_pool_kwargs(layer))
    if kind == "Flatten":
        return flatten(x, layer.get("start_dim", 1))
    return jax_ops.UNARY[ACTIVATIONS[kind]](x)


def forward(layers: Sequence[Mapping[str, Any]], params: Sequence[Any], x: Any) -> jax.Array:
    for layer, own in zip(layers, _split(layers, params), strict=True):
        x = apply_layer(layer, own, x)
    return x


def output_shape(layers: Sequence[Mapping[str, Any]], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The network's output shape for inputs of `shape` (traced, nothing computed)."""
    params = [jax.ShapeDtypeStruct(s, jnp.float64) for s in parameter_shapes(layers)]
    x = jax.ShapeDtypeStruct(shape, jnp.float64)
    return tuple(jax.eval_shape(lambda p, x: forward(layers, p, x), params, x).shape)


def frozen_layers(layers: Sequence[Mapping[str, Any]]) -> tuple:
    """Layer dicts as a hashable, static argument of a compiled program."""
    return tuple(_frozen(layer) for layer in layers)


def network_vjp(
    layers: Sequence[Mapping[str, Any]],
    params: Sequence[Any],
    x: Any,
    head: str | Any,
    y: Any = None,
    upstream: Any = 1.0,
) -> tuple[Array, Array, list[Array]]:
    """The output of ``head(network(x))`` (a loss on (output, y) times `upstream`, or the
    network's output weighted by the `head` array) and the gradients of x and of every
    parameter (torch's order)."""
    _jax.ensure_x64()
    loss, weights = (head, upstream) if isinstance(head, str) else (None, head)
    out, x_grad, grads = _network_vjp(
        frozen_layers(layers),
        loss,
        [_np(p) for p in params],
        _np(x),
        _host(0.0 if y is None else y),
        _np(weights),
    )
    return np.asarray(out), np.asarray(x_grad), [np.asarray(g) for g in grads]


@partial(jax.jit, static_argnums=(0, 1), compiler_options=_jax.FAST_COMPILE)
def _network_vjp(
    layers: tuple, loss: str | None, params: list, x: jax.Array, y: jax.Array, weights: jax.Array
) -> tuple[jax.Array, jax.Array, list[jax.Array]]:
    plain = [dict(layer) for layer in layers]

    def f(params: list, x: jax.Array) -> jax.Array:
        out = forward(plain, params, x)
        return out if loss is None else REFERENCES[loss](out, y)

    out, back = jax.vjp(f, params, x)
    grads, x_grad = back(weights.reshape(out.shape))
    return out, x_grad, grads


def loss_and_grads(
    layers: Sequence[Mapping[str, Any]], loss: str, params: Sequence[Any], X: Any, y: Any
) -> tuple[float, list[Array]]:
    """The network's loss on (X, y) and its gradient for every parameter, torch's order."""
    value, _, grads = network_vjp(layers, params, X, loss, y)
    return float(value), grads


@dataclass(frozen=True)
class TrainingRun:
    """losses[t] and params[t] before step t (t = 0..steps); losses[steps] after the last."""

    losses: list[float]
    params: list[list[Array]]


def train(
    layers: Sequence[Mapping[str, Any]],
    loss: str,
    params: Sequence[Any],
    X: Any,
    y: Any,
    optimizer: optim.OptimizerConfig | Mapping[str, Any],
    steps: int,
    gradient_offsets: Sequence[Sequence[Any]] | None = None,
) -> TrainingRun:
    """Full-batch training with torch's update rule (`oracle.optim`'s optax chains) from
    the given initial parameters: one compiled program per network, optimizer structure
    and number of steps, whatever the numbers (weights, data, hyperparameters).

    ``gradient_offsets[t][i]``, when given, is added to parameter i's gradient at step t:
    a run whose gradients are off by their rounding shows how far the optimizer carries
    that rounding (Adam's first step maps a gradient of 1e-16 to lr * 1e-8)."""
    _jax.ensure_x64()
    config = optim._as_config(optimizer)
    numbers = optim._numbers(config)
    if gradient_offsets is None:
        offsets = [np.zeros((steps, *np.shape(p))) for p in params]
    else:
        offsets = [
            np.reshape([step[i] for step in gradient_offsets], (steps, *np.shape(p)))
            for i, p in enumerate(params)
        ]
    losses, history, last = _train(
        frozen_layers(layers),
        loss,
        config.name,
        optim._structure(config),
        steps,
        numbers,
        [_np(p) for p in params],
        _np(X),
        _host(y),
        offsets,
    )
    history = [np.asarray(h) for h in history]
    params_by_step = [[np.asarray(p, np.float64) for p in params]]
    params_by_step += [[h[t] for h in history] for t in range(steps)]
    return TrainingRun([float(v) for v in np.asarray(losses)] + [float(last)], params_by_step)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4), compiler_options=_jax.FAST_COMPILE)
def _train(
    layers: tuple,
    loss: str,
    name: str,
    structure: tuple[bool, ...],
    steps: int,
    numbers: dict[str, jax.Array],
    params: list[jax.Array],
    X: jax.Array,
    y: jax.Array,
    offsets: list[jax.Array],
) -> tuple[jax.Array, list[jax.Array], jax.Array]:
    plain = [dict(layer) for layer in layers]
    transform = optim._build(name, structure, numbers)

    def objective(p: list[jax.Array]) -> jax.Array:
        return REFERENCES[loss](forward(plain, p, X), y)

    def step(carry: tuple, offset: list[jax.Array]) -> tuple[tuple, tuple]:
        p, state = carry
        value, grads = jax.value_and_grad(objective)(p)
        grads = [g + o for g, o in zip(grads, offset, strict=True)]
        updates, state = transform.update(grads, state, p)
        p = optax.apply_updates(p, updates)
        return (p, state), (value, p)

    init = (params, transform.init(params))
    (last, _), (losses, history) = lax.scan(step, init, offsets, steps)
    return losses, history, objective(last)


# -- error analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Allowed |difference| between two correct float implementations (safety included)."""

    output: Array  # the network's output, or the loss
    input_grad: Array  # the gradient of the first input (images, logits)
    grads: list[Array]  # each parameter's gradient, torch's order
    head_grad: Array | None = None  # the loss's second argument's gradient, where it has one


def _allowed(error: Any) -> Array:
    return np.where(np.isnan(error), np.inf, 2 * tolerance.SAFETY * np.asarray(error))


def _np(x: Any) -> Array:
    return np.asarray(x, dtype=np.float64)


def _host(x: Any) -> Any:
    """An argument of a compiled program as `jnp.asarray` would make it (a Python number
    stays one: weakly typed), but in NumPy: an eager `jnp` conversion compiles a small
    program for every new shape, which costs more than a case's whole analysis."""
    return x if isinstance(x, (bool, int, float)) else np.asarray(x)


# The analysis computes in NumPy (magnitudes need no JAX, and a compilation per shape
# would cost more than the whole analysis): windows of the padded input as a view of
# shape (N, C, OH, OW, kh, kw), and their transpose, `_fold`.


def _geometry(layer: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    """Kernel, stride, padding and dilation of a convolution or pooling layer, as pairs."""
    if layer["type"] == "Conv2d":
        kernel = pair(layer["kernel_size"])
        stride = pair(layer.get("stride", 1))
    else:
        kernel = pair(layer["kernel_size"])
        stride = pair(layer.get("stride") or layer["kernel_size"])
    return kernel, stride, pair(layer.get("padding", 0)), pair(layer.get("dilation", 1))


def _windows(layer: Mapping[str, Any], x: Array, fill: float) -> Array:
    """Every window of the padded x: (N, C, OH, OW, kh, kw)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _geometry(layer)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = sliding_window_view(padded, span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _fold(layer: Mapping[str, Any], window_values: Array, shape: tuple[int, ...]) -> Array:
    """Each window element's value added onto the input pixel it came from (the
    transpose of `_windows`); the padding's share is dropped."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _geometry(layer)
    n, c, oh, ow = window_values.shape[:4]
    out = np.zeros((n, c, shape[2] + 2 * ph, shape[3] + 2 * pw))
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + sh * (oh - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (ow - 1) + 1, sw)
            out[:, :, rows, cols] += window_values[..., u, v]
    return out[:, :, ph : ph + shape[2], pw : pw + shape[3]]


def _groups(layer: Mapping[str, Any], channels: int, filters: int) -> list[tuple[slice, slice]]:
    groups = layer.get("groups", 1)
    c, f = channels // groups, filters // groups
    return [(slice(g * c, (g + 1) * c), slice(g * f, (g + 1) * f)) for g in range(groups)]


def _conv(layer: Mapping[str, Any], x: Array, weight: Array) -> Array:
    """The convolution's output (no bias) in NumPy."""
    windows = _windows(layer, x, 0.0)
    out = np.zeros((x.shape[0], weight.shape[0], *windows.shape[2:4]))
    for cs, fs in _groups(layer, x.shape[1], weight.shape[0]):
        out[:, fs] = np.einsum("ncijuv,fcuv->nfij", windows[:, cs], weight[fs])
    return out


def _conv_by_input(layer: Mapping[str, Any], g: Array, weight: Array, shape: tuple) -> Array:
    """The transpose of x -> conv(x, weight) applied to g."""
    n, _, oh, ow = g.shape
    window_values = np.zeros((n, shape[1], oh, ow, *weight.shape[2:]))
    for cs, fs in _groups(layer, shape[1], weight.shape[0]):
        window_values[:, cs] = np.einsum("nfij,fcuv->ncijuv", g[:, fs], weight[fs])
    return _fold(layer, window_values, shape)


def _conv_by_weight(layer: Mapping[str, Any], g: Array, x: Array, shape: tuple) -> Array:
    """The transpose of weight -> conv(x, weight) applied to g."""
    windows = _windows(layer, x, 0.0)
    out = np.zeros(shape)
    for cs, fs in _groups(layer, x.shape[1], shape[0]):
        out[fs] = np.einsum("nfij,ncijuv->fcuv", g[:, fs], windows[:, cs])
    return out


def _layer_value(layer: Mapping[str, Any], params: list[Array], x: Array) -> Array:
    """A layer's output in NumPy, for the analysis's magnitudes."""
    kind = layer["type"]
    if kind in ("Linear", "Conv2d"):
        weight, *bias = params
        if kind == "Linear":
            return x @ weight.T + (bias[0] if bias else 0.0)
        out = _conv(layer, x, weight)
        return out + bias[0].reshape(1, -1, 1, 1) if bias else out
    if kind == "MaxPool2d":
        return _windows(layer, x, -np.inf).max(axis=(4, 5))
    if kind == "AvgPool2d":
        return _windows(layer, x, 0.0).mean(axis=(4, 5))
    if kind == "Flatten":
        return x.reshape(*x.shape[: layer.get("start_dim", 1)], -1)
    if kind == "ReLU":
        return np.where(x > 0, x, 0.0)
    if kind == "Tanh":
        return np.tanh(x)
    return 1 / (1 + np.exp(-x))


def _forward_error(layer: Mapping[str, Any], params: list[Array], x: Array, e: Array) -> Array:
    """The error bound of a layer's output from its input's bound `e` and its rounding."""
    U, kind = tolerance.U, layer["type"]
    if kind == "Linear":
        weight, *bias = params
        b = np.abs(bias[0]) if bias else 0.0
        k = weight.shape[1] + 1
        return e @ np.abs(weight).T + k * U * (np.abs(x) @ np.abs(weight).T + b)
    if kind == "Conv2d":
        weight, *bias = params
        b = np.abs(bias[0]).reshape(1, -1, 1, 1) if bias else 0.0
        k = math.prod(weight.shape[1:]) + 1
        w = np.abs(weight)
        return _conv(layer, e, w) + k * U * (_conv(layer, np.abs(x), w) + b)
    if kind == "MaxPool2d":  # exact: the largest error of a window bounds its maximum's
        return _windows(layer, e, 0.0).max(axis=(4, 5))
    if kind == "AvgPool2d":
        k = math.prod(pair(layer["kernel_size"])) + 1
        return _windows(layer, e, 0.0).mean(axis=(4, 5)) + k * U * _windows(
            layer, np.abs(x), 0.0
        ).mean(axis=(4, 5))
    if kind == "Flatten":
        return e.reshape(*e.shape[: layer.get("start_dim", 1)], -1)
    if kind == "ReLU":
        return e
    v = _layer_value(layer, [], x)
    # tanh and sigmoid: the largest slope within the interval, plus a library rounding
    near = np.maximum(np.abs(x) - e, 0.0)
    slope = 1 - np.tanh(near) ** 2 if kind == "Tanh" else _sigmoid_slope(near)
    return slope * e + 8 * U * np.abs(v)


def _sigmoid_slope(x: Array) -> Array:
    s = 1 / (1 + np.exp(-np.abs(x)))
    return s * (1 - s)


def _backward_error(
    layer: Mapping[str, Any],
    params: list[Array],
    x: Array,
    e: Array,
    v: Array,
    e_v: Array,
    g_err: Array,
    g_mag: Array,
) -> tuple[Array, Array, list[Array]]:
    """(error, magnitude) of the input's gradient, and each parameter gradient's error."""
    U, kind = tolerance.U, layer["type"]
    if kind == "Linear":
        weight, *bias = params
        w = np.abs(weight)
        mag = g_mag @ w
        err = g_err @ w + (weight.shape[0] + 1) * U * mag
        # every leading axis of x (none, or several: torch's (*, in)) is a batch axis
        g_err, g_mag, x, e = (a.reshape(-1, a.shape[-1]) for a in (g_err, g_mag, x, e))
        n = g_mag.shape[0]
        w_mag = g_mag.T @ np.abs(x)
        grads = [g_err.T @ np.abs(x) + g_mag.T @ e + (n + 1) * U * w_mag]
        if bias:
            grads.append(g_err.sum(axis=0) + (n + 1) * U * g_mag.sum(axis=0))
        return err, mag, grads
    if kind == "Conv2d":
        weight, *bias = params
        w = np.abs(weight)
        mag = _conv_by_input(layer, g_mag, w, x.shape)
        count = weight.shape[0] * math.prod(weight.shape[2:]) + 1
        err = _conv_by_input(layer, g_err, w, x.shape) + count * U * mag

        def by_weight(inputs: Array, g: Array) -> Array:
            return _conv_by_weight(layer, g, inputs, weight.shape)

        positions = g_mag.shape[0] * g_mag.shape[2] * g_mag.shape[3] + 1
        w_mag = by_weight(np.abs(x), g_mag)
        grads = [by_weight(np.abs(x), g_err) + by_weight(e, g_mag) + positions * U * w_mag]
        if bias:
            grads.append(g_err.sum(axis=(0, 2, 3)) + positions * U * g_mag.sum(axis=(0, 2, 3)))
        return err, mag, grads
    if kind == "MaxPool2d":
        return (*_max_pool_backward(layer, x, e, g_err, g_mag), [])
    if kind == "AvgPool2d":
        kh, kw = pair(layer["kernel_size"])
        shape = (*g_mag.shape, kh, kw)
        mag = _fold(layer, np.broadcast_to(g_mag[..., None, None] / (kh * kw), shape), x.shape)
        err = _fold(layer, np.broadcast_to(g_err[..., None, None] / (kh * kw), shape), x.shape)
        return err + (kh * kw + 1) * U * mag, mag, []
    if kind == "Flatten":
        return g_err.reshape(x.shape), g_mag.reshape(x.shape), []
    if kind == "ReLU":
        on = (x > 0) * 1.0
        kink = np.abs(x) <= e  # either side of the kink is within the input's error
        return on * g_err + np.where(kink & (e > 0), g_mag, 0.0), on * g_mag, []
    if kind == "Tanh":
        j = 1 - np.tanh(x) ** 2
        # |j'| <= 0.77; j computed from the output v cancels: 2|v| e_v + 2u(1 + v^2)
        dj = 0.77 * e + 2 * np.abs(v) * e_v + 2 * U * (1 + v * v) + 10 * U * j
    else:
        s = 1 / (1 + np.exp(-x))
        j = s * (1 - s)
        dj = 0.1 * e + np.abs(1 - 2 * v) * e_v + 2 * U * np.abs(v) + 10 * U * j
    return j * g_err + dj * g_mag + 2 * U * j * g_mag, j * g_mag, []


def _max_pool_backward(
    layer: Mapping[str, Any], x: Array, e: Array, g_err: Array, g_mag: Array
) -> tuple[Array, Array]:
    """The gradient goes to each window's maximum (split among exact ties); where another
    element is within the errors of the maximum, any routing is allowed there."""
    windows = _windows(layer, x, -np.inf)
    errors = _windows(layer, e, 0.0)
    top = windows.max(axis=(4, 5), keepdims=True)
    tied = windows == top
    top_err = np.max(np.where(tied, errors, 0.0), axis=(4, 5), keepdims=True)
    candidate = (top - windows) <= (errors + top_err)
    # several candidates, tied or within errors: any split of the gradient is right
    ambiguous = candidate.sum(axis=(4, 5), keepdims=True) > 1
    share = tied / tied.sum(axis=(4, 5), keepdims=True)
    ge, gm = g_err[..., None, None], g_mag[..., None, None]
    loose = np.where(ambiguous & candidate, gm, 0.0)
    kh, kw = windows.shape[4:]
    mag = _fold(layer, share * gm + loose, x.shape)
    err = _fold(layer, share * ge + loose, x.shape) + (kh * kw + 1) * tolerance.U * mag
    return err, mag


def _loss_error(
    loss: str, z: Array, e: Array, y: Array, upstream: float
) -> tuple[float, Array, Array, Array, Array]:
    """Error of the loss, and (error, magnitude) of its gradient for z, its gradient for y's
    error (None where y is labels), from the logits' error `e`; upstream g."""
    U, g = tolerance.U, abs(float(upstream))
    n = z.shape[0] if loss in ("cross_entropy",) else z.size
    if loss == "mse_loss":
        d = z - y
        e_d = e + U * np.abs(d)
        terms = d * d
        e_value = np.mean(2 * np.abs(d) * e_d + e_d * e_d + U * terms) + (n + 1) * U * np.mean(
            terms
        )
        mag = 2 * np.abs(d) / n * g
        err = 2 * e_d / n * g + 3 * U * mag
        return e_value, err, mag, err, mag
    if loss == "hinge_loss":
        m = 1 - y * z
        e_m = np.abs(y) * e + 2 * U * (1 + np.abs(y * z))
        e_value = np.mean(e_m) + (n + 1) * U * np.mean(np.maximum(m, 0.0))
        on = (m > 0) * 1.0
        kink = np.abs(m) <= e_m
        mag_z, mag_y = on * np.abs(y) / n * g, on * np.abs(z) / n * g
        err_z = np.where(kink, np.abs(y) / n * g, 2 * U * mag_z)
        err_y = np.where(kink, (np.abs(z) + e) / n * g, (e + 2 * U * np.abs(z)) * on / n * g)
        return e_value, err_z, mag_z, err_y, mag_y
    if loss == "binary_cross_entropy_with_logits":
        softplus = np.logaddexp(0.0, z)
        # the terms a stable form adds (max(z, 0), z*y, and a log of a number in [1, 2],
        # exact to u absolutely, not relative to a tiny result: log(1 + e), not log1p(e))
        terms = np.abs(softplus) + np.abs(z * y) + np.abs(z) + 1
        e_value = np.mean(e + 8 * U * terms) + (n + 1) * U * np.mean(terms)
        s = 1 / (1 + np.exp(-z))
        mag_z = (s + np.abs(y)) / n * g
        err_z = (0.25 * e + 8 * U * (s + np.abs(y))) / n * g + 2 * U * mag_z
        mag_y = np.abs(z) / n * g
        return e_value, err_z, mag_z, (e + 2 * U * np.abs(z)) / n * g, mag_y
    # cross_entropy: rows of logits, labels y
    classes = z.shape[1]
    labels = np.asarray(y).astype(int)
    top = np.max(np.abs(z), axis=1, keepdims=True)
    shifted = np.exp(z - np.max(z, axis=1, keepdims=True))
    s = shifted / shifted.sum(axis=1, keepdims=True)
    one_hot = np.eye(classes)[labels]
    lse = np.log(shifted.sum(axis=1)) + np.max(z, axis=1)
    row_loss = lse - z[np.arange(len(labels)), labels]
    e_row = 2 * np.max(e, axis=1) + (8 + classes) * U * (2 * top[:, 0] + np.abs(row_loss) + 1)
    e_value = np.mean(e_row) + (n + 1) * U * np.mean(np.abs(row_loss))
    spread = np.sum(s * e, axis=1, keepdims=True)
    e_s = s * (e + spread) + (8 + classes + np.abs(z) + top) * U * s
    mag_z = (s + one_hot) / n * g
    err_z = e_s / n * g + 2 * U * mag_z
    return e_value, err_z, mag_z, np.zeros(0), np.zeros(0)


def bounds(
    layers: Sequence[Mapping[str, Any]],
    params: Sequence[Any],
    x: Any,
    head: str | Any,
    y: Any = None,
    upstream: Any = 1.0,
) -> Bounds:
    """The error analysis of ``head(network(x))``: `head` is a loss name (with its second
    argument `y` and a scalar upstream gradient), or an array of upstream gradients for
    the network's output itself (then the output is ``sum(upstream * network(x))``).
    Inputs, parameters and labels are exact; an empty `layers` analyses the head alone."""
    own = [[_np(p) for p in ps] for ps in _split(layers, params)]
    with np.errstate(all="ignore"):
        values, errors = [_np(x)], [np.zeros(np.shape(x))]
        for layer, ps in zip(layers, own, strict=True):
            v = _layer_value(layer, ps, values[-1])
            errors.append(_forward_error(layer, ps, values[-1], errors[-1]))
            values.append(v)
        out, e_out = values[-1], errors[-1]
        head_grad = None
        if isinstance(head, str):
            e_value, g_err, g_mag, y_err, y_mag = _loss_error(head, out, e_out, _np(y), upstream)
            output = _allowed(np.asarray(e_value))
            if head != "cross_entropy":
                head_grad = _allowed(y_err + 2 * tolerance.U * y_mag)
        else:
            output = _allowed(e_out)
            g_err, g_mag = np.zeros(out.shape), np.abs(_np(head))
        grads: list[list[Array]] = [[] for _ in layers]
        for k in reversed(range(len(layers))):
            g_err, g_mag, grads[k] = _backward_error(
                layers[k], own[k], values[k], errors[k], values[k + 1], errors[k + 1], g_err, g_mag
            )
    return Bounds(
        output=output,
        input_grad=_allowed(g_err),
        grads=[_allowed(g) for layer in grads for g in layer],
        head_grad=head_grad,
    )


def tied_maxima(layers: Sequence[Mapping[str, Any]], params: Sequence[Any], x: Any) -> bool:
    """Whether a max pooling of the network sees a window with tied nonzero maxima (a tie
    of zeros after a ReLU passes no gradient). A correct target may split a tie's
    gradient in any way, so training runs from such weights may rightly part."""
    value = _np(x)
    for layer, own in zip(layers, _split(layers, params), strict=True):
        if layer["type"] == "MaxPool2d":
            windows = _windows(layer, value, -np.inf)
            top = windows.max(axis=(4, 5), keepdims=True)
            ties = (windows == top).sum(axis=(4, 5)) > 1
            if np.any(ties & (top[..., 0, 0] != 0)):
                return True
        value = _layer_value(layer, [_np(p) for p in own], value)
    return False


def call_as_layers(call: Call) -> tuple[list[dict[str, Any]], list[Array], Array, Any]:
    """A functional call as (layers, parameters, input, loss name or None), for `bounds`."""
    name, t, kw = call.name, call.tensors, dict(call.kwargs)
    if name == "linear":
        layer = {"type": "Linear", "in_features": t[1].shape[1], "out_features": t[1].shape[0]}
        return [{**layer, "bias": len(t) > 2}], list(t[1:]), t[0], None
    if name == "conv2d":
        weight = t[1]
        layer = {
            "type": "Conv2d",
            "in_channels": t[0].shape[1],
            "out_channels": weight.shape[0],
            "kernel_size": weight.shape[2:],
            "bias": len(t) > 2,
            **kw,
        }
        return [layer], list(t[1:]), t[0], None
    if name in ("max_pool2d", "avg_pool2d"):
        kind = "MaxPool2d" if name == "max_pool2d" else "AvgPool2d"
        return [{"type": kind, **kw}], [], t[0], None
    if name == "flatten":
        return [{"type": "Flatten", **kw}], [], t[0], None
    return [], [], t[0], name


def call_bounds(call: Call, upstream: Any) -> Bounds:
    """The error analysis of one functional call with the given upstream gradient."""
    layers, params, x, loss = call_as_layers(call)
    if loss is None:
        return bounds(layers, params, x, upstream)
    second = call.rest[0] if call.rest else call.tensors[1]
    return bounds([], [], x, loss, second, upstream)
