"""PyTorch (float64, CPU) behind the target protocol: `Value`, `Tensor`, `optim`, and
`functional` and the `nn` layers of protocol v2.

Each wrapper holds a `torch.Tensor` in `.t`. Leaves require gradients; `backward()`
keeps the graph (`retain_graph=True`) so a second pass accumulates, as the protocol
asks. `.data` and `.grad` are read as Python floats (`Value`) or NumPy arrays
(`Tensor`), and assigning `.grad` (``0``/``None`` to reset) writes the torch leaf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["Tensor", "Value", "functional", "nn", "optim"]

DTYPE = torch.float64


class _Wrapper:
    __slots__ = ("t",)
    __array_ufunc__ = None  # `array + wrapper` defers to the wrapper's __radd__

    def __init__(self, data: Any) -> None:
        if isinstance(data, torch.Tensor):
            self.t = data
        else:
            self.t = torch.tensor(self._check(data), dtype=DTYPE, requires_grad=True)

    @staticmethod
    def _check(data: Any) -> Any:
        return data

    def _wrap(self, t: torch.Tensor) -> Any:
        return type(self)(t)

    def _other(self, other: Any) -> torch.Tensor:
        if isinstance(other, _Wrapper):
            return other.t
        if isinstance(other, (int, float, np.ndarray, np.number)):
            return torch.as_tensor(np.asarray(other, dtype=np.float64))
        raise TypeError(f"unsupported operand type: {type(other).__name__}")

    def __add__(self, o: Any) -> Any:
        return self._wrap(self.t + self._other(o))

    def __radd__(self, o: Any) -> Any:
        return self._wrap(self._other(o) + self.t)

    def __sub__(self, o: Any) -> Any:
        return self._wrap(self.t - self._other(o))

    def __rsub__(self, o: Any) -> Any:
        return self._wrap(self._other(o) - self.t)

    def __mul__(self, o: Any) -> Any:
        return self._wrap(self.t * self._other(o))

    def __rmul__(self, o: Any) -> Any:
        return self._wrap(self._other(o) * self.t)

    def __truediv__(self, o: Any) -> Any:
        return self._wrap(self.t / self._other(o))

    def __rtruediv__(self, o: Any) -> Any:
        return self._wrap(self._other(o) / self.t)

    def __pow__(self, o: Any) -> Any:
        exponent = o.t if isinstance(o, _Wrapper) else float(o)
        return self._wrap(self.t**exponent)

    def __rpow__(self, o: Any) -> Any:
        return self._wrap(self._other(o) ** self.t)

    def __neg__(self) -> Any:
        return self._wrap(-self.t)

    def relu(self) -> Any:
        return self._wrap(torch.relu(self.t))

    def tanh(self) -> Any:
        return self._wrap(torch.tanh(self.t))

    def exp(self) -> Any:
        return self._wrap(torch.exp(self.t))

    def log(self) -> Any:
        return self._wrap(torch.log(self.t))

    def sigmoid(self) -> Any:
        return self._wrap(torch.sigmoid(self.t))

    def backward(self, grad: Any = None) -> None:
        upstream = None if grad is None else torch.as_tensor(np.asarray(grad, dtype=np.float64))
        self.t.backward(upstream, retain_graph=True)


class Value(_Wrapper):
    """A torch scalar; `.data` and `.grad` are floats."""

    __slots__ = ()

    @staticmethod
    def _check(data: Any) -> float:
        if not isinstance(data, (int, float)):
            raise TypeError(f"Value needs a number, got {type(data).__name__}")
        return float(data)

    @property
    def data(self) -> float:
        return float(self.t.detach())

    @data.setter
    def data(self, value: float) -> None:
        with torch.no_grad():
            self.t.fill_(float(value))

    @property
    def grad(self) -> float:
        return 0.0 if self.t.grad is None else float(self.t.grad)

    @grad.setter
    def grad(self, value: float | None) -> None:
        self.t.grad = None if not value else torch.tensor(float(value), dtype=DTYPE)


class Tensor(_Wrapper):
    """A torch tensor; `.data` and `.grad` are float64 NumPy arrays."""

    __slots__ = ()

    @staticmethod
    def _check(data: Any) -> np.ndarray:
        return np.asarray(data, dtype=np.float64)

    @property
    def data(self) -> np.ndarray:
        return self.t.detach().numpy().copy()

    @data.setter
    def data(self, value: np.ndarray) -> None:
        with torch.no_grad():
            self.t.copy_(torch.as_tensor(np.asarray(value, dtype=np.float64)))

    @property
    def grad(self) -> np.ndarray | None:
        return None if self.t.grad is None else self.t.grad.numpy().copy()

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        self.t.grad = None if value is None else torch.as_tensor(np.asarray(value, np.float64))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.t.shape)

    def __matmul__(self, o: Any) -> Tensor:
        return Tensor(self.t @ self._other(o))

    def __rmatmul__(self, o: Any) -> Tensor:
        return Tensor(self._other(o) @ self.t)

    def __getitem__(self, index: Any) -> Tensor:
        t, index = _positive_steps(self.t, index)
        return Tensor(t[_torch_index(index)])

    def _dims(self, axis: int | tuple[int, ...] | None) -> tuple[int, ...]:
        if axis is None:
            return tuple(range(self.t.dim()))
        return axis if isinstance(axis, tuple) else (axis,)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(torch.sum(self.t, dim=self._dims(axis), keepdim=keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor(torch.mean(self.t, dim=self._dims(axis), keepdim=keepdims))

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        # amax splits the gradient evenly among tied maxima, as JAX does
        return Tensor(torch.amax(self.t, dim=self._dims(axis), keepdim=keepdims))

    def reshape(self, *shape: Any) -> Tensor:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return Tensor(self.t.reshape(shape))

    def transpose(self, *axes: Any) -> Tensor:
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple) else axes
        return Tensor(self.t.permute(axes or tuple(reversed(range(self.t.dim())))))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def softmax(self, axis: int = -1) -> Tensor:
        return Tensor(torch.softmax(self.t, dim=axis))

    def log_softmax(self, axis: int = -1) -> Tensor:
        return Tensor(torch.log_softmax(self.t, dim=axis))


def _positive_steps(t: torch.Tensor, index: Any) -> tuple[torch.Tensor, Any]:
    """torch slices only forwards: a slice with a negative step becomes a flip of its axis
    and the same elements taken forwards."""
    items = index if isinstance(index, tuple) else (index,)
    fixed = []
    for axis, item in enumerate(items):
        if isinstance(item, slice) and (item.step or 1) < 0:
            picked = range(t.shape[axis])[item]
            t = torch.flip(t, dims=(axis,))
            last = t.shape[axis] - 1
            item = (
                slice(last - picked[0], last - picked[-1] + 1, -picked.step)
                if picked
                else (slice(0, 0))
            )
        fixed.append(item)
    return t, tuple(fixed) if isinstance(index, tuple) else fixed[0]


def _torch_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    if isinstance(index, (np.ndarray, list)):
        return torch.as_tensor(np.asarray(index))
    return index


class _Optimizer:
    """A `torch.optim` optimizer over the wrappers' torch leaves."""

    torch_class: type

    def __init__(self, params: Any, **kwargs: Any) -> None:
        self.params = list(params)
        self.inner = self.torch_class([p.t for p in self.params], **kwargs)

    def step(self) -> None:
        self.inner.step()

    def zero_grad(self) -> None:
        self.inner.zero_grad(set_to_none=True)


