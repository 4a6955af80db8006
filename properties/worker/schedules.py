"""The target's learning-rate schedulers, `StepLR` and `LambdaLR`, made from a schedule
given as data.

A scheduler lives in the target's `optim`, or in `optim.lr_scheduler` as torch's do. A
`LambdaLR` takes a function, which a case cannot carry: the case names one of `LAMBDAS`
and gives its parameter, and the worker makes the function here (the oracle has its own
copy of the same formulas, oracle/schedules.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEDULERS = ("StepLR", "LambdaLR")

# name -> the multiplier of the base learning rate at an epoch, given the parameter
LAMBDAS: dict[str, Callable[[int, float], float]] = {
    "exponential": lambda epoch, gamma: gamma**epoch,
    "linear_warmup": lambda epoch, steps: min(1.0, (epoch + 1) / steps),
    "inverse_time": lambda epoch, decay: 1.0 / (1.0 + decay * epoch),
}


def scheduler_class(optim: Any, name: str) -> Any:
    """The target's scheduler class `name`, from `optim` or `optim.lr_scheduler`; or None."""
    for where in (optim, getattr(optim, "lr_scheduler", None)):
        found = getattr(where, name, None) if where is not None else None
        if callable(found):
            return found
    return None


def make_scheduler(optim: Any, optimizer: Any, schedule: dict[str, Any]) -> Any:
    """The target's scheduler of `schedule` (``{"name": "StepLR", "step_size": 2,
    "gamma": 0.5}``, gamma optional, or ``{"name": "LambdaLR", "lr_lambda": "exponential",
    "parameter": 0.9}``) over the target's `optimizer`."""
    cls = scheduler_class(optim, schedule["name"])
    if schedule["name"] == "StepLR":  # without a gamma: the target's default
        gamma = {"gamma": schedule["gamma"]} if "gamma" in schedule else {}
        return cls(optimizer, schedule["step_size"], **gamma)
    formula, parameter = LAMBDAS[schedule["lr_lambda"]], schedule["parameter"]
    return cls(optimizer, lambda epoch: formula(epoch, parameter))
