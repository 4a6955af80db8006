"""Protocol v2 `nn` layers, each alone: `Linear`, `Conv2d`, the poolings, `Flatten` and the
activations, built with torch's arguments and given the case's weights, against the
oracle: the output, the input's gradient and every parameter's gradient under a random
upstream gradient."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from oracle import networks
from properties import running
from properties.cases.layers import NetworkCase, explicit_layer_cases, layer_cases
from properties.network_checks import (
    allowed_errors,
    as_array,
    compare,
    failure,
    needs,
    network_snippet,
    on_target,
)
from properties.network_opinion import Disagreement, network_graph, network_verdict, raised_verdict
from properties.settings import fewer_examples
from properties.targets import Target

# the arguments of each layer beyond its first, each detected on its own (torch's names)
ARGUMENTS = {
    "Linear": ("bias=False",),
    "Conv2d": ("stride=...", "padding=...", "bias=False"),
    "MaxPool2d": ("stride=...", "padding=..."),
    "AvgPool2d": ("stride=...", "padding=..."),
    "Flatten": ("start_dim=...",),
}


@pytest.mark.parametrize("kind", sorted(ARGUMENTS))
def test_layer_arguments_are_accepted(target: Target, kind: str) -> None:
    """Every argument the suite draws for a layer is taken; one the target refuses is
    listed as missing, and the layer is verified with the arguments it accepts."""
    needs(target, "Tensor", f"nn.{kind}")
    refused = [
        f"nn.{kind}({a})" for a in ARGUMENTS[kind] if f"nn.{kind}({a})" not in target.capabilities
    ]
    if refused:
        pytest.skip(f"target lacks {', '.join(refused)}")


def check_network(target: Target, case: NetworkCase, upstream: Any, sequential: bool) -> None:
    """The target's network (or one layer) on the case against the oracle: output (or
    loss), the input's gradient and each parameter's, within the error analysis."""
    head = case.loss or upstream
    out, x_grad, grads = networks.network_vjp(
        case.layers, case.params, case.x, head, case.y, upstream
    )
    analysis = networks.bounds(case.layers, case.params, case.x, head, case.y, upstream)
    snippet = network_snippet(case, target.import_name, upstream, sequential)
    raised = lambda: raised_verdict(network_graph(case, upstream)[0], out)  # noqa: E731
    answer = on_target(
        target,
        "network_run",
        snippet,
        raised,
        layers=list(case.layers),
        params=list(case.params),
        x=case.x,
        head=head,
        y=case.y,
        upstream=upstream,
        sequential=sequential,
    )
    if len(answer["grads"]) != len(grads):
        raise AssertionError(f"parameters() changed its length\nreproduce with:\n{snippet}")
    got = [as_array(g, p.shape) for g, p in zip(answer["grads"], case.params, strict=True)]
    want = [out, x_grad, *grads]
    found = [answer["output"], as_array(answer["input_grad"], case.x.shape), *got]
    bounds = [analysis.output, analysis.input_grad, *analysis.grads]
    labels = ["out", "d loss / d x", *(f"d loss / d parameters()[{i}]" for i in range(len(got)))]
    problems = compare(want, found, bounds, labels)
    if problems:
        allowed = allowed_errors(want, bounds)
        opinion = lambda: network_verdict(case, upstream, want, found, allowed)  # noqa: E731
        raise Disagreement(failure(problems, snippet), opinion)


def test_layer_agrees_with_oracle(target: Target) -> None:
    needs(target, "Tensor", "nn.Linear")
    for case, upstream in explicit_layer_cases(target.capabilities):
        check_network(target, case, upstream, sequential=False)

    @fewer_examples(0.2)
    @given(drawn=layer_cases(target.capabilities))
    def agrees(drawn: tuple[NetworkCase, Any]) -> None:
        case, upstream = drawn
        check_network(target, case, upstream, sequential=False)

    running.run(agrees, target)
