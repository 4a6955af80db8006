"""The catalogue of optimizer mistakes, and the runs that tell them apart.

Each optimizer is run on the target from fixed parameters with fixed gradients, once per
probe configuration (each argument away from its default alone; maximize with weight
decay), through the worker's `optimizer_run` task; a configuration with an argument the
target refuses is left out. Each hypothesis is torch's update rule with one mistake, run
here in NumPy on the same gradients: no bias correction, a frozen or early step count, eps
inside the square root, the momentum buffer not kept, momentum as a moving average,
Nesterov ignored or inverted, L2 and decoupled decay swapped, decay without the learning
rate, weight decay subtracted, RMSprop's average mis-weighted, Adagrad's initial
accumulator ignored, a `zero_grad()` that does nothing; and for torch's further
arguments: one of them ignored, dampening of the first step, maximize applied after the
weight decay, amsgrad's maximum taken of the corrected v, centered RMSprop's average
gradient not kept, Adagrad's learning-rate decay a step early.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from oracle.optim_config import DEFAULTS
from properties.diagnosis.judge import Hypothesis, judge
from properties.targets import Target, TargetRaised

ADAM = [{"lr": 0.1, "betas": (0.8, 0.9)}, {"lr": 0.1, "eps": 0.5}, {"lr": 0.1, "weight_decay": 0.5}]
# torch's further arguments (protocol v2), each with what makes its mistakes show: maximize
# with weight decay (which of the two comes first), amsgrad where v falls (betas 0.8, 0.9)
MAXIMIZE = {"maximize": True, "weight_decay": 0.5}
AMSGRAD = {"lr": 0.1, "betas": (0.8, 0.9), "amsgrad": True}
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "SGD": [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.5},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
        {"lr": 0.1, **MAXIMIZE},
    ],
    "Adam": [
        *ADAM,
        AMSGRAD,
        {"lr": 0.1, "weight_decay": 0.5, "decoupled_weight_decay": True},
        {"lr": 0.1, **MAXIMIZE},
    ],
    "AdamW": [*ADAM, AMSGRAD, {"lr": 0.1, **MAXIMIZE}],
    "RMSprop": [
        {"lr": 0.01, "alpha": 0.9},
        {"lr": 0.01, "eps": 0.5},
        {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.01, "weight_decay": 0.5},
        {"lr": 0.01, "alpha": 0.9, "centered": True},
        {"lr": 0.01, **MAXIMIZE},
    ],
    "Adagrad": [
        {"lr": 0.1},
        {"lr": 0.1, "eps": 0.5},
        {"lr": 0.1, "initial_accumulator_value": 2.0},
        {"lr": 0.1, "weight_decay": 0.5},
        {"lr": 0.1, "lr_decay": 0.5},
        {"lr": 0.1, **MAXIMIZE},
    ],
}
START = [1.5, -0.7, 0.2]
GRADS = [[0.9, -0.4, 0.3], [0.5, 0.8, -0.6], [-0.7, 0.2, 0.45], [0.35, -0.9, 0.1]]

MISTAKES: dict[str, tuple[tuple[str, ...], str]] = {
    "no-bias-correction": (
        ("Adam", "AdamW"),
        "{name} without bias correction: m and v are not divided by 1 - beta1**t and 1 - beta2**t",
    ),
    "frozen-step": (
        ("Adam", "AdamW"),
        "{name}'s bias correction uses a step count that never advances (t = 1 at every step)",
    ),
    "step-ahead": (("Adam", "AdamW"), "{name}'s bias correction uses t + 1 instead of t"),
    "eps-inside": (
        ("Adam", "AdamW", "RMSprop", "Adagrad"),
        "{name} puts eps inside the "
        "square root of its denominator: sqrt(v + eps), not sqrt(v) + eps",
    ),
    "momentum-not-kept": (
        ("SGD", "RMSprop"),
        "{name}'s momentum buffer is not kept between steps, so momentum has no effect",
    ),
    "momentum-ema": (
        ("SGD",),
        "SGD's momentum is a moving average, buf = m buf + (1 - m) g "
        "from 0, where torch keeps buf = m buf + g (buf = g at the first step)",
    ),
    "nesterov-ignored": (("SGD",), "SGD ignores nesterov=True (it takes the plain momentum step)"),
    "nesterov-swapped": (("SGD",), "SGD's Nesterov step is buf + m g, not g + m buf"),
    "decay-sign": (
        ("SGD", "Adam", "RMSprop", "Adagrad"),
        "{name} subtracts the weight decay "
        "from the gradient (g - wd p), where it should add it (g + wd p)",
    ),
    "decay-swapped": (("Adam", "AdamW"), "{name} confuses L2 and decoupled weight decay: {other}"),
    "decay-without-lr": (
        ("AdamW",),
        "AdamW's decoupled decay is p -= wd p, not p -= lr wd p (the learning rate is missing)",
    ),
    "alpha-swapped": (
        ("RMSprop",),
        "RMSprop's average is (1 - alpha) sq + alpha g**2: alpha and 1 - alpha swapped",
    ),
    "no-one-minus-alpha": (
        ("RMSprop",),
        "RMSprop's average is alpha sq + g**2: the factor 1 - alpha on the new square is missing",
    ),
    "initial-ignored": (
        ("Adagrad",),
        "Adagrad's sum starts at 0 whatever initial_accumulator_value is",
    ),
    "dampening-first-step": (
        ("SGD",),
        "SGD damps the first step too: buf = (1 - dampening) g, where torch starts with buf = g",
    ),
    "dampening-ignored": (("SGD",), "SGD ignores dampening: buf = m buf + g whatever it is"),
    "maximize-ignored": (
        ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"),
        "{name} ignores maximize=True (it descends)",
    ),
    "maximize-after-decay": (
        ("SGD", "Adam", "RMSprop", "Adagrad"),
        "{name} with maximize=True negates the gradient after adding the weight decay, "
        "-(g + wd p), where torch negates it first: -g + wd p",
    ),
    "amsgrad-corrected-max": (
        ("Adam", "AdamW"),
        "{name}'s amsgrad keeps the largest bias-corrected v / (1 - beta2**t) (optax's rule), "
        "where torch keeps the largest v and corrects it by this step's 1 - beta2**t",
    ),
    "amsgrad-ignored": (("Adam", "AdamW"), "{name} ignores amsgrad=True (it takes v, not max v)"),
    "decoupled-ignored": (
        ("Adam",),
        "Adam(decoupled_weight_decay=True) adds the decay to the gradient (L2) instead of "
        "decaying the weights (as AdamW does)",
    ),
    "centered-average-not-kept": (
        ("RMSprop",),
        "centered RMSprop does not keep its average gradient between steps: "
        "it subtracts ((1 - alpha) g)**2 each step",
    ),
    "centered-ignored": (("RMSprop",), "RMSprop ignores centered=True"),
    "lr-decay-off-by-one": (
        ("Adagrad",),
        "Adagrad decays the learning rate from the first step, lr / (1 + t lr_decay), "
        "where torch takes lr / (1 + (t - 1) lr_decay)",
    ),
    "lr-decay-ignored": (("Adagrad",), "Adagrad ignores lr_decay"),
    "zero-grad-noop": (
        ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"),
        "{name}.zero_grad() does nothing: each step's gradient adds to the previous ones'",
    ),
}
_DECAY_SWAPPED = {
    "Adam": "it decays the weights (like AdamW) instead of adding wd p to the gradient",
    "AdamW": "it adds wd p to the gradient (L2, like Adam) instead of decaying the weights",
}


def trajectory(name: str, kwargs: dict[str, Any], mistake: str | None = None) -> list[float]:
    """The parameters after each step of torch's `name` with `mistake`, flattened."""
    h = {**DEFAULTS[name], **kwargs}
    if mistake in _IGNORED:
        h[_IGNORED[mistake]] = DEFAULTS[name][_IGNORED[mistake]]
    x = np.array(START, dtype=np.float64)
    state: dict[str, Any] = {}
    seen = np.zeros_like(x)
    out: list[float] = []
    decoupled = (name == "AdamW" or h.get("decoupled_weight_decay", False)) != (
        mistake == "decay-swapped"
    )
    late = mistake == "maximize-after-decay"  # maximize negates after the decay, not before
    for t, step in enumerate(GRADS, start=1):
        g = np.array(step, dtype=np.float64)
        if mistake == "zero-grad-noop":
            seen = seen + g
            g = seen.copy()
        if h["maximize"] and not late:
            g = -g
        wd = h["weight_decay"]
        if decoupled:
            x = x - wd * x if mistake == "decay-without-lr" else x * (1 - h["lr"] * wd)
        else:
            g = g - wd * x if mistake == "decay-sign" else g + wd * x
        if h["maximize"] and late:
            g = -g
        x = _UPDATES[name](x, g, h, state, t, mistake)
        out += x.tolist()
    return out


