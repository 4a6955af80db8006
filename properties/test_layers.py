"""Protocol v2 `nn` layers, each alone: `Linear`, `Conv2d`, the poolings, `Flatten` and the
activations, built with torch's arguments and given the case's weights, against the
oracle: the output, the input's gradient and every parameter's gradient under a random
upstream gradient."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from oracle import networks
from properties import running
from properties.cases.layers import NetworkCase, explicit_layer_cases, layer_cases
from properties.network_checks import as_array, compare, failure, needs, network_snippet, on_target
from properties.settings import fewer_examples
from properties.targets import Target


def check_network(target: Target, case: NetworkCase, upstream: Any, sequential: bool) -> None:
    """The target's network (or one layer) on the case against the oracle: output (or
    loss), the input's gradient and each parameter's, within the error analysis."""
    head = case.loss or upstream
    out, x_grad, grads = networks.network_vjp(
        case.layers, case.params, case.x, head, case.y, upstream
    )
    analysis = networks.bounds(case.layers, case.params, case.x, head, case.y, upstream)
    snippet = network_snippet(case, target.import_name, upstream, sequential)
    answer = on_target(
        target,
        "network_run",
        snippet,
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
    problems = compare([out], [answer["output"]], [analysis.output], ["out"])
    problems += compare(
        [x_grad],
        [as_array(answer["input_grad"], case.x.shape)],
        [analysis.input_grad],
        ["d loss / d x"],
    )
    problems += compare(
        grads, got, analysis.grads, [f"d loss / d parameters()[{i}]" for i in range(len(got))]
    )
    assert not problems, failure(problems, snippet)


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
