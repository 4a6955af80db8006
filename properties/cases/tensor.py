"""Random tensor expression graphs (as oracle IR) with broadcastable shapes, tracked like
the scalar ones: every op stays clear of its kinks and poles by a margin of its rounding."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.ir import BINARY_OPS, REDUCTIONS, TENSOR, UNARY_OPS, GraphBuilder
from properties.cases.common import (
    ARITHMETIC,
    UPSTREAM,
    Case,
    arrays_of,
    draw_outputs,
    magnitudes,
    one_of_these,
    operand_picker,
)
from properties.cases.scalar import (
    BOUND,
    EXPONENTS,
    MARGIN,
    POSITIVE_BASES,
    ROUNDING,
    SCALAR_CONSTANTS,
    Tracked,
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


@st.composite
def tensor_cases(
    draw: st.DrawFn,
    menu: Sequence[tuple[str, str | None]],
    max_ops: int = 12,
    max_inputs: int = 4,
    shapes: st.SearchStrategy[tuple[int, ...]] = SHAPES,
) -> Case:
    """A random tensor DAG over the `menu` entries, with inputs and upstream gradients."""
    b = GraphBuilder(TENSOR)
    tracked: list[_TrackedArray] = []
    inputs: dict[str, np.ndarray] = {}

    def new_input(shape: tuple[int, ...], positive: bool = False) -> int:
        name = f"x{len(inputs)}"
        elements = magnitudes().map(abs) if positive else magnitudes()
        inputs[name] = draw(arrays_of(shape, elements))
        tracked.append(_TrackedArray(inputs[name], np.zeros(shape)))
        return b.input(name, shape)

    new_input(draw(shapes))
    pick = operand_picker(draw)
    for _ in range(draw(st.integers(1, max_ops))):
        op, variant = draw(one_of_these(tuple(menu)))
        a = pick(len(tracked))
        built = _tensor_step(draw, op, variant, a, tracked, new_input, len(inputs) < max_inputs)
        if built is None:
            continue
        args, attrs, new = built
        if op in BINARY_OPS and variant:
            attrs = {**attrs, "side": variant}
        b.op(op, *args, **attrs)
        tracked.append(new)
    outputs = draw_outputs(draw, b.nodes)
    upstream = tuple(draw(arrays_of(tracked[o].value.shape, UPSTREAM)) for o in outputs)
    return Case(b.build(outputs), inputs, upstream)


def _tensor_step(draw, op, variant, a, tracked, new_input, may_add_input):
    """(args, attrs, tracked result) of one tensor op on node `a`, or None where unsafe."""
    x = tracked[a]
    shape = x.value.shape
    if op in BINARY_OPS:
        if variant is None:
            other = _broadcast_partner(draw, a, tracked, new_input, may_add_input)
            if other is None:
                return None
            new = _elementwise(op, x, tracked[other], None, None)
            return None if new is None else ((a, other), {}, new)
        const = _draw_tensor_constant(draw, op, variant, shape)
        new = _elementwise(op, x, None, const, variant)
        return None if new is None else ((a,), {"const": const}, new)
    if op in ("neg", "relu", "tanh", "exp", "log", "sigmoid"):
        new = _elementwise(op, x, None, None, None)
        if new is None and op == "log" and may_add_input:  # log of a fresh positive input
            fresh = new_input(shape, positive=True)
            new = _elementwise(op, tracked[fresh], None, None, None)
            return None if new is None else ((fresh,), {}, new)
        return None if new is None else ((a,), {}, new)
    if op == "matmul":
        return _matmul_step(draw, variant, a, tracked, new_input, may_add_input)
    if op in REDUCTIONS:
        return _reduction_step(draw, op, variant, a, x)
    if op == "reshape":
        new_shape = draw(one_of_these(tuple(_reshapes(shape))))
        return (a,), {"shape": new_shape}, _map(x, lambda v: v.reshape(new_shape))
    if op == "transpose":
        axes = draw(_transpose_axes(len(shape)))
        return (a,), {"axes": axes}, _map(x, lambda v: np.transpose(v, axes))
    if op == "T":
        return (a,), {}, _map(x, lambda v: v.T)
    if op in ("softmax", "log_softmax"):
        if not shape:
            return None
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        return (a,), {"axis": axis}, _softmax(op, x, axis)
    if op == "index":
        if not shape:
            return None
        index = draw(_indices(shape))
        return (a,), {"index": index}, _map(x, lambda v: v[index])
    raise ValueError(f"unknown op {op!r}")


def _transpose_axes(ndim: int) -> st.SearchStrategy[tuple[int, ...] | None]:
    """None (reverse), any permutation, and often a cyclic shift: a permutation that is not
    its own inverse, where a gradient that forgets to invert it goes wrong."""
    options = [st.none(), st.permutations(range(ndim)).map(tuple)]
    if ndim >= 3:
        shifts = [tuple(int(a) for a in np.roll(np.arange(ndim), k)) for k in (1, -1)]
        options.append(st.sampled_from(shifts))
    return st.one_of(*options)


def _map(x: _TrackedArray, f: Callable[[np.ndarray], np.ndarray]) -> _TrackedArray:
    """A rearranging op (reshape, transpose, index): exact, errors move with the values."""
    return _TrackedArray(np.asarray(f(x.value)), np.asarray(f(x.error)))


def _broadcast_partner(draw, a, tracked, new_input, may_add_input) -> int | None:
    """An earlier node whose shape broadcasts with node `a`'s, or a new input that does."""
    shape = tracked[a].value.shape
    fits = [i for i, t in enumerate(tracked) if _broadcasts(shape, t.value.shape)]
    if may_add_input and draw(st.booleans()):
        other_shape = draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=3, max_side=4))
        return new_input(other_shape)
    return fits[len(fits) - 1 - draw(st.integers(0, len(fits) - 1))]


