"""Optimizers: the target's trajectories agree with the optax references of torch's rules.

Each step the target's own `zero_grad()` clears the parameters, the gradient of
``sum_i <g_i, p_i>`` (exactly ``g_i``) is backpropagated, and `step()` moves them. The
oracle runs the same configuration on the same gradients.

Tolerance, from the rounding of the update: a step rounds ``p - delta`` (an error of a
few ulps of ``|p|``) and computes ``delta`` in a dozen operations (a few ulps of
``|delta|``, carried on by the moment buffers). After t steps two correct optimizers
stay within ``8 u (t + 1) max|p| + 1e-10 sum|delta|`` (u of the run's precision; for
float32, ``64 u`` in place of 1e-10): a generous factor over rounding,
yet a millionth of any rule's mistake that changes an update by one part in 1e4.
Where the run itself amplifies rounding (a parameter decayed to nearly 0 by cancellation
then divides an update through ``sqrt(v) + eps``), the reference is run again from
starting points and gradients moved by a few ulps, and 16 times the spread it shows is
added: the conditioning of this very run, measured.

Besides the random configurations, each optimizer runs every time on `EXPLICIT`
configurations that set each of its arguments away from its default, on a fixed run of
several steps: where a rule goes wrong only under an argument the random draws may leave
at its default (momentum with Nesterov, a large eps, an initial accumulator, weight decay
exactly 1), the property still fails on every run, not on most.

torch's further arguments (protocol v2: `maximize`, `dampening`, `amsgrad`, `centered`,
`lr_decay`, `decoupled_weight_decay`) are drawn and set explicitly alike; each is
optional, and one the target refuses is listed as missing. A schedule (`StepLR`,
`LambdaLR`, test_schedulers.py) runs through the same trajectories, its scheduler
stepped after each optimizer step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle import optim as reference
from oracle.schedules import learning_rates
from oracle.snippet import import_lines
from properties import precision, running
from properties.cases.common import magnitudes
from properties.cases.optimizers import (
    FURTHER_ARGUMENTS,
    OPTIMIZERS,
    OptimizerConfig,
    full_optimizer_configs,
    schedule_lines,
)
from properties.reference import bad_value
from properties.settings import fewer_examples
from properties.targets import Target, TargetRaised

SHAPES = {"scalar": [(), (), ()], "tensor": [(3,), (2, 2)]}


@st.composite
def runs(draw: st.DrawFn, kind: str) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial parameters and each step's gradients (zeros included)."""
    elements = st.one_of(magnitudes(-2.0, 2.0), st.just(0.0))
    start = [draw(_array(shape, magnitudes(-2.0, 2.0))) for shape in SHAPES[kind]]
    steps = draw(st.integers(1, 12))
    grads = [[draw(_array(shape, elements)) for shape in SHAPES[kind]] for _ in range(steps)]
    return start, grads


