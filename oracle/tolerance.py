"""How far apart two correct float64 implementations of an IR case may be.

`error_bounds` runs a *running error analysis* over the graph, in NumPy, at the case's
float64 values.  With u = 2**-53 (the unit roundoff):

Forward, per node, a bound e on |computed value - exact value| for any implementation
that computes each op in a standard way (correctly rounded + - * /, library
exp/log/tanh/pow within a few ulps, sums in any order):

* elementwise ops: the propagated input error, taken as the larger of the first-order
  term ``sum_k |df/dx_k| e_k`` and the change of f over the *corners* of the input
  intervals ``x_k +- e_k`` (which covers curvature and cancellation), plus the op's own
  rounding ``r u |v|``: r = 1 for + - * /, 8 for exp, log, tanh, sigmoid, and
  ``8 (1 + |y log|x||)`` for ``x ** y`` (pow through exp/log loses |y log x| ulps).
  If an interval reaches a pole or the edge of the domain (x / 0, log 0, 0 ** -1) the
  bound is inf: the case is too ill-conditioned to compare.
* sum / mean over n terms: the propagated errors plus ``n u sum|x|`` (any summation
  order); matmul with inner size k: ``|A| e_B + e_A |B| + e_A e_B + k u |A||B|``;
  softmax and log-softmax: first order through their Jacobians plus
  ``(8 + n + |x| + max|x|) u`` times the magnitude of the result; max, relu, indexing,
  reshape and transposes are exact; the `functional` ops (convolution, pooling, linear,
  the losses): `oracle.network_tolerance`, the analysis of `oracle.networks`.

Backward, per node, the gradient ``g = d(sum_k <u_k, out_k>)/d node`` is bounded through
the *magnitude* ``A`` (g computed with the absolute value of every local derivative, the
size of the terms summed into g, so cancellation among them is accounted for) and an error
bound E.  Each op passes to its operand
``|J| E_out + dJ A_out + 2 u |J| A_out``, where dJ bounds the error of the local derivative
J itself: its change over the corners of the operand intervals plus its rounding.  A kink
inside an interval (relu near 0, near-tied maxima) gives dJ = |J| jumps, so the bound
allows any routing there.  Sums over broadcast axes add ``n u`` times their magnitude,
and a node whose gradient sums k contributions (its users, and the upstream gradient of
an output) adds ``(k - 1) u`` times their magnitude: the engine adds them in its order.

The bounds returned are ``2 * SAFETY * e`` and ``2 * SAFETY * E``: two implementations,
each within the model's bound of the exact result, with a safety factor of 4 for what
the model leaves out (second-order terms beyond the corners, library functions a few
ulps worse than assumed).  For a well-conditioned graph of tens of nodes this is around
1e-14 relative, so a suite can add a tight relative floor (1e-10) and still catch real
errors, while ill-conditioned cases (cancellation, steep functions, near-kinks) get the
larger bound they need.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from oracle import numpy_eval
from oracle.ir import NETWORK_OPS, SCALAR, Graph, Node

U = 2.0**-53  # the unit roundoff of the implementation analysed (`unit_roundoff`)
SAFETY = 4.0
_LIB = 8.0  # rounding of a library function, in units of u

Array = np.ndarray


@dataclass(frozen=True)
class Bounds:
    """Allowed |difference| between two correct implementations, entry by entry."""

    values: tuple[Array, ...]
    grads: dict[str, Array]
    magnitudes: dict[str, Array]


class Comparison(NamedTuple):
    """Whether two answers agree within a bound, the largest difference, and where."""

    ok: bool
    max_error: float
    where: tuple | None


@contextlib.contextmanager
def unit_roundoff(u: float) -> Iterator[None]:
    """Analyse implementations that round at `u` (2**-24 for float32) inside the block.

    The model is the same at any precision; only the size of one rounding changes."""
    global U
    previous, U = U, u
    try:
        yield
    finally:
        U = previous


def error_bounds(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None = None
) -> Bounds:
    """Bounds for every node's value and every input's gradient of ``sum <u_k, out_k>``."""
    with np.errstate(all="ignore"):  # nan and inf are part of the model; once, not per op
        if graph.kind == SCALAR:
            return _analyse_scalar(graph, inputs, upstream)
        return _analyse(graph, inputs, upstream)


def _analyse(graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None) -> Bounds:
    values = numpy_eval.evaluate(graph, inputs)
    errors: list[Array] = []
    for node, v in zip(graph.nodes, values, strict=True):
        args = [values[a] for a in node.args]
        errs = [errors[a] for a in node.args]
        e = np.zeros(v.shape) if node.op == "input" else _forward(node, args, errs, v)
        errors.append(np.where(np.isfinite(v), e, np.inf))
    ups = [np.ones(graph.shapes[o]) for o in graph.outputs] if upstream is None else upstream
    grad_err = [np.zeros(v.shape) for v in values]
    grad_mag = [np.zeros(v.shape) for v in values]
    received = [0] * len(values)  # gradient contributions summed into each node
    for o, u in zip(graph.outputs, ups, strict=True):
        grad_mag[o] = grad_mag[o] + np.abs(
            np.broadcast_to(np.asarray(u, np.float64), values[o].shape)
        )
        received[o] += 1
    for i in reversed(range(len(graph.nodes))):
        node = graph.nodes[i]
        grad_err[i] = grad_err[i] + _summing(received[i], grad_mag[i])
        if node.op == "input" or not (np.any(grad_mag[i]) or np.any(grad_err[i])):
            continue
        args = [values[a] for a in node.args]
        errs = [errors[a] for a in node.args]
        parts = _backward(node, args, errs, values[i], errors[i], grad_err[i], grad_mag[i])
        for a, (err, mag) in zip(node.args, parts, strict=True):
            grad_err[a] = grad_err[a] + err
            grad_mag[a] = grad_mag[a] + mag
            received[a] += 1
    names = dict(zip(graph.input_indices, graph.input_names, strict=True))
    return Bounds(
        values=tuple(_allowed(e) for e in errors),
        grads={names[i]: _allowed(grad_err[i]) for i in graph.input_indices},
        magnitudes={names[i]: grad_mag[i] for i in graph.input_indices},
    )


def _summing(count: int, magnitude: Any) -> Any:
    """The rounding of adding `count` gradient contributions into one node in any order
    (an engine's ``grad +=`` over the node's users): ``(count - 1) u`` times the sum of
    their magnitudes. 1 + 1 - 1e-34 may come out as 0.0 or as -1e-34."""
    return max(count - 1, 0) * U * magnitude


def _allowed(error: Array) -> Array:
    """Two implementations, each within `error`, with the safety factor; nan means inf."""
    return np.where(np.isnan(error), np.inf, 2 * SAFETY * error)


def allclose_report(expected: Any, actual: Any, bound: Any, rtol: float = 0.0) -> Comparison:
    """Whether ``|expected - actual| <= bound + rtol * |expected|`` everywhere.

    nan matches nan and an infinity the same infinity.  `where` is the index of the
    entry that exceeds its tolerance the most (None when all agree).
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return Comparison(False, np.inf, None)
    scale = np.where(np.isfinite(e), np.abs(e), 0.0)
    tol = np.broadcast_to(np.asarray(bound, np.float64), e.shape) + rtol * scale
    special = (np.isnan(e) & np.isnan(a)) | (np.isinf(e) & (e == a))
    with np.errstate(invalid="ignore"):
        diff = np.where(special, 0.0, np.abs(e - a))
        diff = np.where(np.isnan(diff), np.inf, diff)
        excess = np.where(diff <= tol, -np.inf, diff - tol)
    max_error = float(np.max(diff, initial=0.0))
    if e.size == 0 or np.all(excess == -np.inf):
        return Comparison(True, max_error, None)
    where = np.unravel_index(int(np.argmax(excess)), e.shape)
    return Comparison(False, max_error, tuple(int(w) for w in where))