def _broadcasts(s: tuple[int, ...], t: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(s, t)
    except ValueError:
        return False
    return True


def _draw_tensor_constant(draw, op, side, shape) -> Any:
    if op == "pow":
        return draw(EXPONENTS) if side == "right" else draw(POSITIVE_BASES)
    if draw(st.booleans()):
        return draw(SCALAR_CONSTANTS)
    const_shape = draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=2, max_side=4))
    return draw(arrays_of(const_shape, magnitudes(-3.0, 1.0)))


def _elementwise(op, x, y, const, side) -> _TrackedArray | None:
    """Elementwise op with the scalar rules of `_step` applied to every element."""
    if y is not None:
        columns = np.broadcast_arrays(x.value, x.error, y.value, y.error)
        results = [
            scalar_step(op, Tracked(p, pe), Tracked(q, qe), None, None)
            for p, pe, q, qe in zip(*(c.ravel().tolist() for c in columns), strict=True)
        ]
    else:
        columns = np.broadcast_arrays(
            x.value, x.error, np.asarray(0.0 if const is None else const, np.float64)
        )
        results = [
            scalar_step(op, Tracked(p, pe), None, None if const is None else k, side)
            for p, pe, k in zip(*(c.ravel().tolist() for c in columns), strict=True)
        ]
    shape = columns[0].shape
    if any(r is None for r in results):
        return None
    return _TrackedArray(
        np.array([r.value for r in results]).reshape(shape),
        np.array([r.error for r in results]).reshape(shape),
    )


def _matmul_step(draw, variant, a, tracked, new_input, may_add_input):
    x = tracked[a]
    shape = x.value.shape
    if not may_add_input or not shape:
        return None
    k = shape[-1]
    m = draw(st.integers(1, 4))
    if variant == "2d":
        if len(shape) != 2:
            return None
        other_shape = (k, m)
    else:
        options = [(k,), (k, m), (draw(st.integers(1, 3)), k, m)]
        other_shape = draw(st.sampled_from(options))
        if len(shape) == 2 and len(other_shape) == 2:
            return None  # that is the 2d variant
        if len(shape) >= 3 and len(other_shape) == 3 and shape[0] != other_shape[0]:
            other_shape = (1, k, m)
    other = new_input(other_shape)
    y = tracked[other]
    value = np.matmul(x.value, y.value)
    if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > BOUND:
        return None
    error = (
        np.matmul(np.abs(x.value), y.error)
        + np.matmul(x.error, np.abs(y.value))
        + ROUNDING * k * np.matmul(np.abs(x.value), np.abs(y.value))
    )
    return (a, other), {}, _TrackedArray(value, error)


def _reduction_step(draw, op, variant, a, x):
    shape = x.value.shape
    ndim = len(shape)
    if variant == "tuple":
        if ndim < 1:
            return None
        chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(ax - ndim if draw(st.booleans()) else ax for ax in chosen)
    else:
        axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1))) if ndim else None
    keepdims = draw(st.booleans())
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


@st.composite
def _indices(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple:
    """An index for the leading axes: ints, slices and integer arrays with repeats."""
    n_items = draw(st.integers(1, min(2, len(shape))))
    items: list[Any] = []
    array_length = draw(st.integers(1, 5))
    repeat = draw(st.booleans())  # a repeated index must add its gradient twice
    for d in shape[:n_items]:
        kind = draw(st.sampled_from(["int", "slice", "array"]))
        if kind == "int":
            items.append(draw(st.integers(-d, d - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-d, d - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-d, d)))
            step = draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, -2])))
            if len(range(d)[slice(start, stop, step)]) == 0:
                start, stop, step = None, None, None
            items.append(slice(start, stop, step))
        else:
            values = draw(
                st.lists(st.integers(-d, d - 1), min_size=array_length, max_size=array_length)
            )
            if repeat:  # the first index again, counted from the other end
                values.append(values[0] - d if values[0] >= 0 else values[0])
            items.append(np.array(values, dtype=np.int64))
    return tuple(items)
