"""Random tensor expression graphs (as oracle IR) with broadcastable shapes, tracked like
the scalar ones: every op stays clear of its kinks and poles by a margin of its rounding.

`grow_tensor` is written once against a `Chooser` and a `TensorNumbers` (shapes and
arrays): `tensor_cases` runs it on Hypothesis's draws for the properties,
`properties.cases.random_tensor` on a NumPy `Generator` for `vgrad report --tensor`."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.ir import BINARY_OPS, REDUCTIONS, TENSOR, UNARY_OPS, GraphBuilder
from properties.cases.chooser import Chooser, DrawChooser
from properties.cases.common import (
    ARITHMETIC,
    UPSTREAM,
    Case,
    arrays_of,
    choose_outputs,
    magnitudes,
    pick_operand,
)
from properties.cases.scalar import (
    ATTEMPTS,
    BOUND,
    MARGIN,
    ROUNDING,
    Tracked,
    scalar_constant,
    scalar_step,
)

# -- tensor graphs -------------------------------------------------------------------

# (op, variant): binary ops take None (two nodes), "right" or "left" (a constant number
# or array on that side); matmul "2d" or "nd"; reductions "axis" (None or an int) or
# "tuple" (a tuple of axes).
TENSOR_MENU: tuple[tuple[str, str | None], ...] = (
    *((op, side) for op in ARITHMETIC for side in (None, "right", "left")),
    ("pow", "right"),
    ("pow", "left"),
    ("pow", None),
    *((op, None) for op in UNARY_OPS),
    ("matmul", "2d"),
    ("matmul", "nd"),
    *((op, v) for op in REDUCTIONS for v in ("axis", "tuple")),
    *((op, None) for op in ("reshape", "transpose", "T", "softmax", "log_softmax", "index")),
)


def _tensor_menu_capability(op: str, variant: str | None) -> str:
    """The capability an entry needs, as the IR names it (one-node probe graph)."""
    b = GraphBuilder(TENSOR)
    x = b.input("x", (2, 2))
    if op in BINARY_OPS:
        last = b.op(op, x, const=2, side=variant) if variant else b.op(op, x, b.input("y", (2,)))
    elif op == "matmul":
        y = b.input("y", (2, 2) if variant == "2d" else (2,))
        last = b.op("matmul", x, y)
    elif op in REDUCTIONS:
        last = b.op(op, x, axis=(0, 1) if variant == "tuple" else 0)
    elif op == "reshape":
        last = b.op(op, x, shape=(4,))
    elif op == "index":
        last = b.op(op, x, index=(0,))
    else:
        last = b.op(op, x)
    return b.build([last]).capability(last)


TENSOR_CAPABILITY = {entry: _tensor_menu_capability(*entry) for entry in TENSOR_MENU}


def tensor_menu(capabilities: Collection[str]) -> list[tuple[str, str | None]]:
    """The tensor menu entries a target with `capabilities` can run (it needs `sum` and `*`
    besides, to take an upstream gradient)."""
    return [entry for entry, needs in TENSOR_CAPABILITY.items() if needs in capabilities]


@dataclass
class _TrackedArray:
    value: np.ndarray
    error: np.ndarray  # elementwise rough bound on |computed - exact|


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
# Where rank matters (permutations, axes, batches, indices), single-op cases start from
# two or three axes of size 2 to 4 more often than a uniform draw would.
RANKED_SHAPES = st.one_of(
    SHAPES,
    hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=4),
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=2, max_side=3),
)


class TensorNumbers(Protocol):
    """Where a tensor growth gets its shapes and arrays (Hypothesis's array strategies
    shrink them element by element; NumPy draws them at once)."""

    def shape(self) -> tuple[int, ...]:
        """The first input's shape."""
        ...

    def broadcastable(self, shape: tuple[int, ...], max_dims: int) -> tuple[int, ...]:
        """A shape that broadcasts with `shape`, of at most `max_dims` axes."""
        ...

    def inputs(self, shape: tuple[int, ...], positive: bool) -> np.ndarray:
        """An input's values."""
        ...

    def constants(self, shape: tuple[int, ...]) -> np.ndarray:
        """A constant array operand's values."""
        ...


