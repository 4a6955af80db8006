"""A tensor reverse-mode autograd engine over NumPy float64 arrays.

`Tensor` is `Value` (engine/value.py) with arrays inside: each operation builds a new
node that remembers its inputs (`_prev`) and a *backward rule*, a plain function (a
static method of `Tensor`) that, given the output node, adds ``vector-Jacobian product
with out.grad`` into each input's ``.grad``.  Every rule sits right under the forward
code it belongs to, with the derivative in its docstring.  The rules of `Value` hold
here too:

* Backward rules are plain functions, never closures over the output node, so a graph
  is freed by reference counting alone, without the cycle collector.
* `backward()` walks the graph with an explicit stack and orders it by creation number,
  so a chain of 100,000 operations needs no recursion.
* PyTorch's accumulation rule: leaves accumulate across passes, interior nodes are reset
  at the start of each pass.  ``.grad`` is None until a pass reaches a tensor.

What arrays add:

* Broadcasting.  ``a + b`` may stretch an operand along size-1 axes and prepend axes;
  its gradient is then summed back over those axes (`_unbroadcast`).
* Constants.  A NumPy array or a number meeting a `Tensor` is wrapped as a leaf with
  ``requires_grad=False``; rules skip the gradients nobody asked for, and an operation
  none of whose inputs requires a gradient records no graph at all (nor does anything
  under `no_grad()`).
* No copies for bookkeeping: a gradient passes through `+`, `reshape` or `transpose` as
  the same array (or a view), and accumulating makes a new array instead of adding in
  place.  The one rule that could hand one array to two inputs (`+`) copies it for the
  second, so no two leaves ever share a ``.grad`` array.

Arithmetic follows IEEE 754 as NumPy does (nan where undefined, +-inf at poles, NumPy's
warnings included), never complex; the functions with a numerically stable form
(`sigmoid`, `softmax`, `log_softmax`) use it, so huge inputs give finite results.
"""

from __future__ import annotations

import itertools
import numbers
import operator
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import numpy as np

from engine.aligned import aligned_copy
from engine.matmul import matmul

_Axis = int | tuple[int, ...] | None
_Rule = Callable[["Tensor"], None]
_creation_counter = itertools.count()
_creation_number = operator.attrgetter("_id")
_grad_enabled = True  # False inside `no_grad()`
_MATMUL_RULES = "inner dimensions must agree, batch dimensions broadcast, operands at least 1-D"


