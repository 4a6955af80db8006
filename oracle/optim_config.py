"""An optimizer configuration as data: a `torch.optim` class name and its arguments.

One `OptimizerConfig` serves the suite and the oracle.  It keeps the keyword arguments
as given (what the suite hands the target, and prints), and `with_defaults` gives them
with torch's defaults filled in (what the oracle computes with).  Importable without
JAX, as the IR is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {
    "SGD": {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    },
    "Adam": {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "maximize": False,
        "decoupled_weight_decay": False,
    },
    "AdamW": {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 1e-2,
        "amsgrad": False,
        "maximize": False,
    },
    "RMSprop": {
        "lr": 1e-2,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
        "maximize": False,
    },
    "Adagrad": {
        "lr": 1e-2,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
        "maximize": False,
    },
}


@dataclass(frozen=True)
class OptimizerConfig:
    """A `torch.optim` class name and the keyword arguments given to it.

    Checked as torch checks them (an unknown name or argument, or an invalid value,
    raises `ValueError`); ``betas`` is kept as a tuple.
    """

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in DEFAULTS:
            raise ValueError(f"unknown optimizer {self.name!r}; known: {sorted(DEFAULTS)}")
        unknown = set(self.kwargs) - set(DEFAULTS[self.name])
        if unknown:
            raise ValueError(
                f"{self.name} does not take {sorted(unknown)}; "
                f"it takes {sorted(DEFAULTS[self.name])}"
            )
        kwargs = dict(self.kwargs)
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        object.__setattr__(self, "kwargs", kwargs)
        _check(self.name, self.with_defaults)

    @property
    def with_defaults(self) -> dict[str, Any]:
        """Every argument of the optimizer: the given ones, torch's defaults for the rest."""
        return {**DEFAULTS[self.name], **self.kwargs}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}(params, {args})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OptimizerConfig:
        """From ``{"name": "Adam", "lr": 0.1}`` or ``{"name": ..., "kwargs": {...}}``."""
        rest = {k: v for k, v in data.items() if k != "name"}
        return cls(data["name"], dict(rest.get("kwargs", rest)))

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **kwargs}`` (the given arguments; betas as a list)."""
        kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in self.kwargs.items()}
        return {"name": self.name, **kwargs}


def _check(name: str, k: Mapping[str, Any]) -> None:
    """torch's argument checks, so an invalid config fails here as it would in torch."""
    if not k["lr"] >= 0:
        raise ValueError(f"{name}: invalid learning rate {k['lr']}")
    if not k["weight_decay"] >= 0:
        raise ValueError(f"{name}: invalid weight_decay {k['weight_decay']}")
    if "eps" in k and not k["eps"] >= 0:
        raise ValueError(f"{name}: invalid eps {k['eps']}")
    if "momentum" in k and not k["momentum"] >= 0:
        raise ValueError(f"{name}: invalid momentum {k['momentum']}")
    if "betas" in k and not all(0 <= b < 1 for b in k["betas"]):
        raise ValueError(f"{name}: invalid betas {k['betas']}")
    if name == "SGD" and k["nesterov"] and (k["momentum"] <= 0 or k["dampening"] != 0):
        raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
    if name == "RMSprop" and not k["alpha"] >= 0:
        raise ValueError(f"RMSprop: invalid alpha {k['alpha']}")
    if name == "Adagrad" and not (k["lr_decay"] >= 0 and k["initial_accumulator_value"] >= 0):
        raise ValueError("Adagrad: lr_decay and initial_accumulator_value must be >= 0")
