"""The catalogue of learning-rate scheduler mistakes (protocol v2: `StepLR`, `LambdaLR`).

The scheduler drives plain SGD (lr 1, no other argument) on the target, stepped after
each optimizer step, on fixed gradients, through the worker's `optimizer_run` task: each
step moves the parameters by exactly the rate times the gradient, so the trajectory
shows every step's rate. It is asked only when SGD itself is right on its own probes.
Each hypothesis is torch's schedule with one mistake: StepLR decaying one epoch early or
late, every epoch, or from the base rate each time (gamma not compounding); LambdaLR
leaving epoch 0 at the base rate, calling the function with the next epoch, or
multiplying the current rate by it (MultiplicativeLR's rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.schedules import LAMBDAS
from properties.cases.optimizers import EXPLICIT_SCHEDULES as SCHEDULES
from properties.diagnosis.judge import Hypothesis, judge
from properties.targets import Target, TargetRaised

START = [1.5, -0.7, 0.2]
GRADS = [[0.9, -0.4, 0.3], [0.5, 0.8, -0.6], [-0.7, 0.2, 0.45], [0.35, -0.9, 0.1]] * 2
MISTAKES: dict[str, dict[str, str]] = {
    "StepLR": {
        "early": "StepLR multiplies the rate by gamma one epoch early (at epochs "
        "step_size - 1, 2 step_size - 1, ...)",
        "late": "StepLR multiplies the rate by gamma one epoch late (at epochs step_size + 1, ...)",
        "every-epoch": "StepLR multiplies the rate by gamma every epoch, whatever step_size is",
        "not-compounding": "StepLR sets the rate to base_lr * gamma at each decay, instead of "
        "multiplying the current rate by gamma",
    },
    "LambdaLR": {
        "skips-epoch-zero": "LambdaLR leaves epoch 0 at the base rate instead of base_lr * "
        "lr_lambda(0)",
        "epoch-ahead": "LambdaLR calls lr_lambda with the next epoch: base_lr * "
        "lr_lambda(epoch + 1)",
        "compounds": "LambdaLR multiplies the current rate by lr_lambda(epoch) "
        "(MultiplicativeLR's rule), where torch sets base_lr * lr_lambda(epoch)",
    },
}


def rates(schedule: dict[str, Any], mistake: str | None, steps: int) -> list[float]:
    """The rate of each optimizer step (epochs 0, 1, ...) from base rate 1, with `mistake`."""
    if schedule["name"] == "StepLR":
        size, gamma = schedule["step_size"], schedule.get("gamma", 0.1)
        decays = {
            "early": lambda e: (e + 1) // size,
            "late": lambda e: max(e - 1, 0) // size,
            "every-epoch": lambda e: e,
            "not-compounding": lambda e: min(e // size, 1),
        }.get(mistake or "", lambda e: e // size)
        return [gamma ** decays(e) for e in range(steps)]
    f = lambda e: LAMBDAS[schedule["lr_lambda"]](e, schedule["parameter"])  # noqa: E731
    if mistake == "compounds":
        return list(np.cumprod([f(e) for e in range(steps)]))
    if mistake == "epoch-ahead":
        return [f(e + 1) for e in range(steps)]
    return [1.0 if e == 0 and mistake == "skips-epoch-zero" else f(e) for e in range(steps)]


def trajectory(schedule: dict[str, Any], mistake: str | None) -> list[float]:
    """SGD's parameters after each step under the schedule (with `mistake`), flattened."""
    x, out = np.array(START), []
    for rate, g in zip(rates(schedule, mistake, len(GRADS)), GRADS, strict=True):
        x = x - rate * np.array(g)
        out += x.tolist()
    return out


def _hypothesis(name: str, mistake: str | None) -> Hypothesis:
    text = f"torch's {name}" if mistake is None else MISTAKES[name][mistake]
    return Hypothesis(
        mistake or "correct",
        text,
        lambda k: [[{"outputs": trajectory(SCHEDULES[name][k], mistake), "grads": {}}]],
    )


def _observed(target: Target, kind: str, schedule: dict[str, Any]) -> dict[str, Any]:
    start = [np.array(v) for v in START] if kind == "scalar" else [np.array(START)]
    grads = [[np.array(v) for v in g] if kind == "scalar" else [np.array(g)] for g in GRADS]
    try:
        history = target.call(
            "optimizer_run",
            kind=kind,
            name="SGD",
            kwargs={"lr": 1.0},
            start=start,
            grads=grads,
            schedule=schedule,
        )
    except TargetRaised as error:
        return {"raised": {"type": error.type_name}}
    flat: list[Any] = []
    for step in history[1:]:
        for p in step:
            p = p["list"] if type(p) is dict and "list" in p else p
            try:
                flat += np.asarray(p, dtype=np.float64).ravel().tolist()
            except (TypeError, ValueError):
                flat.append(None)
    return {"readings": [{"outputs": flat, "grads": {}}]}


def diagnosis(target: Target, name: str) -> Any:
    from properties.diagnosis import Diagnosis, describe, diagnose

    scope = f"optim {name}"
    kind = "scalar" if target.has("Value") else "tensor"
    cls = "Value" if kind == "scalar" else "Tensor"
    if not target.has(f"optim.{name}", "optim.SGD", cls):
        return Diagnosis(
            scope, (), f"no diagnosis: the target lacks optim.{name}, optim.SGD or {cls}"
        )
    if not diagnose(target, ("optimizer", "SGD", kind)).right:
        return Diagnosis(
            scope, (), "no diagnosis: the probes run SGD, which is not right on its own probes"
        )
    observed = [_observed(target, kind, s) for s in SCHEDULES[name]]
    finding = judge(
        _hypothesis(name, None), [_hypothesis(name, m) for m in MISTAKES[name]], observed
    )
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    probed = f"{name} over SGD(lr=1), {len(GRADS)} steps"
    return Diagnosis(
        scope, ids, describe(finding, probed, len(observed)), finding.status == "right"
    )