class Tensor:
    """A float64 array that records how it was computed, so gradients can flow back to it."""

    __slots__ = (
        "__weakref__",
        "_aux",
        "_backward",
        "_id",
        "_op",
        "_prev",
        "data",
        "grad",
        "requires_grad",
    )
    __array_ufunc__ = None  # `ndarray + Tensor` defers to `Tensor.__radd__`, and so on

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        """A leaf holding a float64 copy of `data` (an array, a nested list or a number)."""
        if isinstance(data, Tensor):
            data = data.data
        self.data = aligned_copy(_real_array(data, "Tensor"))  # on a cache line: engine/aligned.py
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self._prev: tuple[Tensor, ...] = ()
        # equivalent: a leaf's op is never read or shown
        self._op = ""  # pragma: no mutate
        self._backward: _Rule | None = None
        # an op's constants: the exponent, the axes, the index...
        # equivalent: a leaf's aux is never read
        self._aux: Any = None  # pragma: no mutate
        self._id = next(_creation_counter)  # inputs always have smaller numbers

    # -- constructors -----------------------------------------------------------------

    @classmethod
    def zeros(cls, *shape: int | Sequence[int], requires_grad: bool = True) -> Tensor:
        """A leaf of zeros: ``Tensor.zeros(2, 3)`` or ``Tensor.zeros((2, 3))``."""
        return cls(np.zeros(_shape_arguments(shape)), requires_grad)

    @classmethod
    def ones(cls, *shape: int | Sequence[int], requires_grad: bool = True) -> Tensor:
        """A leaf of ones: ``Tensor.ones(2, 3)`` or ``Tensor.ones((2, 3))``."""
        return cls(np.ones(_shape_arguments(shape)), requires_grad)

    @classmethod
    def randn(
        cls,
        *shape: int | Sequence[int],
        rng: np.random.Generator | int | None = None,
        requires_grad: bool = True,
    ) -> Tensor:
        """A leaf of standard normal samples from `rng` (a Generator or a seed)."""
        sample = np.random.default_rng(rng).standard_normal(_shape_arguments(shape))
        return cls(sample, requires_grad)

    @classmethod
    def zeros_like(cls, other: Tensor | np.ndarray, requires_grad: bool = True) -> Tensor:
        """A leaf of zeros with the shape of `other`."""
        return cls(np.zeros(np.shape(_data_of(other))), requires_grad)

    # -- what it holds ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data array itself (not a copy, as torch's ``.numpy()``)."""
        return self.data

    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data that records no graph (``requires_grad=False``)."""
        return _constant(self.data)

    def __repr__(self) -> str:
        # equivalent: numpy uses only len(prefix), which tensor( and TENSOR( keep
        data = np.array2string(self.data, separator=", ", prefix="Tensor(")  # pragma: no mutate
        flag = "" if self.requires_grad else ", requires_grad=False"
        return f"Tensor({data}{flag})"

    # -- arithmetic (NumPy broadcasting) ----------------------------------------------

    def __add__(self, other: Tensor | np.ndarray | float) -> Tensor:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _broadcasting(np.add, self, other, "+", Tensor._add_backward)

    @staticmethod
    def _add_backward(out: Tensor) -> None:
        """out = a + b:  d/da = 1,  d/db = 1."""
        a, b = out._prev
        grad_a = _unbroadcast(out.grad, a.data.shape)
        if a.requires_grad:
            accumulate_grad(a, grad_a)
        if b.requires_grad:
            grad_b = _unbroadcast(out.grad, b.data.shape)
            accumulate_grad(b, grad_b.copy() if grad_b is grad_a else grad_b)

    def __sub__(self, other: Tensor | np.ndarray | float) -> Tensor:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _broadcasting(np.subtract, self, other, "-", Tensor._sub_backward)

    @staticmethod
    def _sub_backward(out: Tensor) -> None:
        """out = a - b:  d/da = 1,  d/db = -1."""
        a, b = out._prev
        if a.requires_grad:
            accumulate_grad(a, _unbroadcast(out.grad, a.data.shape))
        if b.requires_grad:
            accumulate_grad(b, _unbroadcast(-out.grad, b.data.shape))

    def __mul__(self, other: Tensor | np.ndarray | float) -> Tensor:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _broadcasting(np.multiply, self, other, "*", Tensor._mul_backward)

    @staticmethod
    def _mul_backward(out: Tensor) -> None:
        """out = a * b:  d/da = b,  d/db = a."""
        a, b = out._prev
        if a.requires_grad:
            accumulate_grad(a, _unbroadcast(out.grad * b.data, a.data.shape))
        if b.requires_grad:
            accumulate_grad(b, _unbroadcast(out.grad * a.data, b.data.shape))

    def __truediv__(self, other: Tensor | np.ndarray | float) -> Tensor:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _broadcasting(np.true_divide, self, other, "/", Tensor._div_backward)

    @staticmethod
    def _div_backward(out: Tensor) -> None:
        """out = a / b:  d/da = 1/b,  d/db = -a/b**2 = -out/b."""
        a, b = out._prev
        if a.requires_grad:
            accumulate_grad(a, _unbroadcast(out.grad / b.data, a.data.shape))
        if b.requires_grad:
            accumulate_grad(b, _unbroadcast(-out.grad * out.data / b.data, b.data.shape))

    # array-or-number (op) Tensor: Python asks the right operand after the left declined.

    def __radd__(self, other: Tensor | np.ndarray | float) -> Tensor:
        return _lift_reflected(other, "+") + self

    def __rsub__(self, other: Tensor | np.ndarray | float) -> Tensor:
        return _lift_reflected(other, "-") - self

    def __rmul__(self, other: Tensor | np.ndarray | float) -> Tensor:
        return _lift_reflected(other, "*") * self

    def __rtruediv__(self, other: Tensor | np.ndarray | float) -> Tensor:
        return _lift_reflected(other, "/") / self

    def __rpow__(self, other: np.ndarray | float) -> Tensor:
        return _lift_reflected(other, "**") ** self

    def __pow__(self, exponent: Tensor | np.ndarray | float) -> Tensor:
        if not isinstance(exponent, numbers.Real):
            exponent = _lift(exponent)
            if exponent is NotImplemented:
                return NotImplemented
            return _broadcasting(np.power, self, exponent, "**", Tensor._vpow_backward)
        p = float(exponent)
        return make_node(self.data**p, (self,), f"**{exponent}", Tensor._pow_backward, p)

    @staticmethod
    def _vpow_backward(out: Tensor) -> None:
        """out = a ** b:  d/da = b * a**(b-1)  (0 where b == 0: a**0 is 1),
        d/db = a**b * log(a) = out * log(a)  (0 where out is 0: a = 0 with b > 0)."""
        a, b = out._prev
        # the masked entries may divide by zero (0 ** -1, log 0): their values are dropped
        with np.errstate(divide="ignore", invalid="ignore"):
            if a.requires_grad:
                slope = np.where(b.data == 0.0, 0.0, b.data * a.data ** (b.data - 1.0))
                accumulate_grad(a, _unbroadcast(out.grad * slope, a.data.shape))
            if b.requires_grad:
                slope = np.where(out.data == 0.0, 0.0, out.data * np.log(a.data))
                accumulate_grad(b, _unbroadcast(out.grad * slope, b.data.shape))

    @staticmethod
    def _pow_backward(out: Tensor) -> None:
        """out = a ** p for a constant p:  d/da = p * a**(p-1)  (0 when p == 0: a**0 is 1)."""
        (a,) = out._prev
        p = out._aux
        if p == 0.0:
            accumulate_grad(a, np.zeros_like(a.data))
        else:
            accumulate_grad(a, p * a.data ** (p - 1.0) * out.grad)

    def __neg__(self) -> Tensor:
        return make_node(-self.data, (self,), "neg", Tensor._neg_backward)

    @staticmethod
    def _neg_backward(out: Tensor) -> None:
        """out = -a:  d/da = -1."""
        (a,) = out._prev
        accumulate_grad(a, -out.grad)

    def __matmul__(self, other: Tensor | np.ndarray) -> Tensor:
        """a @ b with NumPy's rules: 1-D operands are promoted to matrices, batch axes broadcast."""
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        try:
            data = matmul(self.data, other.data)
        except ValueError as error:
            raise ValueError(
                f"cannot matmul shapes {self.shape} and {other.shape} ({_MATMUL_RULES})"
            ) from error
        return make_node(data, (self, other), "@", Tensor._matmul_backward)

    @staticmethod
    def _matmul_backward(out: Tensor) -> None:
        """out = a @ b:  d/da = g @ b^T,  d/db = a^T @ g  (over the last two axes).

        A 1-D left operand acts as a row (1, k) and a 1-D right one as a column (k, 1);
        batch axes that broadcasting added or stretched are summed back by `_unbroadcast`.
        """
        a, b = out._prev
        g = out.grad
        if a.data.ndim == 2 and b.data.ndim == 2:  # the common case, without reshaping
            if a.requires_grad:
                accumulate_grad(a, matmul(g, b.data.T))
            if b.requires_grad:
                accumulate_grad(b, matmul(a.data.T, g))
            return
        a_matrix = a.data if a.data.ndim > 1 else a.data[np.newaxis, :]
        b_matrix = b.data if b.data.ndim > 1 else b.data[:, np.newaxis]
        if b.data.ndim == 1:
            g = g[..., np.newaxis]
        if a.data.ndim == 1:
            g = g[..., np.newaxis, :]
        if a.requires_grad:
            grad = g @ np.swapaxes(b_matrix, -1, -2)
            accumulate_grad(a, _unbroadcast(grad, a_matrix.shape).reshape(a.data.shape))
        if b.requires_grad:
            grad = np.swapaxes(a_matrix, -1, -2) @ g
            accumulate_grad(b, _unbroadcast(grad, b_matrix.shape).reshape(b.data.shape))

    def __rmatmul__(self, other: np.ndarray) -> Tensor:
        return _lift_reflected(other, "@") @ self

    # -- elementwise functions --------------------------------------------------------

    def exp(self) -> Tensor:
        return make_node(np.exp(self.data), (self,), "exp", Tensor._exp_backward)

    @staticmethod
    def _exp_backward(out: Tensor) -> None:
        """out = exp(a):  d/da = exp(a) = out."""
        (a,) = out._prev
        accumulate_grad(a, out.grad * out.data)

    def log(self) -> Tensor:
        return make_node(np.log(self.data), (self,), "log", Tensor._log_backward)

    @staticmethod
    def _log_backward(out: Tensor) -> None:
        """out = log(a):  d/da = 1/a."""
        (a,) = out._prev
        accumulate_grad(a, out.grad / a.data)

    def tanh(self) -> Tensor:
        return make_node(np.tanh(self.data), (self,), "tanh", Tensor._tanh_backward)

    @staticmethod
    def _tanh_backward(out: Tensor) -> None:
        """out = tanh(a):  d/da = 1 - tanh(a)**2 = 1 - out**2."""
        (a,) = out._prev
        accumulate_grad(a, out.grad * (1.0 - out.data * out.data))

    def relu(self) -> Tensor:
        return make_node(np.maximum(self.data, 0.0), (self,), "relu", Tensor._relu_backward)

    @staticmethod
    def _relu_backward(out: Tensor) -> None:
        """out = max(a, 0):  d/da = 1 where a > 0, else 0  (0 at the kink, as JAX)."""
        (a,) = out._prev
        accumulate_grad(a, out.grad * (a.data > 0.0))

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), taking exp only of -|x| <= 0 so it never overflows."""
        x = self.data
        e = np.exp(-np.abs(x))
        # equivalent x > 0: at x = 0, e is 1.0
        data = np.where(x >= 0, 1.0, e) / (1.0 + e)  # pragma: no mutate
        return make_node(data, (self,), "sigmoid", Tensor._sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out: Tensor) -> None:
        """out = 1 / (1 + exp(-a)):  d/da = out * (1 - out)."""
        (a,) = out._prev
        accumulate_grad(a, out.grad * out.data * (1.0 - out.data))

    # -- reductions -------------------------------------------------------------------

    def sum(self, axis: _Axis = None, keepdims: bool = False) -> Tensor:
        data = self.data.sum(axis=axis, keepdims=keepdims)
        return make_node(data, (self,), "sum", Tensor._sum_backward, (axis, keepdims))

    @staticmethod
    def _sum_backward(out: Tensor) -> None:
        """out = sum of a over `axis`:  d/da_i = 1 for every summed element."""
        (a,) = out._prev
        axis, keepdims = out._aux
        accumulate_grad(
            a, _spread(_keep_reduced_axes(out.grad, axis, keepdims, a.data.ndim), a.shape)
        )

    def mean(self, axis: _Axis = None, keepdims: bool = False) -> Tensor:
        data = self.data.mean(axis=axis, keepdims=keepdims)
        return make_node(data, (self,), "mean", Tensor._mean_backward, (axis, keepdims))

    @staticmethod
    def _mean_backward(out: Tensor) -> None:
        """out = mean of a over `axis` (n elements each):  d/da_i = 1/n."""
        (a,) = out._prev
        axis, keepdims = out._aux
        share = out.data.size / max(a.data.size, 1)  # 1/n
        grad = _keep_reduced_axes(out.grad, axis, keepdims, a.data.ndim) * share
        accumulate_grad(a, _spread(grad, a.data.shape))

    def max(self, axis: _Axis = None, keepdims: bool = False) -> Tensor:
        kept = self.data.max(axis=axis, keepdims=True)
        data = kept if keepdims else np.squeeze(kept, axis=axis)
        return make_node(data, (self,), "max", Tensor._max_backward, (axis, keepdims, kept))

    @staticmethod
    def _max_backward(out: Tensor) -> None:
        """out = max of a over `axis`:  d/da_i = 1/k for each of the k tied maxima, else 0.

        Splitting the gradient equally among ties is JAX's choice; any split summing to
        the upstream gradient is a valid subgradient.
        """
        (a,) = out._prev
        axis, keepdims, kept = out._aux
        is_max = a.data == kept
        ties = is_max.sum(axis=axis, keepdims=True)
        grad = _keep_reduced_axes(out.grad, axis, keepdims, a.data.ndim)
        accumulate_grad(a, is_max * (grad / ties))

    # -- shape ------------------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one size may be -1."""
        data = self.data.reshape(_shape_arguments(shape))
        return make_node(data, (self,), "reshape", Tensor._reshape_backward)

    @staticmethod
    def _reshape_backward(out: Tensor) -> None:
        """out = a reshaped:  the gradient is out.grad reshaped back."""
        (a,) = out._prev
        accumulate_grad(a, out.grad.reshape(a.data.shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes as NumPy does; no axes reverses them all."""
        order = _shape_arguments(axes) or tuple(reversed(range(self.data.ndim)))
        data = self.data.transpose(order)
        return make_node(data, (self,), "transpose", Tensor._transpose_backward, order)

    @staticmethod
    def _transpose_backward(out: Tensor) -> None:
        """out = a with axes permuted by `order`:  the gradient is permuted back (inverse order)."""
        (a,) = out._prev
        order = out._aux
        accumulate_grad(a, out.grad.transpose(sorted(range(len(order)), key=order.__getitem__)))

    @property
    def T(self) -> Tensor:
        """All axes reversed, as NumPy's ``.T``."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """NumPy indexing: ints, slices, None, ``...``, integer arrays, boolean masks."""
        if isinstance(index, Tensor):
            raise TypeError("index a Tensor with ints, slices or NumPy arrays, not a Tensor")
        return make_node(self.data[index], (self,), "index", Tensor._index_backward, index)

    @staticmethod
    def _index_backward(out: Tensor) -> None:
        """out = a[index]:  each selected element gets its out.grad, once per time it was picked.

        ``np.add.at`` adds at repeated integer indices once per occurrence, where plain
        ``grad[index] += g`` would keep only the last.
        """
        (a,) = out._prev
        grad = np.zeros(a.data.shape)
        np.add.at(grad, out._aux, out.grad)
        accumulate_grad(a, grad)

    # -- softmax ----------------------------------------------------------------------

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along `axis`, computed from x - max(x) so exp cannot overflow."""
        e = np.exp(self.data - self.data.max(axis=axis, keepdims=True))
        data = e / e.sum(axis=axis, keepdims=True)
        return make_node(data, (self,), "softmax", Tensor._softmax_backward, axis)

    @staticmethod
    def _softmax_backward(out: Tensor) -> None:
        """out = softmax(a) = s:  d/da = s * (g - sum(g * s))  along the axis.

        The Jacobian is diag(s) - s s^T; multiplying it by g gives the formula.
        """
        (a,) = out._prev
        axis = out._aux
        g = out.grad
        s = out.data
        accumulate_grad(a, s * (g - (g * s).sum(axis=axis, keepdims=True)))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - log(sum(exp(x))) along `axis`, computed from x - max(x): finite for any logits."""
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=axis, keepdims=True)
        data = shifted - np.log(total)
        return make_node(
            data, (self,), "log_softmax", Tensor._log_softmax_backward, (axis, e / total)
        )

    @staticmethod
    def _log_softmax_backward(out: Tensor) -> None:
        """out = log_softmax(a):  d/da = g - softmax(a) * sum(g)  along the axis."""
        (a,) = out._prev
        axis, softmax = out._aux
        g = out.grad
        accumulate_grad(a, g - softmax * g.sum(axis=axis, keepdims=True))

    # -- backpropagation --------------------------------------------------------------

    def backward(self, gradient: Tensor | np.ndarray | float | None = None) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf this tensor depends on.

        Without `gradient`, `self` must hold exactly one element (a loss).  With it,
        `gradient` is the upstream gradient, of `self`'s shape: leaves receive the
        vector-Jacobian product ``gradient . d(self)/d(leaf)``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require a gradient: it was computed "
                "from constants only, under no_grad(), or detached"
            )
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a tensor with one element, this one "
                    f"has shape {self.shape}; pass backward(gradient) with an array of that shape"
                )
            seed = np.array(1.0, ndmin=self.data.ndim)  # of self's shape: all axes are 1
        else:
            seed = np.array(_real_array(_data_of(gradient), "backward(gradient)"), np.float64)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(gradient): the gradient has shape {seed.shape}, "
                    f"the tensor has shape {self.shape}"
                )
        order = _topological_order(self)
        for node in order:
            if node._prev:  # interior nodes hold only this pass's gradient
                node.grad = None
        accumulate_grad(self, seed)
        for node in reversed(order):
            if node._backward is not None and node.grad is not None:
                node._backward(node)