def _array(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> st.SearchStrategy:
    from hypothesis.extra import numpy as hnp

    return hnp.arrays(np.float64, shape, elements=elements)


def run_target(
    target: Target,
    kind: str,
    config: OptimizerConfig,
    start: list,
    grads: list,
    schedule: dict[str, Any] | None = None,
    unused: list | None = None,
) -> list[list[Any]]:
    """The target's parameters before the first step and after each (as data; `unused`
    parameters, first in the optimizer's list and in no loss, at the end of each step's)."""
    case = _case(config, start, grads, schedule)
    extra = {} if schedule is None else {"schedule": schedule}
    if unused:
        extra["unused"] = [np.asarray(p, dtype=np.float64) for p in unused]
    try:
        return target.call(
            "optimizer_run",
            context=lambda: case,
            kind="scalar" if kind == "scalar" else "tensor",
            name=config.name,
            kwargs=dict(config.kwargs),
            start=[np.asarray(p, dtype=np.float64) for p in start],
            grads=[[np.asarray(g, dtype=np.float64) for g in step] for step in grads],
            **extra,
        )
    except TargetRaised as error:
        raise AssertionError(f"{case}:\nthe target raised {error.describe()}") from None


def _case(config: OptimizerConfig, start: list, grads: list, schedule: dict | None) -> str:
    scheduled = "" if schedule is None else f" scheduled by {schedule}"
    return (
        f"{config}{scheduled} from {[np.asarray(p).tolist() for p in start]} with gradients {grads}"
    )


def reference_run(
    config: OptimizerConfig, start: list, grads: list, rates: list[float] | None = None
) -> tuple[list, list]:
    """The reference trajectory (at each step's learning rate `rates`, when a scheduler
    sets them), and its spread under perturbations of a few ulps: of the starting point
    and gradients (relative, in opposite directions: scaled alike, a sum such as
    ``g + weight_decay * p`` that cancels would cancel just as well, hiding how its last
    bits carry), and of the decay rates (betas, alpha, momentum) by one ulp of 1, the
    precision they keep when an implementation computes with ``1 - beta`` (torch's lerp
    does)."""
    want = _trajectory(config.kwargs, config.name, start, grads, rates)
    spread = [[np.zeros(np.shape(p)) for p in step] for step in want]
    for sign in (1.0, -1.0):
        shift = sign * 8 * precision.current().unit_roundoff
        runs = [
            _trajectory(
                config.kwargs,
                config.name,
                [p * (1.0 + shift) for p in start],
                [[g * (1.0 - shift) for g in gs] for gs in grads],
                rates,
            ),
            _trajectory(_nudged_rates(config.kwargs, sign), config.name, start, grads, rates),
        ]
        for moved in runs:
            for t, step in enumerate(moved):
                for i, p in enumerate(step):
                    spread[t][i] = np.maximum(spread[t][i], np.abs(p - want[t][i]))
    return want, spread


def _trajectory(
    kwargs: dict[str, Any], name: str, start: list, grads: list, rates: list[float] | None
) -> list:
    config = OptimizerConfig(name, kwargs)
    return reference.trajectory(config, start, grads, learning_rates=rates)


def _nudged_rates(kwargs: dict[str, Any], sign: float) -> dict[str, Any]:
    """Decay rates moved by one ulp of 1 (a positive rate stays positive, all below 1)."""

    ulp = 2 * precision.current().unit_roundoff

    def nudge(rate: float) -> float:
        return min(max(rate + sign * ulp, rate / 2), 1.0 - ulp) if rate else rate

    out = dict(kwargs)
    if "betas" in out:
        out["betas"] = tuple(nudge(b) for b in out["betas"])
    for key in ("alpha", "momentum"):
        if key in out:
            out[key] = nudge(out[key])
    return out


def trajectory_problems(got: list, want: list, spread: list) -> list[str]:
    """Where the target's trajectory leaves the reference's by more than the bound."""
    problems = []
    u = precision.current().unit_roundoff
    moved = [np.zeros(np.shape(p)) for p in want[0]]
    for t in range(len(want)):
        for i, g in enumerate(got[t]):
            why = bad_value(g)
            if why:
                return [f"step {t}, parameter {i}: .data is {why}"]
    for t in range(1, len(want)):
        for i, (g, w) in enumerate(zip(got[t], want[t], strict=True)):
            moved[i] = moved[i] + np.abs(want[t][i] - want[t - 1][i])
            size = max(np.max(np.abs(w)), np.max(np.abs(want[0][i])))
            bound = 8 * u * (t + 1) * size + max(1e-10, 64 * u) * moved[i] + 16 * spread[t][i]
            bound = bound + 1e-300
            error = np.abs(np.asarray(g) - w)
            if not np.all(error <= bound):
                problems.append(
                    f"step {t}, parameter {i}: expected {w.tolist()}, got {np.asarray(g).tolist()}"
                )
                return problems
    return problems


# Each optimizer's arguments set away from their defaults; torch's defaults for all but the
# learning rate; torch's defaults for all (`{}`: the spec gives a default learning rate to
# all but SGD); torch's further arguments (each dropped where the target refuses it), with
# weight decay exactly 1.
EXPLICIT: dict[str, list[dict[str, Any]]] = {
    "SGD": [
        {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.1},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0},
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 1.0, "maximize": True},
        {"lr": 0.1, "momentum": 0.5, "dampening": 1.0},
    ],
    "Adam": [
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
        {"lr": 0.1},
        {},
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 1.0, "amsgrad": True},
        {"lr": 0.1, "weight_decay": 0.5, "decoupled_weight_decay": True, "maximize": True},
    ],
    "AdamW": [
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
        {"lr": 0.1},
        {},
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 1.0, "amsgrad": True},
        {"lr": 0.1, "maximize": True},
    ],
    "RMSprop": [
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.9},
        {"lr": 0.1},
        {},
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 1.0, "centered": True},
        {"lr": 0.01, "alpha": 0.5, "momentum": 0.5, "centered": True, "maximize": True},
    ],
    "Adagrad": [
        {"lr": 0.1, "eps": 1e-3, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
        {"lr": 0.1},
        {},
        {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 1.0, "eps": 1e-3, "maximize": True},
    ],
}


