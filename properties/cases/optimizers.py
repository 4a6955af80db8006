"""Optimizer configurations over every argument of the spec, boundary values included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from properties.cases.common import log_uniform

# -- optimizers ----------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer of the spec by its torch name, with keyword arguments."""

    name: str
    kwargs: dict[str, Any]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}(params, {args})"


OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
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
