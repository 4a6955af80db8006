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

from oracle import interpreter
from oracle.ir import SCALAR
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
    if case.graph.kind != SCALAR:
        raise NotImplementedError("tensor graphs: see expected_tensor")
    program = interpreter.encode(case.graph)
    values, grads = interpreter.vjp([program], [case.inputs], [case.upstream])
    outputs = [float(values[0][o]) for o in case.graph.outputs]
    return Expected(outputs, dict(zip(case.graph.input_names, map(float, grads[0]), strict=True)))


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


def scalar_bounds(case: Case, want: Expected) -> tuple[list[float], dict[str, float]]:
    """Allowed |actual - expected| per output and per input gradient (provisional)."""
    values = [1e-9 * abs(v) + 1e-300 for v in want.outputs]
    grads = {n: 1e-9 * abs(g) + 1e-300 for n, g in want.grads.items()}
    return values, grads