class DrawNumbers:
    """The properties' numbers: inputs of size 1e-3 to 1e3, constants 1e-3 to 10."""

    def __init__(self, draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, ...]]) -> None:
        self.draw, self.shapes = draw, shapes

    def shape(self) -> tuple[int, ...]:
        return self.draw(self.shapes)

    def broadcastable(self, shape: tuple[int, ...], max_dims: int) -> tuple[int, ...]:
        return self.draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=max_dims, max_side=4))

    def inputs(self, shape: tuple[int, ...], positive: bool) -> np.ndarray:
        return self.draw(arrays_of(shape, _POSITIVE if positive else magnitudes()))

    def constants(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.draw(arrays_of(shape, magnitudes(-3.0, 1.0)))


_POSITIVE = magnitudes().map(abs)


def grow_tensor(
    c: Chooser,
    numbers: TensorNumbers,
    menu: Sequence[tuple[str, str | None]],
    n_inputs: int,
    n_ops: int,
    max_inputs: int = 4,
    exact: bool = False,
    bound: float = BOUND,
) -> tuple[GraphBuilder, list[_TrackedArray], dict[str, np.ndarray]]:
    """`n_inputs` inputs then op nodes over the `menu` entries, each kept only where the
    tracked rounding (`scalar_step` entry by entry, and the rules below for the other ops)
    finds it safe; a step may add an input (a broadcast partner, a matmul operand, a
    positive argument of log) while there are fewer than `max_inputs`.

    `n_ops` draws, an unsafe one skipped; with `exact`, `n_ops` nodes (inputs added on
    the way among them), each drawn again until one is safe (ValueError after `ATTEMPTS`
    draws), as in `grow_scalar`."""
    g = _Growth(c, numbers, max_inputs, bound)
    for _ in range(n_inputs):
        g.new_input(numbers.shape())
    for _ in range(n_ops):
        if exact and len(g.b.nodes) >= n_inputs + n_ops:
            break  # inputs added on the way count
        for _ in range(ATTEMPTS if exact else 1):
            op, variant = c.choice(menu)
            built = g.step(op, variant, pick_operand(c, len(g.tracked)))
            if built is not None and np.max(np.abs(built[2].value), initial=0.0) <= bound:
                break
        else:
            if exact:
                raise ValueError(f"no node of the menu {list(menu)} is safe here")
            continue
        args, attrs, new = built
        if op in BINARY_OPS and variant:
            attrs = {**attrs, "side": variant}
        g.b.op(op, *args, **attrs)
        g.tracked.append(new)
    return g.b, g.tracked, g.inputs


@st.composite
def tensor_cases(
    draw: st.DrawFn,
    menu: Sequence[tuple[str, str | None]],
    max_ops: int = 12,
    max_inputs: int = 4,
    shapes: st.SearchStrategy[tuple[int, ...]] = SHAPES,
) -> Case:
    """A random tensor DAG over the `menu` entries, with inputs and upstream gradients."""
    c = DrawChooser(draw)
    n_ops = draw(st.integers(1, max_ops))
    b, tracked, inputs = grow_tensor(
        c, DrawNumbers(draw, shapes), tuple(menu), 1, n_ops, max_inputs
    )
    outputs = choose_outputs(c, b.nodes)
    upstream = tuple(draw(arrays_of(tracked[o].value.shape, UPSTREAM)) for o in outputs)
    return Case(b.build(outputs), inputs, upstream)


class _Growth:
    """A tensor graph growing: its builder, every node's tracked value, the inputs."""

    def __init__(self, c: Chooser, numbers: TensorNumbers, max_inputs: int, bound: float):
        self.c, self.numbers, self.max_inputs, self.bound = c, numbers, max_inputs, bound
        self.b = GraphBuilder(TENSOR)
        self.tracked: list[_TrackedArray] = []
        self.inputs: dict[str, np.ndarray] = {}

    def new_input(self, shape: tuple[int, ...], positive: bool = False) -> int:
        name = f"x{len(self.inputs)}"
        self.inputs[name] = self.numbers.inputs(shape, positive)
        self.tracked.append(_TrackedArray(self.inputs[name], np.zeros(shape)))
        return self.b.input(name, shape)

    def step(self, op: str, variant: str | None, a: int) -> tuple | None:
        """(args, attrs, tracked result) of one op on node `a`, or None where unsafe."""
        c, x, bound = self.c, self.tracked[a], self.bound
        shape = x.value.shape
        may_add_input = len(self.inputs) < self.max_inputs
        if op in BINARY_OPS:
            if variant is None:
                other = self._broadcast_partner(a, may_add_input)
                new = _elementwise(op, x, self.tracked[other], None, None, bound)
                return None if new is None else ((a, other), {}, new)
            const = self._constant(op, variant, shape)
            new = _elementwise(op, x, None, const, variant, bound)
            return None if new is None else ((a,), {"const": const}, new)
        if op in UNARY_OPS:
            new = _elementwise(op, x, None, None, None, bound)
            if new is None and op == "log" and may_add_input:  # log of a fresh positive input
                fresh = self.new_input(shape, positive=True)
                new = _elementwise(op, self.tracked[fresh], None, None, None, bound)
                return None if new is None else ((fresh,), {}, new)
            return None if new is None else ((a,), {}, new)
        if op == "matmul":
            return self._matmul(variant, a, may_add_input)
        if op in REDUCTIONS:
            return _reduction_step(c, op, variant, a, x)
        if op == "reshape":
            new_shape = c.choice(_reshapes(shape))
            return (a,), {"shape": new_shape}, _map(x, lambda v: v.reshape(new_shape))
        if op == "transpose":
            axes = _transpose_axes(c, len(shape))
            return (a,), {"axes": axes}, _map(x, lambda v: np.transpose(v, axes))
        if op == "T":
            return (a,), {}, _map(x, lambda v: v.T)
        if op in ("softmax", "log_softmax"):
            if not shape:
                return None
            axis = c.integer(-len(shape), len(shape) - 1)
            return (a,), {"axis": axis}, _softmax(op, x, axis)
        if op == "index":
            if not shape:
                return None
            index = _indices(c, shape)
            return (a,), {"index": index}, _map(x, lambda v: v[index])
        raise ValueError(f"unknown op {op!r}")

    def _broadcast_partner(self, a: int, may_add_input: bool) -> int:
        """An earlier node whose shape broadcasts with node `a`'s, or a new input that does."""
        shape = self.tracked[a].value.shape
        if may_add_input and self.c.boolean():
            return self.new_input(self.numbers.broadcastable(shape, 3))
        fits = [i for i, t in enumerate(self.tracked) if _broadcasts(shape, t.value.shape)]
        return fits[len(fits) - 1 - self.c.integer(0, len(fits) - 1)]

    def _constant(self, op: str, side: str, shape: tuple[int, ...]) -> Any:
        if op == "pow" or self.c.boolean():
            return scalar_constant(self.c, op, side)
        return self.numbers.constants(self.numbers.broadcastable(shape, 2))

    def _matmul(self, variant: str | None, a: int, may_add_input: bool) -> tuple | None:
        c, x = self.c, self.tracked[a]
        shape = x.value.shape
        if not may_add_input or not shape:
            return None
        k = shape[-1]
        m = c.integer(1, 4)
        if variant == "2d":
            if len(shape) != 2:
                return None
            other_shape: tuple[int, ...] = (k, m)
        else:
            other_shape = c.choice(((k,), (k, m), (c.integer(1, 3), k, m)))
            if len(shape) == 2 and len(other_shape) == 2:
                return None  # that is the 2d variant
            if len(shape) >= 3 and len(other_shape) == 3 and shape[0] != other_shape[0]:
                other_shape = (1, k, m)
        other = self.new_input(other_shape)
        y = self.tracked[other]
        value = np.matmul(x.value, y.value)
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > self.bound:
            return None
        error = (
            np.matmul(np.abs(x.value), y.error)
            + np.matmul(x.error, np.abs(y.value))
            + ROUNDING * k * np.matmul(np.abs(x.value), np.abs(y.value))
        )
        return (a, other), {}, _TrackedArray(value, error)


def _transpose_axes(c: Chooser, ndim: int) -> tuple[int, ...] | None:
    """None (reverse), any permutation, and often a cyclic shift: a permutation that is not
    its own inverse, where a gradient that forgets to invert it goes wrong."""
    form = c.integer(0, 2 if ndim >= 3 else 1)
    if form == 0:
        return None
    if form == 2:
        return tuple(int(a) for a in np.roll(np.arange(ndim), c.choice((1, -1))))
    left = list(range(ndim))
    return tuple(left.pop(c.integer(0, len(left) - 1)) for _ in range(ndim))


def _map(x: _TrackedArray, f: Callable[[np.ndarray], np.ndarray]) -> _TrackedArray:
    """A rearranging op (reshape, transpose, index): exact, errors move with the values."""
    return _TrackedArray(np.asarray(f(x.value)), np.asarray(f(x.error)))


def _broadcasts(s: tuple[int, ...], t: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(s, t)
    except ValueError:
        return False
    return True


def _elementwise(op, x, y, const, side, bound) -> _TrackedArray | None:
    """Elementwise op with the scalar rules of `scalar_step` applied to every element."""
    if y is not None:
        columns = np.broadcast_arrays(x.value, x.error, y.value, y.error)
        results = [
            scalar_step(op, Tracked(p, pe), Tracked(q, qe), None, None, bound)
            for p, pe, q, qe in zip(*(c.ravel().tolist() for c in columns), strict=True)
        ]
    else:
        columns = np.broadcast_arrays(
            x.value, x.error, np.asarray(0.0 if const is None else const, np.float64)
        )
        results = [
            scalar_step(op, Tracked(p, pe), None, None if const is None else k, side, bound)
            for p, pe, k in zip(*(c.ravel().tolist() for c in columns), strict=True)
        ]
    shape = columns[0].shape
    if any(r is None for r in results):
        return None
    return _TrackedArray(
        np.array([r.value for r in results]).reshape(shape),
        np.array([r.error for r in results]).reshape(shape),
    )


def _reduction_step(c: Chooser, op: str, variant: str | None, a: int, x: _TrackedArray):
    shape = x.value.shape
    ndim = len(shape)
    axis: Any = None
    if variant == "tuple":
        if ndim < 1:
            return None
        left = list(range(ndim))
        chosen = [left.pop(c.integer(0, len(left) - 1)) for _ in range(c.integer(1, ndim))]
        axis = tuple(ax - ndim if c.boolean() else ax for ax in chosen)
    elif ndim and c.boolean():
        axis = c.integer(-ndim, ndim - 1)
    keepdims = c.boolean()
    value = {"sum": np.sum, "mean": np.mean, "max": np.max}[op](
        x.value, axis=axis, keepdims=keepdims
    )
    if op == "mean":
        count = x.value.size // max(value.size, 1)
        error = np.sum(x.error, axis=axis, keepdims=keepdims) / count + ROUNDING * np.abs(value)
        error = error + ROUNDING * np.sum(np.abs(x.value), axis=axis, keepdims=keepdims)
    elif op == "sum":
        count = x.value.size // max(np.asarray(value).size, 1)
        error = np.sum(x.error, axis=axis, keepdims=keepdims) + ROUNDING * count * np.sum(
            np.abs(x.value), axis=axis, keepdims=keepdims
        )
    else:
        if not _unique_maximum(x, axis):
            return None  # ties are a property of their own (any valid split is allowed)
        error = np.max(x.error, axis=axis, keepdims=keepdims)
    return (a,), {"axis": axis, "keepdims": keepdims}, _TrackedArray(np.asarray(value), error)


def _unique_maximum(x: _TrackedArray, axis) -> bool:
    """The maximum of every reduced group beats the runner-up by a margin."""
    value = np.asarray(x.value)
    axes = tuple(range(value.ndim)) if axis is None else np.atleast_1d(axis).tolist()
    axes = tuple(ax % value.ndim for ax in axes) if value.ndim else ()
    moved = np.moveaxis(value, axes, tuple(range(-len(axes), 0))) if axes else value[..., None]
    groups = moved.reshape(*moved.shape[: moved.ndim - len(axes)], -1) if axes else moved
    if groups.shape[-1] < 2:
        return True
    top2 = np.sort(groups, axis=-1)[..., -2:]
    gap = top2[..., 1] - top2[..., 0]
    return bool(np.all(gap > MARGIN * (np.max(x.error) + ROUNDING * np.max(np.abs(value)))))


def _reshapes(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shapes with the same number of elements: flat, split in two, with unit axes. Never
    0-d: the spec calls ``reshape(*ints)``, and with no ints at all, ``t.reshape()`` and
    ``t.reshape(())`` are each refused by engines that follow it."""
    size = math.prod(shape)
    options = {(size,), (1, size), (size, 1), tuple(reversed(shape)) or (1,)}
    options.update((d, size // d) for d in range(2, size) if size % d == 0)
    return sorted(options, key=lambda s: (len(s), s))


def _softmax(op: str, x: _TrackedArray, axis: int) -> _TrackedArray:
    shifted = x.value - np.max(x.value, axis=axis, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    spread = 2 * np.max(x.error, axis=axis, keepdims=True) + ROUNDING * (
        1 + np.max(np.abs(x.value), axis=axis, keepdims=True)
    )
    if op == "softmax":
        p = np.exp(log_p)
        return _TrackedArray(p, p * spread + ROUNDING * p)
    return _TrackedArray(log_p, spread + ROUNDING * np.abs(log_p))


def _indices(c: Chooser, shape: tuple[int, ...]) -> tuple:
    """An index for the leading axes: ints, slices and integer arrays with repeats."""
    n_items = c.integer(1, min(2, len(shape)))
    items: list[Any] = []
    array_length = c.integer(1, 5)
    repeat = c.boolean()  # a repeated index must add its gradient twice
    for d in shape[:n_items]:
        kind = c.choice(("int", "slice", "array"))
        if kind == "int":
            items.append(c.integer(-d, d - 1))
        elif kind == "slice":
            start = c.integer(-d, d - 1) if c.boolean() else None
            stop = c.integer(-d, d) if c.boolean() else None
            step = c.choice((1, 2, -1, -2)) if c.boolean() else None
            if len(range(d)[slice(start, stop, step)]) == 0:
                start, stop, step = None, None, None
            items.append(slice(start, stop, step))
        else:
            values = [c.integer(-d, d - 1) for _ in range(array_length)]
            if repeat:  # the first index again, counted from the other end
                values.append(values[0] - d if values[0] >= 0 else values[0])
            items.append(np.array(values, dtype=np.int64))
    return tuple(items)
