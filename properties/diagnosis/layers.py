"""The catalogue of mistakes in the `nn` layers and `Sequential` (protocol v2).

Each layer the target has is built with one argument at a time away from its default
(Conv2d's stride, its padding; the poolings' stride, their padding; Linear as it is, which
no hypothesis of this catalogue changes), given fixed weights,
and run on a fixed input with a fixed upstream gradient through the worker's
`network_run` task; its output, input gradient and parameter gradients are compared with
torch's (the `functional` rules of `networks`, in NumPy). A hypothesis is one layer that
ignores one of its arguments. A `Sequential` of two `Linear` layers of the same shape is
compared with torch's and with `parameters()` listing the layers last to first (the
weights then land in the other layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from properties.cases.layers import FunctionalCase
from properties.diagnosis.judge import Hypothesis, Reading, judge
from properties.diagnosis.networks import distinct_values, evaluate
from properties.targets import Target, TargetRaised

_FUNCTION = {
    "Linear": "linear",
    "Conv2d": "conv2d",
    "MaxPool2d": "max_pool2d",
    "AvgPool2d": "avg_pool2d",
}


@dataclass(frozen=True)
class LayerProbe:
    """One layer (its dict, as `network_run` takes it), its parameters, input and upstream
    gradient; `argument` is the one set away from its default."""

    layer: dict[str, Any]
    argument: str
    params: tuple[Any, ...]
    x: Any
    upstream: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


def probes(capabilities: Any) -> list[LayerProbe]:
    """Each layer with each argument the target accepts, one at a time."""
    found = []
    if "nn.Linear" in capabilities:  # no argument: a wrong Linear is explained by none
        layer = {"type": "Linear", "in_features": 4, "out_features": 3}
        w, b, x = (
            distinct_values(3, 4, seed=26),
            distinct_values(3, seed=27),
            distinct_values(2, 4, seed=28),
        )
        found.append(LayerProbe(layer, "", (w, b), x, distinct_values(2, 3, seed=29)))
    if "nn.Conv2d" in capabilities:
        w, b = distinct_values(3, 2, 3, 2, seed=20), distinct_values(3, seed=21)
        for argument, value in (("stride", (2, 1)), ("padding", 1)):
            if f"nn.Conv2d({argument}=...)" in capabilities:
                layer = {"type": "Conv2d", "in_channels": 2, "out_channels": 3}
                layer |= {"kernel_size": (3, 2), argument: value}
                x, u = distinct_values(2, 2, 5, 4, seed=22), distinct_values(1, 3, 1, 1, seed=23)
                found.append(LayerProbe(layer, argument, (w, b), x, u, {argument: value}))
    for kind in ("MaxPool2d", "AvgPool2d"):
        if f"nn.{kind}" not in capabilities:
            continue
        for argument, value in (("stride", 1), ("padding", 1)):
            if f"nn.{kind}({argument}=...)" in capabilities:
                layer = {"type": kind, "kernel_size": 3, argument: value}
                x, u = distinct_values(1, 2, 5, 6, seed=24), distinct_values(1, 2, 1, 1, seed=25)
                found.append(LayerProbe(layer, argument, (), x, u, {argument: value}))
    return found


def _predicted(probe: LayerProbe, ignored: str | None) -> Reading:
    kind = probe.layer["type"]
    kwargs = {k: v for k, v in probe.kwargs.items() if k != ignored}
    if kind in ("MaxPool2d", "AvgPool2d"):
        kwargs["kernel_size"] = probe.layer["kernel_size"]
    case = FunctionalCase(
        _FUNCTION[kind], (probe.x, *probe.params), kwargs, upstream=probe.upstream
    )
    out, grads = evaluate(case)
    return {"outputs": [out], "grads": {"x": grads[0]} | _named(grads[1:])}


def _named(grads: Any) -> dict[str, Any]:
    return {f"p{i}": g for i, g in enumerate(grads)}


def _observed(target: Target, task: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = target.call("network_run", **task)
    except TargetRaised as error:
        return {"raised": {"type": error.type_name}}
    if len(answer["grads"]) != len(task["params"]):
        return {"readings": []}  # parameters() changed its length: no hypothesis says so
    grads = [
        np.zeros(np.shape(p)) if g is None else g
        for g, p in zip(answer["grads"], task["params"], strict=True)
    ]
    x_grad = answer["input_grad"]
    x_grad = np.zeros(np.shape(task["x"])) if x_grad is None else x_grad
    return {"readings": [{"outputs": [answer["output"]], "grads": {"x": x_grad} | _named(grads)}]}


def layers_diagnosis(target: Target) -> Any:
    from properties.diagnosis import Diagnosis, describe

    found = probes(target.capabilities)
    if not found:
        return Diagnosis("nn layers", (), "no diagnosis: no layer argument to probe")
    observed = [
        _observed(
            target,
            dict(
                layers=[p.layer],
                params=list(p.params),
                x=p.x,
                head=p.upstream,
                y=None,
                upstream=p.upstream,
                sequential=False,
            ),
        )
        for p in found
    ]
    pairs = sorted({(p.layer["type"], p.argument) for p in found if p.argument})

    def hypothesis(pair: tuple[str, str] | None) -> Hypothesis:
        def predict(k: int) -> list[Any]:
            p = found[k]
            ignores = pair is not None and pair == (p.layer["type"], p.argument)
            return [[_predicted(p, p.argument if ignores else None)]]

        if pair is None:
            return Hypothesis("correct", "torch's layers", predict)
        text = f"nn.{pair[0]} ignores its {pair[1]} argument"
        return Hypothesis(f"{pair[0]}-ignores-{pair[1]}", text, predict)

    finding = judge(hypothesis(None), [hypothesis(p) for p in pairs], observed)
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    text = describe(finding, "the nn layers alone", len(found))
    return Diagnosis("nn layers", ids, text, finding.status == "right")


# -- Sequential ------------------------------------------------------------------------------


def _two_linears(params: list[Any], x: Any, u: Any) -> tuple[Any, list[Any], Any]:
    """Linear(params[0:2]) then Linear(params[2:4]) on x, backpropagated with u: the
    output, the parameters' gradients and x's."""
    w1, b1, w2, b2 = params
    h = x @ w1.T + b1
    dh = u @ w2
    grads = [dh.T @ x, dh.sum(axis=0), u.T @ h, u.sum(axis=0)]
    return h @ w2.T + b2, grads, dh @ w1


SEQUENTIAL = {
    "layers": [{"type": "Linear", "in_features": 3, "out_features": 3}] * 2,
    "params": [distinct_values(*shape, seed=30 + k) for k, shape in enumerate([(3, 3), (3,)] * 2)],
    "x": distinct_values(2, 3, seed=34),
    "upstream": distinct_values(2, 3, seed=35),
}


def sequential_diagnosis(target: Target) -> Any:
    from properties.diagnosis import Diagnosis, describe

    if not target.has("nn.Sequential", "nn.Linear"):
        return Diagnosis("nn Sequential", (), "no diagnosis: the target lacks nn.Sequential")
    p, x, u = SEQUENTIAL["params"], SEQUENTIAL["x"], SEQUENTIAL["upstream"]
    task = dict(layers=SEQUENTIAL["layers"], params=p, x=x, head=u, y=None, upstream=u)
    observed = [_observed(target, task | {"sequential": True})]

    def reading(out: Any, grads: list[Any], dx: Any) -> list[Any]:
        return [[{"outputs": [out], "grads": {"x": dx} | _named(grads)}]]

    out, grads, dx = _two_linears(p, x, u)
    correct = Hypothesis("correct", "torch's Sequential", lambda k: reading(out, grads, dx))
    # listed last to first: the second layer takes p[0:2], the first p[2:4]; the gradients
    # come back in that listing's order
    r_out, r_grads, r_dx = _two_linears([*p[2:], *p[:2]], x, u)
    reversed_ = Hypothesis(
        "parameters-reversed",
        "Sequential.parameters() lists the layers last to first",
        lambda k: reading(r_out, [*r_grads[2:], *r_grads[:2]], r_dx),
    )
    finding = judge(correct, [reversed_], observed)
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    text = describe(finding, "a Sequential of two Linear layers", 1)
    return Diagnosis("nn Sequential", ids, text, finding.status == "right")