def explicit_run(kind: str) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Fixed starting parameters and four steps of gradients that change size and sign."""
    start = [
        np.linspace(-1.5, 1.25, int(np.prod(s))).reshape(s) + 0.1 * i
        for i, s in enumerate(SHAPES[kind])
    ]
    grads = [[(1 - 0.6 * t) * (p + 0.5) for p in start] for t in range(4)]
    return start, grads


def check_trajectory(
    target: Target,
    kind: str,
    config: OptimizerConfig,
    start: list,
    grads: list,
    schedule: dict[str, Any] | None = None,
) -> None:
    """The target's trajectory against the reference's, within the bound of the module
    (`schedule`: a scheduler stepped after each optimizer step, oracle/schedules.py)."""
    start = [precision.representable(np.asarray(p, dtype=np.float64)) for p in start]
    grads = [[precision.representable(np.asarray(g, dtype=np.float64)) for g in gs] for gs in grads]
    rates = None
    if schedule is not None:
        base_lr = config.with_defaults["lr"]
        rates = learning_rates(schedule, base_lr, len(grads))
    want, spread = reference_run(config, start, grads, rates)
    got = run_target(target, kind, config, start, grads, schedule)
    problems = trajectory_problems(got, want, spread)
    assert not problems, (
        f"{_case(config, start, grads, schedule)}:\n"
        + "\n".join(problems)
        + "\nreproduce with:\n"
        + optimizer_snippet(target, kind, config, start, grads, schedule)
    )


def optimizer_snippet(
    target: Target,
    kind: str,
    config: OptimizerConfig,
    start: list,
    grads: list,
    schedule: dict[str, Any] | None = None,
) -> str:
    """Python that runs the same steps on the target and prints each step's parameters."""
    cls = "Value" if kind == "scalar" else "Tensor"

    def make(value: np.ndarray) -> str:
        return repr(float(value)) if kind == "scalar" else f"np.array({value.tolist()!r})"

    def constant(value: np.ndarray) -> str:
        text = make(value)
        return f"{cls}({text})" if target.constants_as_leaves(kind) else text

    steps = [[constant(np.asarray(g)) for g in gs] for gs in grads]
    reduce = "" if kind == "scalar" else ".sum()"
    kwargs = ", ".join(f"{k}={v!r}" for k, v in config.kwargs.items())
    lines = ["import numpy as np", *import_lines(target.import_name, [cls, "optim"]), ""]
    lines.append("np.set_printoptions(precision=17)")
    lines.append(f"params = [{', '.join(f'{cls}({make(np.asarray(p))})' for p in start)}]")
    lines.append(f"optimizer = optim.{config.name}(params, {kwargs})")
    if schedule is not None:
        lines += schedule_lines(schedule)
    lines.append("print('step 0:', [p.data for p in params])")
    lines.append(
        f"for t, grads in enumerate([{', '.join('[' + ', '.join(g) + ']' for g in steps)}]):"
    )
    lines.append("    optimizer.zero_grad()")
    lines.append("    loss = None")
    lines.append("    for p, g in zip(params, grads):")
    lines.append(f"        term = (p * g){reduce}")
    lines.append("        loss = term if loss is None else loss + term")
    lines.append("    loss.backward()")
    lines.append("    optimizer.step()")
    if schedule is not None:
        lines.append("    scheduler.step()")
    lines.append("    print(f'step {t + 1}:', [p.data for p in params])")
    return "\n".join(lines) + "\n"


_REFUSALS: dict[tuple[str, str], dict[str, str]] = {}


def refused_arguments(target: Target, name: str) -> dict[str, str]:
    """The arguments of optimizer `name` the target refuses (asked once per target)."""
    key = (target.spec, name)
    if key not in _REFUSALS:
        try:
            _REFUSALS[key] = dict(target.call("optimizer_refusals", name=name))
        except TargetRaised:  # making the parameters failed: the trajectories will say so
            _REFUSALS[key] = {}
    return _REFUSALS[key]


