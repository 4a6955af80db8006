"""Schedule references (oracle/schedules.py): torch's learning rates, and a trajectory at
those rates against torch.optim stepped by torch's scheduler."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.optim import trajectory
from oracle.schedules import LAMBDAS, learning_rates

STEPS = 9
SCHEDULES = [
    {"name": "StepLR", "step_size": 2, "gamma": 0.5},
    {"name": "StepLR", "step_size": 3},
    {"name": "StepLR", "step_size": 1, "gamma": 1.7},
    {"name": "LambdaLR", "lr_lambda": "exponential", "parameter": 0.8},
    {"name": "LambdaLR", "lr_lambda": "linear_warmup", "parameter": 4.0},
    {"name": "LambdaLR", "lr_lambda": "inverse_time", "parameter": 0.3},
]


def _torch_scheduler(torch, optimizer, schedule: dict):
    if schedule["name"] == "StepLR":
        gamma = {"gamma": schedule["gamma"]} if "gamma" in schedule else {}
        return torch.optim.lr_scheduler.StepLR(optimizer, schedule["step_size"], **gamma)
    function = LAMBDAS[schedule["lr_lambda"]]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: function(epoch, schedule["parameter"])
    )


def test_lambdas_are_the_documented_formulas() -> None:
    assert LAMBDAS["exponential"](3, 0.5) == 0.125
    assert [LAMBDAS["linear_warmup"](e, 4.0) for e in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert LAMBDAS["inverse_time"](4, 0.5) == 1.0 / 3.0
    with pytest.raises(ValueError, match="unknown scheduler"):
        learning_rates({"name": "CosineAnnealingLR"}, 0.1, 3)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: str(list(s.values())))
def test_learning_rates_and_trajectories_follow_torch(schedule: dict) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    start = rng.normal(size=4)
    grads = [[rng.normal(size=4)] for _ in range(STEPS)]
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([param], lr=0.2, weight_decay=0.1)
    scheduler = _torch_scheduler(torch, optimizer, schedule)
    rates, want = [], [start.copy()]
    for (g,) in grads:
        rates.append(optimizer.param_groups[0]["lr"])
        param.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        scheduler.step()
        want.append(param.detach().numpy().copy())
    got_rates = learning_rates(schedule, 0.2, STEPS)
    np.testing.assert_allclose(got_rates, rates, rtol=1e-15, err_msg=f"{schedule}")
    config = {"name": "Adam", "lr": 0.2, "weight_decay": 0.1}
    got = trajectory(config, [start], grads, learning_rates=got_rates)
    np.testing.assert_allclose(
        [step[0] for step in got], want, rtol=1e-12, atol=1e-15, err_msg=f"{schedule}"
    )