class _Scheduler:
    """A `torch.optim.lr_scheduler` scheduler over a wrapped optimizer."""

    torch_class: type

    def __init__(self, optimizer: _Optimizer, *args: Any, **kwargs: Any) -> None:
        self.inner = self.torch_class(optimizer.inner, *args, **kwargs)

    def step(self) -> None:
        self.inner.step()


class optim:
    """`SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad`, `StepLR`, `LambdaLR` from `torch.optim`."""

    class SGD(_Optimizer):
        torch_class = torch.optim.SGD

    class Adam(_Optimizer):
        torch_class = torch.optim.Adam

    class AdamW(_Optimizer):
        torch_class = torch.optim.AdamW

    class RMSprop(_Optimizer):
        torch_class = torch.optim.RMSprop

    class Adagrad(_Optimizer):
        torch_class = torch.optim.Adagrad

    class StepLR(_Scheduler):
        torch_class = torch.optim.lr_scheduler.StepLR

    class LambdaLR(_Scheduler):
        torch_class = torch.optim.lr_scheduler.LambdaLR


# -- protocol v2: functional and nn layers --------------------------------------------------

F = torch.nn.functional


def _t(x: Any) -> torch.Tensor | None:
    """A wrapper's torch tensor, an array as a float64 tensor, None as None."""
    if x is None or isinstance(x, torch.Tensor):
        return x
    return x.t if isinstance(x, _Wrapper) else torch.as_tensor(np.asarray(x, dtype=np.float64))


