"""The catalogue of wrong local rules of one operation, and the probes that tell them apart.

Each entry is a hypothesis derived from the op's correct rule by a mistake people make:
the sign of a partial flipped; a partial dropped; a constant factor lost (or gained); the
input used where the output belongs (or the reverse); a square or a factor missing; the
upstream gradient ignored, or only its sign used; a reflected operator's operands
swapped; `log(base)` missing; `=` where `+=` belongs. The probes run the op alone on
chosen inputs: its backward directly (upstream 1), weighted by an upstream gradient
(``out * u``), and with gradients already in the leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from properties.diagnosis.judge import Finding, Hypothesis, judge
from properties.diagnosis.simulate import (
    BINARY,
    Node,
    Probe,
    Rule,
    World,
    changed,
    correct_rule,
    simulate,
)

SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
# a rule change: (op, a, b, value, da, db) -> (value, da, db)
Change = Callable[[str, Any, Any, Any, Any, Any], tuple[Any, Any, Any]]


@dataclass(frozen=True)
class Key:
    """An op as the suite's menus name it: kind, op, and side (or tensor variant)."""

    kind: str
    op: str
    side: str | None

    @property
    def binary(self) -> bool:
        return self.op in BINARY

    @property
    def leaf_positions(self) -> tuple[int, ...]:
        if not self.binary:
            return (0,)
        return {None: (0, 1), "right": (0,), "left": (1,)}.get(self.side, (0, 1))

    def names(self) -> tuple[str, str]:
        if self.side == "right":
            return "x", "c"
        if self.side == "left":
            return "c", "x"
        if not self.binary:
            return "x", ""
        return ("x", "y") if self.op == "pow" else ("a", "b")

    def expr(self) -> str:
        """``a / b``, ``c - x``, ``x.tanh()``, for the text."""
        a, b = self.names()
        if self.binary:
            return f"{a} {SYMBOL[self.op]} {b}"
        return "-x" if self.op == "neg" else f"x.{self.op}()"


# -- probe points ------------------------------------------------------------------------

POINTS: dict[str, list[tuple[float, float]]] = {
    "arith": [(0.7, -1.3), (2.1, 0.6), (-1.6, 2.4)],
    "pow": [(0.7, 1.5), (1.6, -0.5), (2.3, 2.0)],
    "pow-right": [(0.7, 2.0), (1.6, 3.0), (2.3, -1.5), (1.3, 0.5), (0.0, 0.0), (0.0, 2.5)],
    "pow-left": [(2.0, 0.7), (0.5, -1.3), (3.0, 2.1)],
    "unary": [(0.7, 0.0), (-1.3, 0.0), (2.1, 0.0)],
    "positive": [(0.7, 0.0), (1.6, 0.0), (2.3, 0.0)],
    "relu": [(0.7, 0.0), (-1.3, 0.0), (2.1, 0.0), (0.0, 0.0)],
    # where a formula that is right on paper overflows (exp of 800)
    "tanh": [(0.7, 0.0), (-1.3, 0.0), (2.1, 0.0), (400.0, 0.0), (-400.0, 0.0)],
    "sigmoid": [(0.7, 0.0), (-1.3, 0.0), (2.1, 0.0), (800.0, 0.0), (-800.0, 0.0)],
}
UPSTREAMS = (-1.7, 0.6, -0.3, 2.5)
PRESET = (0.25, -0.5)


def _points(key: Key) -> list[tuple[float, float]]:
    if key.op == "pow":
        return POINTS[f"pow-{key.side}" if key.side else "pow"]
    if key.binary:
        return POINTS["arith"]
    return POINTS.get(key.op, POINTS["positive" if key.op == "log" else "unary"])


def _shape(kind: str, value: float, k: int) -> Any:
    """A scalar probe's number, or for tensors three elements around it."""
    if kind == "scalar":
        return value
    return np.array([value, value * 0.5 + 0.1 * k, value * 1.25])


def _graph(key: Key, a: float, b: float, k: int) -> tuple[tuple[Node, ...], dict[str, Any]]:
    x, y = _shape(key.kind, a, k), _shape(key.kind, b, k)
    attrs = {"name": "x"}
    if not key.binary:
        return (("input", (), attrs), (key.op, (0,), {})), {"x": x}
    if key.side is None:
        nodes = (("input", (), attrs), ("input", (), {"name": "y"}), (key.op, (0, 1), {}))
        return nodes, {"x": x, "y": y}
    c, leaf = (b, x) if key.side == "right" else (a, y)
    return (("input", (), attrs), (key.op, (0,), {"const": float(c), "side": key.side})), {
        "x": leaf
    }


