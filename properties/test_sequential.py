"""Protocol v2 networks: random `Sequential` MLPs and CNNs against the oracle (the loss and
every parameter's gradient), trained step by step with the target's own `optim` and loss
(the loss and every parameter follow the oracle's JAX/optax run from the same weights),
a small CNN that learns a separable image task, and the CNN of examples/digits.py."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from oracle import networks
from properties import running
from properties.cases.layers import LOSS_NAMES, NetworkCase, network_cases, optimizers
from properties.mismatch_summary import summarised
from properties.network_checks import needs, on_target, training_snippet
from properties.network_opinion import Disagreement, network_graph, raised_verdict, training_verdict
from properties.reference import bad_value
from properties.settings import fewer_examples
from properties.targets import Target
from properties.test_layers import check_network

NETWORK = ("Tensor", "nn.Sequential", "nn.Linear")


def offered_losses(target: Target) -> list[str]:
    return [name for name in LOSS_NAMES if f"functional.{name}" in target.capabilities]


def needs_network(target: Target) -> None:
    needs(target, *NETWORK)
    if not offered_losses(target):
        needs(target, "functional.cross_entropy")


def test_network_loss_and_every_gradient_agree_with_oracle(target: Target) -> None:
    needs_network(target)

    @fewer_examples(0.1)
    @given(case=network_cases(target.capabilities, offered_losses(target)))
    def agrees(case: NetworkCase) -> None:
        check_network(target, case, 1.0, sequential=True)

    running.run(agrees, target)


NUDGE = 2.0**-50  # relative change of the initial weights that measures the run's conditioning


def follow(
    target: Target, case: NetworkCase, optimizer: str, kwargs: dict[str, Any], steps: int
) -> dict[str, Any]:
    """Train on the target and compare every step with the oracle's run. The allowed error
    is that of test_networks' MLP trajectories: 1e-10 relative to the parameters and
    their change, plus 16 times the spread of two oracle runs from weights nudged by
    1 +- 2**-50 (a run that amplifies rounding, near a kink or a chaotic step, gets
    the room its own conditioning shows)."""
    config = {"name": optimizer, **kwargs}
    snippet = training_snippet(case, target.import_name, optimizer, kwargs, steps)
    runs = [
        networks.train(
            case.layers, case.loss, [p * scale for p in case.params], case.x, case.y, config, steps
        )
        for scale in (1.0, 1 + NUDGE, 1 - NUDGE)
    ]
    start = lambda: raised_verdict(network_graph(case, 1.0)[0], runs[0].losses[0], "loss")  # noqa: E731
    answer = on_target(
        target,
        "network_train",
        snippet,
        start,
        layers=list(case.layers),
        params=list(case.params),
        x=case.x,
        y=case.y,
        loss=case.loss,
        optimizer=optimizer,
        kwargs=kwargs,
        steps=steps,
    )
    want = runs[0]
    # one error analysis per step's parameters: its gradients' bounds for the rounding
    # noise, its loss's bound for the loss
    analyses = [networks.bounds(case.layers, p, case.x, case.loss, case.y) for p in want.params]
    noise = rounding_noise(case, config, steps, want, analyses[:-1])
    opinion = lambda: training_verdict(case, want.losses[0], answer["losses"][0])  # noqa: E731
    for t in range(steps + 1):
        apart = []  # each parameter's distance from the oracle's, within its bound
        for i, got in enumerate(answer["history"][t]):
            expected = want.params[t][i]
            why = bad_value(got)
            if why:
                said = f"parameters()[{i}] after {t} steps is {why}\nreproduce with:\n{snippet}"
                raise Disagreement(said, opinion, optimizer)
            spread = np.max([np.abs(run.params[t][i] - expected) for run in runs[1:]], axis=0)
            start = np.abs(want.params[0][i])
            bound = (
                1e-10 * (start + np.abs(expected - want.params[0][i]))
                + 16 * spread
                + noise.params[t][i]
                + 1e-300
            )
            error = np.abs(np.asarray(got, dtype=np.float64) - expected)
            if not (np.shape(got) == expected.shape and np.all(error <= bound)):
                label = f"after {t} steps parameters()[{i}]"
                lines = summarised([expected], [got], [bound], [label])
                said = "\n".join([f"{optimizer}({kwargs}), {case.loss}:", *lines])
                raise Disagreement(f"{said}\nreproduce with:\n{snippet}", opinion, optimizer)
            apart.append(error)
        got_loss = answer["losses"][t]
        spread = max(abs(run.losses[t] - want.losses[t]) for run in runs[1:])
        base = 1e-10 * abs(want.losses[t]) + 16 * spread + noise.losses[t] + 1e-300
        bound = base + float(analyses[t].output)  # the loss's evaluation error
        why = bad_value(got_loss)
        within = not why and abs(float(got_loss) - want.losses[t]) <= bound
        if t > 0 and not (within and _finite(*apart, *analyses[t].grads)):
            # the parameters' distance only widens the bound (by sum |g| d >= 0; d is finite,
            # so is g where its error analysis is): its gradient (a compiled program) is
            # needed only where the bound without it fails
            bound = base + loss_error(case, analyses[t], want.params[t], apart)
        if why or not abs(float(got_loss) - want.losses[t]) <= bound:
            when = "after the last step" if t == steps else f"before step {t + 1}"
            said = (
                f"{optimizer}({kwargs}), {case.loss}: the loss {when} is "
                f"{why or float(got_loss)!r}, the oracle's {want.losses[t]!r} (allowed {bound:.3g})"
            )
            raise Disagreement(f"{said}\nreproduce with:\n{snippet}", opinion, optimizer)
    return answer


def loss_error(
    case: NetworkCase, analysis: networks.Bounds, params: list[Any], apart: list[Any]
) -> float:
    """The allowed error of the loss at `params` when the target's parameters are `apart`
    from these: its evaluation's (`analysis`, the error analysis there: a loss of 2e-9
    computed as log(1 + 2e-9) is 1e-16 uncertain, 5e-8 of itself), and twice how far the
    distance moves the loss to first order (the oracle's gradient there, in absolute value,
    times it)."""
    evaluation = analysis.output
    _, grads = networks.loss_and_grads(case.layers, case.loss, params, case.x, case.y)
    carried = sum(np.sum(np.abs(g) * d) for g, d in zip(grads, apart, strict=True))
    return float(evaluation + 2 * carried)


def _finite(*arrays: Any) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def rounding_noise(
    case: NetworkCase,
    config: dict[str, Any],
    steps: int,
    want: networks.TrainingRun,
    analyses: list[networks.Bounds],
) -> networks.TrainingRun:
    """How far a correct target's run may drift from the oracle's by the rounding of its
    gradients alone: the largest change of each parameter and loss when every gradient of
    the oracle's run is moved by its allowed error (`analyses[t]`, the error analysis at
    step t's parameters), up and then down. The nudged runs cannot show this: they move the
    weights, not the rounding, and a gradient that is 0 in exact arithmetic and 1e-16 in
    floating point moves a parameter by lr * 1e-8 in Adam's first step."""
    offsets = [analysis.grads for analysis in analyses]
    moved = [
        networks.train(
            case.layers,
            case.loss,
            case.params,
            case.x,
            case.y,
            config,
            steps,
            [[sign * o for o in step] for step in offsets],
        )
        for sign in (1.0, -1.0)
    ]

    def drift(a: Any, b: Any) -> Any:
        gap = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
        return np.where(np.isnan(gap), np.inf, gap)  # an infinite bound allows anything

    params = [
        [np.maximum(*(drift(m.params[t][i], p) for m in moved)) for i, p in enumerate(ps)]
        for t, ps in enumerate(want.params)
    ]
    losses = [max(float(drift(m.losses[t], w)) for m in moved) for t, w in enumerate(want.losses)]
    return networks.TrainingRun(losses, params)


