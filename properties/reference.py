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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import reject

from oracle import codec, evaluate, second_opinion, tolerance
from oracle.ir import from_json, to_json
from oracle.snippet import to_python
from properties import precision
from properties.cases.common import Case
from properties.execute import TargetAnswer, TargetRun
from properties.settings import cache_dir
from properties.targets import Target, TargetDied, TargetRaised, shown


@dataclass
class Expected:
    """The oracle's outputs and input gradients for a case (and every node's value)."""

    outputs: list[Any]
    grads: dict[str, Any]
    values: tuple[Any, ...] = ()


def expected(case: Case) -> Expected:
    """Values and the vector-Jacobian product of the case, from JAX in float64; a case
    with a non-finite answer, or one outside a float32 run's range, is rejected."""
    want = oracle_answer(case)
    finite = all(np.all(np.isfinite(v)) for v in (*want.outputs, *want.grads.values()))
    if not finite:  # the strategies keep away from this; a case that slips through is no test
        reject()
    if not precision.fits([*want.values, *want.grads.values()]):
        reject()  # a float32 run: some node's value overflows float32
    return want


def oracle_answer(case: Case) -> Expected:
    """What the oracle (JAX, float64) says about the case, whatever it says."""
    return _expected(evaluate.vjp(case.graph, case.inputs, case.upstream))


def oracle_answers(cases: Sequence[Case]) -> list[Expected]:
    """`oracle_answer` for many cases, in one call of the oracle."""
    evaluations = evaluate.vjp_batch(
        [c.graph for c in cases], [c.inputs for c in cases], [c.upstream for c in cases]
    )
    return [_expected(e) for e in evaluations]


def _expected(evaluation: evaluate.Evaluation) -> Expected:
    return Expected(list(evaluation.outputs), evaluation.grads, evaluation.values)


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
        if np.any(~(error <= np.asarray(bound))):
            lines.append(
                f"{label}: expected {_show(want_arr)}, got {_show(got_arr)} "
                f"({worst_entry(error, bound)})"
            )
    return lines


def worst_entry(error: Any, bound: Any) -> str:
    """The entry furthest beyond its own bound, as "error E > allowed B" (with its index
    in an array): the bound of that very entry, not the largest bound of the array."""
    error, allowed = np.broadcast_arrays(
        np.asarray(error, dtype=np.float64), np.asarray(bound, dtype=np.float64)
    )
    beyond = np.where(np.isnan(error), np.inf, error - allowed)
    at = np.unravel_index(int(np.argmax(beyond)), error.shape)
    where = f"at index {tuple(int(k) for k in at)}: " if error.ndim else ""
    return f"{where}error {float(error[at]):.3g} > allowed {float(allowed[at]):.3g}"


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


CASE_MARKER = "# vgrad-case: "  # a Python comment: a pasted snippet runs as is


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
    """How to reproduce the case, for a failure raised outside `failure_report`."""
    return "\n".join(reproduction(case, target, backward))


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
    case = Case(graph, inputs, codec.decode(record["upstream"]))
    outputs = "expected_outputs" in record
    want = Expected(
        list(codec.decode(record["expected_outputs"])) if outputs else [],
        codec.decode(record["expected"]),
    )
    actual = list(codec.decode(record["actual_outputs"])) if outputs else None
    return second_opinion_on(case, want, actual, codec.decode(record["actual"]))


