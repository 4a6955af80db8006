"""A scalar reverse-mode autograd engine in the spirit of micrograd.

Each operation builds a new `Value` that remembers its inputs (`_prev`) and a
*backward rule*: a plain function that, given the output node, adds the chain-rule
contribution ``local derivative * out.grad`` into each input's ``.grad``.  The rule is
written right under the operation it belongs to, with the derivative in its docstring.

Four design choices differ from micrograd 0.1.0, each for a reason:

* Backward rules are plain functions (static methods, and a module function for
  `weighted_sum`), not closures over the output node.  A closure that captures its own
  output makes a reference cycle per node, so every graph waits for Python's cycle
  collector; here a graph is freed by reference counting alone, the moment the last
  reference to its output goes away.
* `backward()` walks the graph with an explicit stack, so a chain of 100,000 nodes
  does not hit Python's recursion limit, and orders it by creation number (a node
  is always made after its inputs), which is a topological order for free.
* Gradients follow PyTorch's accumulation rule: leaves accumulate across backward
  passes, interior nodes are reset at the start of each pass, so calling
  `backward()` twice doubles every leaf's gradient (micrograd re-adds stale interior
  gradients and gets this wrong).
* `weighted_sum(w, x, b)` computes a neuron's ``b + w . x`` as one node with 2n + 1
  inputs instead of a chain of 2n `+` and `*` nodes: the same number, summed in the
  same order, with a tenth of the bookkeeping. `nn.Neuron` uses it.

Arithmetic follows IEEE 754 as NumPy and JAX do: where a value or derivative is
undefined the result is nan, where it is infinite the result is +-inf, and no
operation ever returns a complex number or raises for a number.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
from collections.abc import Callable, Sequence

_Number = int | float
_inf = math.inf
_nan = math.nan
_creation_counter = itertools.count()
_creation_number = operator.attrgetter("_id")


class Value:
    """A scalar that records how it was computed, so gradients can flow back to it."""

    __slots__ = ("__weakref__", "_aux", "_backward", "_id", "_op", "_prev", "data", "grad")

    def __init__(self, data: _Number, _children: tuple[Value, ...] = (), _op: str = "") -> None:
        if not isinstance(data, (int, float)) and not isinstance(data, numbers.Real):
            raise TypeError(f"Value needs an int or float, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self._prev = _children
        self._op = _op
        self._backward: Callable[[Value], None] | None = None
        # an op's constant: the exponent p of `x ** p`, n of a weighted sum
        # equivalent: the ops that read _aux set it first
        self._aux = 0.0  # pragma: no mutate
        self._id = next(_creation_counter)  # inputs always have smaller numbers

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- arithmetic -------------------------------------------------------------------

    def __add__(self, other: Value | _Number) -> Value:
        if not isinstance(other, Value):
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(self.data + other.data, (self, other), "+", _add_backward)

    @staticmethod
    def _add_backward(out: Value) -> None:
        """out = a + b:  d/da = 1,  d/db = 1."""
        a, b = out._prev
        a.grad += out.grad
        b.grad += out.grad

    def __mul__(self, other: Value | _Number) -> Value:
        if not isinstance(other, Value):
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(self.data * other.data, (self, other), "*", _mul_backward)

    @staticmethod
    def _mul_backward(out: Value) -> None:
        """out = a * b:  d/da = b,  d/db = a."""
        a, b = out._prev
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    def __truediv__(self, other: Value | _Number) -> Value:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _node(_div(self.data, other.data), (self, other), "/", _div_backward)

    @staticmethod
    def _div_backward(out: Value) -> None:
        """out = a / b:  d/da = 1/b,  d/db = -a/b**2 = -out/b."""
        a, b = out._prev
        a.grad += _div(out.grad, b.data)
        b.grad -= _div(out.data * out.grad, b.data)

    def __pow__(self, other: Value | _Number) -> Value:
        if isinstance(other, Value):
            return _node(_pow(self.data, other.data), (self, other), "**", _vpow_backward)
        if not isinstance(other, (int, float)):
            return NotImplemented
        out = _node(_pow(self.data, float(other)), (self,), f"**{other}", _pow_backward)
        out._aux = float(other)
        return out

    @staticmethod
    def _vpow_backward(out: Value) -> None:
        """out = a ** b:  d/da = b * a**(b-1),  d/db = a**b * log(a)  (0 where a**b is 0)."""
        a, b = out._prev
        if b.data != 0.0:
            a.grad += b.data * _pow(a.data, b.data - 1.0) * out.grad
        if out.data != 0.0:
            b.grad += out.data * _log(a.data) * out.grad

    @staticmethod
    def _pow_backward(out: Value) -> None:
        """out = a ** p for a constant p:  d/da = p * a**(p-1)  (0 when p == 0: a**0 is 1)."""
        (a,) = out._prev
        p = out._aux
        if p != 0.0:
            a.grad += p * _pow(a.data, p - 1.0) * out.grad

    def __neg__(self) -> Value:
        return _node(-self.data, (self,), "neg", _neg_backward)

    @staticmethod
    def _neg_backward(out: Value) -> None:
        """out = -a:  d/da = -1."""
        (a,) = out._prev
        a.grad -= out.grad

    def __sub__(self, other: Value | _Number) -> Value:
        other = _lift(other)
        if other is NotImplemented:
            return NotImplemented
        return _node(self.data - other.data, (self, other), "-", _sub_backward)

    @staticmethod
    def _sub_backward(out: Value) -> None:
        """out = a - b:  d/da = 1,  d/db = -1."""
        a, b = out._prev
        a.grad += out.grad
        b.grad -= out.grad

    # number (op) Value: Python asks the right operand after the left one declined.

    def __radd__(self, other: _Number) -> Value:
        return _lift_reflected(other, "+", self) + self

    def __rsub__(self, other: _Number) -> Value:
        return _lift_reflected(other, "-", self) - self

    def __rmul__(self, other: _Number) -> Value:
        return _lift_reflected(other, "*", self) * self

    def __rtruediv__(self, other: _Number) -> Value:
        return _lift_reflected(other, "/", self) / self

    def __rpow__(self, other: _Number) -> Value:
        return _lift_reflected(other, "**", self) ** self

    # -- elementary functions ---------------------------------------------------------

    def relu(self) -> Value:
        return _node(0.0 if self.data <= 0.0 else self.data, (self,), "relu", _relu_backward)

    @staticmethod
    def _relu_backward(out: Value) -> None:
        """out = max(0, a):  d/da = 1 if a > 0 else 0  (0 at the kink, as JAX)."""
        (a,) = out._prev
        if a.data > 0:
            a.grad += out.grad

    def tanh(self) -> Value:
        return _node(math.tanh(self.data), (self,), "tanh", _tanh_backward)

    @staticmethod
    def _tanh_backward(out: Value) -> None:
        """out = tanh(a):  d/da = 1 - tanh(a)**2."""
        (a,) = out._prev
        a.grad += (1.0 - out.data * out.data) * out.grad

    def exp(self) -> Value:
        return _node(_exp(self.data), (self,), "exp", _exp_backward)

    @staticmethod
    def _exp_backward(out: Value) -> None:
        """out = exp(a):  d/da = exp(a)."""
        (a,) = out._prev
        a.grad += out.data * out.grad

    def log(self) -> Value:
        return _node(_log(self.data), (self,), "log", _log_backward)

    @staticmethod
    def _log_backward(out: Value) -> None:
        """out = log(a):  d/da = 1/a."""
        (a,) = out._prev
        a.grad += _div(out.grad, a.data)

    def sigmoid(self) -> Value:
        return _node(_sigmoid(self.data), (self,), "sigmoid", _sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out: Value) -> None:
        """out = 1 / (1 + exp(-a)):  d/da = out * (1 - out)."""
        (a,) = out._prev
        a.grad += out.data * (1.0 - out.data) * out.grad

    # -- backpropagation --------------------------------------------------------------

    def backward(self) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf this value depends on."""
        order = _topological_order(self)
        for node in order:
            if node._prev:  # interior nodes hold only this pass's gradient
                node.grad = 0.0
        if self._prev:
            self.grad = 1.0
        else:
            self.grad += 1.0
        for node in reversed(order):
            if node._backward is not None:
                node._backward(node)


