"""Optimizer configurations over every argument of the spec, boundary values included,
torch's further arguments (protocol v2) and schedules.

`full_optimizer_configs` draws a configuration of `optimizer_configs` and adds the
arguments of torch's that protocol v2 makes optional (`FURTHER_ARGUMENTS`); a target that
refuses one has it dropped (test_optimizers.py). `schedules` draws a `StepLR` or a
`LambdaLR` as data: a `LambdaLR`'s function is named (oracle/schedules.py and
properties/worker/schedules.py each define the named functions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from oracle.optim_config import DEFAULTS, OptimizerConfig
from properties.cases.common import log_uniform

# -- optimizers ----------------------------------------------------------------------


OPTIMIZERS = tuple(DEFAULTS)  # SGD, Adam, AdamW, RMSprop, Adagrad
LEARNING_RATES = log_uniform(1e-4, 1.0)
EPSILONS = st.one_of(st.just(1e-8), log_uniform(1e-12, 1e-1))
# boundary values too: weight decay and momentum exactly 0 and 1, betas exactly 0.5
DECAYS = st.one_of(st.sampled_from([0.0, 1.0]), log_uniform(1e-5, 0.5))
MOMENTA = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 0.99, allow_subnormal=False))
BETAS = st.tuples(
    st.one_of(st.just(0.5), st.floats(0.0, 0.99, allow_subnormal=False)),
    st.one_of(st.just(0.5), st.floats(0.0, 0.9999, allow_subnormal=False)),
)


@st.composite
def optimizer_configs(draw: st.DrawFn, names: Sequence[str]) -> OptimizerConfig:
    """Any optimizer of `names` over every argument of the spec, across wide ranges."""
    name = draw(st.sampled_from(names))
    kwargs: dict[str, Any] = {"lr": draw(LEARNING_RATES)}
    if name == "SGD":
        kwargs["momentum"] = draw(MOMENTA)
        kwargs["nesterov"] = kwargs["momentum"] > 0 and draw(st.booleans())
        kwargs["weight_decay"] = draw(DECAYS)
    elif name in ("Adam", "AdamW"):
        kwargs["betas"] = draw(BETAS)
        kwargs["eps"] = draw(EPSILONS)
        kwargs["weight_decay"] = draw(DECAYS)
    elif name == "RMSprop":
        kwargs["alpha"] = draw(st.floats(0.0, 0.999, allow_subnormal=False))
        kwargs["eps"] = draw(EPSILONS)
        kwargs["weight_decay"] = draw(DECAYS)
        kwargs["momentum"] = draw(MOMENTA)
    elif name == "Adagrad":
        kwargs["eps"] = draw(st.one_of(st.just(1e-10), log_uniform(1e-12, 1e-1)))
        kwargs["weight_decay"] = draw(DECAYS)
        kwargs["initial_accumulator_value"] = draw(
            st.one_of(st.just(0.0), st.floats(0.0, 1.0, allow_subnormal=False))
        )
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    return OptimizerConfig(name, kwargs)


FURTHER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "SGD": ("dampening", "maximize"),
    "Adam": ("amsgrad", "maximize", "decoupled_weight_decay"),
    "AdamW": ("amsgrad", "maximize"),
    "RMSprop": ("centered", "maximize"),
    "Adagrad": ("lr_decay", "maximize"),
}
# dampening exactly 0 and 1 (torch's momentum buffer stops taking the gradient in)
DAMPENINGS = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0, allow_subnormal=False))


LR_DECAYS = st.one_of(st.just(0.0), st.just(1.0), log_uniform(1e-4, 10.0))


@st.composite
def full_optimizer_configs(draw: st.DrawFn, names: Sequence[str]) -> OptimizerConfig:
    """An optimizer of `names` over every argument of the spec, torch's further ones too."""
    config = draw(optimizer_configs(names))
    kwargs: dict[str, Any] = dict(config.kwargs)
    if config.name == "SGD" and not kwargs["nesterov"]:  # torch: nesterov needs dampening 0
        kwargs["dampening"] = draw(DAMPENINGS)
    elif config.name in ("Adam", "AdamW"):
        kwargs["amsgrad"] = draw(st.booleans())
        if config.name == "Adam":
            kwargs["decoupled_weight_decay"] = draw(st.booleans())
    elif config.name == "RMSprop":
        kwargs["centered"] = draw(st.booleans())
        if kwargs["centered"]:
            # centered divides by sqrt(s - a**2), and s - a**2 >= alpha**t * s: alpha >= 0.5
            # keeps it above 2e-4 s over a run's 12 steps, where its rounding (a few ulps of
            # s) stays far inside the bound; a smaller alpha makes it a cancellation (0 in
            # real arithmetic for alpha = 0, nan or noise in floating point)
            kwargs["alpha"] = draw(st.floats(0.5, 0.999))
    elif config.name == "Adagrad":
        kwargs["lr_decay"] = draw(LR_DECAYS)
    kwargs["maximize"] = draw(st.booleans())
    return OptimizerConfig(config.name, kwargs)


