"""Hypothesis strategies of protocol v2: functional calls, losses, layers, `Sequential`
networks, optimizers and small datasets.

Every case is plain data (NumPy arrays, torch's argument names) that the oracle
(`oracle.networks`) and the target's worker both read. Shapes are drawn first and only
where they fit: images and kernels of odd and even, non-square sizes, batch 1, 1x1
kernels, strides larger than the kernel, overlapping windows, padding up to half the
kernel (torch's limit for pooling). Only the arguments a target accepts are drawn
(`capabilities`). Values shrink toward small numbers, shapes toward 1, networks toward a
single layer, so a failure reads as a small case.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle import networks

LOSS_NAMES = networks.LOSSES


def _no_tiny(v: float) -> float:
    """0 for a number below 1e-6 in size: products of tiny numbers would be subnormal,
    which JAX on the CPU flushes to zero."""
    return 0.0 if abs(v) < 1e-6 else v


VALUES = st.floats(-3.0, 3.0, allow_subnormal=False).map(_no_tiny)
WEIGHTS = st.floats(-1.0, 1.0, allow_subnormal=False).map(_no_tiny)
# a network's weights: never 0, whose layers would make every window of a pooling a tie
NETWORK_WEIGHTS = st.builds(
    lambda sign, size: sign * size,
    st.sampled_from([1.0, -1.0]),
    st.floats(0.125, 1.0, allow_subnormal=False),
)


def arrays(shape: tuple[int, ...], elements: st.SearchStrategy[float] = VALUES) -> Any:
    return hnp.arrays(np.float64, shape, elements=elements)


def upstreams(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """A random upstream gradient of `shape` (a float for a scalar output)."""
    if shape == ():
        return st.floats(-2.0, 2.0, allow_subnormal=False).map(_no_tiny)
    return arrays(shape, st.floats(-2.0, 2.0, allow_subnormal=False).map(_no_tiny))


@dataclass(frozen=True)
class FunctionalCase:
    """``functional.name(*tensors, *rest, **kwargs)`` backpropagated with `upstream`."""

    name: str
    tensors: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    rest: tuple[Any, ...] = ()
    upstream: Any = 1.0
    ties: bool = False  # max pooling with tied maxima (non-overlapping windows)


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _has(capabilities: Collection[str], name: str, argument: str) -> bool:
    return f"functional.{name}({argument}=...)" in capabilities


def _pair_or_int(draw: st.DrawFn, a: int, b: int) -> int | tuple[int, int]:
    """An int when both are equal and the draw says so (torch takes either)."""
    return a if a == b and draw(st.booleans()) else (a, b)


@st.composite
def linear_cases(
    draw: st.DrawFn, capabilities: Collection[str], nd: bool = False
) -> FunctionalCase:
    """An (N, in) input, or with `nd` an input of one axis or of two or three leading
    batch axes (the variant `functional.linear(nd)`)."""
    n, fan_in, fan_out = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    batch: tuple[int, ...] = (n,)
    if nd:
        axes = draw(st.sampled_from([2, 0, 3]))  # 0: a single input of shape (in,)
        batch = (n, *(draw(st.integers(1, 3)) for _ in range(axes - 1)))[:axes]
    tensors = [draw(arrays((*batch, fan_in))), draw(arrays((fan_out, fan_in), WEIGHTS))]
    if _has(capabilities, "linear", "bias") and draw(st.booleans()):
        tensors.append(draw(arrays((fan_out,), WEIGHTS)))
    upstream = draw(upstreams((*batch, fan_out)))
    return FunctionalCase("linear", tuple(tensors), upstream=upstream)


@st.composite
def conv2d_cases(draw: st.DrawFn, capabilities: Collection[str]) -> FunctionalCase:
    """Kernels 1x1 to 4x4, odd, even and non-square; strides up to 3 (larger than a small
    kernel); padding up to half the kernel; dilation and groups when offered."""
    has = {a: _has(capabilities, "conv2d", a) for a in ("bias", "stride", "padding")}
    has.update({a: _has(capabilities, "conv2d", a) for a in ("dilation", "groups")})
    groups = draw(st.integers(1, 2)) if has["groups"] else 1
    n = draw(st.integers(1, 2))
    channels, filters = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if has["stride"] else (1, 1)
    ph, pw = (
        (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))) if has["padding"] else (0, 0)
    )
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if has["dilation"] else (1, 1)
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 7))
    x = draw(arrays((n, channels, h, w)))
    weight = draw(arrays((filters, channels // groups, kh, kw), WEIGHTS))
    tensors = [x, weight]
    if has["bias"] and draw(st.booleans()):
        tensors.append(draw(arrays((filters,), WEIGHTS)))
    kwargs: dict[str, Any] = {}
    if (sh, sw) != (1, 1):
        kwargs["stride"] = _pair_or_int(draw, sh, sw)
    if (ph, pw) != (0, 0):
        kwargs["padding"] = _pair_or_int(draw, ph, pw)
    if (dh, dw) != (1, 1):
        kwargs["dilation"] = _pair_or_int(draw, dh, dw)
    if groups > 1:
        kwargs["groups"] = groups
    out = (n, filters, _out_size(h, kh, sh, ph, dh), _out_size(w, kw, sw, pw, dw))
    return FunctionalCase("conv2d", tuple(tensors), kwargs, upstream=draw(upstreams(out)))


def distinct_values(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Values with no two equal: a permutation of a grid 0.25 apart, each moved by less
    than 0.1, so no window of a max pooling has two maxima within rounding of each other."""
    size = math.prod(shape)
    return st.builds(
        lambda order, shift: ((np.array(order) - size / 2) * 0.25 + shift).reshape(shape),
        st.permutations(range(size)),
        arrays((size,), st.floats(0.0, 0.09, allow_subnormal=False).map(_no_tiny)),
    )