class functional:
    """`torch.nn.functional`'s functions on the wrappers (torch's arguments and defaults;
    `flatten` starts at axis 1 as `nn.Flatten`, and `hinge_loss` is micrograd's)."""

    @staticmethod
    def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        return Tensor(F.linear(_t(x), _t(weight), _t(bias)))

    @staticmethod
    def conv2d(
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> Tensor:
        return Tensor(F.conv2d(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))

    @staticmethod
    def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        return Tensor(F.max_pool2d(_t(x), kernel_size, stride, padding))

    @staticmethod
    def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        return Tensor(F.avg_pool2d(_t(x), kernel_size, stride, padding))

    @staticmethod
    def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
        return Tensor(torch.flatten(_t(x), start_dim))

    @staticmethod
    def mse_loss(prediction: Tensor, target: Any) -> Tensor:
        return Tensor(F.mse_loss(_t(prediction), _t(target)))

    @staticmethod
    def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
        return Tensor(F.cross_entropy(_t(logits), torch.as_tensor(np.asarray(labels))))

    @staticmethod
    def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
        return Tensor(F.binary_cross_entropy_with_logits(_t(logits), _t(targets)))

    @staticmethod
    def hinge_loss(scores: Tensor, labels: Any) -> Tensor:
        return Tensor(torch.relu(1.0 - _t(labels) * _t(scores)).mean())


class _Layer:
    """A `torch.nn` module in float64; its parameters as wrappers, torch's order."""

    module: torch.nn.Module

    def __call__(self, x: Tensor) -> Tensor:
        return Tensor(self.module(_t(x)))

    def parameters(self) -> list[Tensor]:
        return [Tensor(p) for p in self.module.parameters()]

    @property
    def weight(self) -> Tensor:
        return Tensor(self.module.weight)

    @property
    def bias(self) -> Tensor | None:
        bias = getattr(self.module, "bias", None)
        return None if bias is None else Tensor(bias)


def _layer(make: Any) -> type:
    class Layer(_Layer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.module = make(*args, **kwargs)

    return Layer


class nn:
    """`Linear`, `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten`, `ReLU`, `Tanh`, `Sigmoid`
    and `Sequential` from `torch.nn`, in float64."""

    Linear = _layer(lambda *a, **k: torch.nn.Linear(*a, **k, dtype=DTYPE))
    Conv2d = _layer(lambda *a, **k: torch.nn.Conv2d(*a, **k, dtype=DTYPE))
    MaxPool2d = _layer(torch.nn.MaxPool2d)
    AvgPool2d = _layer(torch.nn.AvgPool2d)
    Flatten = _layer(torch.nn.Flatten)
    ReLU = _layer(torch.nn.ReLU)
    Tanh = _layer(torch.nn.Tanh)
    Sigmoid = _layer(torch.nn.Sigmoid)

    class Sequential(_Layer):
        def __init__(self, *layers: _Layer) -> None:
            self.module = torch.nn.Sequential(*(layer.module for layer in layers))
