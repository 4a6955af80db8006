"""Planted bugs of protocol v2: `functional` ops, losses and `nn` layers of clean_engine.py.

Each witness runs the patched engine and the clean one on a small fixed case (its output
and the gradient of every tensor under a fixed upstream gradient) and says whether they
differ; tests/planted/test_planted_engines.py checks the clean engine's network section
against torch, so a difference is a deviation from torch's semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from . import clean_engine
from .bugs import Bug, _differ, _weights

NETWORKS = "networks"


def _images(*shape: int, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(-2, 2, shape), 2)


def _call(E: ModuleType, name: str, arrays: list[np.ndarray], *rest: Any, **kwargs: Any) -> list:
    """F.name's output and each tensor's gradient under a fixed upstream gradient."""
    leaves = [E.Tensor(a) for a in arrays]
    out = getattr(E.functional, name)(*leaves, *rest, **kwargs)
    (out * _weights(np.shape(out.data))).sum().backward()
    return [out.data, *(t.grad for t in leaves)]


def _functional_differs(
    name: str, arrays: list[np.ndarray], *rest: Any, **kwargs: Any
) -> Callable[[ModuleType], bool]:
    def witness(E: ModuleType) -> bool:
        got, want = (
            _call(E, name, arrays, *rest, **kwargs),
            _call(clean_engine, name, arrays, *rest, **kwargs),
        )
        return any(g is None or _differ(g, w) for g, w in zip(got, want, strict=True))

    return witness


def _network(E: ModuleType, make: Callable[[Any], Any], x: np.ndarray) -> list:
    """A network's output, its input's gradient and its parameters' (a fixed order of
    fixed values: what a correct engine's `parameters()` gives)."""
    model = make(E.nn)
    params = model.parameters()
    for k, p in enumerate(params):
        p.data = _images(*np.shape(p.data), seed=10 + k)
    leaf = E.Tensor(x)
    out = model(leaf)
    (out * _weights(np.shape(out.data))).sum().backward()
    return [out.data, leaf.grad, *(p.grad for p in params)]


def _network_differs(make: Callable[[Any], Any], x: np.ndarray) -> Callable[[ModuleType], bool]:
    def witness(E: ModuleType) -> bool:
        got, want = _network(E, make, x), _network(clean_engine, make, x)
        return len(got) != len(want) or any(
            g is None or _differ(g, w) for g, w in zip(got, want, strict=True)
        )

    return witness


_X = _images(2, 2, 5, 6)
_W = _images(3, 2, 3, 2, seed=1)
_B = _images(3, seed=2)
_NEGATIVE = -np.abs(_images(1, 1, 4, 4)) - 0.5
_HUGE_LOGITS = np.array([[1000.0, -1000.0, 3.0], [2.0, 5.0, -1.0]])
_DIGITS_LIKE = lambda nn: nn.Sequential(  # noqa: E731
    nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
)

