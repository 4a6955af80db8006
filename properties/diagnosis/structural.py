"""The catalogue of wrong backward rules of the tensor ops that are not elementwise.

softmax: the ``- sum(g * s)`` term missing, or the Jacobian's diagonal alone, or exp of
the raw logits (overflow); log_softmax: ``sum(g)`` missing, or log of softmax
(underflow to -inf); indexing: ``grad[idx] += g``, which counts a repeated index once
(``=`` where ``+=`` belongs); transpose: the same permutation where its inverse belongs;
sum: the upstream gradient broadcast without re-inserting the reduced axis; mean: divided
by the input's size, or by the sum of the reduced axes' lengths; max: the full upstream
gradient to every tied maximum; batched matmul: ``.T`` (every axis reversed) where the
last two axes should be swapped. Each probe is the op alone on a chosen input with an
upstream gradient; each hypothesis computes its answer in NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from properties.diagnosis.judge import Answer, Hypothesis, Raises, judge
from properties.diagnosis.simulate import Probe

# (x, upstream G, attrs) -> (value, gradient) or an exception of NumPy's
VJP = Callable[[Any, Any, dict[str, Any]], tuple[Any, Any]]
LOGITS = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
HUGE = np.array([[1000.0, -1000.0, 0.0], [0.5, -0.25, 2.0]])
CUBE = np.arange(24.0).reshape(2, 3, 4) / 7.0 - 1.0


def _softmax(x: Any, axis: int = -1) -> Any:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_vjp(s: Any, g: Any, axis: int = -1) -> Any:
    return s * (g - (g * s).sum(axis=axis, keepdims=True))


def _expand(g: Any, x: Any, attrs: dict[str, Any]) -> Any:
    """An upstream gradient of a reduction, its reduced axes put back as size 1."""
    axis = attrs["axis"]
    if axis is None:
        return np.reshape(g, (1,) * x.ndim)
    axes = (axis,) if isinstance(axis, int) else axis
    return np.expand_dims(g, tuple(a % x.ndim for a in axes))


def _count(x: Any, attrs: dict[str, Any]) -> int:
    axis = attrs["axis"]
    axes = range(x.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return int(np.prod([x.shape[a] for a in axes]))


def _max_split(x: Any, g: Any, attrs: dict[str, Any], how: str) -> Any:
    m = x.max(axis=attrs["axis"], keepdims=True)
    winners = (x == m).astype(np.float64)
    if how == "equal":
        winners = winners / winners.sum(axis=attrs["axis"], keepdims=True)
    elif how in ("first", "last"):
        flip = how == "last"
        w = np.flip(winners, attrs["axis"]) if flip else winners
        first = np.cumsum(w, axis=attrs["axis"]) == 1
        w = w * first
        winners = np.flip(w, attrs["axis"]) if flip else w
    return winners * _expand(g, x, attrs)


CORRECT: dict[str, VJP] = {
    "softmax": lambda x, g, a: (_softmax(x), _softmax_vjp(_softmax(x), g)),
    "log_softmax": lambda x, g, a: (
        x - x.max(-1, keepdims=True) - np.log(_softmax_denominator(x)),
        g - _softmax(x) * g.sum(-1, keepdims=True),
    ),
    "index": lambda x, g, a: (x[a["index"][0]], _add_at(x, a["index"][0], g)),
    "transpose": lambda x, g, a: (x.transpose(a["axes"]), g.transpose(np.argsort(a["axes"]))),
    "sum": lambda x, g, a: (x.sum(axis=a["axis"]), np.broadcast_to(_expand(g, x, a), x.shape)),
    "matmul": lambda x, g, a: _matmul_vjp(x, a["y"], g, _swap),
    "mean": lambda x, g, a: (
        x.mean(axis=a["axis"]),
        np.broadcast_to(_expand(g, x, a) / _count(x, a), x.shape),
    ),
}


def _matmul_vjp(x: Any, y: Any, g: Any, flip: Callable[[Any], Any]) -> tuple[Any, Any]:
    return x @ y, (g @ flip(y), flip(x) @ g)


def _swap(t: Any) -> Any:
    return np.swapaxes(t, -1, -2)


def _softmax_denominator(x: Any) -> Any:
    return np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)


def _add_at(x: Any, index: Any, g: Any) -> Any:
    full = np.zeros_like(x)
    np.add.at(full, index, g)
    return full


def _index_once(x: Any, g: Any, a: dict[str, Any]) -> tuple[Any, Any]:
    full = np.zeros_like(x)
    full[a["index"][0]] += g  # buffered: a repeated index gets one of its gradients
    return x[a["index"][0]], full


def _naive_softmax(x: Any) -> Any:
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def _max(how: str) -> VJP:
    return lambda x, g, a: (x.max(axis=a["axis"]), _max_split(x, g, a, how))


def _mean_by(count: Callable[[Any, dict[str, Any]], Any], value_too: bool) -> VJP:
    def vjp(x: Any, g: Any, a: dict[str, Any]) -> tuple[Any, Any]:
        n = count(x, a)
        value = x.sum(axis=a["axis"]) / n if value_too else x.mean(axis=a["axis"])
        return value, np.broadcast_to(_expand(g, x, a) / n, x.shape)

    return vjp


def _added_lengths(x: Any, a: dict[str, Any]) -> int:
    axis = a["axis"]
    axes = (axis,) if isinstance(axis, int) else axis
    return sum(x.shape[i] for i in axes)


# op -> [(id, text, vjp, another form of the same mistake or None)]
HYPOTHESES: dict[str, list[tuple[str, str, VJP, VJP | None]]] = {
    "softmax": [
        (
            "softmax-no-sum-term",
            "softmax's backward is s * g: the - sum(g * s) term is missing",
            lambda x, g, a: (_softmax(x), _softmax(x) * g),
            None,
        ),
        (
            "softmax-diagonal",
            "softmax's backward is g * s * (1 - s): the diagonal of its Jacobian alone",
            lambda x, g, a: (_softmax(x), g * _softmax(x) * (1 - _softmax(x))),
            None,
        ),
        (
            "softmax-overflows",
            "softmax exponentiates the raw logits (no max subtracted): nan "
            "for logits in the hundreds",
            lambda x, g, a: (_naive_softmax(x), _softmax_vjp(_naive_softmax(x), g)),
            None,
        ),
    ],
    "log_softmax": [
        (
            "log-softmax-no-sum",
            "log_softmax's backward is g - p * g, not g - p * sum(g)",
            lambda x, g, a: (CORRECT["log_softmax"](x, g, a)[0], g - _softmax(x) * g),
            None,
        ),
        (
            "log-of-softmax",
            "log_softmax is computed as log(softmax(x)): -inf where a "
            "probability underflows (logits spread by more than about 745)",
            lambda x, g, a: (np.log(_softmax(x)), CORRECT["log_softmax"](x, g, a)[1]),
            None,
        ),
    ],
    "index": [
        (
            "index-repeats-once",
            "indexing's backward is grad[idx] += g, which NumPy buffers: "
            "an index repeated in an integer array gets its gradient once (= where += belongs)",
            _index_once,
            None,
        ),
    ],
    "transpose": [
        (
            "transpose-same-perm",
            "transpose's backward applies the same permutation, not its inverse",
            lambda x, g, a: (x.transpose(a["axes"]), g.transpose(a["axes"])),
            # an engine that reshapes each gradient to its input's shape
            lambda x, g, a: (x.transpose(a["axes"]), g.transpose(a["axes"]).reshape(x.shape)),
        ),
    ],
    "sum": [
        (
            "sum-no-expand-dims",
            "sum's backward broadcasts the upstream gradient to the input's "
            "shape without re-inserting the reduced axis (keepdims=False)",
            lambda x, g, a: (x.sum(axis=a["axis"]), np.broadcast_to(g, x.shape)),
            None,
        ),
    ],
    "mean": [
        (
            "mean-divides-by-size",
            "mean's backward divides by the input's total size, not by "
            "the number of elements averaged",
            _mean_by(lambda x, a: x.size, False),
            _mean_by(lambda x, a: x.size, True),
        ),
        (
            "mean-not-divided",
            "mean's backward does not divide by the number of elements averaged (it is sum's)",
            _mean_by(lambda x, a: 1, False),
            None,
        ),
        (
            "mean-count-added",
            "mean divides by the sum of the reduced axes' lengths, not their product",
            _mean_by(_added_lengths, True),
            _mean_by(_added_lengths, False),
        ),
    ],
    "matmul": [
        (
            "matmul-full-transpose",
            "matmul's backward uses .T (every axis reversed) where only the last two axes "
            "should be swapped: wrong for batched operands",
            lambda x, g, a: _matmul_vjp(x, a["y"], g, lambda t: t.T),
            None,
        ),
    ],
    "max": [
        (
            "max-ties-full",
            "max sends the full upstream gradient to every tied maximum (the parts must sum to it)",
            _max("full"),
            None,
        ),
    ],
}

PROBES: dict[tuple[str, str | None], list[tuple[Any, dict[str, Any]]]] = {
    ("softmax", None): [(LOGITS, {"axis": -1}), (HUGE, {"axis": -1})],
    ("log_softmax", None): [(LOGITS, {"axis": -1}), (HUGE, {"axis": -1})],
    ("index", None): [
        (np.array([1.0, 2.0, 3.0, 4.0]), {"index": (np.array([0, 0, 2]),)}),
        (np.array([0.5, -1.0, 2.5]), {"index": (np.array([1, 2, 1, 1]),)}),
    ],
    ("transpose", None): [
        (CUBE, {"axes": (1, 2, 0)}),
        (np.arange(8.0).reshape(2, 2, 2) - 3.5, {"axes": (2, 0, 1)}),
    ],
    ("sum", "axis"): [
        (CUBE[0], {"axis": 0, "keepdims": False}),
        (CUBE[0], {"axis": 1, "keepdims": False}),
        (CUBE[0, :3, :3], {"axis": 1, "keepdims": False}),
    ],
    ("mean", "axis"): [
        (CUBE, {"axis": 1, "keepdims": False}),
        (CUBE[0], {"axis": 0, "keepdims": False}),
    ],
    ("mean", "tuple"): [
        (CUBE, {"axis": (0, 2), "keepdims": False}),
        (CUBE, {"axis": 1, "keepdims": False}),
    ],
    ("matmul", "nd"): [
        (CUBE[:, :2, :3], {"y": CUBE[:, :3, :2] * 0.5 + 0.25}),
        (CUBE[:, :2, :2], {"y": CUBE[:, 1:3, 2:4] - 0.5}),
    ],
    ("max", "axis"): [
        (np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]]), {"axis": 1, "keepdims": False}),
        (np.array([[1.0, -2.0], [0.5, 4.0]]), {"axis": 0, "keepdims": False}),
    ],
}


def offered(op: str, variant: str | None) -> bool:
    return (op, variant) in PROBES


def probes(op: str, variant: str | None) -> list[Probe]:
    found = []
    for k, (x, attrs) in enumerate(PROBES[(op, variant)]):
        shape = np.shape(_forward(op, x, attrs))
        g = 0.8 - 0.35 * np.arange(int(np.prod(shape))).reshape(shape) + 0.1 * k
        script = (("backward", 0, g), ("read",))
        if op == "matmul":  # two operands: x @ y
            nodes: tuple = (("input", (), {"name": "x"}), ("input", (), {"name": "y"}))
            nodes += (("matmul", (0, 1), {}),)
            found.append(Probe("tensor", nodes, (2,), {"x": x, "y": attrs["y"]}, script))
            continue
        nodes = (("input", (), {"name": "x"}), (op, (0,), attrs))
        found.append(Probe("tensor", nodes, (1,), {"x": x}, script))
    return found


def _forward(op: str, x: Any, attrs: dict[str, Any]) -> Any:
    if op in ("softmax", "log_softmax"):
        return x
    if op == "index":
        return x[attrs["index"][0]]
    if op == "transpose":
        return x.transpose(attrs["axes"])
    if op == "matmul":
        return x @ attrs["y"]
    return getattr(x, op)(axis=attrs["axis"])


def _answer(vjp: VJP, probe: Probe) -> Answer:
    x, attrs, g = probe.inputs["x"], probe.nodes[-1][2], probe.script[0][2]
    if "y" in probe.inputs:
        attrs = {"y": probe.inputs["y"]}
    try:
        with np.errstate(all="ignore"):
            value, grad = vjp(x, g, attrs)
    except ValueError:  # NumPy refuses the shapes: so would the engine
        return Raises(("ValueError",))
    grads = dict(zip(probe.inputs, grad, strict=True)) if "y" in probe.inputs else {"x": grad}
    return [{"outputs": [value], "grads": {n: np.asarray(v, float) for n, v in grads.items()}}]


def _hypothesis(id_: str, text: str, forms: list[VJP], found: list[Probe]) -> Hypothesis:
    return Hypothesis(id_, text, lambda k: [_answer(f, found[k]) for f in forms])


def judge_op(op: str, found: list[Probe], observed: list[Any]) -> Any:
    correct_forms = [_max("equal"), _max("first"), _max("last")] if op == "max" else [CORRECT[op]]
    hypotheses = [
        _hypothesis(i, t, [f] if also is None else [f, also], found)
        for i, t, f, also in HYPOTHESES[op]
    ]
    correct = _hypothesis("correct", "the correct rule", correct_forms, found)
    return judge(correct, hypotheses, observed)
