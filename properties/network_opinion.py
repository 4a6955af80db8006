"""The JAX-free second opinion on a protocol v2 failure (a `functional` call, a layer, a
`Sequential`), as scalar and tensor graph failures get theirs (`reference.second_opinion_on`).

The case is written as an IR graph (`oracle.ir`'s network ops), whose NumPy/mpmath
evaluation (`oracle.numpy_eval`, `oracle.network_eval`) shares nothing with JAX. The
gradients are judged on the entries where the target and the oracle are farthest apart
(at most `ENTRIES`), each by a central difference with one Richardson step in mpmath, or,
for a network too large for mpmath, in float64 NumPy with a small step and the
difference's own error bound as the tolerance; the output is evaluated the same way.
Max pooling at ties is judged along the direction that raises a window's maxima together;
when the target raised, only the expected numbers are judged. The verdict is computed
only when a failure is reported (`Disagreement.second_opinion`, read by the conftest),
never while Hypothesis searches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np

from oracle import second_opinion
from oracle.ir import TENSOR, GraphBuilder, pair
from oracle.networks import ACTIVATIONS, layer_parameters
from properties.cases.common import Case
from properties.cases.layers import FunctionalCase, NetworkCase

ENTRIES = 6  # gradient entries judged: the farthest apart first
DPS = 30  # digits: a central difference of step 1e-10 is exact to ~1e-20 relative
MPMATH_BUDGET = 2_000  # input entries; a larger network is judged in float64 (Ridders)


class Disagreement(AssertionError):
    """A failed comparison with the oracle; `second_opinion()` computes the verdict."""

    def __init__(
        self, message: str, second_opinion: Callable[[], str], optimizer: str = ""
    ) -> None:
        super().__init__(message)
        self.second_opinion = second_opinion
        self.optimizer = optimizer  # the optimizer a training failure used, to diagnose


def opinions_of(error: BaseException) -> list[str]:
    """Each failure's second opinion, in the order of `conftest.failures_of` ("" where a
    failure has none); an error of the second opinion is said, never raised."""
    if isinstance(error, BaseExceptionGroup):
        return [o for sub in error.exceptions for o in opinions_of(sub)]
    if not isinstance(error, Disagreement):
        return [""]
    try:
        return [error.second_opinion()]
    except Unjudged as why:
        return [str(why)]
    except Exception as failed:  # the verdict is advice; never lose the failure over it
        return [f"second opinion unavailable: {type(failed).__name__}: {failed}"]


# -- the cases as IR graphs ---------------------------------------------------------------


def functional_graph(case: FunctionalCase) -> tuple[Case, list[str]]:
    """The call as an IR case, and the input name of each tensor (x0, x1, ...): every
    tensor argument is an input, the targets of a loss too."""
    _judged(case.kwargs)
    b = GraphBuilder(TENSOR)
    attrs = dict(case.kwargs)
    names = [f"x{i}" for i in range(len(case.tensors))]
    args = [b.input(n, t.shape) for n, t in zip(names, case.tensors, strict=True)]
    if case.name in ("binary_cross_entropy_with_logits", "hinge_loss") and len(args) > 1:
        _loss_of_two_inputs(b, case.name, *args)
    else:
        if case.name == "cross_entropy":
            attrs["labels"] = case.rest[0]
        if case.name in ("max_pool2d", "avg_pool2d"):
            attrs.setdefault("stride", None)
        b.op(case.name, *args, **attrs)
    inputs = {n: np.asarray(t, np.float64) for n, t in zip(names, case.tensors, strict=True)}
    return Case(b.build(), inputs, (np.asarray(case.upstream, np.float64),)), names


def _loss_of_two_inputs(b: GraphBuilder, name: str, x: int, y: int) -> int:
    """binary_cross_entropy_with_logits or hinge_loss with its second argument an input
    (the IR's ops take it as a constant): the same formula from elementary ops, so that
    the second opinion differentiates the targets (labels) too."""
    if name == "hinge_loss":  # mean(relu(1 - y x))
        return b.op("mean", b.op("relu", b.op("sub", b.op("mul", y, x), const=1.0, side="left")))
    # mean(max(x, 0) - x y + log(1 + exp(-|x|))), with |x| = relu(x) + relu(-x)
    positive = b.op("relu", x)
    size = b.op("add", positive, b.op("relu", b.op("neg", x)))
    tail = b.op("log", b.op("add", b.op("exp", b.op("neg", size)), const=1.0))
    return b.op("mean", b.op("add", b.op("sub", positive, b.op("mul", x, y)), tail))


def _judged(arguments: dict[str, Any]) -> None:
    unknown = [a for a in ("dilation", "groups") if arguments.get(a, 1) not in (1, (1, 1))]
    if unknown:
        raise Unjudged(f"no second opinion: its graphs have no convolution {' or '.join(unknown)}")


class Unjudged(Exception):
    """A case the second opinion cannot write as a graph (the text says why)."""


def functional_verdict(
    case: FunctionalCase, want: Sequence[Any], got: Sequence[Any], allowed: Sequence[Any]
) -> str:
    """`verdict` on a `functional` call (on the gradients in `want`: the first ones)."""
    ir, names = functional_graph(case)
    return verdict(ir, names[: len(want) - 1], want, got, allowed)


def network_verdict(
    case: NetworkCase,
    upstream: Any,
    want: Sequence[Any],
    got: Sequence[Any],
    allowed: Sequence[Any],
) -> str:
    """`verdict` on a layer or a `Sequential` (and its loss)."""
    return verdict(*network_graph(case, upstream), want, got, allowed)


def network_graph(case: NetworkCase, upstream: Any) -> tuple[Case, list[str]]:
    """The network (and its loss) as an IR case of x and every parameter, and the input
    names in the order the failure compares them: x, then parameters()."""
    b = GraphBuilder(TENSOR)
    node = b.input("x", case.x.shape)
    inputs = {"x": np.asarray(case.x, np.float64)}
    k = 0
    for layer in case.layers:
        own = []
        for _, shape in layer_parameters(layer):
            own.append(b.input(f"p{k}", shape))
            inputs[f"p{k}"] = np.asarray(case.params[k], np.float64)
            k += 1
        node = _layer(b, layer, node, own)
    if case.loss == "mse_loss":
        y = b.input("y", np.shape(case.y))
        inputs["y"] = np.asarray(case.y, np.float64)
        node = b.op("mse_loss", node, y)
    elif case.loss:
        attr = "targets" if case.loss == "binary_cross_entropy_with_logits" else "labels"
        node = b.op(case.loss, node, **{attr: np.asarray(case.y)})
    ir = Case(b.build([node]), inputs, (np.asarray(upstream, np.float64),))
    return ir, ["x", *(f"p{i}" for i in range(k))]


def _layer(b: GraphBuilder, layer: dict[str, Any], x: int, params: list[int]) -> int:
    kind = layer["type"]
    if kind == "Linear":
        return b.op("linear", x, *params)
    if kind == "Conv2d":
        _judged(layer)
        attrs = {k: layer[k] for k in ("stride", "padding") if k in layer}
        return b.op("conv2d", x, *params, **attrs)
    if kind in ("MaxPool2d", "AvgPool2d"):
        attrs = {"kernel_size": layer["kernel_size"], "stride": layer.get("stride")}
        attrs.update({"padding": layer["padding"]} if "padding" in layer else {})
        return b.op("max_pool2d" if kind == "MaxPool2d" else "avg_pool2d", x, **attrs)
    if kind == "Flatten":
        return b.op("flatten", x, start_dim=layer.get("start_dim", 1))
    return b.op(ACTIVATIONS[kind], x)


# -- the verdict ----------------------------------------------------------------------------


def verdict(
    case: Case,
    names: Sequence[str],
    want: Sequence[Any],
    got: Sequence[Any],
    allowed: Sequence[Any],
) -> str:
    """Who the truth sides with: `want`, `got` and `allowed` hold the output, then each
    gradient in the order of `names` (as the failure compared them)."""
    size = sum(np.size(v) for v in case.inputs.values())
    exact = size <= MPMATH_BUDGET
    how = f"mpmath, {DPS} digits" if exact else "float64 NumPy differences"
    entries = _farthest(names, want[1:], got[1:], allowed[1:])
    parts = []
    if entries:
        truth, error = zip(
            *(_derivative(case, name, index, exact) for name, index, _ in entries), strict=True
        )
        expected = [float(want[1 + k][index]) for _, index, k in entries]
        actual = [float(np.asarray(got[1 + k], np.float64)[index]) for _, index, k in entries]
        found = second_opinion.verdict(expected, actual, list(truth), atol=np.array(error))
        where = ", ".join(f"d/d {name}{list(index)}" for name, index, _ in entries)
        count = "the entry" if len(entries) == 1 else f"the {len(entries)} entries"
        parts.append(f"gradients at {count} farthest apart ({where}): ")
        parts[-1] += found.message
    value = _output(case, exact)
    values = second_opinion.verdict(want[0], _numbers(got[0]), value)
    parts.append(f"values: {values.message}")
    return f"second opinion ({how}): " + "; ".join(parts)


def raised_verdict(case: Case, want: Any, what: str = "output") -> str:
    """When the target raised: the second opinion on the expected `what` alone."""
    exact = sum(np.size(v) for v in case.inputs.values()) <= MPMATH_BUDGET
    how = f"mpmath, {DPS} digits" if exact else "float64 NumPy"
    found = second_opinion.verdict(want, want, _output(case, exact))
    agrees = "agrees" if found.agrees == "both" else "does not agree"
    return (
        f"second opinion ({how}): the target raised, so only the expected {what} (shape "
        f"{np.shape(want)}) is judged: it {agrees} with the second opinion (relative error "
        f"{found.expected_error:.2e})"
    )


def ties_verdict(case: FunctionalCase, out: Any, got_out: Any, grad: Any) -> str:
    """Max pooling with tied maxima (windows that do not overlap): the derivative of
    ``sum(upstream * max_pool2d(x))`` along the direction that raises a window's maxima
    together is defined at the tie (the maximum rises with them) and is the sum their
    gradients must have: the upstream (expected) against the target's sum (actual), at the
    windows where they differ most."""
    ir, _ = functional_graph(case)
    x, g = case.tensors[0], np.asarray(case.upstream, np.float64)
    value = second_opinion.verdict(out, _numbers(got_out), _output(ir, True))
    if np.shape(got_out) != np.shape(out) or not np.array_equal(got_out, out):
        return f"second opinion (mpmath, {DPS} digits): values: {value.message}"
    (kh, kw), (ph, pw) = pair(case.kwargs["kernel_size"]), pair(case.kwargs.get("padding", 0))
    sh, sw = pair(case.kwargs.get("stride", case.kwargs["kernel_size"]))
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    windows = []
    for b, c, i, j in np.ndindex(*np.shape(out)):
        mask = np.zeros(padded.shape, bool)
        window = padded[b, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        mask[b, c, i * sh : i * sh + kh, j * sw : j * sw + kw] = window == window.max()
        mask = mask[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
        share = float(np.sum(np.asarray(grad, np.float64)[mask]))
        windows.append((abs(share - g[b, c, i, j]), (b, c, i, j), mask, share))
    chosen = sorted(windows, key=lambda w: -w[0])[:ENTRIES]
    truth = [_along(ir, mask.astype(np.float64)) for _, _, mask, _ in chosen]
    found = second_opinion.verdict(
        [float(g[index]) for _, index, _, _ in chosen], [w[3] for w in chosen], truth
    )
    where = ", ".join(str(list(index)) for _, index, _, _ in chosen)
    return (
        f"second opinion (mpmath, {DPS} digits): the sums of the maxima's gradients in windows "
        f"{where}, as derivatives along the direction raising each window's maxima together: "
        f"{found.message}; values: {value.message}"
    )


def _along(case: Case, direction: np.ndarray) -> float:
    """The derivative of the objective of a one-input case along `direction`, in mpmath."""
    f = second_opinion.objective(case.graph, case.upstream, DPS)
    with mpmath.workdps(DPS):
        lift = np.vectorize(mpmath.mpf, otypes=[object])
        x, d = lift(case.inputs["x0"]), lift(direction)
        h = mpmath.mpf(10) ** (-(DPS // 3))
        return float((f({"x0": x + h * d}) - f({"x0": x - h * d})) / (2 * h))


def training_verdict(case: NetworkCase, want: float, got: Any) -> str:
    """The second opinion on the loss before the first step (the target's and the
    oracle's); the optimizer's steps are not re-derived."""
    ir, _ = network_graph(case, 1.0)
    exact = sum(np.size(v) for v in ir.inputs.values()) <= MPMATH_BUDGET
    how = f"mpmath, {DPS} digits" if exact else "float64 NumPy"
    found = second_opinion.verdict(want, _numbers(got), _output(ir, exact))
    said = f"second opinion ({how}) on the loss before the first step: {found.message}"
    if found.agrees == "both":
        said += "; so the difference comes from the steps (the gradients or the update rule)"
    return said + "; the steps themselves are not re-derived"


def _numbers(value: Any) -> Any:
    try:
        return np.asarray(value, np.float64)
    except (TypeError, ValueError):
        return np.nan


def _farthest(
    names: Sequence[str], want: Sequence[Any], got: Sequence[Any], allowed: Sequence[Any]
) -> list[tuple[str, tuple[int, ...], int]]:
    """(input name, index, position) of the entries whose error is the largest multiple of
    their allowed error (the worst of each gradient first), at most `ENTRIES`."""
    ranked: list[tuple[float, str, tuple[int, ...], int]] = []
    for k, (name, w, g, a) in enumerate(zip(names, want, got, allowed, strict=True)):
        g = _numbers(g)
        if np.shape(g) != np.shape(w):
            continue
        with np.errstate(all="ignore"):
            ratio = np.abs(g - w) / np.maximum(a, np.finfo(np.float64).tiny)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        order = np.argsort(-ratio, axis=None, kind="stable")
        ranked += [
            (float(ratio.flat[i]), name, np.unravel_index(i, np.shape(w)), k)
            for i in order[:ENTRIES]
            if ratio.flat[i] > 1
        ]
    firsts = {}
    for entry in sorted(ranked, key=lambda e: -e[0]):
        firsts.setdefault(entry[1], entry)
    chosen = list(firsts.values())
    chosen += [e for e in sorted(ranked, key=lambda e: -e[0]) if e not in chosen]
    return [(name, tuple(int(i) for i in index), k) for _, name, index, k in chosen[:ENTRIES]]


def _derivative(case: Case, name: str, index: tuple[int, ...], exact: bool) -> tuple[float, float]:
    """d(sum(upstream * output)) / d inputs[name][index] without JAX, and the error the
    difference itself may have (0 for mpmath's, far below float64's resolution)."""
    if not exact:
        return _float64_derivative(case, name, index)
    f = second_opinion.objective(case.graph, case.upstream, DPS)
    with mpmath.workdps(DPS):
        lift = np.vectorize(mpmath.mpf, otypes=[object])
        base = {n: lift(np.asarray(v, np.float64)) for n, v in case.inputs.items()}
        xi = base[name][index]
        h = (abs(xi) if xi != 0 else mpmath.mpf(1)) * mpmath.mpf(10) ** (-(DPS // 3))

        def diff(step: Any) -> Any:
            up, down = base[name].copy(), base[name].copy()
            up[index], down[index] = xi + step, xi - step
            return (f({**base, name: up}) - f({**base, name: down})) / (2 * step)

        return float((4 * diff(h / 2) - diff(h)) / 3), 0.0


STEP = 1e-5  # relative step of the float64 difference: far inside any kink of a network


def _float64_derivative(case: Case, name: str, index: tuple[int, ...]) -> tuple[float, float]:
    """A central difference in float64 with one Richardson step; its error bound is the
    rounding of the function's values over the step, plus the Richardson correction."""
    f = second_opinion.objective(case.graph, case.upstream)
    base = {n: np.asarray(v, np.float64) for n, v in case.inputs.items()}
    xi = float(base[name][index])
    h = STEP * max(abs(xi), 1e-3)
    scale = 0.0

    def diff(step: float) -> float:
        nonlocal scale
        values = []
        for t in (xi + step, xi - step):
            x = base[name].copy()
            x[index] = t
            values.append(float(f({**base, name: x})))
        scale = max(scale, *(abs(v) for v in values))
        return (values[0] - values[1]) / (2 * step)

    coarse, fine = diff(h), diff(h / 2)
    eps = np.finfo(np.float64).eps
    return (4 * fine - coarse) / 3, 64 * eps * scale / h + abs(fine - coarse)


def _output(case: Case, exact: bool) -> np.ndarray:
    if exact:
        return second_opinion.outputs(case.graph, case.inputs, DPS)[0]
    from oracle.numpy_eval import evaluate

    return np.asarray(evaluate(case.graph, case.inputs)[case.graph.outputs[0]], np.float64)
