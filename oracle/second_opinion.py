"""A JAX-free second opinion on gradients, for deciding who is wrong when two disagree.

Two independent ways to differentiate an IR case, neither of which uses JAX or any
derivative rule:

* ``method="mpmath"`` (default): the graph is evaluated with mpmath at `dps` significant
  digits (`oracle.numpy_eval`), and each input entry is differentiated by a central
  difference with step ``h = |x| * 10**(-dps/3)`` and one Richardson step
  (``(4 D(h/2) - D(h)) / 3``).  At 50 digits the truncation error is ~1e-66 and rounding
  ~1e-33, relative to the function's scale: exact to float64 precision.
* ``method="richardson"``: the same in float64 NumPy with Ridders' method (central
  differences on shrinking steps, extrapolated in a Neville tableau, keeping the
  estimate whose error estimate is smallest): typically 1e-10 relative, cheaper.

Both compute symmetric derivatives, so at an exact kink (relu at 0, tied maxima) they
give the average of the one-sided derivatives, not the spec's convention; near a pole
the step must stay on one side (it is relative to |x|).

`verdict` compares an expected and an actual answer with this truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from oracle.ir import Graph
from oracle.numpy_eval import evaluate


def gradient(
    graph: Graph,
    inputs: Mapping[str, Any],
    upstream: Sequence[Any] | None = None,
    method: str = "mpmath",
    dps: int = 50,
) -> dict[str, np.ndarray]:
    """d(sum_k <upstream_k, out_k>)/d(input) for every input, without JAX.

    At `dps` digits a central difference resolves a gradient down to about
    ``10**-(2 dps / 3)`` of the function's scale; ask for more digits
    (`digits_to_resolve`) to judge gradients near the underflow edge."""
    if method == "mpmath":
        return _mpmath_gradient(graph, inputs, upstream, dps)
    if method == "richardson":
        return _richardson_gradient(graph, inputs, upstream)
    raise ValueError(f"method must be 'mpmath' or 'richardson', got {method!r}")


def outputs(graph: Graph, inputs: Mapping[str, Any], dps: int = 50) -> list[np.ndarray]:
    """The graph's outputs evaluated with mpmath at `dps` digits, rounded to float64."""
    values = evaluate(graph, inputs, dps)
    to_float = np.vectorize(float, otypes=[np.float64])
    return [to_float(np.asarray(values[o], dtype=object)) for o in graph.outputs]


def digits_to_resolve(*answers: Any, dps: int = 50) -> int:
    """Digits that resolve the smallest nonzero magnitude among `answers` (numbers, arrays
    or dicts of them) by a central difference of step 10**-(dps/3): its rounding error is
    about 10**-(2 dps / 3) of the function's scale, so a gradient m needs
    ``1.5 * (-log10 m + 10)`` digits (a gradient of 1e-308 of a function of order one,
    about 480); at least `dps`."""
    smallest = math.inf
    for answer in answers:
        for value in answer.values() if isinstance(answer, Mapping) else [answer]:
            v = np.abs(np.asarray(value, dtype=np.float64))
            v = v[np.isfinite(v) & (v > 0)]
            if v.size:
                smallest = min(smallest, float(v.min()))
    if not math.isfinite(smallest):
        return dps
    return min(max(dps, math.ceil(1.5 * (-math.log10(smallest) + 10))), 1000)


def objective(
    graph: Graph, upstream: Sequence[Any] | None, dps: int | None = None
) -> Callable[[Mapping[str, Any]], Any]:
    """The scalar ``sum_k <upstream_k, out_k>`` as a function of the inputs."""
    ups = [np.ones(graph.shapes[o]) for o in graph.outputs] if upstream is None else upstream

    def f(inputs: Mapping[str, Any]) -> Any:
        values = evaluate(graph, inputs, dps)
        total = 0
        for o, u in zip(graph.outputs, ups, strict=True):
            weights = np.asarray(u, np.float64)
            if dps is not None:
                weights = np.vectorize(mpmath.mpf, otypes=[object])(weights)
            total = total + np.sum(values[o] * weights)
        return total

    return f