class no_grad:
    """``with no_grad():`` operations inside record no graph (for evaluation and updates)."""

    __slots__ = ("_previous",)

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        # equivalent =None: only its truth is read
        _grad_enabled = False  # pragma: no mutate

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


# -- building nodes -------------------------------------------------------------------


def make_node(
    data: np.ndarray,
    inputs: tuple[Tensor, ...],
    op: str,
    backward: _Rule | None,
    aux: Any = None,
) -> Tensor:
    """The output of an operation: records `inputs` and the `backward` rule when needed.

    The graph is recorded only if gradients are enabled and some input requires a
    gradient; otherwise the result is a constant leaf.  Use it to write new operations
    (engine/functional.py does).
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data, dtype=np.float64)
    out.grad = None
    out._op = op
    out._aux = aux
    out._id = next(_creation_counter)
    if _grad_enabled:
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out._prev = inputs
                out._backward = backward
                return out
    out.requires_grad = False
    out._prev = ()
    # equivalent: a constant's rule is never called
    out._backward = None  # pragma: no mutate
    return out


def accumulate_grad(t: Tensor, grad: np.ndarray) -> None:
    """``t.grad += grad`` (None counts as zero), never changing an array in place.

    The first gradient is stored as it is, not copied, so a rule must not send one array
    to two inputs (`_add_backward` copies for the second).
    """
    if t.grad is not None:
        grad = t.grad + grad
    t.grad = grad if type(grad) is np.ndarray else np.asarray(grad, dtype=np.float64)


def as_tensor(x: Tensor | np.ndarray | float) -> Tensor:
    """`x` if it is a Tensor, else a constant leaf around it (an array is not copied)."""
    if isinstance(x, Tensor):
        return x
    value = _lift(x)
    if value is NotImplemented:
        raise TypeError(f"expected a Tensor, a NumPy array or a number, got {type(x).__name__}")
    return value


def _constant(data: np.ndarray) -> Tensor:
    """A leaf that needs no gradient, around `data` as it is (no copy, no checks)."""
    # equivalent label: leaves' ops are never shown
    return make_node(data, (), "constant", None)  # pragma: no mutate


def _real_array(x: Any, what: str) -> np.ndarray:
    """`x` as an array of real numbers, or a TypeError naming what `x` is."""
    array = np.asarray(x)
    # equivalent "XXbiufXX": no kind is "X"
    if array.dtype.kind not in "biuf":  # pragma: no mutate
        raise TypeError(
            f"{what} needs real numbers (an array, nested list or number), "
            f"got {type(x).__name__} of dtype {array.dtype}"
        )
    return array


def _data_of(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _lift(x: object) -> Tensor:
    """A Tensor as is; an array or a number as a constant leaf; anything else not ours."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype != np.float64:
            # equivalent astype(None): np.dtype(None) is float64
            x = _real_array(x, "Tensor arithmetic").astype(np.float64)  # pragma: no mutate
        return _constant(x)
    if isinstance(x, (float, int, numbers.Real)):  # the ABC check last: it is slow
        return _constant(np.asarray(x, dtype=np.float64))
    return NotImplemented


