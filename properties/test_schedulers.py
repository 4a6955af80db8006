"""Schedulers (protocol v2): `StepLR` and `LambdaLR` set the learning rate as torch's do.

The target's scheduler, made over one of its optimizers, is stepped after each optimizer
step of the trajectories of test_optimizers.py; the oracle runs the same optimizer at
the learning rate torch's scheduler sets at each step (oracle/schedules.py), within the
same bound. A `LambdaLR`'s function is one of a few named ones (the case is data), each
with a drawn parameter. Each scheduler also runs every time on `EXPLICIT_SCHEDULES`
(properties/cases/optimizers.py), whose rate changes within the fixed run of
test_optimizers.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from properties import running
from properties.cases.optimizers import (
    EXPLICIT_SCHEDULES,
    OPTIMIZERS,
    SCHEDULERS,
    OptimizerConfig,
    full_optimizer_configs,
    schedules,
)
from properties.settings import fewer_examples
from properties.targets import Target
from properties.test_optimizers import (
    accepted,
    check_trajectory,
    explicit_run,
    refused_arguments,
    runs,
)

EXPLICIT_OPTIMIZERS = {"SGD": {"lr": 0.1, "momentum": 0.5}, "Adam": {"lr": 0.1}}


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_scheduler_sets_torchs_learning_rates(target: Target, scheduler: str) -> None:
    if not target.has(f"optim.{scheduler}"):
        pytest.skip(f"target lacks optim.{scheduler}")
    kind = "scalar" if target.has("Value") else "tensor"  # the rate is the same for both
    cls = "Value" if kind == "scalar" else "Tensor"
    names = [n for n in OPTIMIZERS if target.has(f"optim.{n}", cls)]
    if not names:
        pytest.skip(f"target lacks an optimizer for {cls} parameters")
    refused = {name: refused_arguments(target, name) for name in names}

    for name, kwargs in EXPLICIT_OPTIMIZERS.items():
        if name in names:
            config = accepted(OptimizerConfig(name, kwargs), refused[name])
            for schedule in EXPLICIT_SCHEDULES[scheduler]:
                check_trajectory(target, kind, config, *explicit_run(kind), schedule=schedule)

    configs = full_optimizer_configs(names).map(lambda c: accepted(c, refused[c.name]))

    @fewer_examples(0.5)
    @given(config=configs, schedule=schedules(scheduler), run=runs(kind))
    def agrees(config: OptimizerConfig, schedule: dict, run: tuple) -> None:
        check_trajectory(target, kind, config, *run, schedule=schedule)

    running.run(agrees, target)
