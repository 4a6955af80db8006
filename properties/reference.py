"""What the oracle says about a case, and how a target's answer is compared with it.

A disagreement is reported with everything a person needs: the case as a Python
snippet for the target, the expected and actual numbers, the error against the
allowed bound, and the JAX-free second opinion on who is closer to the truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle import evaluate, tolerance
from oracle.snippet import to_python
from properties.execute import TargetRun
from properties.strategies import Case
from properties.targets import Target


@dataclass
class Expected:
    """The oracle's outputs and input gradients for a case."""

    outputs: list[Any]
    grads: dict[str, Any]


def expected(case: Case) -> Expected:
    """Values and the vector-Jacobian product of the case, from JAX in float64."""
    evaluation = evaluate.vjp(case.graph, case.inputs, case.upstream)
    return Expected(list(evaluation.outputs), dict(evaluation.grads))


def snippet(case: Case, target: Target) -> str:
    """The case as Python that reproduces it on `target`."""
    return to_python(case.graph, case.inputs, module=target.import_name, upstream=case.upstream)


def mismatches(
    expected_values: Sequence[Any],
    actual_values: Sequence[Any],
    bounds: Sequence[Any],
    labels: Sequence[str],
) -> list[str]:
    """A line for each entry where |actual - expected| exceeds its bound (or is not a number)."""
    lines = []
    for label, want, got, bound in zip(labels, expected_values, actual_values, bounds, strict=True):
        if isinstance(got, complex) or got is None:
            lines.append(f"{label}: expected {want!r}, got {got!r}")
            continue
        want_arr = np.asarray(want, dtype=np.float64)
        try:
            got_arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            lines.append(f"{label}: expected {want!r}, got {got!r}")
            continue
        if got_arr.shape != want_arr.shape:
            lines.append(f"{label}: expected shape {want_arr.shape}, got {got_arr.shape}")
            continue
        error = np.abs(got_arr - want_arr)
        bad = ~(error <= np.asarray(bound))
        if np.any(bad):
            worst = (
                float(np.nanmax(np.where(bad, error, 0.0)))
                if np.any(~np.isnan(error))
                else math.nan
            )
            lines.append(
                f"{label}: expected {_show(want_arr)}, got {_show(got_arr)} "
                f"(error {worst:.3g} > allowed {float(np.max(bound)):.3g})"
            )
    return lines


def _show(a: np.ndarray) -> str:
    return repr(float(a)) if a.ndim == 0 else np.array2string(a, precision=17, threshold=20)


def failure_report(case: Case, target: Target, run: TargetRun | None, problems: list[str]) -> str:
    """The message of a failed property: what differs, and how to reproduce it."""
    lines = ["the target disagrees with the oracle:", *(f"  {p}" for p in problems)]
    lines += ["reproduce with:", snippet(case, target)]
    return "\n".join(lines)


RTOL = 1e-12  # on top of the error analysis: what its model leaves out, never more
FLUSH = 2.3e-308  # JAX on the CPU flushes subnormal results to zero


def bounds(case: Case, want: Expected) -> tuple[list[Any], list[Any]]:
    """Allowed |actual - expected| for each output and each input's gradient (input order),
    from the oracle's running error analysis of this very case."""
    analysis = tolerance.error_bounds(case.graph, case.inputs, case.upstream)
    values = [
        analysis.values[o] + RTOL * np.abs(v) + FLUSH
        for o, v in zip(case.graph.outputs, want.outputs, strict=True)
    ]
    grads = [
        analysis.grads[n] + RTOL * np.abs(want.grads[n]) + FLUSH for n in case.graph.input_names
    ]
    return values, grads


def value_bounds(case: Case, want: Expected) -> list[Any]:
    """Allowed |actual - expected| for each output."""
    return bounds(case, want)[0]


def gradient_bounds(case: Case, want: Expected) -> list[Any]:
    """Allowed |actual - expected| for each input's gradient, in input order."""
    return bounds(case, want)[1]
