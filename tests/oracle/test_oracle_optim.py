"""Optimizer references: against torch's formulas by hand, and against torch.optim."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

from oracle.optim import trajectory
from oracle.optim_config import DEFAULTS, OptimizerConfig

STEPS = 20
RNG = np.random.default_rng(42)
PARAMS = [RNG.normal(size=(3, 2)), RNG.normal(size=4), np.array(0.5)]
GRADS = [
    [RNG.normal(size=np.shape(p)) * 10.0 ** RNG.integers(-3, 2) for p in PARAMS]
    for _ in range(STEPS)
]


def torch_by_hand(name: str, k: dict, params: list, grads: list) -> list[list[np.ndarray]]:
    """torch.optim's update rules, transcribed from its single-tensor code, in NumPy."""
    p = [np.array(x, np.float64) for x in params]
    state = [{} for _ in p]
    out = [[x.copy() for x in p]]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            g = np.asarray(g, np.float64)
            s = state[i]
            if k["maximize"]:
                g = -g
            decoupled = name == "AdamW" or k.get("decoupled_weight_decay")
            if not decoupled and k["weight_decay"]:
                g = g + k["weight_decay"] * p[i]
            if name == "SGD":
                if k["momentum"]:
                    damped = (1 - k["dampening"]) * g
                    buf = g.copy() if t == 1 else k["momentum"] * s["buf"] + damped
                    s["buf"] = buf
                    g = g + k["momentum"] * buf if k["nesterov"] else buf
                p[i] = p[i] - k["lr"] * g
            elif name in ("Adam", "AdamW"):
                b1, b2 = k["betas"]
                if decoupled:
                    p[i] = p[i] * (1 - k["lr"] * k["weight_decay"])
                m = s.get("m", 0.0) + (1 - b1) * (g - s.get("m", 0.0))
                v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                s["m"], s["v"] = m, v
                if k["amsgrad"]:
                    v = s["v_max"] = np.maximum(s.get("v_max", 0.0), v)
                denom = np.sqrt(v) / math.sqrt(1 - b2**t) + k["eps"]
                p[i] = p[i] - k["lr"] / (1 - b1**t) * m / denom
            elif name == "RMSprop":
                a = k["alpha"]
                v = a * s.get("v", 0.0) + (1 - a) * g * g
                s["v"] = v
                if k["centered"]:
                    s["ga"] = s.get("ga", 0.0) + (1 - a) * (g - s.get("ga", 0.0))
                    avg = np.sqrt(v - s["ga"] ** 2) + k["eps"]
                else:
                    avg = np.sqrt(v) + k["eps"]
                if k["momentum"]:
                    s["buf"] = k["momentum"] * s.get("buf", 0.0) + g / avg
                    p[i] = p[i] - k["lr"] * s["buf"]
                else:
                    p[i] = p[i] - k["lr"] * g / avg
            else:  # Adagrad
                clr = k["lr"] / (1 + (t - 1) * k["lr_decay"])
                s["sum"] = s.get("sum", k["initial_accumulator_value"]) + g * g
                p[i] = p[i] - clr * g / (np.sqrt(s["sum"]) + k["eps"])
        out.append([x.copy() for x in p])
    return out


GRID = {
    "SGD": [
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.5),
        dict(lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.1),
        dict(lr=1.0, weight_decay=1e-3),
        dict(lr=1e-4, momentum=0.99, dampening=0.1, weight_decay=0.5),
        dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1.0, maximize=True),
    ],
    "Adam": [
        dict(),
        dict(lr=0.1, betas=(0.5, 0.9)),
        dict(lr=0.01, eps=1e-3, weight_decay=0.1),
        dict(lr=0.3, betas=(0.0, 0.99), eps=1e-12),
        dict(lr=0.1, betas=(0.5, 0.9), amsgrad=True, weight_decay=0.1),
        dict(lr=0.1, maximize=True, weight_decay=0.2, decoupled_weight_decay=True),
    ],
    "AdamW": [
        dict(),
        dict(lr=0.1, weight_decay=0.5),
        dict(lr=0.01, betas=(0.8, 0.8), eps=1e-4),
        dict(lr=0.1, betas=(0.5, 0.9), amsgrad=True, maximize=True, weight_decay=1.0),
    ],
    "RMSprop": [
        dict(),
        dict(lr=0.01, alpha=0.5),
        dict(lr=0.001, momentum=0.9),
        dict(lr=0.01, centered=True, eps=1e-6),
        dict(lr=0.003, centered=True, momentum=0.5, weight_decay=0.2),
        dict(lr=0.01, centered=True, maximize=True, weight_decay=0.1),
    ],
    "Adagrad": [
        dict(),
        dict(lr=0.5, lr_decay=0.1),
        dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-3, weight_decay=0.1),
        dict(lr=0.5, lr_decay=0.3, maximize=True, weight_decay=0.1),
    ],
}
CASES = [(name, kwargs) for name, grid in GRID.items() for kwargs in grid]