SCHEDULERS = ("StepLR", "LambdaLR")
# schedules whose rate changes within four steps: test_schedulers.py runs each every time
# (test_optimizers.py's fixed run), and the diagnosis of scheduler mistakes probes with them
EXPLICIT_SCHEDULES: dict[str, list[dict[str, Any]]] = {
    "StepLR": [
        {"name": "StepLR", "step_size": 2, "gamma": 0.5},
        {"name": "StepLR", "step_size": 3},  # torch's default gamma, 0.1
    ],
    "LambdaLR": [
        {"name": "LambdaLR", "lr_lambda": "exponential", "parameter": 0.7},
        {"name": "LambdaLR", "lr_lambda": "linear_warmup", "parameter": 3.0},
    ],
}
# a LambdaLR's named function -> its parameter
LAMBDA_PARAMETERS: dict[str, st.SearchStrategy[float]] = {
    "exponential": st.one_of(st.just(0.5), st.floats(0.3, 1.2)),  # gamma ** epoch
    "linear_warmup": st.integers(1, 6).map(float),  # min(1, (epoch + 1) / steps)
    "inverse_time": log_uniform(1e-2, 2.0),  # 1 / (1 + decay * epoch)
}
# the same functions as Python source, for the snippet that reproduces a failure
LAMBDA_SOURCES = {
    "exponential": "lambda epoch: {p!r} ** epoch",
    "linear_warmup": "lambda epoch: min(1.0, (epoch + 1) / {p!r})",
    "inverse_time": "lambda epoch: 1.0 / (1.0 + {p!r} * epoch)",
}


@st.composite
def schedules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A schedule of scheduler `name`, as data (oracle/schedules.py)."""
    if name == "StepLR":
        gamma = draw(st.one_of(st.just(0.1), log_uniform(1e-2, 2.0)))
        return {"name": name, "step_size": draw(st.integers(1, 4)), "gamma": gamma}
    if name == "LambdaLR":
        function = draw(st.sampled_from(sorted(LAMBDA_PARAMETERS)))
        parameter = draw(LAMBDA_PARAMETERS[function])
        return {"name": name, "lr_lambda": function, "parameter": parameter}
    raise ValueError(f"unknown scheduler {name!r}")


def schedule_lines(schedule: dict[str, Any]) -> list[str]:
    """Python that makes `schedule`'s scheduler, from the target's ``optim`` (or its
    ``lr_scheduler``, torch's place) over ``optimizer``."""
    name = schedule["name"]
    lines = [f"{name} = getattr(optim, {name!r}, None) or optim.lr_scheduler.{name}"]
    if name == "StepLR":
        gamma = f", gamma={schedule['gamma']!r}" if "gamma" in schedule else ""
        args = f"{schedule['step_size']!r}{gamma}"
    else:
        args = LAMBDA_SOURCES[schedule["lr_lambda"]].format(p=schedule["parameter"])
    return [*lines, f"scheduler = {name}(optimizer, {args})"]
