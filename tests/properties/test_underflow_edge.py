"""Near the underflow edge neither the oracle nor the second opinion blames a correct
engine: a 10,000-node tanh chain whose true gradient is -2.684e-308, which JAX (flushing
subnormal intermediates) computes as 0.0."""

from __future__ import annotations

import pytest

from oracle import second_opinion
from oracle.ir import SCALAR, GraphBuilder
from properties.cases.common import Case
from properties.targets import load_target
from properties.test_scalar_graphs import check_case

TRUE_GRADIENT = -2.68413876e-308  # mpmath at 477 digits


@pytest.fixture(scope="module")
def chain() -> Case:
    b = GraphBuilder(SCALAR)
    n = b.input("x0")
    for _ in range(3334):
        n = b.op("tanh", b.op("neg", b.op("add", n, const=-0.9061949932722915)))
    out = b.op("mul", n, const=-1.3425232177055588)
    return Case(b.build([out]), {"x0": 1.1123116258615209}, (1.0,))


def test_a_correct_engine_agrees_near_the_underflow_edge(chain: Case) -> None:
    target = load_target("engine")
    try:
        check_case(target, chain)  # raises AssertionError on a disagreement
    finally:
        target.close()


def test_the_second_opinion_resolves_a_gradient_of_1e_308(chain: Case) -> None:
    engine_says = {"x0": -2.684138760236186e-308}
    dps = second_opinion.digits_to_resolve({"x0": 0.0}, engine_says)
    truth = second_opinion.gradient(chain.graph, chain.inputs, chain.upstream, dps=dps)
    assert abs(truth["x0"] / TRUE_GRADIENT - 1) < 1e-8, (dps, truth)
    verdict = second_opinion.verdict({"x0": 0.0}, engine_says, truth)
    assert verdict.agrees == "actual", verdict.message