# -- elementwise ops: value, partial derivatives, rounding factor, poles --------------


def _pow_dx(x: Array, y: Array) -> Array:
    return np.where(y == 0, 0.0, y * np.power(x, y - 1))


def _pow_dy(x: Array, y: Array) -> Array:
    v = np.power(x, y)
    return np.where(v == 0, 0.0, v * np.log(np.abs(np.where(x == 0, 1.0, x))))


def _sigmoid_dx(x: Array) -> Array:
    s = numpy_eval.sigmoid(x)
    return s * (1 - s)


def _no_output_terms(*_: Array) -> tuple[float, float]:
    return (0.0, 0.0)


class _Elementwise(NamedTuple):
    f: Callable[..., Array]
    partials: tuple[Callable[..., Array], ...]
    rounding: Callable[..., Array]  # in units of u |v|
    # error of each partial when computed from the op's output v (error e_v), e.g.
    # tanh' = 1 - v**2, which cancels near saturation
    from_output: Callable[..., tuple[Array, ...]] = _no_output_terms


_ONE = np.float64(1.0)


def _ones(*xs: Array) -> Array:
    for x in xs:
        if type(x) is not np.float64:
            return np.ones(np.broadcast(*xs).shape)
    return _ONE  # every operand a scalar (`_analyse_scalar`): the same value, no array