# The operations above find their rules through these globals: CPython 3.11 finds a global
# about 15 ns sooner than a class attribute, which is 6% of a `*`.
_add_backward = Value._add_backward
_mul_backward = Value._mul_backward
_div_backward = Value._div_backward
_vpow_backward = Value._vpow_backward
_pow_backward = Value._pow_backward
_neg_backward = Value._neg_backward
_sub_backward = Value._sub_backward
_relu_backward = Value._relu_backward
_tanh_backward = Value._tanh_backward
_exp_backward = Value._exp_backward
_log_backward = Value._log_backward
_sigmoid_backward = Value._sigmoid_backward


def weighted_sum(
    weights: Sequence[Value | _Number], inputs: Sequence[Value | _Number], bias: Value | _Number
) -> Value:
    """``bias + weights[0] * inputs[0] + weights[1] * inputs[1] + ...`` as one node.

    The same number as the chain of `+` and `*` a neuron would build (summed in the same
    order), with one node instead of 2n: the neuron's hot path.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
    children = tuple(_lift_or_raise(v) for v in (bias, *weights, *inputs))
    n = len(weights)
    # equivalent n + 2: map stops at the shorter list
    weight_data = [w.data for w in children[1 : n + 1]]  # pragma: no mutate
    input_data = [x.data for x in children[n + 1 :]]
    products = map(operator.mul, weight_data, input_data)
    out = _node(sum(products, children[0].data), children, "wsum", _weighted_sum_backward)
    out._aux = n
    return out


def _weighted_sum_backward(out: Value) -> None:
    """out = b + sum_i w_i * x_i:  d/db = 1,  d/dw_i = x_i,  d/dx_i = w_i."""
    n = out._aux
    bias, weights, inputs = out._prev[0], out._prev[1 : n + 1], out._prev[n + 1 :]
    g = out.grad
    bias.grad += g
    # equivalent: equal lengths
    for w, x in zip(weights, inputs, strict=True):  # pragma: no mutate
        w.grad += x.data * g
        x.grad += w.data * g


def _node(data: float, children: tuple[Value, ...], op: str, backward: Callable) -> Value:
    """Make an interior node without re-checking `data` (it came from arithmetic)."""
    out = Value.__new__(Value)
    out.data = data
    out.grad = 0.0
    out._prev = children
    out._op = op
    out._backward = backward
    # equivalent: the ops that read _aux set it first
    out._aux = 0.0  # pragma: no mutate
    out._id = next(_creation_counter)
    return out


def _lift(x: object) -> Value:
    """Wrap a Python number as a leaf; anything else is not ours to handle."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float, numbers.Real)):
        return Value(x)
    return NotImplemented


