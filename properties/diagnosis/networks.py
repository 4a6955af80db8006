"""The catalogue of mistakes in the `functional` ops and losses (protocol v2).

Each op is called alone on the target, through the worker's `functional_call` task, on a
few chosen cases (small tensors of distinct values away from kinks and ties, a fixed
upstream gradient; each argument the target accepts, one at a time; huge logits for the
losses), and each answer (the output, every tensor's gradient) is compared with what
each hypothesis predicts: the op's torch rule with one mistake, computed here in NumPy.
The mistakes: a loss summed where torch averages (or averaged over every element), a
formula that overflows at large logits (no max subtracted, the log of a sigmoid), a
hinge without its margin, a factor 2 missing, a target that gets no gradient or one of
the wrong sign or without the factor 2; linear's bias gradient not summed over the batch;
flatten's backward in column-major order; max pooling's gradient sent to the whole
window, or padding with zeros; average pooling that counts only the unpadded elements,
or whose gradient is not divided; pooling's stride defaulting to 1; conv2d as a true
convolution, its weight gradient flipped, its backward ignoring the stride, its padding
cropped off one side, its bias gradient averaged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from properties.cases.layers import FunctionalCase
from properties.diagnosis.judge import Hypothesis, Reading, judge
from properties.targets import Target, TargetRaised

Result = tuple[Any, list[Any]]  # the output and each tensor's gradient

LOSS_MISTAKES = {
    "summed": "{op} sums over the {over} where torch averages (reduction='mean')",
    "overflows": "{op} is computed by a formula that overflows at large logits ({how})",
}
MISTAKES: dict[str, dict[str, str]] = {
    "mse_loss": {
        "summed": LOSS_MISTAKES["summed"],
        "no-two": "mse_loss's gradient is (p - t) / n: the factor 2 of the square is missing",
        "target-detached": "mse_loss gives the target no gradient (torch: -2 (p - t) / n)",
        "target-no-two": "mse_loss's gradient for the target is -(p - t) / n: the factor 2 of "
        "the square is missing there (torch: -2 (p - t) / n)",
    },
    "cross_entropy": {
        "summed": LOSS_MISTAKES["summed"],
        "mean-all": "cross_entropy averages over every logit (batch times classes), not over "
        "the batch",
        "overflows": LOSS_MISTAKES["overflows"],
    },
    "binary_cross_entropy_with_logits": {
        "summed": LOSS_MISTAKES["summed"],
        "overflows": LOSS_MISTAKES["overflows"],
        "target-detached": "binary_cross_entropy_with_logits gives the targets no gradient "
        "(torch: -logits / n)",
        "target-sign": "binary_cross_entropy_with_logits's gradient for the targets has the "
        "wrong sign: logits / n (torch: -logits / n)",
    },
    "hinge_loss": {
        "summed": LOSS_MISTAKES["summed"],
        "no-margin": "hinge_loss is mean(relu(-y s)): the margin 1 is missing",
    },
    "linear": {
        "bias-first-row": "linear's bias gradient is the upstream gradient's first row, not its "
        "sum over the batch (a broadcast gradient not summed back)",
        "bias-averaged": "linear's bias gradient averages the upstream gradient over the batch "
        "instead of summing it",
    },
    "flatten": {
        "column-major": "flatten's backward reshapes the gradient in column-major (Fortran) "
        "order, where the forward flattened in row-major order",
    },
    "max_pool2d": {
        "whole-window": "max_pool2d sends each window's upstream gradient to every element of "
        "the window, not only to its maximum",
        "zero-padding": "max_pool2d pads with zeros instead of -inf",
        "stride-one": "max_pool2d's stride defaults to 1, not to the kernel size",
    },
    "avg_pool2d": {
        "exclude-pad": "avg_pool2d divides by the unpadded elements of each window only "
        "(count_include_pad=False), where torch counts the padding",
        "grad-not-divided": "avg_pool2d's backward does not divide the gradient by the window's "
        "size",
        "stride-one": "avg_pool2d's stride defaults to 1, not to the kernel size",
    },
    "conv2d": {
        "convolution": "conv2d flips the kernel (a true convolution), where torch's conv2d is a "
        "cross-correlation",
        "weight-grad-flipped": "conv2d's weight gradient has the kernel flipped (rows and "
        "columns reversed)",
        "stride-ignored-backward": "conv2d's backward ignores the stride: its gradients take the "
        "output positions one pixel apart",
        "crop-start": "conv2d's backward crops the padding off one side only: it drops 2 p "
        "rows and columns at the start and none at the end",
        "crop-end": "conv2d's backward crops the padding off one side only: it keeps the first "
        "rows and columns and drops 2 p at the end",
        "bias-averaged": "conv2d's bias gradient averages over the output positions instead of "
        "summing",
        "bias-mean-all": "conv2d's bias gradient averages over the batch and the positions "
        "instead of summing",
    },
}
_OVER = {
    "mse_loss": "elements",
    "cross_entropy": "batch",
    "binary_cross_entropy_with_logits": "elements",
    "hinge_loss": "elements",
}
_HOW = {
    "cross_entropy": "exp of the logits without subtracting their maximum",
    "binary_cross_entropy_with_logits": "the log of the sigmoid",
}


def distinct_values(*shape: int, seed: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """Distinct values of two decimals (no ties, no zeros), fixed by `seed`."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    grid = np.setdiff1d(np.round(np.arange(low, high, 0.01), 2), [0.0])
    return rng.choice(grid, n, replace=False).reshape(shape)