def accepted(config: OptimizerConfig, refused: dict[str, str]) -> OptimizerConfig:
    """`config` without the arguments the target refuses (they keep torch's defaults)."""
    return OptimizerConfig(
        config.name, {k: v for k, v in config.kwargs.items() if k not in refused}
    )


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_takes_every_argument(target: Target, name: str) -> None:
    """Each keyword argument of the spec is accepted; one the target refuses is listed as
    missing, and the trajectories are verified on the configurations it accepts."""
    if not target.has(f"optim.{name}"):
        pytest.skip(f"target lacks optim.{name}")
    refused = [a for a in refused_arguments(target, name) if a not in FURTHER_ARGUMENTS[name]]
    if refused:
        pytest.skip("target lacks " + ", ".join(f"optim.{name}({arg}=...)" for arg in refused))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_takes_torchs_further_arguments(target: Target, name: str) -> None:
    """Protocol v2: torch's further arguments (maximize, dampening, amsgrad, centered,
    lr_decay, decoupled_weight_decay), each optional: one the target refuses is listed as
    missing, and the trajectories are verified without it."""
    if not target.has(f"optim.{name}"):
        pytest.skip(f"target lacks optim.{name}")
    refused = [a for a in refused_arguments(target, name) if a in FURTHER_ARGUMENTS[name]]
    if refused:
        pytest.skip("target lacks " + ", ".join(f"optim.{name}({arg}=...)" for arg in refused))


@pytest.mark.parametrize("kind", ["scalar", "tensor"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_trajectories_agree_with_optax(target: Target, kind: str, name: str) -> None:
    cls = "Value" if kind == "scalar" else "Tensor"
    missing = target.missing(f"optim.{name}", cls)
    if missing:
        pytest.skip(f"target lacks {', '.join(missing)}")
    refused = refused_arguments(target, name)

    for kwargs in EXPLICIT[name]:
        config = accepted(OptimizerConfig(name, kwargs), refused)
        check_trajectory(target, kind, config, *explicit_run(kind))

    if kind == "tensor":
        check_unused_parameter(target, name, refused)

    configs = full_optimizer_configs([name]).map(lambda c: accepted(c, refused))

    @fewer_examples(0.5)
    @given(config=configs, run=runs(kind))
    def agrees(config: OptimizerConfig, run: tuple) -> None:
        check_trajectory(target, kind, config, *run)

    running.run(agrees, target)


def check_unused_parameter(target: Target, name: str, refused: dict[str, str]) -> None:
    """A tensor parameter that no loss reaches, first in the optimizer's list, does not
    stop the others: they follow the reference, and it stays as it is (torch skips a
    parameter whose `.grad` is None; one that `zero_grad()` set to zeros does not move
    either without weight decay, the case here)."""
    if name == "AdamW" and "weight_decay" in refused:
        return  # AdamW's default decay would move a zeroed parameter, and not a skipped one
    config = accepted(OptimizerConfig(name, {"lr": 0.1, "weight_decay": 0.0}), refused)
    start, grads = explicit_run("tensor")
    unused = np.array([0.5, -1.25])
    want, spread = reference_run(config, start, grads)
    got = run_target(target, "tensor", config, start, grads, unused=[unused])
    problems = trajectory_problems([step[:-1] for step in got], want, spread)
    problems += [
        f"step {t}: the unused parameter is {np.asarray(step[-1]).tolist()}"
        for t, step in enumerate(got)
        if not np.array_equal(np.asarray(step[-1], dtype=np.float64), unused)
    ][:1]
    assert not problems, (
        f"{_case(config, start, grads, None)}, after an unused parameter "
        f"Tensor({unused.tolist()}) first in the optimizer's list:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_grad_clears_every_parameter(target: Target, name: str) -> None:
    if not target.has(f"optim.{name}", "Value"):
        pytest.skip(f"target lacks {', '.join(target.missing(f'optim.{name}', 'Value'))}")
    try:
        grads = target.call("zero_grad", name=name)
    except TargetRaised as error:
        raise AssertionError(f"{name}: the target raised {error.describe()}") from None
    left = [g for g in grads if not (g is None or (type(g) in (int, float) and g == 0))]
    assert not left, f"{name}.zero_grad() left gradients {grads}"
