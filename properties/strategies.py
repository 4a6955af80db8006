"""Hypothesis strategies: random expression graphs (as oracle IR), their inputs and
upstream gradients, optimizer configurations, networks and datasets.

Scalar graphs are built node by node while the strategy tracks each node's value and
a rough bound on its rounding error. An operation is only chosen where it is defined
with a margin: ``log``, a fractional power and a divisor stay well above their rounding
error from 0, ``relu`` stays away from its kink, and no value leaves ±1e100, so two
correct engines cannot land on different sides of a kink or a pole. Operands favour
recent nodes (long paths) and reuse earlier ones (fan-out, ``x * x``, diamonds).
Everything shrinks toward few nodes, small inputs and the first operand choices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from oracle.ir import SCALAR, Graph, GraphBuilder

BOUND = 1e100  # no node's value leaves [-BOUND, BOUND]
MARGIN = 1e6  # kinks and poles: |x| > MARGIN * (x's rounding error bound)
ROUNDING = 4e-16  # rounding error bound added per operation, relative to the result


@dataclass(frozen=True)
class Case:
    """A graph, its input values by name and the upstream gradient of each output."""

    graph: Graph
    inputs: dict[str, Any]
    upstream: tuple[Any, ...]


# One menu entry: (op, constant side or None). Constants: "right" is x + c, "left" c + x.
SCALAR_MENU: tuple[tuple[str, str | None], ...] = (
    *((op, side) for op in ("add", "sub", "mul", "div") for side in (None, "right", "left")),
    ("pow", "right"),
    ("pow", "left"),
    ("pow", None),
    *((op, None) for op in ("neg", "relu", "tanh", "exp", "log", "sigmoid")),
)


def _menu_capability(op: str, side: str | None) -> str:
    """The capability an entry needs, as the IR names it (one-node probe graph)."""
    b = GraphBuilder(SCALAR)
    x = b.input("x")
    if op in ("add", "sub", "mul", "div", "pow"):
        last = b.op(op, x, const=2, side=side) if side else b.op(op, x, b.input("y"))
    else:
        last = b.op(op, x)
    return b.build([last]).capability(last)


SCALAR_CAPABILITY = {entry: _menu_capability(*entry) for entry in SCALAR_MENU}


def scalar_menu(capabilities: Collection[str]) -> list[tuple[str, str | None]]:
    """The menu entries a target with `capabilities` can run."""
    return [entry for entry, needs in SCALAR_CAPABILITY.items() if needs in capabilities]


def magnitudes(low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[float]:
    """Signed numbers whose size spans 10**low to 10**high (shrinks toward 1.0)."""
    return st.builds(
        lambda sign, exponent: sign * 10.0**exponent,
        st.sampled_from([1.0, -1.0]),
        st.floats(low, high),
    )


SCALAR_CONSTANTS = st.one_of(st.integers(-5, 5), st.floats(-10.0, 10.0).map(lambda c: c or 1.5))
EXPONENTS = st.one_of(
    st.sampled_from([2, 3, -1, -2, 0, 1, 0.5, 1.5, -0.5]), st.floats(-3.0, 3.0, width=32)
)
POSITIVE_BASES = st.floats(0.1, 10.0)
UPSTREAM = st.one_of(st.floats(-2.0, 2.0), st.sampled_from([0.0, 1.0, -1.0]))


@dataclass
class _Tracked:
    value: float
    error: float  # rough bound on |computed - exact| from rounding


def _step(op: str, a: _Tracked, b: _Tracked | None, c: float | None, side: str | None):
    """The new node's value and error bound, or None where the op is not safe here."""
    x = a.value
    if op in ("add", "sub", "mul", "div"):
        left, right = (
            (a, b)
            if b is not None
            else ((_Tracked(c, 0.0), a) if side == "left" else (a, _Tracked(c, 0.0)))
        )
        p, q = left.value, right.value
        if op == "add":
            r, err = p + q, left.error + right.error
        elif op == "sub":
            r, err = p - q, left.error + right.error
        elif op == "mul":
            r, err = p * q, abs(q) * left.error + abs(p) * right.error
        else:
            if not _clear_of_zero(right):
                return None
            r = p / q
            err = (left.error + abs(r) * right.error) / abs(q)
        return _result(r, err)
    if op == "pow":
        if b is not None:  # x ** y
            if not _clear_of_zero(a) or x < 0:
                return None
            r = _safe(lambda: x**b.value)
            if r is None:
                return None
            return _result(r, abs(b.value * r / x) * a.error + abs(r * math.log(x)) * b.error)
        if side == "left":  # c ** x with c > 0
            r = _safe(lambda: c**x)
            return None if r is None else _result(r, abs(r * math.log(c)) * a.error)
        p = c
        integral = float(p).is_integer()
        if ((not integral) or p <= 0) and not _clear_of_zero(a):
            return None  # a pole, a branch point, or 0 ** 0
        if not integral and x < 0:
            return None  # not real
        r = _safe(lambda: x**p)
        if r is None or isinstance(r, complex):
            return None
        slope = 0.0 if p == 0 else abs(p * r / x) if x != 0 else 0.0
        return _result(r, slope * a.error)
    if op == "neg":
        return _result(-x, a.error)
    if op == "relu":
        return _result(max(x, 0.0), a.error) if _clear_of_zero(a) else None
    if op == "tanh":
        t = math.tanh(x)
        return _result(t, (1 - t * t) * a.error)
    if op == "sigmoid":
        s = 0.5 * (1 + math.tanh(x / 2))
        return _result(s, s * (1 - s) * a.error)
    if op == "exp":
        r = _safe(lambda: math.exp(x))
        return None if r is None else _result(r, r * a.error)
    if op == "log":
        if x <= 0 or not _clear_of_zero(a):
            return None
        return _result(math.log(x), a.error / x)
    raise ValueError(f"unknown op {op!r}")