def _sgd(x: Any, g: Any, h: dict, state: dict, t: int, mistake: str | None) -> Any:
    m, d = h["momentum"], h["dampening"]
    if m:
        if mistake == "momentum-ema":
            buf = m * state.get("buf", 0.0) + (1 - m) * g
        elif mistake == "dampening-first-step" and "buf" not in state:
            buf = (1 - d) * g
        elif mistake == "momentum-not-kept" or "buf" not in state:
            buf = g
        else:
            buf = m * state["buf"] + (1 - d) * g
        state["buf"] = buf
        if h["nesterov"] and mistake != "nesterov-ignored":
            g = buf + m * g if mistake == "nesterov-swapped" else g + m * buf
        else:
            g = buf
    return x - h["lr"] * g


def _adam(x: Any, g: Any, h: dict, state: dict, t: int, mistake: str | None) -> Any:
    b1, b2 = h["betas"]
    m = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    state.update(m=m, v=v)
    step = {"frozen-step": 1, "step-ahead": t + 1}.get(mistake or "", t)
    c1, c2 = (1.0, 1.0) if mistake == "no-bias-correction" else (1 - b1**step, 1 - b2**step)
    if h["amsgrad"] and mistake == "amsgrad-corrected-max":  # the largest v / c2, times c2
        state["v_max"] = np.maximum(state.get("v_max", 0.0), v / c2)
        v = c2 * state["v_max"]
    elif h["amsgrad"]:
        v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
    if mistake == "eps-inside":
        return x - h["lr"] / c1 * m / np.sqrt(v / c2 + h["eps"])
    return x - h["lr"] / c1 * m / (np.sqrt(v) / math.sqrt(c2) + h["eps"])