def _library(*xs: Array) -> Array:
    return _LIB * _ones(*xs)


_ELEMENTWISE: dict[str, _Elementwise] = {
    "add": _Elementwise(np.add, (_ones, _ones), _ones),
    "sub": _Elementwise(np.subtract, (_ones, lambda x, y: -_ones(x, y)), _ones),
    "mul": _Elementwise(np.multiply, (lambda x, y: y + 0 * x, lambda x, y: x + 0 * y), _ones),
    "div": _Elementwise(
        np.divide,
        (lambda x, y: 1 / y + 0 * x, lambda x, y: -x / (y * y)),
        _ones,
        lambda x, y, v, e: (0.0, (e + U * np.abs(v)) / np.abs(y)),
    ),
    "pow": _Elementwise(
        lambda x, y: np.power(x, y),
        (_pow_dx, _pow_dy),
        lambda x, y: _LIB * (1 + np.abs(y * np.log(np.abs(x) + (x == 0)))),
        lambda x, y, v, e: (np.abs(y / x) * e, np.abs(np.log(np.abs(x))) * e),
    ),
    "neg": _Elementwise(np.negative, (lambda x: -np.ones_like(x),), lambda x: 0 * x),
    "relu": _Elementwise(
        lambda x: np.where(x > 0, x, 0.0), (lambda x: (x > 0) * 1.0,), lambda x: 0 * x
    ),
    "tanh": _Elementwise(
        np.tanh,
        (lambda x: 1 - np.tanh(x) ** 2,),
        _library,
        lambda x, v, e: (2 * np.abs(v) * e + 2 * U * (1 + v * v),),
    ),
    "exp": _Elementwise(np.exp, (np.exp,), _library, lambda x, v, e: (e,)),
    "log": _Elementwise(np.log, (lambda x: 1 / x,), _library),
    "sigmoid": _Elementwise(
        numpy_eval.sigmoid,
        (_sigmoid_dx,),
        _library,
        lambda x, v, e: (np.abs(1 - 2 * v) * e + 2 * U * np.abs(v),),
    ),
}


def _operands(node: Node, args: list[Array], errs: list[Array]) -> tuple[list[Array], list[Array]]:
    """Operand values and errors in the op's order; a constant is exact."""
    if node.const_side is None:
        return args, errs
    const = np.asarray(node.attrs["const"], np.float64)
    zero = np.zeros(const.shape)
    if node.const_side == "left":
        return [const, args[0]], [zero, errs[0]]
    return [args[0], const], [errs[0], zero]


def _corners(xs: list[Array], es: list[Array]) -> list[Array]:
    """The corners of the operand intervals, stacked along a new first axis."""
    if len(xs) == 1:
        return [np.stack([xs[0] - es[0], xs[0] + es[0]])]
    if not np.any(es[1]):  # an exact exponent or operand (a constant) is broadcast, not
        # repeated: NumPy's power then runs the loop it runs for a number (0.5 is a square
        # root there, a pow for an array), so the bounds match `_analyse_scalar`'s exactly
        x, e, y = np.broadcast_arrays(xs[0], es[0], xs[1])
        return [np.stack([x - e, x + e]), y[None]]
    x, e, y, f = np.broadcast_arrays(xs[0], es[0], xs[1], es[1])
    return [np.stack([x - e, x - e, x + e, x + e]), np.stack([y - f, y + f, y - f, y + f])]


