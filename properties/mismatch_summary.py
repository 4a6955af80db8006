"""Disagreements on large arrays, said in a few lines: how many entries differ, the worst
few with their expected and actual numbers, and the ratio actual / expected when every
differing entry shares one (a loss averaged over the wrong count scales everything).

Arrays of at most `BIG` entries are shown whole, as `reference.mismatches` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from properties.reference import bad_value, mismatches

BIG = 24  # entries: a larger array's disagreement is summarised
WORST = 3  # entries shown of a summarised array
SAME_RATIO = 1e-9  # relative spread of the ratios that counts as one ratio


def summarised(
    want: Sequence[Any], got: Sequence[Any], allowed: Sequence[Any], labels: Sequence[str]
) -> list[str]:
    """A line for each quantity that differs (summarised when large), and the common
    ratio actual / expected of every differing entry when there is one."""
    lines: list[str] = []
    ratios: list[np.ndarray] = []
    ratio_lines: list[int] = []  # the line of each quantity with its own common ratio
    for w, g, a, label in zip(want, got, allowed, labels, strict=True):
        w_arr = np.asarray(w, dtype=np.float64)
        g_arr = None if bad_value(g) else np.asarray(g, dtype=np.float64)
        if g_arr is None or g_arr.shape != w_arr.shape:
            lines += mismatches([w], [g], [a], [label])
            ratios.append(np.array([np.nan]))  # no common ratio when a value is not one
            continue
        error = np.abs(g_arr - w_arr)
        bad = ~(error <= np.asarray(a))
        if not np.any(bad):
            continue
        with np.errstate(all="ignore"):
            ratios.append((g_arr / w_arr)[bad])
        if w_arr.size <= BIG:
            lines += mismatches([w], [g], [a], [label])
        else:
            lines.append(_summary(label, w_arr, g_arr, error, np.broadcast_to(a, w_arr.shape)))
        own = common_ratio([ratios[-1]])
        if own is not None:
            lines[-1] += f" (each differing entry is the expected one times {_ratio(own)})"
        ratio_lines.append(len(lines) - 1 if own is not None else -1)
    ratio = common_ratio(ratios)
    if ratio is not None and lines and len(ratios) > 1:
        for k in (k for k in ratio_lines if k >= 0):  # said once for all below
            lines[k] = lines[k].rsplit(" (each differing entry", 1)[0]
        count = sum(r.size for r in ratios)
        lines.append(
            f"every differing entry ({count}) is the expected one times {_ratio(ratio)}: "
            "one common factor, as from a wrong count in a mean or a missing scale"
        )
    return lines


def _summary(label: str, want: Any, got: Any, error: Any, allowed: Any) -> str:
    bad = ~(error <= allowed)
    with np.errstate(all="ignore"):
        excess = np.where(bad, np.nan_to_num(error / np.maximum(allowed, 1e-300), nan=np.inf), -1)
    worst = np.argsort(-excess, axis=None, kind="stable")[: min(WORST, int(bad.sum()))]
    shown = "; ".join(
        f"{list(int(i) for i in np.unravel_index(k, want.shape))}: expected "
        f"{float(want.flat[k])!r}, got {float(got.flat[k])!r}"
        for k in worst
    )
    largest = float(np.nanmax(np.where(bad, error, 0.0))) if np.any(~np.isnan(error)) else np.nan
    return (
        f"{label} (shape {want.shape}): {int(bad.sum())} of {want.size} entries differ "
        f"(largest error {largest:.3g} > allowed {float(np.max(allowed)):.3g}); "
        f"the worst: {shown}"
    )


def common_ratio(ratios: Sequence[np.ndarray]) -> float | None:
    """The one ratio shared (to `SAME_RATIO`) by every entry of `ratios` (at least two,
    all finite), unless it is 1."""
    if not ratios:
        return None
    flat = np.concatenate([np.ravel(r) for r in ratios])
    if flat.size < 2 or not np.all(np.isfinite(flat)):
        return None
    middle = float(np.median(flat))
    if middle == 0 or np.max(np.abs(flat - middle)) > SAME_RATIO * abs(middle):
        return None
    return None if abs(middle - 1) <= SAME_RATIO else middle


def _ratio(ratio: float) -> str:
    """The ratio, and as a simple fraction when it is one."""
    simple = Fraction(ratio).limit_denominator(1000)
    if simple.denominator > 1 and abs(float(simple) - ratio) <= SAME_RATIO * abs(ratio):
        return f"{ratio:.10g} (= {simple.numerator}/{simple.denominator})"
    return f"{ratio:.10g}"
