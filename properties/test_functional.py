"""Protocol v2 `functional`: each function and loss alone against the oracle (its output,
and the gradient of every tensor argument under a random upstream gradient), the
arguments the target accepts, and ties in max pooling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from oracle import networks
from properties import running
from properties.cases.layers import (
    FunctionalCase,
    explicit_functional_case,
    explicit_linear_nd_cases,
    functional_cases,
    linear_cases,
    pool_cases,
)
from properties.network_checks import (
    allowed_errors,
    as_array,
    call_of,
    compare,
    failure,
    functional_snippet,
    needs,
    on_target,
)
from properties.network_opinion import (
    Disagreement,
    functional_graph,
    functional_verdict,
    raised_verdict,
    ties_verdict,
)
from properties.reference import bad_value
from properties.settings import fewer_examples
from properties.targets import Target
from properties.worker.network_ops import HINGE_LABELS, LINEAR_ND

NAMES = (*networks.FUNCTIONS, *networks.LOSSES)
ARGUMENTS = {
    "linear": ("bias",),
    "conv2d": ("bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("stride", "padding"),
    "avg_pool2d": ("stride", "padding"),
    "flatten": ("start_dim",),
}
# torch's own optional arguments: verified when offered, listed as missing otherwise
OPTIONAL = {("conv2d", "dilation"), ("conv2d", "groups")}


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_functional_arguments_are_accepted(
    target: Target, name: str, record_property: Callable[[str, Any], None]
) -> None:
    """Every argument of the spec's signature is taken, and each one the target takes is
    verified on its own against the oracle; one the target refuses is listed as missing
    (`vgrad check` shows it next to the outcome), never the reason to verify nothing."""
    needs(target, "Tensor", f"functional.{name}")
    accepted = {a for a in ARGUMENTS[name] if _argument(name, a) in target.capabilities}
    refused = [_argument(name, a) for a in ARGUMENTS[name] if a not in accepted]
    if not accepted:
        pytest.skip(f"target lacks {', '.join(refused)}")
    if refused:
        record_property("vgrad_lacks", refused)
    others = {_argument(name, a) for a in ARGUMENTS[name]}
    # torch's optional extras have no explicit case: test_function_agrees_with_oracle draws them
    for argument in sorted(accepted - {a for n, a in OPTIONAL if n == name}):
        alone = (set(target.capabilities) - others) | {_argument(name, argument)}
        try:
            check_call(target, explicit_functional_case(name, alone))
        except AssertionError as error:
            said = f"functional.{name} with {argument} (and no other optional argument):\n"
            opinion = getattr(error, "second_opinion", lambda: "")
            raise Disagreement(said + str(error), opinion) from None


def _argument(name: str, argument: str) -> str:
    return f"functional.{name}({argument}=...)"


def _sent(case: FunctionalCase) -> dict:
    return dict(
        name=case.name,
        tensors=list(case.tensors),
        rest=list(case.rest),
        kwargs=case.kwargs,
        upstream=case.upstream,
    )


def check_call(target: Target, case: FunctionalCase) -> None:
    """The target's output and each tensor argument's gradient against the oracle's (the
    labels of a hinge_loss that treats them as constants aside: a limitation)."""
    call = call_of(case)
    out, grads = networks.vjp(call, case.upstream)
    analysis = networks.call_bounds(call, case.upstream)
    grad_bounds = [analysis.input_grad, *analysis.grads]
    if case.name in networks.LOSSES and len(case.tensors) > 1:
        grad_bounds = [analysis.input_grad, analysis.head_grad]
    snippet = functional_snippet(case, target.import_name)
    raised = lambda: raised_verdict(functional_graph(case)[0], out)  # noqa: E731
    answer = on_target(target, "functional_call", snippet, raised, **_sent(case))
    got = [as_array(g, t.shape) for g, t in zip(answer["grads"], case.tensors, strict=True)]
    want, found = [out, *grads], [answer["output"], *got]
    bounds = [analysis.output, *grad_bounds]
    if case.name == "hinge_loss" and HINGE_LABELS in target.limitations:
        want, found, bounds = want[:2], found[:2], bounds[:2]  # the labels' gradient: listed
    labels = ["out", *(f"d loss / d x{i}" for i in range(len(found) - 1))]
    problems = compare(want, found, bounds, labels)
    if problems:
        allowed = allowed_errors(want, bounds)
        opinion = lambda: functional_verdict(case, want, found, allowed)  # noqa: E731
        raise Disagreement(failure(problems, snippet), opinion)


@pytest.mark.parametrize("name", NAMES)
def test_function_agrees_with_oracle(target: Target, name: str) -> None:
    needs(target, "Tensor", f"functional.{name}")
    check_call(target, explicit_functional_case(name, target.capabilities))
    if name in ("max_pool2d", "avg_pool2d"):  # the default stride (the kernel's) too
        without_stride = set(target.capabilities) - {f"functional.{name}(stride=...)"}
        check_call(target, explicit_functional_case(name, without_stride))

    @fewer_examples(0.15)
    @given(case=functional_cases(name, target.capabilities))
    def agrees(case: FunctionalCase) -> None:
        check_call(target, case)

    running.run(agrees, target)


def test_linear_with_leading_batch_axes_agrees_with_oracle(target: Target) -> None:
    """torch's `linear` takes inputs (*, in): one of shape (in,), and (N, *, in) whose
    leading axes are all batch axes (the weight's and the bias's gradients sum over every
    one). An optional variant: offered when a probe's forward and backward run, a
    limitation when only the forward does."""
    needs(target, "Tensor", "functional.linear")
    if LINEAR_ND in target.limitations:
        pytest.skip(f"{LINEAR_ND} is a limitation: {target.limitations[LINEAR_ND]}")
    needs(target, LINEAR_ND)
    for case in explicit_linear_nd_cases(target.capabilities):
        check_call(target, case)

    @fewer_examples(0.1)
    @given(case=linear_cases(target.capabilities, nd=True))
    def agrees(case: FunctionalCase) -> None:
        check_call(target, case)

    running.run(agrees, target)


def test_max_pool2d_ties_split_the_gradient(target: Target) -> None:
    """Tied maxima (values from {-1, 0, 1}, windows that do not overlap): the output is the
    maximum, and each window's upstream gradient is split among its maxima in
    non-negative parts that sum to it; the other elements get none."""
    needs(target, "Tensor", "functional.max_pool2d")

    @fewer_examples(0.1)
    @given(case=pool_cases("max_pool2d", target.capabilities, ties=True))
    def splits(case: FunctionalCase) -> None:
        call = call_of(case)
        out, _ = networks.vjp(call, case.upstream)
        snippet = functional_snippet(case, target.import_name)
        raised = lambda: raised_verdict(functional_graph(case)[0], out)  # noqa: E731
        answer = on_target(target, "functional_call", snippet, raised, **_sent(case))
        (x,) = case.tensors
        grad = answer["grads"][0]
        why = bad_value(answer["output"]) or bad_value(grad)
        problems = [f"a value read is {why}"] if why else []
        if not problems:
            grad = as_array(grad, x.shape)
            problems = _tie_problems(case, out, answer["output"], grad)
            if problems:
                opinion = lambda: ties_verdict(case, out, answer["output"], grad)  # noqa: E731
                raise Disagreement(failure(problems, snippet), opinion)
        assert not problems, failure(problems, snippet)

    running.run(splits, target)


def _tie_problems(
    case: FunctionalCase, want: np.ndarray, got: np.ndarray, grad: np.ndarray
) -> list[str]:
    x, g = case.tensors[0], np.asarray(case.upstream, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape or not np.array_equal(got, want):
        return [f"out: expected {want.tolist()}, got {got.tolist()}"]
    kh, kw = networks.pair(case.kwargs["kernel_size"])
    sh, sw = networks.pair(case.kwargs.get("stride", case.kwargs["kernel_size"]))
    ph, pw = networks.pair(case.kwargs.get("padding", 0))
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    grads = np.pad(grad, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    seen = np.zeros(padded.shape, bool)
    problems = []
    tol = 4 * np.finfo(np.float64).eps
    for index in np.ndindex(*want.shape):
        b, c, i, j = index
        rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
        window, parts = padded[b, c, rows, cols], grads[b, c, rows, cols]
        seen[b, c, rows, cols] = True
        tied = window == window.max()
        share, rest = parts[tied], parts[~tied]
        where = f"window {index} (maxima at {np.argwhere(tied).tolist()})"
        if np.any(rest != 0) or np.any(share * np.sign(g[index]) < -tol * abs(g[index])):
            problems.append(
                f"{where}: the gradient {parts.tolist()} for upstream {float(g[index])!r} is not a "
                "non-negative split among the maxima"
            )
        elif abs(share.sum() - g[index]) > tol * abs(g[index]) * tied.sum():
            problems.append(
                f"{where}: the maxima's gradients {share.tolist()} sum to "
                f"{float(share.sum())!r}, not the upstream {float(g[index])!r}"
            )
    if np.any(grads[~seen] != 0):
        problems.append(f"elements in no window got gradient: {grads[~seen].tolist()}")
    return problems[:5]