def _deviation(fn: Callable[..., Array], xs: list[Array], es: list[Array], center: Array) -> Array:
    """max over the corners of the intervals of |fn(corner) - center| (nan counts as inf)."""
    d = np.abs(fn(*_corners(xs, es)) - center)
    return np.maximum(np.zeros(np.shape(center)), np.max(np.where(np.isnan(d), np.inf, d), axis=0))


def _pole(op: str, xs: list[Array], es: list[Array]) -> Array:
    """Where an operand interval reaches a pole or the edge of the domain."""
    if op == "div":
        return np.abs(xs[1]) <= es[1]
    if op == "log":
        return xs[0] <= es[0]
    if op == "pow":
        x, y = xs
        safe_exponent = (y >= 1) & (np.mod(y, 1) == 0) & (es[1] == 0)
        return (np.abs(x) <= es[0]) & ~safe_exponent & ((es[0] > 0) | (es[1] > 0))
    return np.zeros(np.broadcast(*xs).shape, bool)


def _elementwise_forward(node: Node, args: list[Array], errs: list[Array], v: Array) -> Array:
    rule = _ELEMENTWISE[node.op]
    xs, es = _operands(node, args, errs)
    first = sum(np.abs(d(*xs)) * e for d, e in zip(rule.partials, es, strict=True))
    e = np.maximum(first, _deviation(rule.f, xs, es, v)) + rule.rounding(*xs) * U * np.abs(v)
    return np.where(_pole(node.op, xs, es), np.inf, np.where(np.isnan(e), np.inf, e))


def _elementwise_backward(
    node: Node,
    args: list[Array],
    errs: list[Array],
    v: Array,
    e_v: Array,
    g_err: Array,
    g_mag: Array,
) -> list[tuple[Array, Array]]:
    rule = _ELEMENTWISE[node.op]
    xs, es = _operands(node, args, errs)
    pole = _pole(node.op, xs, es)
    output_terms = rule.from_output(*xs, v, e_v)
    parts = []
    for k, partial in enumerate(rule.partials):
        if node.const_side == ("left" if k == 0 else "right"):
            continue  # the constant's side
        j = np.abs(partial(*xs))
        dj = (
            _deviation(partial, xs, es, partial(*xs))
            + output_terms[k]
            + (rule.rounding(*xs) + 2) * U * j
        )
        err = (
            _times(j, g_err) + _times(np.where(pole, np.inf, dj), g_mag) + 2 * U * _times(j, g_mag)
        )
        mag = _times(j, g_mag)
        parts.append(_unbroadcast(err, mag, np.shape(xs[k])))
    return parts


# -- the other ops ---------------------------------------------------------------------


