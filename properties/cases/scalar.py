"""Random scalar expression graphs (as oracle IR) and the deep chains.

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

import numpy as np
from hypothesis import strategies as st

from oracle.ir import BINARY_OPS, SCALAR, UNARY_OPS, GraphBuilder, Node
from properties.cases.chooser import Chooser, DrawChooser
from properties.cases.common import ARITHMETIC, UPSTREAM, Case, choose_outputs, pick_operand

BOUND = 1e100  # every node's value is 0 or between 1/BOUND and BOUND in size
MARGIN = 1e6  # kinks and poles: |x| > MARGIN * (x's rounding error bound)
ROUNDING = 4e-16  # rounding error bound added per operation, relative to the result


# One menu entry: (op, constant side or None). Constants: "right" is x + c, "left" c + x.
SCALAR_MENU: tuple[tuple[str, str | None], ...] = (
    *((op, side) for op in ARITHMETIC for side in (None, "right", "left")),
    ("pow", "right"),
    ("pow", "left"),
    ("pow", None),
    *((op, None) for op in UNARY_OPS),
)


def _menu_capability(op: str, side: str | None) -> str:
    """The capability an entry needs, as the IR names it (one-node probe graph)."""
    b = GraphBuilder(SCALAR)
    x = b.input("x")
    if op in BINARY_OPS:
        last = b.op(op, x, const=2, side=side) if side else b.op(op, x, b.input("y"))
    else:
        last = b.op(op, x)
    return b.build([last]).capability(last)


SCALAR_CAPABILITY = {entry: _menu_capability(*entry) for entry in SCALAR_MENU}


def scalar_menu(capabilities: Collection[str]) -> list[tuple[str, str | None]]:
    """The menu entries a target with `capabilities` can run."""
    return [entry for entry, needs in SCALAR_CAPABILITY.items() if needs in capabilities]


def menu_of_ops(
    ops: Collection[str], capabilities: Collection[str] | None = None
) -> list[tuple[str, str | None]]:
    """The menu entries of `ops` (every form of each) a target with `capabilities` can run
    (all of them when `capabilities` is None)."""
    return [
        entry
        for entry, needs in SCALAR_CAPABILITY.items()
        if entry[0] in ops and (capabilities is None or needs in capabilities)
    ]


# -- numbers, as choices (`properties.cases.chooser`) ---------------------------------

SIGNS = (1.0, -1.0)
EXPONENT_CHOICES = (2, 3, -1, -2, 0, 1, 0.5, 1.5, -0.5)


def log_magnitude(c: Chooser) -> float:
    """A signed number whose size spans 1e-3 to 1e3 (simplest: 1.0)."""
    return c.choice(SIGNS) * 10.0 ** c.uniform(-3.0, 3.0)


def moderate(c: Chooser) -> float:
    """A signed number of size 0.2 to 2 (the seeded graphs' inputs: pictures stay legible)."""
    return c.choice(SIGNS) * c.uniform(0.2, 2.0)


def scalar_constant(c: Chooser, op: str, side: str) -> float | int:
    """The constant of ``x op c`` (`side` "right") or ``c op x`` ("left"): an exponent, a
    positive base, or an int from -5 to 5 or a float of size 1e-6 to 10."""
    if op == "pow":
        if side == "left":
            return c.uniform(0.1, 10.0)
        if not c.boolean():
            return c.choice(EXPONENT_CHOICES)
        return float(np.float32(c.uniform(-3.0, 3.0)))  # a short float
    if not c.boolean():
        return c.integer(-5, 5)
    return c.choice(SIGNS) * c.uniform(1e-6, 10.0)


@dataclass
class Tracked:
    value: float
    error: float  # rough bound on |computed - exact| from rounding


def scalar_step(
    op: str,
    a: Tracked,
    b: Tracked | None,
    c: float | None,
    side: str | None,
    bound: float = BOUND,
) -> Tracked | None:
    """The new node's value and error bound, or None where the op is not safe here: the
    safety model of every generated graph (scalar and, entry by entry, tensor; drawn by
    Hypothesis or seeded), with values kept 0 or between 1/`bound` and `bound` in size."""
    x = a.value
    if op in ARITHMETIC:
        left, right = (
            (a, b)
            if b is not None
            else ((Tracked(c, 0.0), a) if side == "left" else (a, Tracked(c, 0.0)))
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
        return _result(r, err, bound)
    if op == "pow":
        if b is not None:  # x ** y
            if not _clear_of_zero(a) or x < 0:
                return None
            r = _safe(lambda: x**b.value)
            if r is None:
                return None
            err = abs(b.value * r / x) * a.error + abs(r * math.log(x)) * b.error
            return _result(r, err, bound)
        if side == "left":  # c ** x with c > 0
            r = _safe(lambda: c**x)
            return None if r is None else _result(r, abs(r * math.log(c)) * a.error, bound)
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
        return _result(r, slope * a.error, bound)
    if op == "neg":
        return _result(-x, a.error, bound)
    if op == "relu":
        return _result(max(x, 0.0), a.error, bound) if _clear_of_zero(a) else None
    if op == "tanh":
        t = math.tanh(x)
        return _result(t, (1 - t * t) * a.error, bound)
    if op == "sigmoid":
        s = 0.5 * (1 + math.tanh(x / 2))
        return _result(s, s * (1 - s) * a.error, bound)
    if op == "exp":
        r = _safe(lambda: math.exp(x))
        return None if r is None else _result(r, r * a.error, bound)
    if op == "log":
        if x <= 0 or not _clear_of_zero(a):
            return None
        return _result(math.log(x), a.error / x, bound)
    raise ValueError(f"unknown op {op!r}")


def _clear_of_zero(t: Tracked) -> bool:
    return abs(t.value) > MARGIN * t.error and abs(t.value) > 1e-100


def _safe(f: Callable[[], float]) -> float | None:
    try:
        r = f()
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return r if isinstance(r, float | int) else None


def _result(r: float, err: float, bound: float) -> Tracked | None:
    r = float(r)
    tiny = r != 0 and abs(r) < 1 / BOUND
    if not math.isfinite(r) or abs(r) > bound or tiny or not math.isfinite(err):
        return None  # JAX on the CPU flushes subnormal numbers to zero: stay far from them
    return Tracked(r, err + ROUNDING * abs(r))


ATTEMPTS = 10_000  # draws for one node of an `exact` growth before its menu is declared unusable


def grow_scalar(
    c: Chooser,
    menu: Sequence[tuple[str, str | None]],
    n_inputs: int,
    n_ops: int,
    input_value: Callable[[Chooser], float] = log_magnitude,
    exact: bool = False,
    bound: float = BOUND,
) -> tuple[GraphBuilder, dict[str, float]]:
    """Inputs ``x0, x1, ...`` then op nodes over the `menu` entries, each kept only where
    `scalar_step` finds it safe; operands favour the newest nodes (`pick_operand`).

    `n_ops` draws, an unsafe one skipped (the properties: a case shrinks by dropping
    draws); with `exact`, `n_ops` nodes exactly, each drawn again until one is safe
    (ValueError after `ATTEMPTS` draws: the menu has no node safe here)."""
    b = GraphBuilder(SCALAR)
    tracked: list[Tracked] = []
    inputs: dict[str, float] = {}
    for i in range(n_inputs):
        name = f"x{i}"
        b.input(name)
        inputs[name] = input_value(c)
        tracked.append(Tracked(inputs[name], 0.0))
    for _ in range(n_ops):
        for _ in range(ATTEMPTS if exact else 1):
            op, side = c.choice(menu)
            a = pick_operand(c, len(tracked))
            other = pick_operand(c, len(tracked)) if side is None and op in BINARY_OPS else None
            const = None if side is None else scalar_constant(c, op, side)
            new = scalar_step(
                op, tracked[a], None if other is None else tracked[other], const, side, bound
            )
            if new is not None:
                break
        else:
            if exact:
                raise ValueError(f"no node of the menu {list(menu)} is safe here")
            continue  # not defined here with a margin: skip this draw
        # made as `GraphBuilder.op` would (the constant is a Python int or float already)
        if other is not None:
            b.nodes.append(Node(op, (a, other), {}))
        elif const is not None:
            b.nodes.append(Node(op, (a,), {"const": const, "side": side}))
        else:
            b.nodes.append(Node(op, (a,), {}))
        tracked.append(new)
    return b, inputs


@st.composite
def scalar_cases(
    draw: st.DrawFn,
    menu: Sequence[tuple[str, str | None]],
    max_ops: int = 30,
    max_inputs: int = 4,
) -> Case:
    """A random scalar DAG over the `menu` entries, with inputs and upstream gradients."""
    c = DrawChooser(draw)
    n_inputs = c.integer(1, max_inputs)
    b, inputs = grow_scalar(c, tuple(menu), n_inputs, c.integer(1, max_ops))
    outputs = choose_outputs(c, b.nodes)
    upstream = tuple(draw(UPSTREAM) for _ in outputs)
    return Case(b.build(outputs), inputs, upstream)


# -- deep chains ---------------------------------------------------------------------

CHAIN_OPS = (("add", "right"), ("mul", "right"), ("sub", "left"), ("neg", None), ("sigmoid", None))


ARITHMETIC_CHAIN_OPS = (("add", "right"), ("sub", "left"), ("mul", "right"))


@st.composite
def deep_chain_cases(
    draw: st.DrawFn,
    capabilities: Collection[str],
    min_depth: int = 10_000,
    arithmetic: bool = False,
) -> Case:
    """A chain thousands of nodes deep: a short random pattern of smooth ops repeated,
    each repetition squashed back into [-1, 1] (by tanh, or by halving where the
    target has no tanh), so values and gradients stay finite at any depth.

    With `arithmetic`, only ``n + c``, ``c - n`` and ``n * (+-1)``, unsquashed (the value
    wanders by at most the sum of the constants, the gradient is +-1): a chain whose
    only demand is depth, so a broken tanh cannot stand in for a RecursionError."""
    if arithmetic:
        return _arithmetic_chain(draw, capabilities, min_depth)
    menu = [e for e in CHAIN_OPS if SCALAR_CAPABILITY[e] in capabilities]
    pattern = draw(st.lists(st.sampled_from(menu), min_size=1, max_size=4))
    squash = ("tanh", None) if "Value.tanh" in capabilities else ("mul", "right")
    constants = [
        draw(st.floats(-1.5, 1.5, allow_subnormal=False).filter(lambda c: abs(c) > 1e-3))
        for _ in pattern
    ]
    repeats = -(-min_depth // (len(pattern) + 1))
    b = GraphBuilder(SCALAR)
    node = b.input("x0")
    for _ in range(repeats):
        for (op, side), c in zip(pattern, constants, strict=True):
            node = b.op(op, node, const=c, side=side) if side else b.op(op, node)
        node = b.op("tanh", node) if squash[1] is None else b.op("mul", node, const=0.5)
    x0 = draw(st.floats(-2.0, 2.0, allow_subnormal=False).filter(lambda x: abs(x) > 1e-3))
    return Case(b.build([node]), {"x0": x0}, (draw(UPSTREAM),))


def _arithmetic_chain(draw: st.DrawFn, capabilities: Collection[str], min_depth: int) -> Case:
    menu = [e for e in ARITHMETIC_CHAIN_OPS if SCALAR_CAPABILITY[e] in capabilities]
    pattern = draw(st.lists(st.sampled_from(menu), min_size=1, max_size=4))
    constants = [
        draw(st.sampled_from([-1.0, 1.0]))
        if op == "mul"
        else draw(st.floats(-1.5, 1.5, allow_subnormal=False).filter(lambda c: abs(c) > 1e-3))
        for op, _ in pattern
    ]
    b = GraphBuilder(SCALAR)
    node = b.input("x0")
    for _ in range(-(-min_depth // len(pattern))):
        for (op, side), c in zip(pattern, constants, strict=True):
            node = b.op(op, node, const=c, side=side)
    x0 = draw(st.floats(-2.0, 2.0, allow_subnormal=False).filter(lambda x: abs(x) > 1e-3))
    return Case(b.build([node]), {"x0": x0}, (draw(UPSTREAM),))
