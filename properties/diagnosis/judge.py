"""Judging: which hypotheses of the catalogue explain every probe's numbers.

A hypothesis predicts, for each probe, one or more alternative answers (a list of
readings, or an exception). It explains the probes when each probe's observed answer
matches one of its alternatives to rounding. A diagnosis is stated only when the correct
rule does not explain the probes and exactly one hypothesis does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from properties import precision


@dataclass(frozen=True)
class Raises:
    """A predicted exception (``kinds`` empty: any)."""

    kinds: tuple[str, ...] = ()


Reading = dict[str, Any]  # {"outputs": [numbers], "grads": {leaf: number}}
Answer = list[Reading] | Raises
Predict = Callable[[int], list[Answer]]  # probe index -> alternative answers


@dataclass(frozen=True)
class Hypothesis:
    """One way of being wrong (or `correct`), and what it predicts for each probe."""

    id: str
    text: str
    predict: Predict


@dataclass
class Finding:
    """What the probes of one question say."""

    status: str  # "right" | "diagnosed" | "ambiguous" | "unexplained"
    hypothesis: Hypothesis | None = None
    explaining: list[str] = field(default_factory=list)  # ids of every hypothesis that fits
    probes: int = 0
    considered: int = 0


def tolerance() -> float:
    """Relative distance accepted as rounding (1e-9 in float64, 2.4e-5 in float32)."""
    return 0.1 * math.sqrt(precision.current().unit_roundoff)


def close(observed: Any, predicted: Any) -> bool:
    """An observed number (or array) equals a predicted one to rounding; a predicted
    nan/inf (an undefined point) is matched by any nan/inf of the target."""
    if type(observed) is dict and "list" in observed:
        observed = observed["list"]
    if observed is None or type(observed) in (dict, str, bool, complex):
        return False
    try:
        o = np.asarray(observed, dtype=np.float64)
        p = np.asarray(predicted, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if o.shape != p.shape:
        return False
    undefined = ~np.isfinite(p)
    if np.any(undefined & np.isfinite(o)):
        return False
    with np.errstate(invalid="ignore"):
        ok = np.abs(o - p) <= tolerance() * np.maximum(1.0, np.abs(p))
    return bool(np.all(ok | undefined))


def undefined(answer: Answer) -> bool:
    """Whether a predicted answer holds a value that is not finite (then an exception of
    the target matches it too: the spec accepts either at an undefined point)."""
    if isinstance(answer, Raises):
        return False
    for reading in answer:
        for x in [*reading["outputs"], *reading["grads"].values()]:
            if not np.all(np.isfinite(np.asarray(x, dtype=np.float64))):
                return True
    return False


# the exceptions a numeric formula raises where its result is undefined or overflows
ARITHMETIC = ("OverflowError", "ZeroDivisionError", "FloatingPointError", "ValueError")


def matches(observed: dict[str, Any], predicted: Answer) -> bool:
    """Whether the target's answer to a probe is this predicted answer."""
    if "raised" in observed:
        kind = observed["raised"].get("type", "")
        if isinstance(predicted, Raises):
            return not predicted.kinds or kind in predicted.kinds
        return kind in ARITHMETIC and undefined(predicted)
    if isinstance(predicted, Raises):
        return False
    readings = observed["readings"]
    if len(readings) != len(predicted):
        return False
    for got, want in zip(readings, predicted, strict=True):
        if len(got["outputs"]) != len(want["outputs"]):
            return False
        if not all(close(o, p) for o, p in zip(got["outputs"], want["outputs"], strict=True)):
            return False
        if not all(
            n in got["grads"] and close(got["grads"][n], g) for n, g in want["grads"].items()
        ):
            return False
    return True


def explains(hypothesis: Hypothesis, observed: Sequence[dict[str, Any]]) -> bool:
    for k, answer in enumerate(observed):
        try:
            alternatives = hypothesis.predict(k)
        except (ArithmeticError, ValueError):  # the hypothesis cannot say: it does not fit
            return False
        if not any(matches(answer, a) for a in alternatives):
            return False
    return True


def judge(
    correct: Hypothesis, hypotheses: Sequence[Hypothesis], observed: Sequence[dict[str, Any]]
) -> Finding:
    """The finding of one question: right, one hypothesis, several, or none."""
    n = len(observed)
    if explains(correct, observed):
        return Finding("right", probes=n, considered=len(hypotheses))
    fitting = [h for h in hypotheses if explains(h, observed)]
    ids = [h.id for h in fitting]
    if len(fitting) == 1:
        return Finding("diagnosed", fitting[0], ids, n, len(hypotheses))
    return Finding("ambiguous" if fitting else "unexplained", None, ids, n, len(hypotheses))