def _clear_of_zero(t: _Tracked) -> bool:
    return abs(t.value) > MARGIN * t.error and abs(t.value) > 1e-100


def _safe(f: Callable[[], float]) -> float | None:
    try:
        r = f()
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return r if isinstance(r, float | int) else None


def _result(r: float, err: float) -> _Tracked | None:
    r = float(r)
    if not math.isfinite(r) or abs(r) > BOUND or not math.isfinite(err):
        return None
    return _Tracked(r, err + ROUNDING * abs(r))


@st.composite
def scalar_cases(
    draw: st.DrawFn,
    menu: Sequence[tuple[str, str | None]],
    max_ops: int = 30,
    max_inputs: int = 4,
    input_magnitudes: st.SearchStrategy[float] | None = None,
) -> Case:
    """A random scalar DAG over the `menu` entries, with inputs and upstream gradients."""
    b = GraphBuilder(SCALAR)
    tracked: list[_Tracked] = []
    inputs: dict[str, float] = {}
    for i in range(draw(st.integers(1, max_inputs))):
        name = f"x{i}"
        b.input(name)
        inputs[name] = draw(input_magnitudes or magnitudes())
        tracked.append(_Tracked(inputs[name], 0.0))
    pick = _operand_picker(draw)
    for _ in range(draw(st.integers(1, max_ops))):
        op, side = draw(st.sampled_from(menu))
        a = pick(len(tracked))
        other = (
            pick(len(tracked))
            if side is None and op in ("add", "sub", "mul", "div", "pow")
            else None
        )
        const = _draw_constant(draw, op, side)
        new = _step(op, tracked[a], tracked[other] if other is not None else None, const, side)
        if new is None:
            continue  # not defined here with a margin: skip this draw
        if other is not None:
            b.op(op, a, other)
        elif const is not None:
            b.op(op, a, const=const, side=side)
        else:
            b.op(op, a)
        tracked.append(new)
    outputs = _draw_outputs(draw, len(tracked), len(inputs))
    upstream = tuple(draw(UPSTREAM) for _ in outputs)
    return Case(b.build(outputs), inputs, upstream)


def _operand_picker(draw: st.DrawFn) -> Callable[[int], int]:
    """Operand choice: counted back from the newest node, so shrinking makes chains."""

    def pick(n: int) -> int:
        return n - 1 - draw(st.integers(0, n - 1))

    return pick


def _draw_constant(draw: st.DrawFn, op: str, side: str | None) -> float | int | None:
    if side is None:
        return None
    if op == "pow":
        return draw(EXPONENTS) if side == "right" else draw(POSITIVE_BASES)
    return draw(SCALAR_CONSTANTS)


def _draw_outputs(draw: st.DrawFn, n_nodes: int, n_inputs: int) -> list[int]:
    """The last node, and sometimes one more (two outputs sharing interior nodes)."""
    outputs = [n_nodes - 1]
    if n_nodes - 1 > n_inputs and draw(st.booleans()):
        extra = draw(st.integers(n_inputs, n_nodes - 2))
        outputs.append(extra)
    return outputs
