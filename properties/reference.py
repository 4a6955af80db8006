"""What the oracle says about a case, and how a target's answer is compared with it.

A disagreement is reported with everything a person needs: the case as a Python
snippet for the target, the expected and actual numbers, the error against the
allowed bound, and the JAX-free second opinion on who is closer to the truth.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import reject

from oracle import codec, evaluate, second_opinion, tolerance
from oracle.ir import from_json, to_json
from oracle.snippet import to_python
from properties import precision
from properties.cases.common import Case
from properties.execute import TargetRun
from properties.settings import cache_dir
from properties.targets import Target, shown


@dataclass
class Expected:
    """The oracle's outputs and input gradients for a case."""

    outputs: list[Any]
    grads: dict[str, Any]


def expected(case: Case) -> Expected:
    """Values and the vector-Jacobian product of the case, from JAX in float64."""
    evaluation = evaluate.vjp(case.graph, case.inputs, case.upstream)
    finite = all(np.all(np.isfinite(v)) for v in (*evaluation.outputs, *evaluation.grads.values()))
    if not finite:  # the strategies keep away from this; a case that slips through is no test
        reject()
    if not precision.fits([*evaluation.values, *evaluation.grads.values()]):
        reject()  # a float32 run: some node's value overflows float32
    return Expected(list(evaluation.outputs), dict(evaluation.grads))


def snippet(case: Case, target: Target) -> str:
    """The case as Python that reproduces it on `target`."""
    return to_python(
        case.graph,
        case.inputs,
        module=target.import_name,
        upstream=case.upstream,
        constants_as_leaves=target.constants_as_leaves(case.graph.kind),
    )


def mismatches(
    expected_values: Sequence[Any],
    actual_values: Sequence[Any],
    bounds: Sequence[Any],
    labels: Sequence[str],
) -> list[str]:
    """A line for each entry where |actual - expected| exceeds its bound (or is not a number)."""
    lines = []
    for label, want, got, bound in zip(labels, expected_values, actual_values, bounds, strict=True):
        why = bad_value(got)
        if why:
            lines.append(f"{label}: expected {_show(np.asarray(want))}, got {why}")
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


def bad_value(got: Any) -> str | None:
    """Why a value read from the target is not a number or array of the run's precision
    (None if it is): None, a bool, a complex number, a string or another object, a list,
    an array of ints, or float32 in a float64 run."""
    kind = type(got)
    if kind is float or kind is int:
        return None
    if kind is np.ndarray and got.dtype == np.float64:
        return None
    if kind is np.ndarray and got.dtype == precision.current().dtype:
        return None
    if got is None:
        return "None"
    if kind is bool:
        return f"the bool {got!r}, not a float"
    if kind is complex:
        return f"the complex number {got!r}"
    if kind is np.ndarray:
        return f"an array of {got.dtype} (shape {got.shape}), not float64: {_show_any(got)}"
    if kind is dict and "list" in got:
        return f"a list, not a NumPy array: {_show_any(got['list'])}"
    if kind is dict and "opaque" in got:
        return f"an object of type {shown(got['opaque'], 200)}: {shown(got.get('repr'), 300)}"
    return f"a {kind.__name__}: {shown(repr(got), 300)}"


def _show_any(a: Any) -> str:
    return np.array2string(np.asarray(a), precision=17, threshold=20)


def _show(a: np.ndarray) -> str:
    return repr(float(a)) if a.ndim == 0 else np.array2string(a, precision=17, threshold=20)


CASE_MARKER = "vgrad-case: "


def failure_report(
    case: Case,
    target: Target,
    run: TargetRun | None,
    problems: list[str],
    want: Expected | None = None,
    backward: str | None = None,
) -> str:
    """The message of a failed property: what differs, and how to reproduce it.

    `backward` replaces the snippet's ``loss.backward()`` line where the property
    backpropagates differently (twice, output by output). The last line holds the case
    as JSON (`CASE_MARKER`), with the expected and actual gradients, so a report can ask
    the second opinion who is right (`second_opinion_of`).
    """
    lines = ["the target disagrees with the oracle:"]
    lines += [f"  {line}" for p in problems for line in str(p).splitlines()]
    lines += reproduction(case, target, backward)
    record = {
        "case": json.loads(to_json(case.graph, case.inputs)),
        "upstream": codec.encode(tuple(case.upstream)),
    }
    if run is not None and want is not None:
        record["expected"] = codec.encode(want.grads)
        record["actual"] = codec.encode(_numbers(run.grads))
        record["expected_outputs"] = codec.encode(tuple(want.outputs))
        actual_outputs = _numbers(dict(enumerate(run.outputs))).values()
        record["actual_outputs"] = codec.encode(tuple(actual_outputs))
    lines.append(CASE_MARKER + json.dumps(record))
    return "\n".join(lines)


