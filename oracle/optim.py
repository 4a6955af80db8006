"""Optimizer references: optax configured, or composed, to follow `torch.optim` exactly.

A config (`oracle.optim_config.OptimizerConfig`) names a `torch.optim` class and its
keyword arguments (torch's names and defaults).  `trajectory` runs the optax
transformation with torch's update rule from initial parameters on given gradients.
How each one maps:

* ``SGD``: ``add_decayed_weights(wd)`` (L2 added to the gradient first, as torch does),
  then ``optax.trace(momentum, nesterov)``, then ``scale_by_learning_rate(lr)``.
  optax's trace starts from zeros, so its first buffer is the gradient, as torch's is;
  the two agree exactly when ``dampening == 0``.  optax has no dampening, and torch does
  not damp the first step (buf = g, then buf = m*buf + (1-d)*g), so for ``dampening != 0``
  a small custom transformation (`torch_momentum`) takes the trace's place.
* ``Adam``: ``add_decayed_weights(wd)``, ``scale_by_adam(b1, b2, eps)``, learning rate.
  torch computes ``lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)`` and optax
  ``lr * (m/bc1) / (sqrt(v/bc2) + eps)``: equal in real arithmetic, a few ulps apart.
  With ``amsgrad`` a custom `torch_amsgrad_scaling` takes ``scale_by_adam``'s place:
  torch keeps the running maximum of the *uncorrected* ``v`` and corrects it by the
  current step's ``bc2``; optax's ``scale_by_amsgrad`` keeps the maximum of the corrected
  ``v/bc2`` (or, without correction, never corrects it), which is another rule.
* ``AdamW`` (and ``Adam(decoupled_weight_decay=True)``, the same optimizer in torch):
  ``optax.adamw``'s own chain, the Adam scaling, ``add_decayed_weights(wd)``, the learning
  rate: the decay ``lr*wd*p`` is decoupled from the moments.  torch multiplies ``p`` by
  ``1 - lr*wd`` before the Adam step; optax subtracts ``lr*wd*p`` within the update:
  equal in real arithmetic.
* ``RMSprop``: ``add_decayed_weights(wd)``, ``scale_by_rms(alpha, eps, eps_in_sqrt=False)``
  or, when centered, ``scale_by_stddev(alpha, eps, eps_in_sqrt=False)`` (torch adds eps
  outside the square root; optax's default puts it inside), then ``trace(momentum)`` and
  the learning rate.  ``optax.rmsprop`` scales by the learning rate *before* the momentum
  trace; the order here is torch's (equal for a constant learning rate).
* ``Adagrad``: ``add_decayed_weights(wd)``, a custom `torch_adagrad_scaling`, and the
  learning rate ``lr / (1 + t*lr_decay)`` as an optax schedule.  optax's
  ``scale_by_rss`` divides by ``sqrt(sum + eps)`` (eps inside the root, and 0 where the
  sum is 0) and starts at 0.1; torch divides by ``sqrt(sum) + eps`` and starts at
  ``initial_accumulator_value`` (default 0).
* ``maximize`` (all five): torch negates the gradient before anything else, weight decay
  included: ``optax.scale(-1.0)`` first in the chain.

`trajectory` also takes a learning rate per step, as a scheduler sets it (oracle/schedules.py
gives torch's); each step's rate is an argument of the compiled step, as every number is.

Arguments outside the target spec and this list (foreach, capturable, ...) are rejected
rather than ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from oracle import _jax
from oracle.optim_config import OptimizerConfig

Params = list[np.ndarray]
Gradients = Sequence[Sequence[Any]] | Callable[[Params], Sequence[Any]]


def _numbers(config: OptimizerConfig) -> dict[str, jax.Array]:
    """The config's numbers as float64 arrays, arguments of the compiled step (its flags
    are its `_structure`)."""
    arguments = config.with_defaults.items()
    return {k: jnp.asarray(v, jnp.float64) for k, v in arguments if not isinstance(v, bool)}


def _structure(config: OptimizerConfig) -> tuple[bool, ...]:
    """The choices that shape the transformation (the rest are numbers it computes with):
    maximize first, then the optimizer's own."""
    k = config.with_defaults
    maximize = bool(k["maximize"])
    if config.name == "SGD":
        return (maximize, k["momentum"] != 0, k["dampening"] != 0, bool(k["nesterov"]))
    if config.name == "RMSprop":
        return (maximize, k["momentum"] != 0, bool(k["centered"]))
    if config.name == "Adagrad":
        return (maximize, k["lr_decay"] != 0)
    decoupled = config.name == "AdamW" or bool(k["decoupled_weight_decay"])
    return (maximize, bool(k["amsgrad"]), decoupled)