def central_difference(f: Callable[[np.ndarray], float], x: Any, step: float = 0.02) -> np.ndarray:
    """The gradient of a scalar float64 function at `x` by Ridders' method, per entry.

    Each entry starts from a step of ``step * max(|x_i|, 1e-3)`` and shrinks it by 1.4
    up to 10 times, extrapolating with Richardson's rule; the estimate with the
    smallest error estimate wins.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        grad[i] = _ridders(
            lambda t, i=i: f(_replace(x, i, t)), float(x[i]), step * max(abs(float(x[i])), 1e-3)
        )
    return grad


@dataclass(frozen=True)
class Verdict:
    """Who the truth sides with.

    `agrees`: "both", "expected", "actual" or "neither" (within the tolerance);
    `closer`: "expected", "actual" or "tie" (the smaller normwise relative error).
    """

    agrees: str
    closer: str
    expected_error: float
    actual_error: float
    message: str


def verdict(expected: Any, actual: Any, truth: Any, rtol: float = 1e-8, atol: Any = 0.0) -> Verdict:
    """Compare two answers (numbers, arrays, or dicts of them) with the truth.

    An answer agrees when every entry is within ``atol + rtol * max|truth|`` of the truth
    (`atol` may be per entry, such as the bound of `oracle.tolerance`); nan matches nan
    and an infinity the same infinity.  Errors are normwise relative.
    """
    t = _flat(truth)
    allowed = _flat(atol) + rtol * (np.max(np.abs(t[np.isfinite(t)]), initial=0.0))
    e_ok, a_ok = _within(expected, t, allowed), _within(actual, t, allowed)
    e_err, a_err = relative_error(expected, t), relative_error(actual, t)
    agrees = {
        (True, True): "both",
        (True, False): "expected",
        (False, True): "actual",
        (False, False): "neither",
    }[(e_ok, a_ok)]
    closer = "tie" if e_err == a_err else ("expected" if e_err < a_err else "actual")
    words = {
        "both": "both agree with the second opinion",
        "expected": "expected agrees with the second opinion, actual does not",
        "actual": "actual agrees with the second opinion, expected does not",
        "neither": f"neither agrees with the second opinion ({closer} is closer)",
    }[agrees]
    message = f"{words} (relative errors: expected {e_err:.2e}, actual {a_err:.2e})"
    return Verdict(agrees, closer, e_err, a_err, message)


def _within(value: Any, truth: np.ndarray, allowed: np.ndarray) -> bool:
    v = _flat(value)
    if v.shape != truth.shape:
        return False
    with np.errstate(invalid="ignore"):
        close = np.abs(v - truth) <= allowed
    special = (np.isnan(v) & np.isnan(truth)) | (np.isinf(truth) & (v == truth))
    return bool(np.all(close | special))


def relative_error(value: Any, truth: Any) -> float:
    """``max|v - t| / max|t|`` over finite entries; inf where nan/inf do not match."""
    v, t = _flat(value), _flat(truth)
    if v.shape != t.shape:
        return math.inf
    same_special = (np.isnan(v) & np.isnan(t)) | (np.isinf(t) & (v == t))
    if np.any(~np.isfinite(v) & ~same_special) or np.any(~np.isfinite(t) & ~same_special):
        return math.inf
    finite = np.isfinite(t)
    if not finite.any():
        return 0.0
    diff = np.max(np.abs(v[finite] - t[finite]))
    scale = np.max(np.abs(t[finite]))
    if diff == 0:
        return 0.0
    return float(diff / scale) if scale > 0 else math.inf


def _flat(x: Any) -> np.ndarray:
    if isinstance(x, Mapping):
        return np.concatenate([_flat(x[k]) for k in sorted(x)]) if x else np.zeros(0)
    if isinstance(x, list | tuple):  # outputs of different shapes: one after the other
        return np.concatenate([_flat(v) for v in x]) if x else np.zeros(0)
    return np.ravel(np.asarray(x, dtype=np.float64))


def _mpmath_gradient(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None, dps: int
) -> dict[str, np.ndarray]:
    f = objective(graph, upstream, dps)
    with mpmath.workdps(dps):
        base = {
            n: np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(v, np.float64))
            for n, v in inputs.items()
        }
        grads = {}
        for name in graph.input_names:
            x = base[name]
            g = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                xi = x[i]
                h = (abs(xi) if xi != 0 else mpmath.mpf(1)) * mpmath.mpf(10) ** (-(dps // 3))

                def diff(
                    step: mpmath.mpf,
                    i: tuple = i,
                    x: np.ndarray = x,
                    name: str = name,
                    xi: mpmath.mpf = xi,
                ) -> mpmath.mpf:
                    up = f({**base, name: _replace(x, i, xi + step)})
                    down = f({**base, name: _replace(x, i, xi - step)})
                    return (up - down) / (2 * step)

                g[i] = float((4 * diff(h / 2) - diff(h)) / 3)
            grads[name] = g
    return grads


def _richardson_gradient(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None
) -> dict[str, np.ndarray]:
    f = objective(graph, upstream)
    base = {n: np.asarray(v, np.float64) for n, v in inputs.items()}
    return {
        name: central_difference(lambda x, name=name: float(f({**base, name: x})), base[name])
        for name in graph.input_names
    }


def _replace(x: np.ndarray, i: tuple, value: Any) -> np.ndarray:
    y = x.copy()
    y[i] = value
    return y


def _ridders(
    f: Callable[[float], float], x: float, h: float, shrink: float = 1.4, levels: int = 10
) -> float:
    """Ridders' extrapolated central difference of a scalar function (Numerical Recipes)."""
    table = [[0.0] * levels for _ in range(levels)]
    best, best_error = math.nan, math.inf
    for i in range(levels):
        table[0][i] = (f(x + h) - f(x - h)) / (2 * h)
        factor = shrink * shrink
        for j in range(1, i + 1):
            table[j][i] = (table[j - 1][i] * factor - table[j - 1][i - 1]) / (factor - 1)
            factor *= shrink * shrink
            error = max(abs(table[j][i] - table[j - 1][i]), abs(table[j][i] - table[j - 1][i - 1]))
            if error <= best_error:
                best, best_error = table[j][i], error
        if i and abs(table[i][i] - table[i - 1][i - 1]) >= 2 * best_error:
            break
        h /= shrink
    return best if math.isfinite(best) else table[0][0]