def rule_probes(key: Key) -> list[Probe]:
    """The op alone at each point: backward directly, then weighted by an upstream."""
    probes = []
    for k, (a, b) in enumerate(_points(key)):
        nodes, inputs = _graph(key, a, b, k)
        out = (len(nodes) - 1,)
        if key.kind == "scalar":
            probes.append(Probe(key.kind, nodes, out, inputs, (("backward", 0, None), ("read",))))
        u = UPSTREAMS[k % len(UPSTREAMS)]
        upstream = u if key.kind == "scalar" else _shape("tensor", u, k)
        probes.append(Probe(key.kind, nodes, out, inputs, (("backward", 0, upstream), ("read",))))
    return probes


def preset_probes(key: Key) -> list[Probe]:
    """Gradients already in the leaves, then one backward: they must be added to. Last, a
    control: another op (``a + b``, or ``a * b`` for `add`) with gradients in its leaves,
    which tells this op's ``=`` from a backward() that resets every leaf."""
    control = Key(key.kind, "mul" if key.op == "add" else "add", None)
    probes = []
    for k, (which, (a, b)) in enumerate(
        [*((key, p) for p in _points(key)[:2]), (control, (0.7, -1.3))]
    ):
        nodes, inputs = _graph(which, a, b, k)
        preset = {n: _shape(key.kind, p, k) for n, p in zip(inputs, PRESET, strict=False)}
        script = (("backward", 0, None if key.kind == "scalar" else _shape("tensor", 1.0, k)),)
        probes.append(
            Probe(key.kind, nodes, (len(nodes) - 1,), inputs, (*script, ("read",)), preset)
        )
    return probes