def _rmsprop(x: Any, g: Any, h: dict, state: dict, t: int, mistake: str | None) -> Any:
    a, sq = h["alpha"], state.get("sq", 0.0)
    if mistake == "alpha-swapped":
        sq = (1 - a) * sq + a * g * g
    elif mistake == "no-one-minus-alpha":
        sq = a * sq + g * g
    else:
        sq = a * sq + (1 - a) * g * g
    state["sq"] = sq
    if h["centered"]:  # the variance: minus the squared average gradient
        kept = 0.0 if mistake == "centered-average-not-kept" else state.get("ga", 0.0)
        state["ga"] = a * kept + (1 - a) * g
        sq = sq - state["ga"] ** 2
    avg = np.sqrt(sq + h["eps"]) if mistake == "eps-inside" else np.sqrt(sq) + h["eps"]
    if h["momentum"]:
        kept = 0.0 if mistake == "momentum-not-kept" else state.get("buf", 0.0)
        state["buf"] = h["momentum"] * kept + g / avg
        return x - h["lr"] * state["buf"]
    return x - h["lr"] * g / avg


def _adagrad(x: Any, g: Any, h: dict, state: dict, t: int, mistake: str | None) -> Any:
    start = 0.0 if mistake == "initial-ignored" else h["initial_accumulator_value"]
    total = state.get("sum", start) + g * g
    state["sum"] = total
    denominator = (
        np.sqrt(total + h["eps"]) if mistake == "eps-inside" else np.sqrt(total) + h["eps"]
    )
    decays = t if mistake == "lr-decay-off-by-one" else t - 1
    return x - h["lr"] / (1 + decays * h["lr_decay"]) * g / denominator


# the mistakes that take an argument as if it were at its default
_IGNORED = {
    "dampening-ignored": "dampening",
    "maximize-ignored": "maximize",
    "amsgrad-ignored": "amsgrad",
    "decoupled-ignored": "decoupled_weight_decay",
    "centered-ignored": "centered",
    "lr-decay-ignored": "lr_decay",
}
_UPDATES = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop, "Adagrad": _adagrad}


def _configs(target: Target, name: str) -> list[dict[str, Any]]:
    """The probe configurations without the arguments the target refuses."""
    try:
        refused = set(target.call("optimizer_refusals", name=name))
    except TargetRaised:
        refused = set()
    return [c for c in CONFIGS[name] if not refused & set(c)]


def _hypothesis(name: str, mistake: str | None, configs: list[dict[str, Any]]) -> Hypothesis:
    if mistake is None:
        text = "torch's rule"
    else:
        other = _DECAY_SWAPPED.get(name, "")
        text = MISTAKES[mistake][1].format(name=name, other=other)
    return Hypothesis(
        mistake or "correct",
        text,
        lambda k: [[{"outputs": trajectory(name, configs[k], mistake), "grads": {}}]],
    )


def _observed(target: Target, name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    start = [np.array(v) for v in START] if kind == "scalar" else [np.array(START)]
    grads = [[np.array(v) for v in g] if kind == "scalar" else [np.array(g)] for g in GRADS]
    try:
        history = target.call(
            "optimizer_run", kind=kind, name=name, kwargs=config, start=start, grads=grads
        )
    except TargetRaised as error:
        return {"raised": {"type": error.type_name}}
    flat: list[Any] = []
    for step in history[1:]:
        for p in step:
            if type(p) is dict and "list" in p:
                p = p["list"]
            try:
                flat += np.asarray(p, dtype=np.float64).ravel().tolist()
            except (TypeError, ValueError):
                flat.append(None)
    return {"readings": [{"outputs": flat, "grads": {}}]}


def diagnosis(target: Target, name: str, kind: str) -> Any:
    from properties.diagnosis import Diagnosis, describe

    scope = f"optim {name} ({kind})"
    cls = "Value" if kind == "scalar" else "Tensor"
    if not target.has(f"optim.{name}", cls):
        return Diagnosis(scope, (), f"no diagnosis: the target lacks optim.{name} or {cls}")
    configs = _configs(target, name)
    observed = [_observed(target, name, kind, c) for c in configs]
    mistakes = [m for m, (names, _) in MISTAKES.items() if name in names]
    finding = judge(
        _hypothesis(name, None, configs),
        [_hypothesis(name, m, configs) for m in mistakes],
        observed,
    )
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    probed = f"{name} runs of {len(GRADS)} steps, one argument at a time"
    return Diagnosis(scope, ids, describe(finding, probed, len(configs)), finding.status == "right")
