"""Tensor layers with torch.nn's names, arguments, parameter shapes and initialisation.

`Linear` and `Conv2d` draw their initial weights and biases from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is what torch's default (Kaiming-uniform with
a = sqrt(5)) works out to.  They take an `rng` (a NumPy Generator or a seed) instead of
a global seed, so a model is reproducible by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from engine import functional as F
from engine.nn.module import Module
from engine.tensor import Tensor

_Pair = int | tuple[int, int]
_Rng = np.random.Generator | int | None


class Linear(Module):
    """``x @ weight.T + bias`` with weight (out_features, in_features), as torch.nn.Linear."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, rng: _Rng = None
    ) -> None:
        rng = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Tensor(rng.uniform(-bound, bound, (out_features, in_features)))
        self.bias = Tensor(rng.uniform(-bound, bound, out_features)) if bias else None

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def __repr__(self) -> str:
        out_features, in_features = self.weight.shape
        return f"Linear({in_features}, {out_features}, bias={self.bias is not None})"


class Conv2d(Module):
    """2-D convolution over NCHW images, weight (out, in, kh, kw), as torch.nn.Conv2d."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Pair,
        stride: _Pair = 1,
        padding: _Pair = 0,
        bias: bool = True,
        rng: _Rng = None,
    ) -> None:
        rng = np.random.default_rng(rng)
        kh, kw = F._pair(kernel_size, "kernel_size", 1)
        bound = 1.0 / math.sqrt(in_channels * kh * kw)
        self.weight = Tensor(rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw)))
        self.bias = Tensor(rng.uniform(-bound, bound, out_channels)) if bias else None
        self.stride = stride
        self.padding = padding

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def __repr__(self) -> str:
        out_channels, in_channels, kh, kw = self.weight.shape
        return (
            f"Conv2d({in_channels}, {out_channels}, kernel_size={(kh, kw)}, "
            f"stride={self.stride}, padding={self.padding})"
        )


class MaxPool2d(Module):
    """The maximum of each window, as torch.nn.MaxPool2d (stride defaults to the kernel)."""

    def __init__(self, kernel_size: _Pair, stride: _Pair | None = None, padding: _Pair = 0) -> None:
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return f"MaxPool2d({self.kernel_size}, stride={self.stride}, padding={self.padding})"


class AvgPool2d(Module):
    """The mean of each window, as torch.nn.AvgPool2d (stride defaults to the kernel)."""

    def __init__(self, kernel_size: _Pair, stride: _Pair | None = None, padding: _Pair = 0) -> None:
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return f"AvgPool2d({self.kernel_size}, stride={self.stride}, padding={self.padding})"


class Flatten(Module):
    """Merge the axes from `start_dim` on into one, as torch.nn.Flatten."""

    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = start_dim

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return F.flatten(x, self.start_dim)

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim})"


class ReLU(Module):
    """max(x, 0) elementwise."""

    def __call__(self, x: Tensor) -> Tensor:
        return x.relu()

    def __repr__(self) -> str:
        return "ReLU()"


class Tanh(Module):
    """tanh(x) elementwise."""

    def __call__(self, x: Tensor) -> Tensor:
        return x.tanh()

    def __repr__(self) -> str:
        return "Tanh()"


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def __call__(self, x: Tensor) -> Tensor:
        return x.sigmoid()

    def __repr__(self) -> str:
        return "Sigmoid()"


class Sequential(Module):
    """Modules applied in order; parameters are named by position ("0.weight"), as torch's."""

    def __init__(self, *modules: Module) -> None:
        self.layers = list(modules)

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        for module in self.layers:
            x = module(x)
        return x

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for i, module in enumerate(self.layers):
            yield from module.named_parameters(prefix=f"{prefix}{i}.")

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {module!r}" for i, module in enumerate(self.layers))
        return f"Sequential({inner}\n)"