def probes(op: str, capabilities: Collection[str]) -> list[FunctionalCase]:
    """The cases `op` is called on: each argument the target accepts, one at a time."""
    has = lambda argument: f"functional.{op}({argument}=...)" in capabilities  # noqa: E731
    if op == "mse_loss":
        return [
            FunctionalCase(
                op, (distinct_values(3, 2, seed=1), distinct_values(3, 2, seed=2)), upstream=0.75
            )
        ]
    if op == "cross_entropy":
        huge = np.array([[1000.0, -1000.0, 3.0], [2.0, 5.0, -1.0]])
        return [
            FunctionalCase(
                op, (distinct_values(3, 4, seed=3),), rest=(np.array([1, 3, 0]),), upstream=0.75
            ),
            FunctionalCase(op, (huge,), rest=(np.array([1, 1]),), upstream=0.75),
        ]
    if op == "binary_cross_entropy_with_logits":
        targets = np.array([0.0, 1.0, 0.25, 0.7])
        huge = (np.array([800.0, -800.0, 0.5, -1.5]), targets)
        return [
            FunctionalCase(
                op, (distinct_values(4, seed=4, low=-3, high=3), targets), upstream=0.75
            ),
            FunctionalCase(op, huge, upstream=0.75),
        ]
    if op == "hinge_loss":
        scores, labels = np.array([0.5, -2.0, 1.5, 0.25]), np.array([1.0, -1.0, -1.0, -1.0])
        return [FunctionalCase(op, (scores, labels), upstream=0.75)]
    if op == "linear":
        tensors = (distinct_values(3, 4, seed=5), distinct_values(2, 4, seed=6))
        tensors += (distinct_values(2, seed=7),) if has("bias") else ()
        return [FunctionalCase(op, tensors, upstream=distinct_values(3, 2, seed=8))]
    if op == "flatten":
        x = distinct_values(2, 3, 2, 2, seed=9)
        found = [FunctionalCase(op, (x,), upstream=distinct_values(2, 12, seed=10))]
        if has("start_dim"):
            found.append(
                FunctionalCase(
                    op, (x,), {"start_dim": 2}, upstream=distinct_values(2, 3, 4, seed=11)
                )
            )
        return found
    if op in ("max_pool2d", "avg_pool2d"):
        return _pool_probes(op, has)
    return _conv_probes(has)