def second_opinion_on(
    case: Case, want: Expected, outputs: Sequence[Any] | None, grads: dict[str, Any]
) -> str:
    """The JAX-free second opinion (mpmath, 50 digits or what tiny numbers need) on who is
    closer to the truth, the oracle (`want`) or the target: its gradients, and its
    `outputs` when given."""
    dps = second_opinion.digits_to_resolve(want.grads, grads)
    truth = second_opinion.gradient(case.graph, case.inputs, case.upstream, dps=dps)
    verdict = second_opinion.verdict(want.grads, grads, truth)
    message = f"second opinion (mpmath, {dps} digits): gradients: {verdict.message}"
    if outputs is not None:
        values = second_opinion.verdict(
            list(want.outputs), list(outputs), second_opinion.outputs(case.graph, case.inputs, dps)
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


def bounds(
    case: Case, want: Expected, analysis: tolerance.Bounds | None = None
) -> tuple[list[Any], list[Any]]:
    """Allowed |actual - expected| for each output and each input's gradient (input order),
    from the oracle's running error analysis of this very case (`analysis`, if made)."""
    if analysis is None:
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


# -- one answer judged -------------------------------------------------------------------


@dataclass
class Outcome:
    """How the target's answer to a case compares with the oracle's."""

    status: str  # agree | disagree | error
    value_error: float  # largest relative error of an output
    gradient_error: float  # largest relative error of an input's gradient
    actual_outputs: list[Any] = field(default_factory=list)  # numbers (nan: not one)
    actual_grads: dict[str, Any] = field(default_factory=dict)
    exception: str = ""
    traceback: str = ""
    bad: list[str] = field(default_factory=list)  # values that are not numbers, in short
    problems: list[str] = field(default_factory=list)  # a line per entry outside its bound


def compare(
    case: Case, want: Expected, answer: TargetAnswer, gradient_label: str = "d loss / d {}"
) -> Outcome:
    """Judge the target's answer to the case (or its exception) against the oracle's.

    The outcome's problems are those `mismatches` finds against the error analysis's
    `bounds` (gradients labelled `gradient_label` with the input's name). The errors are
    normwise relative; a gradient's is relative to the largest of the expected gradient,
    the magnitude of the terms summed into it and the error the analysis allows it, so a
    gradient that cancels to rounding noise (or is noise around zero) is not an error of
    order one. The analysis runs only for answers beyond the RTOL floor: within it, every
    entry is within its bound, and the plain relative error is at most RTOL.
    """
    if isinstance(answer, TargetRaised):  # a raising target case is recorded, never fatal
        return Outcome(
            "error", math.inf, math.inf, exception=answer.describe(), traceback=answer.traceback
        )
    if isinstance(answer, TargetDied):
        return Outcome("error", math.inf, math.inf, exception=answer.message)
    graph, names = case.graph, case.graph.input_names
    bad = [
        f"output n{o}: {why}"
        for o, v in zip(graph.outputs, answer.outputs, strict=True)
        if (why := bad_value(v))
    ]
    bad += [
        f"{gradient_label.format(n)}: {why}" for n in names if (why := bad_value(answer.grads[n]))
    ]
    outputs = [as_number(v) for v in answer.outputs]
    grads = {n: as_number(answer.grads[n]) for n in names}
    outcome = Outcome("agree", math.inf, math.inf, outputs, grads, bad=bad)
    if not bad:
        outcome.value_error = max(
            relative(a, e) for a, e in zip(outputs, want.outputs, strict=True)
        )
        expected_grads = [want.grads[n] for n in names]
        actual_grads = [grads[n] for n in names]
        if within_floor(outputs, want.outputs) and within_floor(actual_grads, expected_grads):
            outcome.gradient_error = max(map(relative, actual_grads, expected_grads), default=0.0)
            return outcome
    analysis = error_bounds(case)
    if not bad:
        outcome.gradient_error = max(
            (
                relative(
                    grads[n], want.grads[n], np.maximum(analysis.magnitudes[n], analysis.grads[n])
                )
                for n in names
            ),
            default=0.0,
        )
    value_bounds, grad_bounds = bounds(case, want, analysis)
    outcome.problems = mismatches(
        [*want.outputs, *(want.grads[n] for n in names)],
        [*answer.outputs, *(answer.grads[n] for n in names)],
        [*value_bounds, *grad_bounds],
        [*(f"output n{o}" for o in graph.outputs), *(gradient_label.format(n) for n in names)],
    )
    if outcome.problems:
        outcome.status = "disagree"
    return outcome


def as_number(x: Any) -> Any:
    """A float or float array as the target gave it; anything else as nan (the problem is
    said apart, in words)."""
    if bad_value(x) is None:
        return x if isinstance(x, np.ndarray | float) else float(x)
    return math.nan


def relative(actual: Any, expected: Any, scale: Any = 0.0) -> float:
    """Normwise relative error ``max|a - e| / max(|e|, scale)``; inf for a non-number,
    a mismatched shape, or a nan or infinity where the other has none."""
    if type(actual) is float and type(expected) is float:  # the common case, made cheap
        if actual == expected:
            return 0.0
        denominator = max(abs(expected), float(scale))
        error = abs(actual - expected)
        if math.isfinite(error) and denominator > 0:
            return error / denominator
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return math.inf
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return math.inf
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        same = np.array_equal(a, e, equal_nan=True)
        return 0.0 if same else math.inf
    error = float(np.max(np.abs(a - e), initial=0.0))
    if error == 0:
        return 0.0
    denominator = max(float(np.max(np.abs(e), initial=0.0)), float(np.max(scale, initial=0.0)))
    return error / denominator if denominator > 0 else math.inf


def within_floor(actual: Sequence[Any], expected: Sequence[Any]) -> bool:
    """Every entry within RTOL (relative) of the oracle's: agreement without analysis."""
    for a, e in zip(actual, expected, strict=True):
        try:
            a_arr = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        e_arr = np.asarray(e, dtype=np.float64)
        if a_arr.shape != e_arr.shape or not np.all(
            np.abs(a_arr - e_arr) <= RTOL * np.abs(e_arr) + FLUSH
        ):
            return False
    return True