def _build(
    name: str, structure: tuple[bool, ...], k: Mapping[str, Any]
) -> optax.GradientTransformation:
    """The transformation for `name`; `k`'s numbers may be JAX tracers."""
    maximize, *shape = structure
    sign = optax.scale(-1.0) if maximize else optax.identity()
    decay = optax.add_decayed_weights(k["weight_decay"])
    rate = optax.scale_by_learning_rate(k["lr"])
    if name == "SGD":
        has_momentum, dampened, nesterov = shape
        if not has_momentum:
            momentum = optax.identity()
        elif not dampened:
            momentum = optax.trace(decay=k["momentum"], nesterov=nesterov)
        else:
            momentum = torch_momentum(k["momentum"], k["dampening"], nesterov)
        return optax.chain(sign, decay, momentum, rate)
    if name in ("Adam", "AdamW"):
        amsgrad, decoupled = shape
        b1, b2 = k["betas"]
        adam = torch_amsgrad_scaling if amsgrad else optax.scale_by_adam
        if decoupled:
            return optax.chain(sign, adam(b1, b2, k["eps"]), decay, rate)
        return optax.chain(sign, decay, adam(b1, b2, k["eps"]), rate)
    if name == "RMSprop":
        has_momentum, centered = shape
        scale = optax.scale_by_stddev if centered else optax.scale_by_rms
        momentum = optax.trace(decay=k["momentum"]) if has_momentum else optax.identity()
        return optax.chain(
            sign, decay, scale(k["alpha"], k["eps"], eps_in_sqrt=False), momentum, rate
        )
    (decays,) = shape
    lr, lr_decay = k["lr"], k["lr_decay"]
    if decays:
        rate = optax.scale_by_learning_rate(lambda count: lr / (1 + count * lr_decay))
    scaling = torch_adagrad_scaling(k["initial_accumulator_value"], k["eps"])
    return optax.chain(sign, decay, scaling, rate)


def trajectory(
    config: OptimizerConfig | Mapping[str, Any],
    params: Sequence[Any],
    grads: Gradients,
    steps: int | None = None,
    learning_rates: Sequence[float] | None = None,
) -> list[Params]:
    """Parameters before and after each step: ``steps + 1`` lists of float64 arrays.

    `grads` is a sequence holding each step's gradients (one per parameter), or a
    function from the current parameters to their gradients (then `steps` is needed).
    `learning_rates`, when given, holds each step's learning rate (as a scheduler sets
    it), in place of the config's ``lr``.
    """
    if callable(grads):
        if steps is None:
            raise ValueError("steps is needed when grads is a function")
    elif steps is None:
        steps = len(grads)
    elif steps > len(grads):
        raise ValueError(f"{steps} steps but gradients for {len(grads)}")
    config = _as_config(config)
    structure = _structure(config)
    numbers = _numbers(config)
    current = [jnp.asarray(p, jnp.float64) for p in params]
    state = _build(config.name, structure, config.with_defaults).init(current)
    history = [[np.asarray(p) for p in current]]
    for t in range(steps):
        step_grads = grads(history[-1]) if callable(grads) else grads[t]
        g = [
            jnp.asarray(x, jnp.float64).reshape(p.shape)
            for x, p in zip(step_grads, current, strict=True)
        ]
        if learning_rates is not None:
            numbers["lr"] = jnp.asarray(learning_rates[t], jnp.float64)
        current, state = _step(config.name, structure, numbers, g, state, current)
        history.append([np.asarray(p) for p in current])
    return history