def _pool_probes(op: str, has: Callable[[str], bool]) -> list[FunctionalCase]:
    x = distinct_values(1, 2, 4, 6, seed=12)
    cases = [({"kernel_size": 2}, x)]
    if has("stride"):  # overlapping windows
        cases.append(({"kernel_size": (3, 2), "stride": 1}, x))
    if has("padding"):  # all negative: a zero of the padding would win
        negative = -np.abs(distinct_values(1, 2, 4, 6, seed=13)) if op == "max_pool2d" else x
        kwargs: dict[str, Any] = {"kernel_size": 3, "padding": 1}
        cases.append((kwargs | ({"stride": 2} if has("stride") else {}), negative))
    # the first: one upstream number per channel, so that an output of another shape (a
    # default stride of 1) is weighed too
    found = [FunctionalCase(op, (x,), cases[0][0], upstream=distinct_values(1, 2, 1, 1, seed=17))]
    for k, (kwargs, tensor) in enumerate(cases[1:]):
        out = _pool(tensor, kwargs, "max" if op == "max_pool2d" else "avg", None)[0]
        found.append(
            FunctionalCase(op, (tensor,), kwargs, upstream=distinct_values(*out.shape, seed=k))
        )
    return found


def _conv_probes(has: Callable[[str], bool]) -> list[FunctionalCase]:
    x, w = distinct_values(2, 2, 5, 4, seed=14), distinct_values(3, 2, 3, 2, seed=15)
    tensors = (x, w, distinct_values(3, seed=16)) if has("bias") else (x, w)
    settings = [{}]
    settings += [{"stride": (2, 1)}] if has("stride") else []
    settings += [{"padding": (1, 1)}] if has("padding") else []
    found = []
    for k, kwargs in enumerate(settings):
        out = _conv(tensors, kwargs, None)[0]
        found.append(
            FunctionalCase("conv2d", tensors, kwargs, upstream=distinct_values(*out.shape, seed=k))
        )
    return found


# -- the ops in NumPy, each with its mistakes ------------------------------------------------


def evaluate(case: FunctionalCase, mistake: str | None = None) -> Result:
    """The output and each tensor's gradient under `case.upstream` of `case.name` with
    `mistake` (None: torch's rule)."""
    with np.errstate(all="ignore"):
        op, t, u = case.name, case.tensors, np.asarray(case.upstream, dtype=np.float64)
        if op in _LOSSES:
            out, grads = _LOSSES[op](t, case.rest, mistake)
            return out, [g * u for g in grads]
        if op == "linear":
            return _linear(t, u, mistake)
        if op == "flatten":
            shape, start = t[0].shape, case.kwargs.get("start_dim", 1)
            order = "F" if mistake == "column-major" else "C"
            return t[0].reshape(*shape[:start], -1), [u.reshape(shape, order=order)]
        if op == "conv2d":
            return _conv(t, case.kwargs, mistake, u)
        kind = "max" if op == "max_pool2d" else "avg"
        return _pool(t[0], case.kwargs, kind, mistake, u)


def _mse(t: tuple, rest: tuple, mistake: str | None) -> Result:
    p, y = t
    n = 1 if mistake == "summed" else p.size
    d = (p - y) / n * (1 if mistake == "no-two" else 2)
    dy = {"target-detached": np.zeros_like(y), "target-no-two": -(p - y) / n}
    return np.sum((p - y) ** 2) / n, [d, dy.get(mistake or "", -d)]


def _cross_entropy(t: tuple, rest: tuple, mistake: str | None) -> Result:
    (z,), labels = t, np.asarray(rest[0])
    n = {"summed": 1, "mean-all": z.size}.get(mistake or "", z.shape[0])
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    one_hot = np.zeros(z.shape)
    one_hot[np.arange(z.shape[0]), labels] = 1.0
    out = -log_p[np.arange(z.shape[0]), labels].sum() / n
    if mistake == "overflows":
        out = out + _overflow(np.exp(z).sum())
    return out, [(np.exp(log_p) - one_hot) / n]


