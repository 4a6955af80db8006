"""Learning-rate schedules as `torch.optim.lr_scheduler` sets them: the rate of each step.

A schedule is data: ``{"name": "StepLR", "step_size": 2, "gamma": 0.5}`` (gamma 0.1 when
left out, torch's default), or
``{"name": "LambdaLR", "lr_lambda": "exponential", "parameter": 0.9}`` whose function is
one of `LAMBDAS`, named because a function cannot travel as data.

torch's rules: making the scheduler is epoch 0 and sets epoch 0's rate; each
``scheduler.step()``, called after ``optimizer.step()``, moves to the next epoch and sets
its rate. So the optimizer's step t (from 1) runs at epoch t - 1's rate.

* ``StepLR`` (torch's chained form): lr_0 = base_lr; lr_e = gamma * lr_(e-1) when e is a
  multiple of step_size, lr_(e-1) otherwise (base_lr * gamma ** (e // step_size) in real
  arithmetic).
* ``LambdaLR``: lr_e = base_lr * lr_lambda(e), epoch 0 included.

base_lr is the optimizer's ``lr`` when the scheduler is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# name -> the multiplier of base_lr at an epoch, given the schedule's parameter
LAMBDAS: dict[str, Callable[[int, float], float]] = {
    "exponential": lambda epoch, gamma: gamma**epoch,  # gamma ** epoch
    "linear_warmup": lambda epoch, steps: min(1.0, (epoch + 1) / steps),  # up to 1 in `steps`
    "inverse_time": lambda epoch, decay: 1.0 / (1.0 + decay * epoch),
}


def learning_rates(schedule: Mapping[str, Any], base_lr: float, steps: int) -> list[float]:
    """The learning rate of each of `steps` optimizer steps under `schedule`."""
    rates: list[float] = []
    for epoch in range(steps):
        if schedule["name"] == "StepLR":
            rate = rates[-1] if rates else base_lr
            if epoch > 0 and epoch % schedule["step_size"] == 0:
                rate = schedule.get("gamma", 0.1) * rate  # torch's default gamma
        elif schedule["name"] == "LambdaLR":
            rate = base_lr * LAMBDAS[schedule["lr_lambda"]](epoch, schedule["parameter"])
        else:
            raise ValueError(f"unknown scheduler {schedule['name']!r}; known: StepLR, LambdaLR")
        rates.append(rate)
    return rates