@partial(jax.jit, static_argnums=(0, 1), compiler_options=_jax.FAST_COMPILE)
def _step(
    name: str,
    structure: tuple[bool, ...],
    numbers: dict[str, jax.Array],
    grads: list[jax.Array],
    state: Any,
    params: list[jax.Array],
) -> tuple[list, Any]:
    """One update, compiled once per optimizer structure and parameter shapes: the
    hyperparameters are arguments, not constants."""
    updates, state = _build(name, structure, numbers).update(grads, state, params)
    return optax.apply_updates(params, updates), state


class TorchMomentumState(NamedTuple):
    """torch's momentum buffer and whether it has been filled."""

    started: jax.Array
    buffer: optax.Updates


def torch_momentum(
    momentum: float, dampening: float, nesterov: bool
) -> optax.GradientTransformation:
    """torch.optim.SGD's momentum: buf = g on the first step, then m*buf + (1-d)*g."""

    def init(params: optax.Params) -> TorchMomentumState:
        return TorchMomentumState(jnp.zeros([], bool), optax.tree.zeros_like(params))

    def update(
        updates: optax.Updates, state: TorchMomentumState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, TorchMomentumState]:
        del params
        buffer = jax.tree.map(
            lambda g, b: jnp.where(state.started, momentum * b + (1 - dampening) * g, g),
            updates,
            state.buffer,
        )
        out = jax.tree.map(lambda g, b: g + momentum * b, updates, buffer) if nesterov else buffer
        return out, TorchMomentumState(jnp.ones([], bool), buffer)

    return optax.GradientTransformation(init, update)


class TorchAmsgradState(NamedTuple):
    """The step count, both moments and the running maximum of the second."""

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    nu_max: optax.Updates


def torch_amsgrad_scaling(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """torch.optim.Adam's amsgrad: m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g*g,
    v_max = max(v_max, v), then (m / (1-b1**t)) / (sqrt(v_max) / sqrt(1-b2**t) + eps)."""

    def init(params: optax.Params) -> TorchAmsgradState:
        zeros = optax.tree.zeros_like(params)
        return TorchAmsgradState(jnp.zeros([], jnp.int32), zeros, zeros, zeros)

    def update(
        updates: optax.Updates, state: TorchAmsgradState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, TorchAmsgradState]:
        del params
        count = state.count + 1
        mu = optax.tree.update_moment(updates, state.mu, b1, 1)
        nu = optax.tree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
        root = jnp.sqrt(1 - b2**count)
        out = jax.tree.map(
            lambda m, v: m / (jnp.sqrt(v) / root + eps),
            optax.tree.bias_correction(mu, b1, count),
            nu_max,
        )
        return out, TorchAmsgradState(count, mu, nu, nu_max)

    return optax.GradientTransformation(init, update)


class TorchAdagradState(NamedTuple):
    """The running sum of squared gradients."""

    sum_of_squares: optax.Updates


def torch_adagrad_scaling(
    initial_accumulator_value: float, eps: float
) -> optax.GradientTransformation:
    """torch.optim.Adagrad's scaling: sum += g*g; g / (sqrt(sum) + eps)."""

    def init(params: optax.Params) -> TorchAdagradState:
        return TorchAdagradState(optax.tree.full_like(params, initial_accumulator_value))

    def update(
        updates: optax.Updates, state: TorchAdagradState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, TorchAdagradState]:
        del params
        total = jax.tree.map(lambda g, s: s + g * g, updates, state.sum_of_squares)
        out = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, total)
        return out, TorchAdagradState(total)

    return optax.GradientTransformation(init, update)


def _as_config(config: OptimizerConfig | Mapping[str, Any]) -> OptimizerConfig:
    return config if isinstance(config, OptimizerConfig) else OptimizerConfig.from_dict(config)