def _bce(t: tuple, rest: tuple, mistake: str | None) -> Result:
    z, y = t
    n = 1 if mistake == "summed" else z.size
    losses = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    sigmoid = 0.5 * (1 + np.tanh(z / 2))
    out = losses.sum() / n
    if mistake == "overflows":  # log(sigmoid(z)) or log(1 - sigmoid(z)) is -inf
        s = 1 / (1 + np.exp(-z))
        out = out + _overflow(np.sum(np.log(s) + np.log(1 - s)))
    dy = {"target-detached": np.zeros_like(y), "target-sign": z / n}.get(mistake or "", -z / n)
    return out, [(sigmoid - y) / n, dy]


def _overflow(total: Any) -> float:
    """0 where the unstable formula stays finite, nan where it overflows (then the target
    may answer any nan or inf, or raise)."""
    return 0.0 if np.isfinite(total) else float("nan")


def _hinge(t: tuple, rest: tuple, mistake: str | None) -> Result:
    s, y = t
    n = 1 if mistake == "summed" else s.size
    margin = (0.0 if mistake == "no-margin" else 1.0) - y * s
    active = (margin > 0) / n
    return np.maximum(margin, 0.0).sum() / n, [-y * active, -s * active]


_LOSSES = {
    "mse_loss": _mse,
    "cross_entropy": _cross_entropy,
    "binary_cross_entropy_with_logits": _bce,
    "hinge_loss": _hinge,
}


def _linear(t: tuple, u: Any, mistake: str | None) -> Result:
    x, w = t[0], t[1]
    out = x @ w.T + (t[2] if len(t) > 2 else 0.0)
    grads = [u @ w, u.T @ x]
    if len(t) > 2:
        grads.append(
            {"bias-first-row": u[0], "bias-averaged": u.mean(axis=0)}.get(
                mistake or "", u.sum(axis=0)
            )
        )
    return out, grads


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _windows(shape: tuple, k: tuple, s: tuple, p: tuple) -> list[tuple[Any, Any]]:
    """For each kernel offset (u, v), the padded pixels it meets at each output position."""
    oh = (shape[2] + 2 * p[0] - k[0]) // s[0] + 1
    ow = (shape[3] + 2 * p[1] - k[1]) // s[1] + 1
    return [
        (slice(u, u + s[0] * (oh - 1) + 1, s[0]), slice(v, v + s[1] * (ow - 1) + 1, s[1]))
        for u in range(k[0])
        for v in range(k[1])
    ]


def _padded(x: Any, p: tuple, fill: float) -> Any:
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)


def _pool(x: Any, kwargs: dict, kind: str, mistake: str | None, u: Any = None) -> Result:
    k = _pair(kwargs["kernel_size"])
    default = (1, 1) if mistake == "stride-one" else k
    s = _pair(kwargs["stride"]) if kwargs.get("stride") is not None else default
    p = _pair(kwargs.get("padding", 0))
    fill = -np.inf if kind == "max" and mistake != "zero-padding" else 0.0
    xp = _padded(x, p, fill)
    windows = _windows(x.shape, k, s, p)
    parts = np.stack([xp[:, :, r, c] for r, c in windows])
    if kind == "max":
        out = parts.max(axis=0)
        share = np.ones_like(parts) if mistake == "whole-window" else (parts == out) * 1.0
    else:
        count: Any = k[0] * k[1]
        if mistake == "exclude-pad":
            ones = _padded(np.ones(x.shape), p, 0.0)
            count = np.stack([ones[:, :, r, c] for r, c in windows]).sum(axis=0)
        out = parts.sum(axis=0) / count
        share = np.ones_like(parts) / (1 if mistake == "grad-not-divided" else count)
    if u is None:
        return out, []
    u = np.broadcast_to(u, out.shape)
    gp = np.zeros(xp.shape)
    for (r, c), part in zip(windows, share * u, strict=True):
        gp[:, :, r, c] += part
    return out, [gp[:, :, p[0] : p[0] + x.shape[2], p[1] : p[1] + x.shape[3]]]