def _forward(node: Node, args: list[Array], errs: list[Array], v: Array) -> Array:
    op, attrs = node.op, node.attrs
    if op in _ELEMENTWISE:
        return _elementwise_forward(node, args, errs, v)
    if op in NETWORK_OPS:
        return _networks().forward(node, args, errs, v)
    x, e = args[0], errs[0]
    if op in ("sum", "mean"):
        axis, keep = attrs["axis"], attrs["keepdims"]
        n = max(1, x.size // max(1, v.size))
        err = np.sum(e, axis=axis, keepdims=keep) + n * U * np.sum(
            np.abs(x), axis=axis, keepdims=keep
        )
        return err / n + U * np.abs(v) if op == "mean" else err
    if op == "max":
        _, candidate = _max_candidates(x, e, attrs["axis"])
        return np.max(np.where(candidate, e, 0.0), axis=attrs["axis"], keepdims=attrs["keepdims"])
    if op == "matmul":
        a, b = np.abs(args[0]), np.abs(args[1])
        ea, eb = errs
        k = args[0].shape[-1]
        return a @ eb + ea @ b + ea @ eb + k * U * (a @ b)
    if op in ("softmax", "log_softmax"):
        axis = attrs["axis"]
        s = np.exp(x - np.max(x, axis=axis, keepdims=True))
        s = s / np.sum(s, axis=axis, keepdims=True)
        spread = np.sum(s * e, axis=axis, keepdims=True)
        n = x.shape[axis]
        size = np.abs(x) + np.max(np.abs(x), axis=axis, keepdims=True)
        if op == "softmax":
            return s * (e + spread) + (_LIB + n + size) * U * s
        return e + spread + (_LIB + n) * U * (size + np.abs(v) + 1)
    return _structural(node, e)


def _networks() -> Any:
    """`oracle.network_tolerance` (imported here: it builds on `oracle.networks`, which
    builds on this module)."""
    from oracle import network_tolerance

    return network_tolerance


def _structural(node: Node, e: Array) -> Array:
    """reshape / transpose / T / index applied to an error array."""
    op, attrs = node.op, node.attrs
    if op == "reshape":
        return e.reshape(attrs["shape"])
    if op == "transpose":
        return np.transpose(e, attrs["axes"])
    if op == "T":
        return e.T
    return e[attrs["index"]]


def _backward(
    node: Node,
    args: list[Array],
    errs: list[Array],
    v: Array,
    e_v: Array,
    g_err: Array,
    g_mag: Array,
) -> list[tuple[Array, Array]]:
    """(error, magnitude) of the gradient contribution to each of `node`'s args."""
    op, attrs = node.op, node.attrs
    if op in _ELEMENTWISE:
        return _elementwise_backward(node, args, errs, v, e_v, g_err, g_mag)
    if op in NETWORK_OPS:
        return _networks().backward(node, args, errs, v, e_v, g_err, g_mag)
    x, e = args[0], errs[0]
    if op in ("sum", "mean"):
        axis = attrs["axis"]
        if not attrs["keepdims"] and axis is not None:
            g_err, g_mag = np.expand_dims(g_err, axis), np.expand_dims(g_mag, axis)
        n = max(1, x.size // max(1, v.size))
        err, mag = np.broadcast_to(g_err, x.shape), np.broadcast_to(g_mag, x.shape)
        return [(err / n + U * mag / n, mag / n) if op == "mean" else (err, mag)]
    if op == "max":
        return [_max_backward(node, x, e, g_err, g_mag)]
    if op == "matmul":
        return _matmul_backward(args, errs, g_err, g_mag)
    if op in ("softmax", "log_softmax"):
        return [_softmax_backward(op, attrs["axis"], x, e, g_err, g_mag)]
    return [(_structural_vjp(node, x.shape, g_err), _structural_vjp(node, x.shape, g_mag))]


def _structural_vjp(node: Node, shape: tuple[int, ...], g: Array) -> Array:
    op, attrs = node.op, node.attrs
    if op == "reshape":
        return g.reshape(shape)
    if op == "transpose":
        axes = attrs["axes"] if attrs["axes"] is not None else tuple(reversed(range(len(shape))))
        return np.transpose(g, np.argsort(axes))
    if op == "T":
        return g.T
    out = np.zeros(shape)
    np.add.at(out, attrs["index"], g)
    return out


def _max_candidates(x: Array, e: Array, axis: Any) -> tuple[Array, Array]:
    """Per entry: whether it is a maximum, and whether it might be one within errors."""
    v = np.max(x, axis=axis, keepdims=True)
    tied = x == v
    e_max = np.max(np.where(tied, e, 0.0), axis=axis, keepdims=True)
    return tied, (v - x) <= (e + e_max)


def _max_backward(
    node: Node, x: Array, e: Array, g_err: Array, g_mag: Array
) -> tuple[Array, Array]:
    """Gradient routed to the maxima, split among ties; where other entries could be the
    maximum within their errors, any routing is allowed (the bound is the magnitude)."""
    axis = node.attrs["axis"]
    if axis is None:
        g_err, g_mag = (np.reshape(t, (1,) * x.ndim) for t in (g_err, g_mag))
    elif not node.attrs["keepdims"]:
        g_err, g_mag = np.expand_dims(g_err, axis), np.expand_dims(g_mag, axis)
    tied, candidate = _max_candidates(x, e, axis)
    exact = np.all(~candidate | (tied & (e == 0)), axis=axis, keepdims=True)
    ambiguous = (np.sum(candidate, axis=axis, keepdims=True) > 1) & ~exact & candidate
    share = tied / np.sum(tied, axis=axis, keepdims=True)
    loose = np.where(ambiguous, g_mag, 0.0)
    return share * g_err + loose, share * g_mag + loose


def _matmul_backward(
    args: list[Array], errs: list[Array], g_err: Array, g_mag: Array
) -> list[tuple[Array, Array]]:
    a, b = np.abs(args[0]), np.abs(args[1])
    ea, eb = errs
    k = g_mag.size + max(np.shape(b)[-1], np.shape(a)[0])
    mag_a, mag_b = _matmul_vjp(g_mag, a, b)
    err_a = _matmul_vjp(g_err, a, b)[0] + _matmul_vjp(g_mag, a, eb)[0] + k * U * mag_a
    err_b = _matmul_vjp(g_err, a, b)[1] + _matmul_vjp(g_mag, ea, b)[1] + k * U * mag_b
    return [(err_a, mag_a), (err_b, mag_b)]


def _matmul_vjp(g: Array, a: Array, b: Array) -> tuple[Array, Array]:
    """The VJP of ``a @ b`` for any operand ranks (NumPy's matmul rules)."""
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = np.asarray(g)
    if b.ndim == 1:  # the output lost b's column axis
        g2 = g2[..., np.newaxis]
    if a.ndim == 1:  # and a's row axis
        g2 = g2[..., np.newaxis, :]
    ga = _sum_to(g2 @ np.swapaxes(b2, -1, -2), a2.shape)
    gb = _sum_to(np.swapaxes(a2, -1, -2) @ g2, b2.shape)
    return ga.reshape(a.shape), gb.reshape(b.shape)


def _softmax_backward(
    op: str, axis: int, x: Array, e: Array, g_err: Array, g_mag: Array
) -> tuple[Array, Array]:
    s = np.exp(x - np.max(x, axis=axis, keepdims=True))
    s = s / np.sum(s, axis=axis, keepdims=True)
    n = x.shape[axis]
    e_s = s * (e + np.sum(s * e, axis=axis, keepdims=True)) + (_LIB + n) * U * s
    total_mag = np.sum(g_mag, axis=axis, keepdims=True)
    if op == "softmax":
        mag = s * g_mag + s * np.sum(s * g_mag, axis=axis, keepdims=True)
        err = (
            s * g_err
            + s * np.sum(s * g_err, axis=axis, keepdims=True)
            + e_s * g_mag
            + e_s * np.sum(s * g_mag, axis=axis, keepdims=True)
            + s * np.sum(e_s * g_mag, axis=axis, keepdims=True)
        )
    else:
        mag = g_mag + s * total_mag
        err = g_err + s * np.sum(g_err, axis=axis, keepdims=True) + e_s * total_mag
    return err + (_LIB + n) * U * mag, mag


def _times(a: Array, b: Array) -> Array:
    """a * b with 0 * inf = 0 (a zero upstream contributes nothing)."""
    return np.where((a == 0) | (b == 0), 0.0, a * b)


def _sum_to(x: Array, shape: tuple[int, ...]) -> Array:
    """Sum `x` over the axes broadcasting added or stretched to reach `shape`."""
    lead = x.ndim - len(shape)
    x = np.sum(x, axis=tuple(range(lead))) if lead else x
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return np.sum(x, axis=stretched, keepdims=True) if stretched else x


def _unbroadcast(err: Array, mag: Array, shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Sum over broadcast axes, adding the rounding of that sum."""
    n = max(1, np.size(mag) // max(1, int(np.prod(shape))))
    summed_mag = _sum_to(np.asarray(mag), shape)
    summed_err = _sum_to(np.asarray(err), shape)
    if n > 1:
        summed_err = summed_err + n * U * summed_mag
    return summed_err, summed_mag


# -- scalar graphs: the same model on NumPy float64 scalars ----------------------------
# A scalar graph's values are 0-d, where NumPy's array functions (where, maximum, stack,
# broadcasting) cost far more than the arithmetic.  These functions apply the same rules
# (`_ELEMENTWISE`, `_pole`) in the same IEEE operations, with Python's control flow in
# place of the array functions: the bounds are bit for bit those of `_analyse`
# (tests/oracle/test_oracle_tolerance.py), about ten times faster on deep chains.


def _analyse_scalar(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None
) -> Bounds:
    values = [v[()] for v in numpy_eval.evaluate(graph, inputs)]
    errors: list[float] = []
    for node, v in zip(graph.nodes, values, strict=True):
        e = 0.0
        if node.op != "input":
            xs, es = _scalar_operands(node, values, errors)
            e = _scalar_forward(node.op, xs, es, v)
        errors.append(e if math.isfinite(v) else math.inf)
    ups = [1.0] * len(graph.outputs) if upstream is None else upstream
    grad_err = [0.0] * len(values)
    grad_mag = [0.0] * len(values)
    received = [0] * len(values)  # gradient contributions summed into each node
    for o, u in zip(graph.outputs, ups, strict=True):
        grad_mag[o] = grad_mag[o] + abs(np.float64(u))
        received[o] += 1
    for i in reversed(range(len(graph.nodes))):
        node = graph.nodes[i]
        grad_err[i] = grad_err[i] + _summing(received[i], grad_mag[i])
        if node.op == "input" or (grad_mag[i] == 0 and grad_err[i] == 0):
            continue
        xs, es = _scalar_operands(node, values, errors)
        parts = _scalar_backward(node, xs, es, values[i], errors[i], grad_err[i], grad_mag[i])
        for a, (err, mag) in zip(node.args, parts, strict=True):
            grad_err[a] = grad_err[a] + err
            grad_mag[a] = grad_mag[a] + mag
            received[a] += 1
    names = dict(zip(graph.input_indices, graph.input_names, strict=True))
    return Bounds(
        values=tuple(_allowed(np.float64(e)) for e in errors),
        grads={names[i]: _allowed(np.float64(grad_err[i])) for i in graph.input_indices},
        magnitudes={names[i]: np.asarray(grad_mag[i], np.float64) for i in graph.input_indices},
    )


def _scalar_operands(node: Node, values: list, errors: list) -> tuple[list, list]:
    """`_operands` for scalars."""
    args = [values[a] for a in node.args]
    errs = [errors[a] for a in node.args]
    if node.const_side is None:
        return args, errs
    const = np.float64(node.attrs["const"])
    if node.const_side == "left":
        return [const, args[0]], [0.0, errs[0]]
    return [args[0], const], [errs[0], 0.0]


def _scalar_forward(op: str, xs: list, es: list, v: Any) -> Any:
    """`_elementwise_forward` for scalars."""
    rule = _ELEMENTWISE[op]
    first = sum(abs(d(*xs)) * e for d, e in zip(rule.partials, es, strict=True))
    e = _maximum(first, _scalar_deviation(rule.f, xs, es, v)) + rule.rounding(*xs) * U * abs(v)
    return math.inf if _scalar_pole(op, xs, es) or e != e else e


def _scalar_backward(
    node: Node, xs: list, es: list, v: Any, e_v: Any, g_err: Any, g_mag: Any
) -> list[tuple[Any, Any]]:
    """`_elementwise_backward` for scalars."""
    rule = _ELEMENTWISE[node.op]
    pole = _scalar_pole(node.op, xs, es)
    output_terms = rule.from_output(*xs, v, e_v)
    parts = []
    for k, partial in enumerate(rule.partials):
        if node.const_side == ("left" if k == 0 else "right"):
            continue  # the constant's side
        j = abs(partial(*xs))
        dj = (
            _scalar_deviation(partial, xs, es, partial(*xs))
            + output_terms[k]
            + (rule.rounding(*xs) + 2) * U * j
        )
        err = (
            _scalar_times(j, g_err)
            + _scalar_times(math.inf if pole else dj, g_mag)
            + 2 * U * _scalar_times(j, g_mag)
        )
        parts.append((err, _scalar_times(j, g_mag)))
    return parts


def _scalar_deviation(fn: Callable[..., Any], xs: list, es: list, center: Any) -> Any:
    """`_deviation` for scalars."""
    if len(xs) == 1:
        corners = [(xs[0] - es[0],), (xs[0] + es[0],)]
    else:
        corners = [(xs[0] + s * es[0], xs[1] + t * es[1]) for s in (-1, 1) for t in (-1, 1)]
    worst = 0.0
    for corner in corners:
        d = abs(fn(*corner) - center)
        worst = _maximum(worst, math.inf if d != d else d)
    return worst


def _scalar_pole(op: str, xs: list, es: list) -> bool:
    return op in ("div", "log", "pow") and bool(_pole(op, xs, es))


def _scalar_times(a: Any, b: Any) -> Any:
    return 0.0 if a == 0 or b == 0 else a * b


def _maximum(a: Any, b: Any) -> Any:
    """np.maximum of two scalars: nan if either is nan."""
    return a + b if a != a or b != b else max(a, b)