LONG_SNIPPET = 120  # lines; a longer reproduction is written to a file


def reproduction(case: Case, target: Target, backward: str | None = None) -> list[str]:
    """How to reproduce: the snippet itself, or for a huge graph a file holding it."""
    code = snippet(case, target)
    if backward is not None:
        code = code.replace("loss.backward()\n", backward.rstrip("\n") + "\n", 1)
    if code.count("\n") <= LONG_SNIPPET:
        return ["reproduce with:", code]
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    path = cache_dir() / "cases" / f"case_{digest}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
    head = "\n".join(code.splitlines()[:12])
    return [f"reproduce with: python {path}  ({code.count(chr(10))} lines; it begins)", head]


def reproduction_text(case: Case, target: Target, backward: str | None = None) -> str:
    """The case and how to reproduce it, for a failure raised outside `failure_report`."""
    return "\n".join(["the case:", *reproduction(case, target, backward)])


def _numbers(grads: dict[str, Any]) -> dict[str, Any]:
    """Gradients as floats and arrays (anything else, a complex number say, as nan)."""
    out = {}
    for name, g in grads.items():
        try:
            out[name] = np.asarray(g, dtype=np.float64) if np.ndim(g) else float(g)
        except (TypeError, ValueError):
            out[name] = math.nan
    return out


def second_opinion_of(message: str) -> str | None:
    """The JAX-free verdict on a failure message's case: who is closer to the truth."""
    # the last marker: the suite writes it as the last line, after any text of the target's
    lines = [line for line in message.splitlines() if line.startswith(CASE_MARKER)]
    marker = lines[-1] if lines else None
    if marker is None:
        return None
    record = json.loads(marker[len(CASE_MARKER) :])
    if "expected" not in record:
        return None
    graph, inputs = from_json(json.dumps(record["case"]))
    upstream = codec.decode(record["upstream"])
    expected_grads, actual_grads = codec.decode(record["expected"]), codec.decode(record["actual"])
    dps = second_opinion.digits_to_resolve(expected_grads, actual_grads)
    truth = second_opinion.gradient(graph, inputs, upstream, dps=dps)
    verdict = second_opinion.verdict(expected_grads, actual_grads, truth)
    message = f"second opinion (mpmath, {dps} digits): gradients: {verdict.message}"
    if "expected_outputs" in record:
        values = second_opinion.verdict(
            list(codec.decode(record["expected_outputs"])),
            list(codec.decode(record["actual_outputs"])),
            second_opinion.outputs(graph, inputs, dps),
        )
        message += f"; values: {values.message}"
    return message


RTOL = 1e-12  # on top of the error analysis: what its model leaves out, never more
FLUSH = 2.3e-308  # JAX on the CPU flushes subnormal results to zero
# Below this the oracle's answer is underflow noise: JAX flushes every subnormal
# intermediate to zero, and what a flushed adjoint would have become after the ops that
# follow is lost with it (a 10,000-node tanh chain whose true gradient is -2.68e-308 comes
# out as 0.0). A correct engine is never blamed for a number this close to zero.
UNDERFLOW_EDGE = 2.0**-1000  # about 9.3e-302


def allowed_error(analysis_bound: Any, want: Any) -> Any:
    """The error analysis's bound, plus RTOL of the value, plus the flush of the last
    result; where the oracle's value is itself within the underflow edge, that edge.
    (RTOL and the edge are the float64 ones, or float32's in a float32 run.)"""
    p = precision.current()
    rtol, edge = (RTOL, UNDERFLOW_EDGE) if p is precision.FLOAT64 else (p.rtol, p.underflow_edge)
    bound = analysis_bound + rtol * np.abs(want) + FLUSH
    return np.where(np.abs(want) < edge, np.maximum(bound, edge), bound)


def error_bounds(case: Case) -> tolerance.Bounds:
    """The running error analysis of the case, at the unit roundoff of the run's precision."""
    with tolerance.unit_roundoff(precision.current().unit_roundoff):
        return tolerance.error_bounds(case.graph, case.inputs, case.upstream)


def bounds(case: Case, want: Expected) -> tuple[list[Any], list[Any]]:
    """Allowed |actual - expected| for each output and each input's gradient (input order),
    from the oracle's running error analysis of this very case."""
    analysis = error_bounds(case)
    values = [
        allowed_error(analysis.values[o], v)
        for o, v in zip(case.graph.outputs, want.outputs, strict=True)
    ]
    grads = [allowed_error(analysis.grads[n], want.grads[n]) for n in case.graph.input_names]
    return values, grads


def gradient_bounds(case: Case, want: Expected) -> list[Any]:
    """Allowed |actual - expected| for each input's gradient, in input order."""
    return bounds(case, want)[1]