def _conv(t: tuple, kwargs: dict, mistake: str | None, u: Any = None) -> Result:
    x, w = t[0], t[1]
    if mistake == "convolution":
        w = w[:, :, ::-1, ::-1]
    k, s, p = w.shape[2:], _pair(kwargs.get("stride", 1)), _pair(kwargs.get("padding", 0))
    xp = _padded(x, p, 0.0)
    windows = _windows(x.shape, k, s, p)
    offsets = [(a, b) for a in range(k[0]) for b in range(k[1])]
    out = sum(
        np.einsum("ncij,fc->nfij", xp[:, :, r, c], w[:, :, a, b])
        for (r, c), (a, b) in zip(windows, offsets, strict=True)
    )
    if len(t) > 2:
        out = out + t[2][None, :, None, None]
    if u is None:
        return out, []
    u = np.broadcast_to(u, out.shape)
    if mistake == "stride-ignored-backward":
        windows = _windows(x.shape, k, (1, 1), p)
        windows = [
            (slice(r.start, r.start + out.shape[2]), slice(c.start, c.start + out.shape[3]))
            for r, c in windows
        ]
    gp, gw = np.zeros(xp.shape), np.zeros(w.shape)
    for (r, c), (a, b) in zip(windows, offsets, strict=True):
        gp[:, :, r, c] += np.einsum("nfij,fc->ncij", u, w[:, :, a, b])
        gw[:, :, a, b] = np.einsum("nfij,ncij->fc", u, xp[:, :, r, c])
    if mistake in ("convolution", "weight-grad-flipped"):
        gw = gw[:, :, ::-1, ::-1]
    top, left = {"crop-start": (2 * p[0], 2 * p[1]), "crop-end": (0, 0)}.get(mistake or "", p)
    grads = [gp[:, :, top : top + x.shape[2], left : left + x.shape[3]], gw]
    if len(t) > 2:
        bias = {
            "bias-averaged": u.mean(axis=(2, 3)).sum(axis=0),
            "bias-mean-all": u.mean(axis=(0, 2, 3)),
        }
        grads.append(bias.get(mistake or "", u.sum(axis=(0, 2, 3))))
    return out, grads


# -- probing and judging ---------------------------------------------------------------------


def _reading(out: Any, grads: list[Any], only_output: bool = False) -> Reading:
    names = {} if only_output else {f"x{i}": g for i, g in enumerate(grads)}
    return {"outputs": [out], "grads": names}


def _hypothesis(op: str, mistake: str | None, cases: list[FunctionalCase]) -> Hypothesis:
    def predict(k: int) -> list[Any]:
        out, grads = evaluate(cases[k], mistake)
        # where the unstable formula overflows, only the loss is predicted (its gradient
        # is finite or not depending on how the formula is written)
        return [[_reading(out, grads, only_output=not np.all(np.isfinite(out)))]]

    if mistake is None:
        return Hypothesis("correct", f"torch's {op}", predict)
    text = MISTAKES[op][mistake].format(op=op, over=_OVER.get(op, ""), how=_HOW.get(op, ""))
    return Hypothesis(mistake, text, predict)


def _observed(target: Target, case: FunctionalCase) -> dict[str, Any]:
    try:
        answer = target.call(
            "functional_call",
            name=case.name,
            tensors=list(case.tensors),
            rest=list(case.rest),
            kwargs=case.kwargs,
            upstream=case.upstream,
        )
    except TargetRaised as error:
        return {"raised": {"type": error.type_name}}
    grads = [
        np.zeros(np.shape(t)) if g is None else g
        for g, t in zip(answer["grads"], case.tensors, strict=True)
    ]
    return {"readings": [_reading(answer["output"], grads)]}


def diagnosis(target: Target, op: str) -> Any:
    from properties.diagnosis import Diagnosis, describe

    scope = f"functional {op}"
    if not target.has("Tensor", f"functional.{op}"):
        return Diagnosis(scope, (), f"no diagnosis: the target lacks Tensor or functional.{op}")
    cases = probes(op, target.capabilities)
    observed = [_observed(target, c) for c in cases]
    finding = judge(
        _hypothesis(op, None, cases), [_hypothesis(op, m, cases) for m in MISTAKES[op]], observed
    )
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    text = describe(finding, f"functional.{op} alone", len(cases))
    return Diagnosis(scope, ids, text, finding.status == "right")