# fmt: off
NETWORK_BUGS: list[Bug] = [
    Bug(
        "conv_weight_grad_flipped", NETWORKS, "conv2d's weight gradient has the kernel flipped",
        'gw[:, :, u, v] = np.einsum("nfij,ncij->fc"',
        'gw[:, :, kh - 1 - u, kw - 1 - v] = np.einsum("nfij,ncij->fc"',
        _functional_differs("conv2d", [_X, _W, _B]),
    ),
    Bug(
        "conv_padding_one_side_backward", NETWORKS,
        "conv2d's backward crops the padding off one side only",
        "grads = (_cropped(gp, ph, pw, x.data.shape), gw)",
        "grads = (_cropped(gp, 2 * ph, 2 * pw, x.data.shape), gw)",
        _functional_differs("conv2d", [_X, _W], padding=1),
    ),
    Bug(
        "conv_stride_ignored_backward", NETWORKS, "conv2d's backward ignores the stride",
        "                rows, cols = _offset(u, v, oh, ow, s)\n                gp[",
        "                rows, cols = _offset(u, v, oh, ow, (1, 1))\n                gp[",
        _functional_differs("conv2d", [_X, _W], stride=2),
    ),
    Bug(
        "conv_bias_grad_averaged", NETWORKS,
        "conv2d's bias gradient averages over the positions instead of summing",
        "(*grads, g.sum(axis=(0, 2, 3)))", "(*grads, g.mean(axis=(2, 3)).sum(axis=0))",
        _functional_differs("conv2d", [_X, _W, _B]),
    ),
    Bug(
        "conv_layer_ignores_padding", NETWORKS, "nn.Conv2d drops its padding argument",
        "return conv2d(x, self.weight, self.bias, self.stride, self.padding)",
        "return conv2d(x, self.weight, self.bias, self.stride)",
        _network_differs(lambda nn: nn.Conv2d(2, 3, 3, padding=1), _X),
    ),
    Bug(
        "max_pool_grad_whole_window", NETWORKS,
        "max_pool2d sends each window's gradient to every element of the window",
        "share = winners / winners.sum(axis=0)", "share = np.ones_like(parts)",
        _functional_differs("max_pool2d", [_X], 2),
    ),
    Bug(
        "max_pool_zero_padding", NETWORKS, "max_pool2d pads with zeros instead of -inf",
        "_pool(x, kernel_size, stride, padding, -np.inf)",
        "_pool(x, kernel_size, stride, padding, 0.0)",
        _functional_differs("max_pool2d", [_NEGATIVE], 2, padding=1),
    ),
    Bug(
        "avg_pool_counts_unpadded", NETWORKS,
        "avg_pool2d divides by the unpadded elements only (count_include_pad=False)",
        "    count = k[0] * k[1]\n",
        "    count = _pool(Tensor(np.ones(x.data.shape)), kernel_size, stride, padding, 0.0)"
        "[4].sum(axis=0)\n",
        _functional_differs("avg_pool2d", [_X], 3, stride=2, padding=1),
    ),
    Bug(
        "pool_default_stride_one", NETWORKS, "pooling's stride defaults to 1, not the kernel",
        "s = k if stride is None else _pair(stride)",
        "s = (1, 1) if stride is None else _pair(stride)",
        _functional_differs("avg_pool2d", [_X], 2),
    ),
    Bug(
        "linear_bias_grad_not_summed", NETWORKS,
        "linear's bias gradient is the first row's, not the sum over the batch",
        "return grads if bias is None else (*grads, g.sum(axis=batch))",
        "return grads if bias is None else (*grads, g[0])",
        _functional_differs("linear", [_images(3, 4), _images(2, 4, seed=1), _images(2, seed=2)]),
    ),
    Bug(
        "linear_bias_grad_averaged_inner_axes", NETWORKS,
        "linear's bias gradient averages over the leading axes after the first (an input "
        "(N, *, in)) instead of summing them",
        "(*grads, g.sum(axis=batch))", "(*grads, g.mean(axis=batch[1:]).sum(axis=0))",
        _functional_differs(
            "linear", [_images(2, 3, 4), _images(2, 4, seed=1), _images(2, seed=2)]
        ),
    ),
    Bug(
        "flatten_layer_ignores_start_dim", NETWORKS, "nn.Flatten drops its start_dim argument",
        "return flatten(x, self.start_dim)", "return flatten(x)",
        _network_differs(lambda nn: nn.Flatten(start_dim=2), _images(2, 3, 2, 2)),
    ),
    Bug(
        "flatten_backward_wrong_order", NETWORKS,
        "flatten's backward reshapes the gradient in column-major order",
        "lambda g: (g.reshape(shape),))", 'lambda g: (g.reshape(shape, order="F"),))',
        _functional_differs("flatten", [_images(2, 3, 2, 2)]),
    ),
    Bug(
        "sequential_parameters_reversed", NETWORKS,
        "Sequential.parameters() lists the layers last to first",
        "    def parameters(self) -> list[Tensor]:\n"
        "        return [p for layer in self.layers for p in layer.parameters()]",
        "    def parameters(self) -> list[Tensor]:\n"
        "        return [p for layer in self.layers[::-1] for p in layer.parameters()]",
        _network_differs(_DIGITS_LIKE, _images(2, 1, 4, 4)),
    ),
    Bug(
        "cross_entropy_no_max_subtraction", NETWORKS,
        "cross_entropy exponentiates the raw logits (overflows for large ones)",
        "shifted = z.data - z.data.max(axis=1, keepdims=True)\n    log_p",
        "shifted = z.data\n    log_p",
        _functional_differs("cross_entropy", [_HUGE_LOGITS], np.array([1, 1])),
    ),
    Bug(
        "bce_with_logits_unstable", NETWORKS,
        "binary_cross_entropy_with_logits takes the log of sigmoid (inf for large logits)",
        "losses = np.maximum(z.data, 0.0) - z.data * y.data + np.log1p(e)",
        "losses = -y.data * np.log(1 / (1 + np.exp(-z.data))) - (1 - y.data) * np.log("
        "1 - 1 / (1 + np.exp(-z.data)))",
        _functional_differs(
            "binary_cross_entropy_with_logits",
            [np.array([800.0, -800.0, 0.5]), np.array([0.0, 1.0, 0.25])],
        ),
    ),
    Bug(
        "mse_loss_summed", NETWORKS, "mse_loss sums instead of averaging",
        "return ((_tensor(prediction) - target) ** 2).mean()",
        "return ((_tensor(prediction) - target) ** 2).sum()",
        _functional_differs("mse_loss", [_images(3, 2), _images(3, 2, seed=1)]),
    ),
    Bug(
        "bce_targets_grad_sign", NETWORKS,
        "binary_cross_entropy_with_logits's gradient for the targets has the wrong sign "
        "(x / n, not -x / n)",
        "-g * z.data / n))", "g * z.data / n))",
        _functional_differs(
            "binary_cross_entropy_with_logits",
            [np.array([0.5, -2.0, 3.0]), np.array([0.0, 1.0, 0.25])],
        ),
    ),
    Bug(
        "mse_target_grad_missing_two", NETWORKS,
        "mse_loss's gradient for the target lacks the factor 2 (-(x - y) / n)",
        "return ((_tensor(prediction) - target) ** 2).mean()",
        "x, y = _tensor(prediction), _tensor(target)\n"
        "    d = x.data - y.data\n"
        "    return Tensor(\n"
        "        (d * d).mean(), (x, y), lambda g: (2 * g * d / d.size, -g * d / d.size)\n"
        "    )",
        _functional_differs("mse_loss", [_images(3, 2), _images(3, 2, seed=1)]),
    ),
    Bug(
        "hinge_labels_grad_sign", NETWORKS,
        "hinge_loss's gradient for the labels has the wrong sign (s / n at a positive margin, "
        "not -s / n)",
        "return (1.0 - _tensor(labels) * scores).relu().mean()",
        "s, y = _tensor(scores), _tensor(labels)\n"
        "    on = (1.0 - y.data * s.data > 0) / s.data.size\n"
        "    loss = np.maximum(1.0 - y.data * s.data, 0.0).mean()\n"
        "    return Tensor(loss, (s, y), lambda g: (-g * y.data * on, g * s.data * on))",
        _functional_differs(
            "hinge_loss", [np.array([0.5, -2.0, 1.5]), np.array([1.0, -1.0, -1.0])]
        ),
    ),
    Bug(
        "hinge_loss_no_margin", NETWORKS, "hinge_loss is relu(-y * s), without the margin 1",
        "return (1.0 - _tensor(labels) * scores).relu().mean()",
        "return (-_tensor(labels) * scores).relu().mean()",
        _functional_differs(
            "hinge_loss", [np.array([0.5, -2.0, 1.5]), np.array([1.0, -1.0, -1.0])]
        ),
    ),
]
# fmt: on