@st.composite
def pool_cases(
    draw: st.DrawFn, name: str, capabilities: Collection[str], ties: bool = False
) -> FunctionalCase:
    """Kernels 1 to 4 a side, stride the kernel (torch's default), smaller (overlapping
    windows) or larger, padding up to half the kernel. With `ties` (max pooling): values
    from {-1, 0, 1} with windows that do not overlap, so each window's split of its
    gradient among its maxima can be read off the input's gradient."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kwargs: dict[str, Any] = {"kernel_size": _pair_or_int(draw, kh, kw)}
    sh, sw = kh, kw
    if _has(capabilities, name, "stride") and draw(st.booleans()):
        sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        if ties:
            sh, sw = max(sh, kh), max(sw, kw)
        kwargs["stride"] = _pair_or_int(draw, sh, sw)
    ph, pw = 0, 0
    if _has(capabilities, name, "padding") and draw(st.booleans()):
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
        kwargs["padding"] = _pair_or_int(draw, ph, pw)
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 7))
    w = draw(st.integers(max(1, kw - 2 * pw), 7))
    if ties:
        x = draw(arrays((n, c, h, w), st.sampled_from([0.0, 1.0, -1.0])))
    elif name == "max_pool2d":
        x = draw(distinct_values((n, c, h, w)))
    else:
        x = draw(arrays((n, c, h, w)))
    out = (n, c, _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw))
    return FunctionalCase(name, (x,), kwargs, upstream=draw(upstreams(out)), ties=ties)


@st.composite
def flatten_cases(draw: st.DrawFn, capabilities: Collection[str]) -> FunctionalCase:
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    kwargs: dict[str, Any] = {}
    start = 1
    if _has(capabilities, "flatten", "start_dim") and draw(st.booleans()):
        start = draw(st.integers(0, len(shape) - 1))
        kwargs["start_dim"] = start
    out = (*shape[:start], math.prod(shape[start:]))
    return FunctionalCase("flatten", (draw(arrays(shape)),), kwargs, upstream=draw(upstreams(out)))


LARGE_LOGITS = st.one_of(
    VALUES,
    st.builds(lambda sign, e: sign * 10.0**e, st.sampled_from([1.0, -1.0]), st.floats(1.0, 3.0)),
)


@st.composite
def loss_cases(draw: st.DrawFn, name: str) -> FunctionalCase:
    """A loss on a small batch: logits up to ±1000 for the two losses on logits, labels of
    every class, targets in [0, 1], hinge margins kept off the kink."""
    n = draw(st.integers(1, 5))
    upstream = draw(upstreams(()))
    if name == "cross_entropy":
        classes = draw(st.integers(1, 5))
        logits = draw(arrays((n, classes), LARGE_LOGITS))
        labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
        return FunctionalCase(name, (logits,), rest=(labels,), upstream=upstream)
    shape = draw(st.sampled_from([(n,), (n, draw(st.integers(1, 3)))]))
    if name == "mse_loss":
        tensors = (draw(arrays(shape)), draw(arrays(shape)))
    elif name == "binary_cross_entropy_with_logits":
        targets = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0).map(_no_tiny))
        tensors = (draw(arrays(shape, LARGE_LOGITS)), draw(arrays(shape, targets)))
    else:
        labels = draw(arrays(shape, st.sampled_from([1.0, -1.0])))
        scores = draw(arrays(shape))
        assume(np.all(np.abs(1 - labels * scores) > 1e-6))  # off the kink
        tensors = (scores, labels)
    return FunctionalCase(name, tensors, upstream=upstream)


def functional_cases(name: str, capabilities: Collection[str]) -> st.SearchStrategy:
    """Cases of one function (or loss) with the arguments the target accepts."""
    if name == "linear":
        return linear_cases(capabilities)
    if name == "conv2d":
        return conv2d_cases(capabilities)
    if name in ("max_pool2d", "avg_pool2d"):
        return pool_cases(name, capabilities)
    if name == "flatten":
        return flatten_cases(capabilities)
    return loss_cases(name)


# -- networks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkCase:
    """A `Sequential` of layer dicts (torch's names), its parameters in `parameters()`
    order, a batch of inputs and a loss with its second argument."""

    layers: tuple[dict[str, Any], ...]
    params: tuple[np.ndarray, ...]
    x: np.ndarray
    loss: str
    y: np.ndarray


def _layer_offered(capabilities: Collection[str], layer: dict[str, Any]) -> bool:
    kind = layer["type"]
    if f"nn.{kind}" not in capabilities:
        return False
    if layer.get("bias", True) is False and f"nn.{kind}(bias=False)" not in capabilities:
        return False
    arguments = ("stride", "padding", "start_dim")
    return all(f"nn.{kind}({k}=...)" in capabilities for k in arguments if k in layer)


@st.composite
def conv_block(
    draw: st.DrawFn, channels: int, h: int, w: int, capabilities: Collection[str]
) -> tuple[list[dict[str, Any]], int, int, int]:
    """A Conv2d, maybe an activation, maybe a pooling, that fit an input of c x h x w."""
    out_channels = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, min(3, h + 2))), draw(st.integers(1, min(3, w + 2)))
    conv: dict[str, Any] = {
        "type": "Conv2d",
        "in_channels": channels,
        "out_channels": out_channels,
        "kernel_size": _pair_or_int(draw, kh, kw),
    }
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    if (ph, pw) != (0, 0):
        conv["padding"] = _pair_or_int(draw, ph, pw)
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if (sh, sw) != (1, 1):
        conv["stride"] = _pair_or_int(draw, sh, sw)
    if not draw(st.booleans()):
        conv["bias"] = False
    h, w = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    assume(h >= 1 and w >= 1 and _layer_offered(capabilities, conv))
    block = [conv]
    activation = draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid", None]))
    if activation and f"nn.{activation}" in capabilities:
        block.append({"type": activation})
    pool_kind = draw(st.sampled_from(["MaxPool2d", "AvgPool2d", None]))
    if pool_kind and min(h, w) >= 2:
        k = draw(st.integers(1, 2))
        pool: dict[str, Any] = {"type": pool_kind, "kernel_size": k}
        if draw(st.booleans()):
            pool["stride"] = 1
        if k == 2 and draw(st.booleans()):
            pool["padding"] = 1
        if _layer_offered(capabilities, pool):
            block.append(pool)
            s, p = pool.get("stride", k), pool.get("padding", 0)
            h, w = _out_size(h, k, s, p), _out_size(w, k, s, p)
    return block, out_channels, h, w


@st.composite
def network_cases(
    draw: st.DrawFn, capabilities: Collection[str], losses: Collection[str] = LOSS_NAMES
) -> NetworkCase:
    """A random MLP or CNN (conv blocks, Flatten, Linear layers with activations between)
    whose shapes fit, random weights, a batch of 1 to 4 inputs and a random loss."""
    n = draw(st.integers(1, 4))
    layers: list[dict[str, Any]] = []
    cnn = "nn.Conv2d" in capabilities and "nn.Flatten" in capabilities and draw(st.booleans())
    if cnn:
        channels, h, w = draw(st.integers(1, 2)), draw(st.integers(2, 6)), draw(st.integers(2, 6))
        x_shape: tuple[int, ...] = (n, channels, h, w)
        for _ in range(draw(st.integers(1, 2))):
            block, channels, h, w = draw(conv_block(channels, h, w, capabilities))
            layers += block
        layers.append({"type": "Flatten"})
        features = channels * h * w
    else:
        features = draw(st.integers(1, 4))
        x_shape = (n, features)
    loss = draw(st.sampled_from(sorted(losses)))
    widths = draw(st.lists(st.integers(1, 4), max_size=2))
    outputs = draw(st.integers(2 if loss == "cross_entropy" else 1, 3))
    for k, width in enumerate([*widths, outputs]):
        linear = {"type": "Linear", "in_features": features, "out_features": width}
        if not draw(st.booleans()) and "nn.Linear(bias=False)" in capabilities:
            linear["bias"] = False
        layers.append(linear)
        features = width
        activation = draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid"]))
        if k < len(widths) and f"nn.{activation}" in capabilities:
            layers.append({"type": activation})
    params = tuple(draw(arrays(shape, NETWORK_WEIGHTS)) for shape in _shapes(layers))
    x = draw(distinct_values(x_shape) if cnn else arrays(x_shape, VALUES))
    assume(not networks.tied_maxima(layers, params, x))
    y = draw(loss_targets(loss, n, outputs))
    return NetworkCase(tuple(layers), params, x, loss, y)


def loss_targets(loss: str, n: int, outputs: int) -> st.SearchStrategy[np.ndarray]:
    """The loss's second argument for a batch of n outputs of width `outputs`."""
    if loss == "cross_entropy":
        return st.lists(st.integers(0, outputs - 1), min_size=n, max_size=n).map(np.array)
    if loss == "hinge_loss":
        return arrays((n, outputs), st.sampled_from([1.0, -1.0]))
    if loss == "binary_cross_entropy_with_logits":
        return arrays((n, outputs), st.floats(0.0, 1.0).map(_no_tiny))
    return arrays((n, outputs))


def _shapes(layers: list[dict[str, Any]]) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    for layer in layers:
        if layer["type"] == "Linear":
            shapes.append((layer["out_features"], layer["in_features"]))
            bias = layer["out_features"]
        elif layer["type"] == "Conv2d":
            k = layer["kernel_size"]
            kh, kw = (k, k) if isinstance(k, int) else k
            shapes.append((layer["out_channels"], layer["in_channels"], kh, kw))
            bias = layer["out_channels"]
        else:
            continue
        if layer.get("bias", True):
            shapes.append((bias,))
    return shapes


PARAMETERLESS = ("MaxPool2d", "AvgPool2d", "Flatten", "ReLU", "Tanh", "Sigmoid")


@st.composite
def layer_cases(draw: st.DrawFn, capabilities: Collection[str]) -> tuple[NetworkCase, Any]:
    """One layer alone (Linear, Conv2d, a pooling, Flatten or an activation) on a random
    input, and a random upstream gradient for its output."""
    kinds = [k for k in ("Linear", "Conv2d", *PARAMETERLESS) if f"nn.{k}" in capabilities]
    assume(kinds)
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(1, 3))
    channels, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    x_shape: tuple[int, ...] = (n, channels, h, w)
    elements = VALUES
    if kind == "Linear":
        fan_in, fan_out = draw(st.integers(1, 5)), draw(st.integers(1, 4))
        layer: dict[str, Any] = {"type": kind, "in_features": fan_in, "out_features": fan_out}
        if "nn.Linear(bias=False)" in capabilities and draw(st.booleans()):
            layer["bias"] = False
        x_shape, out = (n, fan_in), (n, fan_out)
    elif kind == "Conv2d":
        block, filters, _, _ = draw(conv_block(channels, h, w, capabilities))
        layer = block[0]
        k, s, p = (
            _pair(layer.get(a, d)) for a, d in (("kernel_size", 1), ("stride", 1), ("padding", 0))
        )
        out = (n, filters, *(_out_size(x_shape[2 + i], k[i], s[i], p[i]) for i in (0, 1)))
    elif kind in ("MaxPool2d", "AvgPool2d"):
        name = "max_pool2d" if kind == "MaxPool2d" else "avg_pool2d"
        offered = {
            f"functional.{name}({a}=...)"
            for a in ("stride", "padding")
            if f"nn.{kind}({a}=...)" in capabilities
        }
        case = draw(pool_cases(name, offered))
        layer = {"type": kind, **case.kwargs}
        x = case.tensors[0]
        return NetworkCase((layer,), (), x, "", np.zeros(0)), case.upstream
    elif kind == "Flatten":
        layer = {"type": kind}
        if "nn.Flatten(start_dim=...)" in capabilities and draw(st.booleans()):
            layer["start_dim"] = draw(st.integers(0, 3))
        start = layer.get("start_dim", 1)
        out = (*x_shape[:start], math.prod(x_shape[start:]))
    else:
        layer, out = {"type": kind}, x_shape
        elements = st.floats(-6.0, 6.0, allow_subnormal=False).map(_no_tiny)
    params = tuple(draw(arrays(shape, WEIGHTS)) for shape in _shapes([layer]))
    x = draw(arrays(x_shape, elements))
    return NetworkCase((layer,), params, x, "", np.zeros(0)), draw(upstreams(out))


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