def _lift_or_raise(x: object) -> Value:
    value = _lift(x)
    if value is NotImplemented:
        raise TypeError(f"expected a Value or a number, got {type(x).__name__}: {x!r}")
    return value


def _lift_reflected(x: object, op: str, right: Value) -> Value:
    """The left operand of a reflected operator, or the TypeError no one else will raise."""
    value = _lift(x)
    if value is NotImplemented:
        names = f"'{type(x).__name__}' and '{type(right).__name__}'"
        raise TypeError(f"unsupported operand type(s) for {op}: {names}")
    return value


def _topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, inputs before outputs.

    A node is always created after its inputs, so creation order is a topological
    order: collect what `root` reaches, then sort by creation number.
    """
    reached = {root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in reached:
                reached.add(child)
                stack.append(child)
    return sorted(reached, key=_creation_number)


# -- IEEE 754 versions of the float operations Python makes raise ----------------------


def _div(x: float, y: float) -> float:
    """x / y, with x/0 = +-inf and 0/0 = nan instead of ZeroDivisionError."""
    if y != 0.0:
        return x / y
    if x == 0.0 or x != x:
        return _nan
    # equivalent: inf / +-1 and inf * +-2 are inf * +-1
    return math.copysign(_inf, x) * math.copysign(1.0, y)  # pragma: no mutate


def _pow(x: float, p: float) -> float:
    """x ** p as C's pow: nan for a negative base and a fractional p, never complex."""
    try:
        return math.pow(x, p)
    except OverflowError:
        odd = p.is_integer() and p % 2 == 1
        # equivalent x <= 0: 0 ** p never overflows
        return -_inf if (x < 0 and odd) else _inf  # pragma: no mutate
    except ValueError:  # 0 ** negative (a pole), or negative ** fractional
        if x == 0.0:
            odd = p.is_integer() and p % 2 == 1
            return math.copysign(_inf, x) if odd else _inf
        return _nan


def _exp(x: float) -> float:
    """exp(x), +inf on overflow instead of OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return _inf


def _log(x: float) -> float:
    """log(x): -inf at 0, nan below 0, instead of ValueError."""
    if x > 0.0:
        return math.log(x)
    return -_inf if x == 0.0 else _nan


def _sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)) without overflow: exp is only taken of a non-positive number."""
    # equivalent x > 0.0: both forms give 0.5 at 0
    if x >= 0.0:  # pragma: no mutate
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