BROADCAST_SHAPES = (((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (2, 1)))


def broadcast_probes(key: Key) -> list[Probe]:
    """Tensor operands of shapes that broadcast: each gradient must be summed back."""
    probes = []
    for k, (sa, sb) in enumerate(BROADCAST_SHAPES):
        a, b = _points(key)[k % len(_points(key))]
        x = a + 0.1 * np.arange(np.prod(sa)).reshape(sa)
        y = b - 0.15 * np.arange(np.prod(sb)).reshape(sb)
        nodes, _ = _graph(key, a, b, k)
        shape = np.broadcast_shapes(sa, sb)
        g = 0.7 - 0.3 * np.arange(np.prod(shape)).reshape(shape)
        probes.append(
            Probe(key.kind, nodes, (2,), {"x": x, "y": y}, (("backward", 0, g), ("read",)))
        )
    return probes


def _reduce_keeping(leading: bool, size_one: bool, mean: bool, keepdims: bool) -> Any:
    """A reduction of broadcast gradients with one of the usual mistakes."""

    def reduce(g: Any, shape: tuple[int, ...]) -> Any:
        g = np.asarray(g, dtype=np.float64)
        while leading and g.ndim > len(shape):
            g = g.mean(axis=0) if mean else g.sum(axis=0)
        for i, n in enumerate(shape):  # axis by axis, as an engine writes it
            if size_one and i < g.ndim and n == 1 and g.shape[i] != 1:
                g = g.sum(axis=i, keepdims=keepdims)
        return g

    return reduce


REDUCTIONS = {
    "leading-kept": (
        "gradients are not summed over the leading axes broadcasting added",
        _reduce_keeping(False, True, False, True),
    ),
    "leading-averaged": (
        "gradients are averaged, not summed, over the leading axes broadcasting added",
        _reduce_keeping(True, True, True, True),
    ),
    "size-one-kept": (
        "gradients are not summed over the size-1 axes that were broadcast "
        "(only over added leading axes)",
        _reduce_keeping(True, False, False, True),
    ),
    "keepdims-dropped": (
        "gradients are summed over broadcast size-1 axes without keepdims, so those axes disappear",
        _reduce_keeping(True, True, False, False),
    ),
}


def judge_broadcast(
    key: Key, rule: RuleHypothesis | None, probes: list[Probe], observed: list[Any]
) -> Finding:
    """The broadcasting question: are gradients summed back to each operand's shape?"""
    hypotheses = [
        _further(
            key,
            rule,
            probes,
            name,
            f"{key.expr()} on Tensors: {text}",
            lambda w, f=f: changed(w, reduce=f),
        )
        for name, (text, f) in REDUCTIONS.items()
    ]
    correct = _further(key, rule, probes, "correct", "sums", lambda w: w)
    return judge(correct, hypotheses, observed)


# -- the rule hypotheses -----------------------------------------------------------------


def _at(pos: int, f: Callable[[Any], Any]) -> Change:
    """Change the partial of operand position `pos` by `f`."""

    def change(op: str, a: Any, b: Any, z: Any, da: Any, db: Any) -> tuple[Any, Any, Any]:
        return (z, f(da), db) if pos == 0 else (z, da, f(db))

    return change


def _partial(pos: int, f: Callable[[Any, Any, Any], Any]) -> Change:
    """Replace the partial of `pos` by ``f(a, b, value)``."""

    def change(op: str, a: Any, b: Any, z: Any, da: Any, db: Any) -> tuple[Any, Any, Any]:
        return (z, f(a, b, z), db) if pos == 0 else (z, da, f(a, b, z))

    return change


def _swapped(op: str, a: Any, b: Any, z: Any, da: Any, db: Any) -> tuple[Any, Any, Any]:
    """``c op x`` computed as ``x op c``: value and x's partial of the swapped form."""
    value, d_first, _ = correct_rule(op, b, a)
    return value, da, d_first


@dataclass(frozen=True)
class RuleHypothesis:
    id: str
    text: str
    change: Change | None = None
    passes: Callable[[Any, Any], Any] | None = None  # (partial, upstream) -> contribution
    or_correct: bool = False  # wrong only at some points: each probe may also be right
    also: Change | None = None  # another form of the same mistake


def rule_hypotheses(key: Key) -> list[RuleHypothesis]:
    """Every wrong rule of the catalogue that applies to `key`."""
    names, expr = key.names(), key.expr()
    d = f"d({expr})/d{{}}"
    out: list[RuleHypothesis] = []
    for p in key.leaf_positions:
        n = names[p]
        out.append(
            RuleHypothesis(f"sign-{n}", f"{d.format(n)} has its sign flipped", _at(p, lambda g: -g))
        )
        out.append(
            RuleHypothesis(f"drop-{n}", f"{expr} passes no gradient to {n}", _at(p, np.zeros_like))
        )
    out.append(
        RuleHypothesis(
            "upstream-ignored",
            f"{expr}'s backward ignores the upstream gradient: it passes on its local "
            "derivative alone (grad += local, not local * out.grad)",
            passes=lambda g, u: g + 0 * u,
        )
    )
    out.append(
        RuleHypothesis(
            "upstream-sign",
            f"{expr}'s backward uses only the sign of the upstream gradient",
            passes=lambda g, u: g * np.sign(u),
        )
    )
    out += _specific(key)
    return out


def _specific(key: Key) -> list[RuleHypothesis]:
    op, side, expr = key.op, key.side, key.expr()
    a, b = key.names()
    h: list[RuleHypothesis] = []
    if op == "mul":

        def swap(o: str, x: Any, y: Any, z: Any, dx: Any, dy: Any) -> tuple[Any, Any, Any]:
            return z, x + 0 * y, y + 0 * x

        h.append(
            RuleHypothesis(
                "partials-swapped",
                (
                    f"{expr}'s partials are swapped: d/d{a} = {a} and d/d{b} = {b} (each operand's "
                    "own value where the other's belongs)"
                    if side is None
                    else f"d({expr})/dx is x, not c (the operand's own value where the "
                    "other's belongs)"
                ),
                swap,
            )
        )
    if op == "div" and 1 in key.leaf_positions:
        h.append(
            RuleHypothesis(
                "div-no-square",
                f"d({expr})/d{b} is -{a}/{b}, not -{a}/{b}**2 (the square is missing)",
                _partial(1, lambda x, y, z: -x / y),
            )
        )
        h.append(
            RuleHypothesis(
                "div-no-numerator",
                f"d({expr})/d{b} is -1/{b}**2, not -{a}/{b}**2 (the factor {a} is missing)",
                _partial(1, lambda x, y, z: -1 / y**2 + 0 * x),
            )
        )
    if op == "pow" and 0 in key.leaf_positions:
        h.append(
            RuleHypothesis(
                "pow-exponent-kept",
                f"d({expr})/d{a} is {b} * {a}**{b}, not "
                f"{b} * {a}**({b} - 1) (the exponent is not lowered)",
                _partial(0, lambda x, y, z: y * np.power(x, y)),
            )
        )
        h.append(
            RuleHypothesis(
                "pow-factor-missing",
                f"d({expr})/d{a} is {a}**({b} - 1), not "
                f"{b} * {a}**({b} - 1) (the factor {b} is missing)",
                _partial(0, lambda x, y, z: np.power(x, y - 1.0)),
            )
        )
    if op == "pow" and side == "right":
        h.append(
            RuleHypothesis(
                "pow-precedence",
                f"d({expr})/dx is c * x**c - 1, not c * x**(c - 1) (the parentheses around "
                "c - 1 are missing)",
                _partial(0, lambda x, y, z: y * np.power(x, y) - 1),
            )
        )
    if op == "pow" and 1 in key.leaf_positions:
        h.append(
            RuleHypothesis(
                "pow-log-missing",
                f"d({expr})/d{b} is {a}**{b}, not "
                f"{a}**{b} * log({a}) (the log(base) term is missing)",
                _partial(1, lambda x, y, z: z),
            )
        )
        h.append(
            RuleHypothesis(
                "pow-power-missing",
                f"d({expr})/d{b} is log({a}), not "
                f"{a}**{b} * log({a}) (the factor {a}**{b} is missing)",
                _partial(1, lambda x, y, z: np.log(x) + 0 * y),
            )
        )
    if side == "left" and op in ("sub", "div", "pow"):
        h.append(
            RuleHypothesis(
                "reflected-swapped",
                f"{expr} computes x {SYMBOL[op]} c: the "
                f"reflected operator (__r{_dunder(op)}__) swaps its operands",
                _swapped,
            )
        )
    if op in ("tanh", "sigmoid"):
        h.append(
            RuleHypothesis(
                "overflows",
                f"{op} is computed by a formula that overflows (exp of a large "
                "number): an exception or nan at |x| of several hundred, where the truth is finite",
                _undefined_where(lambda x, y: np.abs(x) > 300),
                or_correct=True,
                also=_undefined_where(lambda x, y: np.abs(x) > 300, partials=False),
            )
        )
    if op == "pow" and side == "right":
        h.append(
            RuleHypothesis(
                "pow-zero-at-zero",
                "d(x ** c)/dx is computed as c * x**(c - 1) also for c = 0, "
                "so x**0 at x = 0 gives 0 * 0**-1 (nan or ZeroDivisionError) where it is 0",
                _undefined_where(lambda x, y: (x == 0) & (y == 0), value=False),
            )
        )
        h.append(
            RuleHypothesis(
                "pow-divides-by-x",
                "d(x ** c)/dx is computed as c * x**c / x, which divides by "
                "zero at x = 0 (where x**2.5 has the derivative 0)",
                _undefined_where(lambda x, y: (x == 0) & (y != np.round(y)), value=False),
                also=_undefined_where(lambda x, y: x == 0, value=False),  # integer c too
            )
        )
    if op == "tanh":
        h.append(
            RuleHypothesis(
                "tanh-input",
                "tanh's backward computes 1 - x**2 from its "
                "input x, not 1 - t**2 from its output t = tanh(x)",
                _partial(0, lambda x, y, z: 1 - x * x),
            )
        )
        h.append(
            RuleHypothesis(
                "tanh-no-square",
                "tanh's backward computes 1 - t, not 1 - t**2 (the square is missing)",
                _partial(0, lambda x, y, z: 1 - z),
            )
        )
        h.append(
            RuleHypothesis(
                "tanh-square-misplaced",
                "tanh's backward computes (1 - t)**2, not 1 - t**2",
                _partial(0, lambda x, y, z: (1 - z) ** 2),
            )
        )
    if op == "sigmoid":
        h.append(
            RuleHypothesis(
                "sigmoid-input",
                "sigmoid's backward computes x * (1 - x) from "
                "its input x, not s * (1 - s) from its output s",
                _partial(0, lambda x, y, z: x * (1 - x)),
            )
        )
        h.append(
            RuleHypothesis(
                "sigmoid-no-one-minus",
                "sigmoid's backward computes s, not s * (1 - s) (the factor 1 - s is missing)",
                _partial(0, lambda x, y, z: z),
            )
        )
    if op == "exp":
        h.append(
            RuleHypothesis(
                "exp-input",
                "exp's backward uses its input x, not its output exp(x)",
                _partial(0, lambda x, y, z: x),
            )
        )
    if op == "log":
        h.append(
            RuleHypothesis(
                "log-output",
                "log's backward divides by its output log(x), not by its input x",
                _partial(0, lambda x, y, z: 1 / z),
            )
        )
        h.append(
            RuleHypothesis(
                "log-times-x",
                "log's backward multiplies by x where it should divide by x",
                _partial(0, lambda x, y, z: x + 0 * z),
            )
        )
        h.append(
            RuleHypothesis(
                "log-square",
                "log's backward divides by x**2, not by x",
                _partial(0, lambda x, y, z: 1 / (x * x) + 0 * z),
            )
        )
    if op == "relu":
        h.append(
            RuleHypothesis(
                "relu-at-zero",
                "relu's backward uses x >= 0, so relu'(0) = 1 (the convention is relu'(0) = 0)",
                _partial(0, lambda x, y, z: (np.asarray(x) >= 0) * 1.0),
            )
        )
        h.append(
            RuleHypothesis(
                "relu-output",
                "relu's backward passes its output relu(x), not the mask x > 0",
                _partial(0, lambda x, y, z: z),
            )
        )
    return h


def _undefined_where(
    where: Callable[[Any, Any], Any], value: bool = True, partials: bool = True
) -> Change:
    """The value and the partials (each if asked) become nan where `where(a, b)` holds."""

    def change(op: str, a: Any, b: Any, z: Any, da: Any, db: Any) -> tuple[Any, Any, Any]:
        bad = where(np.asarray(a, dtype=float), np.asarray(0.0 if b is None else b, dtype=float))
        nan = lambda v: None if v is None else np.where(bad, np.nan, v)  # noqa: E731
        if not partials:
            return nan(z), da, db
        return (nan(z) if value else z), nan(da), nan(db)

    return change


def _zero_at_c0(change: Change) -> Change:
    """`change`, with the partial of the base 0 where the exponent is 0."""

    def guarded(op: str, a: Any, b: Any, z: Any, da: Any, db: Any) -> tuple[Any, Any, Any]:
        z, da, db = change(op, a, b, z, da, db)
        return z, np.where(np.asarray(b) == 0, 0.0, da), db

    return guarded


def _dunder(op: str) -> str:
    return {"sub": "sub", "div": "truediv", "pow": "pow"}[op]


def _fitted_factor(key: Key, pos: int, probes: list[Probe], observed: list[Any]) -> float | None:
    """The constant c of "the partial of `pos` is c times the right one", from the first
    direct probe where the right partial is not 0 (None when no probe gives one)."""
    name = "xy"[pos] if key.binary and key.side is None else "x"
    for probe, answer in zip(probes, observed, strict=True):
        right = simulate(probe, World())
        if "raised" in answer or not isinstance(right, list) or not answer["readings"]:
            continue
        want = np.asarray(right[0]["grads"][name], dtype=np.float64)
        got = answer["readings"][0]["grads"].get(name)
        if type(got) is dict and "list" in got:
            got = got["list"]
        try:
            got_a = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if got_a.shape == want.shape and np.all(np.abs(want) > 1e-6) and np.all(np.isfinite(got_a)):
            return float((got_a / want).ravel()[0])
    return None


def _world(key: Key, h: RuleHypothesis | None, carrier_too: bool) -> World:
    def applies(node: Node, carrier: bool) -> bool:
        return h is not None and node[0] == key.op and (not carrier or carrier_too)

    def rule(node: Node, carrier: bool) -> Rule:
        if not applies(node, carrier) or h is None or h.change is None:
            return correct_rule
        change = h.change

        def changed(op: str, a: Any, b: Any) -> tuple[Any, Any, Any]:
            return change(op, a, b, *correct_rule(op, a, b))

        return changed

    def passes(node: Node, carrier: bool, d: Any, u: Any) -> Any:
        if applies(node, carrier) and h is not None and h.passes is not None:
            return h.passes(d, u)
        return d * u

    return World(rule=rule, passes=passes)


def as_hypothesis(key: Key, h: RuleHypothesis | None, probes: list[Probe]) -> Hypothesis:
    """A rule hypothesis as the judge takes it: alternatives per probe (for `mul`, the
    worker's own ``out * u`` may or may not go through the same wrong rule)."""
    worlds = [_world(key, h, False)] + ([_world(key, h, True)] if key.op == "mul" else [])
    if h is not None and h.or_correct:
        worlds.append(_world(key, None, False))
    if h is not None and h.also is not None:
        worlds.append(_world(key, RuleHypothesis(h.id, h.text, h.also), False))
    if h is not None and h.change is not None and key.op == "pow" and 0 in key.leaf_positions:
        # an engine may special-case x**0 (derivative 0) whatever else it gets wrong
        worlds.append(_world(key, RuleHypothesis(h.id, h.text, _zero_at_c0(h.change)), False))
    return Hypothesis(
        "correct" if h is None else h.id,
        "the correct rule" if h is None else h.text,
        lambda k: [simulate(probes[k], w) for w in worlds],
    )


def judge_rule(
    key: Key, probes: list[Probe], observed: list[Any]
) -> tuple[Finding, RuleHypothesis | None]:
    """The rule question: which local rule does the op apply?"""
    catalogue = rule_hypotheses(key)
    for p in key.leaf_positions:
        c = _fitted_factor(key, p, probes, observed)
        if c is not None and min(abs(c), abs(c - 1), abs(c + 1)) > 1e-6:
            n = key.names()[p]
            catalogue.append(
                RuleHypothesis(
                    f"factor-{n}",
                    f"d({key.expr()})/d{n} is {c:.6g} times the right one (a constant factor "
                    f"{'lost' if abs(c) < 1 else 'too many'})",
                    _at(p, lambda g, c=c: c * g),
                )
            )
    finding = judge(
        as_hypothesis(key, None, probes),
        [as_hypothesis(key, h, probes) for h in catalogue],
        observed,
    )
    chosen = next(
        (h for h in catalogue if finding.hypothesis and h.id == finding.hypothesis.id), None
    )
    return finding, chosen


def judge_preset(
    key: Key, rule: RuleHypothesis | None, probes: list[Probe], observed: list[Any]
) -> Finding:
    """The accumulation question: does the op add to what its operands hold (+=)?"""
    names = key.names()

    def assigning(where: tuple[int, ...]) -> Callable[[World], World]:
        return lambda w: changed(
            w, assigns=lambda node, carrier: where if node[0] == key.op and not carrier else ()
        )

    hypotheses = [
        _further(
            key,
            rule,
            probes,
            f"assigns-{names[p]}",
            f"{key.expr()}'s backward assigns (=) the gradient of {names[p]} where it should "
            f"add (+=): whatever reached {names[p]} before is lost",
            assigning((p,)),
        )
        for p in key.leaf_positions
    ]
    if len(key.leaf_positions) > 1:
        hypotheses.append(
            _further(
                key,
                rule,
                probes,
                "assigns-both",
                f"{key.expr()}'s backward assigns (=) the gradients of {names[0]} and "
                f"{names[1]} where it should add (+=): whatever reached them before is lost",
                assigning(key.leaf_positions),
            )
        )
    hypotheses.append(
        _further(
            key,
            rule,
            probes,
            "leaves-reset",
            "backward() resets every leaf's gradient (an accumulation rule, not this op's)",
            lambda w: changed(w, leaf_reset=True),
        )
    )
    correct = _further(key, rule, probes, "correct", "adds", lambda w: w)
    return judge(correct, hypotheses, observed)


def _further(
    key: Key,
    rule: RuleHypothesis | None,
    probes: list[Probe],
    id_: str,
    text: str,
    mistake: Callable[[World], World],
) -> Hypothesis:
    """A hypothesis of a further question: the rule found, and `mistake` besides (for
    `mul`, the worker's ``out * u`` may go through the same rule or not)."""
    worlds = [_world(key, rule, False)] + ([_world(key, rule, True)] if key.op == "mul" else [])
    return Hypothesis(id_, text, lambda k: [simulate(probes[k], mistake(w)) for w in worlds])