# -- training ------------------------------------------------------------------------------

TRAINING_OPTIMIZERS = {
    "SGD": lambda: st.fixed_dictionaries({"momentum": st.sampled_from([0.0, 0.9])}),
    "Adam": lambda: st.just({}),
    "AdamW": lambda: st.fixed_dictionaries({"weight_decay": st.sampled_from([0.0, 0.01, 0.1])}),
    "RMSprop": lambda: st.just({}),
    "Adagrad": lambda: st.just({}),
}


@st.composite
def optimizers(draw: st.DrawFn, capabilities: Collection[str]) -> tuple[str, dict[str, Any]]:
    """A random optimizer the target has, with a random learning rate."""
    names = [n for n in TRAINING_OPTIMIZERS if f"optim.{n}" in capabilities]
    assume(names)
    name = draw(st.sampled_from(names))
    kwargs = draw(TRAINING_OPTIMIZERS[name]())
    lr = draw(st.floats(-3.0, -0.5).map(lambda e: round(10.0**e, 6)))
    return name, {"lr": lr, **kwargs}


# -- explicit cases: every feature at once, run before the random ones -----------------------


def _fixed(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    """Fixed values of `shape` (short decimals, so a snippet reads well)."""
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(-scale, scale, shape), 2)


def _distinct(shape: tuple[int, ...], seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(math.prod(shape))
    return ((order - order.size / 2) * 0.25).reshape(shape)


def explicit_functional_case(name: str, capabilities: Collection[str]) -> FunctionalCase:
    """One case of `name` that uses every argument the target accepts: non-square
    kernels, a stride larger than 1 on one axis only, overlapping windows, padding,
    huge logits."""
    has = lambda argument: _has(capabilities, name, argument)  # noqa: E731
    kwargs: dict[str, Any] = {}
    if name == "linear":
        tensors = [_fixed((3, 4), 1), _fixed((2, 4), 2)]
        tensors += [_fixed((2,), 3)] if has("bias") else []
        out: tuple[int, ...] = (3, 2)
    elif name == "conv2d":
        tensors = [_fixed((2, 2, 5, 6), 1), _fixed((3, 2, 3, 2), 2)]
        tensors += [_fixed((3,), 3)] if has("bias") else []
        s, p = ((2, 1) if has("stride") else (1, 1)), ((1, 1) if has("padding") else (0, 0))
        kwargs.update({"stride": s} if has("stride") else {})
        kwargs.update({"padding": p} if has("padding") else {})
        out = (2, 3, _out_size(5, 3, s[0], p[0]), _out_size(6, 2, s[1], p[1]))
    elif name in ("max_pool2d", "avg_pool2d"):
        x = _distinct((1, 2, 5, 6), 4) if name == "max_pool2d" else _fixed((1, 2, 5, 6), 4)
        tensors = [x]
        s = (2, 1) if has("stride") else (3, 2)
        p = (1, 1) if has("padding") else (0, 0)
        kwargs = {"kernel_size": (3, 2)}
        kwargs.update({"stride": s} if has("stride") else {})
        kwargs.update({"padding": p} if has("padding") else {})
        out = (1, 2, _out_size(5, 3, s[0], p[0]), _out_size(6, 2, s[1], p[1]))
    elif name == "flatten":
        tensors = [_fixed((2, 3, 2, 2), 5)]
        kwargs = {"start_dim": 2} if has("start_dim") else {}
        out = (2, 3, 4) if kwargs else (2, 12)
    elif name == "cross_entropy":
        logits = np.array([[1000.0, -1000.0, 3.0], [2.0, 5.0, -1.0], [-700.0, 0.5, 600.0]])
        return FunctionalCase(name, (logits,), rest=(np.array([1, 1, 2]),), upstream=0.75)
    elif name == "binary_cross_entropy_with_logits":
        logits = np.array([[800.0, -800.0], [0.5, -2.0], [40.0, -0.25]])
        targets = np.array([[0.0, 1.0], [0.25, 1.0], [0.5, 0.0]])
        return FunctionalCase(name, (logits, targets), upstream=-1.5)
    elif name == "mse_loss":
        return FunctionalCase(name, (_fixed((3, 2), 6), _fixed((3, 2), 7)), upstream=1.25)
    else:
        scores, labels = np.array([0.5, -2.0, 1.5, 0.25]), np.array([1.0, -1.0, -1.0, -1.0])
        return FunctionalCase(name, (scores, labels), upstream=2.0)
    upstream = _fixed(out, 8, 2.0)
    return FunctionalCase(name, tuple(tensors), kwargs, upstream=upstream)


def explicit_linear_nd_cases(capabilities: Collection[str]) -> list[FunctionalCase]:
    """`linear` on an input with two leading batch axes and on an input of one axis
    (the variant `functional.linear(nd)`), with a bias when the target takes one."""
    bias = [_fixed((2,), 3)] if _has(capabilities, "linear", "bias") else []
    weight = _fixed((2, 4), 2)
    return [
        FunctionalCase("linear", (x, weight, *bias), upstream=_fixed((*x.shape[:-1], 2), 8, 2.0))
        for x in (_fixed((2, 3, 4), 1), _fixed((4,), 4))
    ]


def explicit_layer_cases(capabilities: Collection[str]) -> list[tuple[NetworkCase, Any]]:
    """Each layer the target has, with every argument it takes."""
    layers: list[tuple[dict[str, Any], tuple[int, ...]]] = [
        ({"type": "Linear", "in_features": 4, "out_features": 3}, (2, 4)),
        ({"type": "Linear", "in_features": 4, "out_features": 3, "bias": False}, (2, 4)),
        (
            {"type": "Conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": (3, 2)}
            | {"stride": (2, 1), "padding": 1},
            (2, 2, 5, 4),
        ),
        ({"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 2}, (1, 2, 3, 3)),
        (
            {"type": "MaxPool2d", "kernel_size": (3, 2), "stride": (2, 1), "padding": 1},
            (2, 2, 5, 4),
        ),
        (
            {"type": "AvgPool2d", "kernel_size": (3, 2), "stride": (2, 1), "padding": 1},
            (2, 2, 5, 4),
        ),
        ({"type": "MaxPool2d", "kernel_size": 2}, (1, 2, 4, 5)),
        ({"type": "AvgPool2d", "kernel_size": 2}, (1, 2, 4, 5)),
        ({"type": "Flatten"}, (2, 3, 2, 2)),
        ({"type": "Flatten", "start_dim": 2}, (2, 3, 2, 2)),
        ({"type": "ReLU"}, (2, 5)),
        ({"type": "Tanh"}, (2, 5)),
        ({"type": "Sigmoid"}, (2, 5)),
    ]
    cases = []
    for k, (layer, shape) in enumerate(layers):
        if not _layer_offered(capabilities, layer):
            continue
        x = _distinct(shape, k) if layer["type"] == "MaxPool2d" else _fixed(shape, k, 2.0)
        params = tuple(_fixed(s, 10 + k) for s in _shapes([layer]))
        out = networks.output_shape([layer], shape)
        cases.append((NetworkCase((layer,), params, x, "", np.zeros(0)), _fixed(out, 20 + k, 2.0)))
    return cases
