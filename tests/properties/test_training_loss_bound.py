"""The Sequential training property computes the loss's allowed error in two parts: the
bound without the parameters' distance, and, only where a loss is outside it, the
distance carried by the oracle's gradient (a compiled program). The shortcut must change
no verdict and no message: the same answers judged with the full bound always give the
same outcome, word for word."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import properties.test_sequential as sequential
from oracle import networks
from properties.cases.layers import NetworkCase

MLP = (
    {"type": "Linear", "in_features": 3, "out_features": 4},
    {"type": "Tanh"},
    {"type": "Linear", "in_features": 4, "out_features": 2},
)


def small_loss_case(loss: str) -> NetworkCase:
    """Targets or labels close to the network's outputs: a small loss whose gradient, times
    the parameters, is far larger, so a parameter's allowed distance moves it beyond its
    own evaluation's error."""
    rng = np.random.default_rng(11)
    params = tuple(rng.uniform(-1, 1, s) for s in networks.parameter_shapes(MLP))
    x = rng.uniform(-3, 3, (4, 3))
    out = np.asarray(networks.forward(MLP, params, x))
    if loss == "mse_loss":
        return NetworkCase(MLP, params, x, loss, out + 0.01)
    return NetworkCase(MLP, tuple(2 * p for p in params), x, loss, np.argmax(out, axis=1))


CASES = [
    (small_loss_case("cross_entropy"), ("Adam", {"lr": 0.01})),
    (small_loss_case("mse_loss"), ("SGD", {"lr": 0.1, "momentum": 0.9})),
]


def judged(case: NetworkCase, optimizer: tuple[str, dict]) -> str:
    """The property's outcome on the answer `on_target` gives: "passed" or its message."""
    try:
        sequential.follow(SimpleNamespace(import_name="engine"), case, *optimizer, 2)
    except AssertionError as error:
        return str(error)
    return "passed"


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_loss_bound_shortcut_changes_no_verdict(index: int, monkeypatch) -> None:
    """Answers moved from the oracle's run by relative steps of 1e-14 to 1e-6 (the loss
    itself, or the oracle's loss at the moved parameters, which a correct target gives):
    judged with and without the shortcut, the outcomes are the same, some pass, some
    fail, and some pass only with the distance's term."""
    case, (name, kwargs) = CASES[index]
    config = {"name": name, **kwargs}
    want = networks.train(case.layers, case.loss, case.params, case.x, case.y, config, 2)
    full_bound = sequential.loss_error
    widened = []  # the shortcut computed the distance's term: the bound without it failed

    def loss_error(*args: Any) -> float:
        widened.append(1)
        return full_bound(*args)

    monkeypatch.setattr(sequential, "loss_error", loss_error)
    finite = sequential._finite
    outcomes, needed = [], 0
    for k in (0.0, 1e-14, 1e-12, 1e-11, 3e-11, 6e-11, 1e-10, 1e-8, 1e-6):
        signs = np.random.default_rng(1)
        moved = [
            [p * (1 + k * signs.choice([-1.0, 1.0], p.shape)) for p in ps] for ps in want.params
        ]
        at = [
            networks.loss_and_grads(case.layers, case.loss, ps, case.x, case.y)[0] for ps in moved
        ]
        for losses in ([float(v * (1 + k)) for v in want.losses], [float(v) for v in at]):
            answer = {"losses": losses, "history": moved}
            monkeypatch.setattr(sequential, "on_target", lambda *a, answer=answer, **kw: answer)
            monkeypatch.setattr(sequential, "_finite", finite)
            widened.clear()
            shortcut = judged(case, (name, kwargs))
            needed += bool(widened) and shortcut == "passed"
            monkeypatch.setattr(sequential, "_finite", lambda *arrays: False)
            full = judged(case, (name, kwargs))
            where = f"{case.loss}, {name}, k = {k}, losses {losses}"
            assert shortcut == full, f"{where}:\nshortcut: {shortcut}\nfull bound: {full}"
            outcomes.append(full == "passed")
    assert any(outcomes) and not all(outcomes), f"{case.loss}, {name}: outcomes {outcomes}"
    assert needed, f"{case.loss}, {name}: no answer passed only with the distance's term"