def worst_relative_error(a: list, b: list) -> float:
    """Largest normwise relative difference of any parameter at any step."""
    return max(
        float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))
        for step_a, step_b in zip(a, b, strict=True)
        for x, y in zip(step_a, step_b, strict=True)
    )


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}{k}" for n, k in CASES])
def test_reference_follows_torch_formulas(name: str, kwargs: dict) -> None:
    config = OptimizerConfig(name, kwargs)
    got = trajectory(config, PARAMS, GRADS)
    want = torch_by_hand(name, config.with_defaults, PARAMS, GRADS)
    assert len(got) == STEPS + 1, f"{len(got)} entries"
    error = worst_relative_error(got, want)
    assert error <= 1e-12, f"{name}{kwargs}: relative error {error:.2e} over {STEPS} steps"


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}{k}" for n, k in CASES])
def test_reference_matches_torch_optim(name: str, kwargs: dict) -> None:
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in PARAMS]
    optimizer = getattr(torch.optim, name)(tensors, **kwargs)
    want = [[p.copy() for p in PARAMS]]
    for step_grads in GRADS:
        for tensor, g in zip(tensors, step_grads, strict=True):
            tensor.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        want.append([t.detach().numpy().copy() for t in tensors])
    error = worst_relative_error(trajectory({"name": name, **kwargs}, PARAMS, GRADS), want)
    assert error <= 1e-12, f"{name}{kwargs}: relative error {error:.2e} vs torch.optim"


def test_gradient_function_equals_gradient_sequence() -> None:
    config = OptimizerConfig("Adam", {"lr": 0.1})

    def quadratic(params: list[np.ndarray]) -> list[np.ndarray]:
        return [2 * p - 1 for p in params]

    by_function = trajectory(config, PARAMS, quadratic, steps=5)
    grads = [quadratic(step) for step in by_function[:-1]]
    assert worst_relative_error(by_function, trajectory(config, PARAMS, grads)) == 0.0, (
        "the same gradients must give the same trajectory"
    )
    assert np.sum((by_function[-1][1] - 0.5) ** 2) < np.sum((PARAMS[1] - 0.5) ** 2), (
        "Adam moves towards the minimum of the quadratic"
    )


def test_configs_keep_the_given_arguments_fill_torch_defaults_and_round_trip() -> None:
    for name, defaults in DEFAULTS.items():
        config = OptimizerConfig.from_dict({"name": name})
        assert dict(config.kwargs) == {}, f"{name}: {config.kwargs}"
        assert config.with_defaults == defaults, f"{name}: {config.with_defaults}"
        assert OptimizerConfig.from_dict(config.to_dict()) == config, name
    given = OptimizerConfig.from_dict({"name": "Adam", "kwargs": {"lr": 2.0, "betas": [0.5, 0.6]}})
    assert given.kwargs == {"lr": 2.0, "betas": (0.5, 0.6)}, given.kwargs
    assert given.with_defaults == {**DEFAULTS["Adam"], **given.kwargs}, given.with_defaults
    assert str(given) == "Adam(params, lr=2.0, betas=(0.5, 0.6))", str(given)
    assert OptimizerConfig.from_dict(given.to_dict()) == given, given.to_dict()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"name": "Lion"}, "unknown optimizer"),
        ({"name": "Adam", "foreach": True}, "foreach"),
        ({"name": "AdamW", "decoupled_weight_decay": False}, "decoupled_weight_decay"),
        ({"name": "SGD", "nesterov": True}, "Nesterov"),
        ({"name": "SGD", "lr": -1.0}, "learning"),
        ({"name": "Adam", "betas": (0.9, 1.0)}, "betas"),
    ],
)
def test_invalid_configs_fail_like_torch(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OptimizerConfig.from_dict(config)


def test_grid_covers_every_argument_of_the_spec() -> None:
    for name, grid in GRID.items():
        varied = set(itertools.chain.from_iterable(grid))
        missing = set(DEFAULTS[name]) - varied
        assert not missing, f"{name}: the grid never varies {sorted(missing)}"


def test_the_config_module_needs_no_jax() -> None:
    """The suite draws configurations from oracle.optim_config without loading JAX."""
    code = "import sys, oracle.optim_config; print(sorted(m for m in sys.modules if 'jax' in m))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]", shown.stdout