def test_training_follows_the_oracle_step_by_step(target: Target) -> None:
    needs_network(target)

    @fewer_examples(0.05)
    @given(
        case=network_cases(target.capabilities, offered_losses(target)),
        optimizer=optimizers(target.capabilities),
        steps=st.integers(1, 4),
    )
    def follows(case: NetworkCase, optimizer: tuple[str, dict[str, Any]], steps: int) -> None:
        follow(target, case, *optimizer, steps)

    running.run(follows, target)


def _separable_images() -> NetworkCase:
    """Eight 1x5x5 images: class 0 has a bright vertical bar, class 1 a horizontal one
    (at different places, over noise), and a small CNN's initial weights."""
    rng = np.random.default_rng(7)
    images, labels = [], []
    for k in range(8):
        image = rng.uniform(-0.2, 0.2, (5, 5))
        if k % 2:
            image[k % 5, :] += 1.0
        else:
            image[:, k % 5] += 1.0
        images.append(image[None])
        labels.append(k % 2)
    layers = (
        {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "ReLU"},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Flatten"},
        {"type": "Linear", "in_features": 16, "out_features": 2},
    )
    params = tuple(rng.uniform(-0.5, 0.5, shape) for shape in networks.parameter_shapes(layers))
    return NetworkCase(layers, params, np.array(images), "cross_entropy", np.array(labels))


CNN = ("nn.Conv2d", "nn.ReLU", "nn.MaxPool2d", "nn.Flatten", "functional.cross_entropy")


def test_small_cnn_learns_separable_images(target: Target) -> None:
    """40 steps of Adam (lr 0.05) on vertical against horizontal bars: the loss falls below
    0.05 and the run follows the oracle's, step by step."""
    needs(target, *NETWORK, *CNN, "optim.Adam")
    case = _separable_images()
    answer = follow(target, case, "Adam", {"lr": 0.05}, 40)
    final = float(answer["losses"][-1])
    assert final < 0.05, f"the cross-entropy after 40 steps is {final}, expected below 0.05"


def digits_cnn() -> NetworkCase:
    """examples/digits.py's CNN (two 3x3 convolutions of 16 and 32 channels with padding 1,
    ReLU and 2x2 max pooling, then Linear(128, 10)) on 16 fixed 8x8 images in [0, 1] with
    labels 0-9, from torch's initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layers = (
        {"type": "Conv2d", "in_channels": 1, "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "ReLU"},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Conv2d", "in_channels": 16, "out_channels": 32, "kernel_size": 3, "padding": 1},
        {"type": "ReLU"},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Flatten"},
        {"type": "Linear", "in_features": 128, "out_features": 10},
    )
    rng = np.random.default_rng(2026)
    params = []
    for shape in networks.parameter_shapes(layers):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else None
        bound = 1 / np.sqrt(fan_in if fan_in else params[-1][0].size)
        params.append(rng.uniform(-bound, bound, shape))
    images = np.round(rng.uniform(0.0, 1.0, (16, 1, 8, 8)) * 16) / 16
    return NetworkCase(layers, tuple(params), images, "cross_entropy", np.arange(16) % 10)


def test_digits_cnn_agrees_with_oracle(target: Target) -> None:
    """The digits CNN: its loss and all 6090 parameter gradients within the error analysis,
    and 5 steps of Adam (lr 1e-3, as the example trains) following the oracle's run."""
    needs(target, *NETWORK, *CNN, "optim.Adam")
    case = digits_cnn()
    check_network(target, case, 1.0, sequential=True)
    follow(target, case, "Adam", {"lr": 1e-3}, 5)