def _lift_reflected(x: object, op: str) -> Tensor:
    """The left operand of a reflected operator, or the TypeError no one else will raise."""
    value = _lift(x)
    if value is NotImplemented:
        raise TypeError(f"unsupported operand type(s) for {op}: '{type(x).__name__}' and 'Tensor'")
    return value


def _shape_arguments(args: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both as ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], Sequence | np.ndarray):
        return tuple(args[0])
    return args


def _topological_order(root: Tensor) -> list[Tensor]:
    """`root` and the operation nodes it depends on through gradient-requiring inputs,
    inputs first.

    Leaves below `root` are left out: they have no rule to run and no gradient to reset.
    A node is always created after its inputs, so creation order is a topological
    order: collect what `root` reaches, then sort by creation number.
    """
    reached = {root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if child._prev and child.requires_grad and child not in reached:
                reached.add(child)
                stack.append(child)
    return sorted(reached, key=_creation_number)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast result's gradient back to an operand's `shape`.

    Broadcasting prepends axes and stretches size-1 axes; each copy of an element gets
    the same derivative, so the element's gradient is the sum over its copies.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1)
    # equivalent keepdims=False: the reshape puts the 1s back
    summed = grad.sum(axis=tuple(range(lead)) + stretched, keepdims=True)  # pragma: no mutate
    return summed.reshape(shape)


def _keep_reduced_axes(grad: np.ndarray, axis: _Axis, keepdims: bool, ndim: int) -> np.ndarray:
    """A reduction's output gradient with the reduced axes back as size-1 axes."""
    if axis is None or keepdims:
        return grad  # 0-d, or already with the axes
    reduced = {ax % ndim for ax in (axis if isinstance(axis, tuple) else (axis,))}
    shape = iter(grad.shape)
    return grad.reshape([1 if i in reduced else next(shape) for i in range(ndim)])


def _spread(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`grad` broadcast to `shape`, as a new writeable array."""
    full = np.empty(shape)
    full[...] = grad
    return full


def _broadcasting(ufunc: np.ufunc, a: Tensor, b: Tensor, op: str, backward: _Rule) -> Tensor:
    try:
        data = ufunc(a.data, b.data)
    except ValueError as error:
        raise ValueError(f"shapes {a.shape} and {b.shape} do not broadcast for '{op}'") from error
    return make_node(data, (a, b), op, backward)
