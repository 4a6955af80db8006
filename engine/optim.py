"""Optimizers and learning-rate schedules with `torch.optim`'s arguments, defaults and rules.

Each optimizer is one method, `_update`, that applies its rule to NumPy arrays: the
parameter `p`, its gradient `g` and the optimizer's state for it (moment estimates and
the step count).  The base class `Optimizer` does the bookkeeping around it:

* A parameter is a `Value` (``.data`` a float) or a tensor (``.data`` a float64 NumPy
  array, ``.grad`` None or an array of the same shape); anything with ``.data`` and
  ``.grad`` works.  All scalar parameters are gathered into one array so that a
  micrograd-style MLP of hundreds of `Value`s is updated by a few vectorized operations,
  not hundreds of small ones.  A tensor's array is updated in place, as torch does.
* A parameter whose ``.grad`` is None is skipped, state and step count included, as
  torch does.
* The formulas follow torch's order of operations, so a run agrees with `torch.optim`
  in float64 to rounding error (torch fuses some multiply-adds; NumPy rounds twice).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np

from engine.aligned import aligned_zeros

State = dict[str, Any]


class Parameter(Protocol):
    """What an optimizer needs of a parameter: its value and its gradient."""

    data: Any
    grad: Any


# Hyperparameters that must be >= 0, with the words of torch's error message.
_NONNEGATIVE = {
    "lr": "learning rate",
    "eps": "epsilon value",
    "weight_decay": "weight_decay value",
    "momentum": "momentum value",
    "alpha": "alpha value",
    "lr_decay": "lr_decay value",
    "initial_accumulator_value": "initial_accumulator_value value",
}


class Optimizer:
    """Holds the parameters, their state and the hyperparameters (as attributes).

    Subclasses define `_init_state` (the state of a fresh parameter) and `_update` (one
    step of the rule, in place on `p` and the state arrays).
    """

    def __init__(self, params: Iterable[Parameter], **hyperparameters: Any) -> None:
        for name, value in hyperparameters.items():
            if name in _NONNEGATIVE and not value >= 0.0:  # nan is refused too
                raise ValueError(f"Invalid {_NONNEGATIVE[name]}: {value}")
            setattr(self, name, value)
        self._hyperparameters = tuple(hyperparameters)
        self.params = _parameter_list(params)
        self._scalars = [p for p in self.params if not isinstance(p.data, np.ndarray)]
        self._tensors = [p for p in self.params if isinstance(p.data, np.ndarray)]
        self._scalar_state: State = {}
        self._tensor_states: list[State] = [{} for _ in self._tensors]

    def step(self) -> None:
        """Update every parameter that has a gradient by one step of the rule."""
        if self._scalars:
            self._step_scalars()
        # equivalent strict=False: the lists are made the same length
        for p, state in zip(self._tensors, self._tensor_states, strict=True):  # pragma: no mutate
            if p.grad is None:
                continue
            data = np.asarray(p.data, dtype=float)  # p.data itself: updated in place, as torch
            grad = np.asarray(p.grad, dtype=float)
            if grad.shape != data.shape:
                raise ValueError(
                    f"a parameter of shape {data.shape} has a gradient of shape {grad.shape}"
                )
            if not state:
                state.update(step=0, **self._init_state(data))
            state["step"] += 1
            self._update(data, grad, state)
            p.data = data

    def _step_scalars(self) -> None:
        """One step for all scalar parameters at once, as one array (a step count each)."""
        values = self._scalars
        grads = [v.grad for v in values]
        g = np.array(grads, dtype=float)
        count = len(values)
        # equivalent dtype=None: np.dtype(None) is float64; count is only a size hint
        data = np.fromiter((v.data for v in values), dtype=float, count=count)  # pragma: no mutate
        if not self._scalar_state:
            self._scalar_state.update(step=np.zeros(len(values)), **self._init_state(data))
        index: slice | list[int] = slice(None)
        # a None became nan; skip those parameters
        # equivalent `or`: a list of every index updates what the full slice does
        if np.isnan(g).any() and None in grads:  # pragma: no mutate
            index = [i for i, grad in enumerate(grads) if grad is not None]
            values = [values[i] for i in index]
        state = {name: array[index] for name, array in self._scalar_state.items()}
        state["step"] += 1
        data = data[index]
        self._update(data, g[index], state)
        for name, array in self._scalar_state.items():
            array[index] = state[name]
        # equivalent strict=False: equal lengths
        for v, x in zip(values, data.tolist(), strict=True):  # pragma: no mutate
            v.data = x

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: 0.0 for a scalar; None (or zeros) for a tensor, as torch."""
        for v in self._scalars:
            v.grad = 0.0
        for p in self._tensors:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = np.zeros_like(p.data, dtype=float)

    def state_dict(self) -> dict[str, Any]:
        """A copy of the hyperparameters and of every parameter's state."""
        return copy.deepcopy(
            {
                "hyperparameters": {k: getattr(self, k) for k in self._hyperparameters},
                "scalar_state": self._scalar_state,
                "tensor_states": self._tensor_states,
            }
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, for an optimizer over the same parameters."""
        scalar_state, tensor_states = state_dict["scalar_state"], state_dict["tensor_states"]
        n = len(self._scalars)
        if len(tensor_states) != len(self._tensors) or any(
            np.shape(a) != (n,) for a in scalar_state.values()
        ):
            raise ValueError(
                f"the state is for other parameters: this optimizer has {n} scalars "
                f"and {len(self._tensors)} tensors"
            )
        # equivalent: strict=False, the lengths were checked above
        for p, state in zip(self._tensors, tensor_states, strict=True):  # pragma: no mutate
            for name, array in state.items():
                if name != "step" and np.shape(array) != np.shape(p.data):
                    raise ValueError(
                        f"state {name!r} has shape {np.shape(array)}, "
                        f"its parameter {np.shape(p.data)}"
                    )
        for name, value in state_dict["hyperparameters"].items():
            setattr(self, name, value)
        self._scalar_state = copy.deepcopy(scalar_state)
        self._tensor_states = copy.deepcopy(tensor_states)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _init_state(self, p: np.ndarray) -> State:
        raise NotImplementedError

    def _update(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        raise NotImplementedError


def _parameter_list(params: Iterable[Parameter]) -> list[Parameter]:
    """`params` as a list, refusing a bare parameter, an empty list and repeats."""
    if hasattr(params, "data") and hasattr(params, "grad"):
        raise TypeError(
            "params should be an iterable of parameters, got a single "
            f"{type(params).__name__}; pass [p]"
        )
    params = list(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    first_seen: dict[int, int] = {}
    for i, p in enumerate(params):
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            raise TypeError(
                "an optimizer can only optimize parameters (objects with .data and .grad), "
                f"but params[{i}] is a {type(p).__name__}"
            )
        if id(p) in first_seen:
            raise ValueError(
                f"params[{first_seen[id(p)]}] and params[{i}] are the same parameter; "
                "pass each parameter once"
            )
        first_seen[id(p)] = i
    return params


def _lerp_(
    start: np.ndarray, end: np.ndarray, weight: float, work: np.ndarray | None = None
) -> None:
    """``start += weight * (end - start)`` in place, in torch's two-sided form of lerp.

    The one temporary array is `work` when given (shaped like `start`), else a new one.
    """
    gap = np.subtract(end, start, out=work)
    if weight < 0.5:
        gap *= weight
        start += gap
    else:
        gap *= 1 - weight
        np.subtract(end, gap, out=start)


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

    ::

        g = grad + weight_decay * p                       (-grad when maximize)
        b = g  (first step),   b = momentum * b + (1 - dampening) * g  (later)
        g = g + momentum * b  (nesterov)   or   g = b     (when momentum != 0)
        p = p - lr * g
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _init_state(self, p: np.ndarray) -> State:
        return {"momentum_buffer": np.zeros_like(p)} if self.momentum != 0 else {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        if self.maximize:
            g = -g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        if self.momentum != 0:
            buf = state["momentum_buffer"]  # starts at 0, undamped at step 1: becomes g
            dampening = np.where(state["step"] == 1, 0.0, self.dampening)
            buf *= self.momentum
            buf += (1 - dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """Adam, with L2 weight decay added to the gradient (or decoupled, as `AdamW`).

    ::

        g = grad + weight_decay * p                       (-grad when maximize)
          (decoupled_weight_decay: p = p * (1 - lr * weight_decay) instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v), used for v   (amsgrad)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        super().__init__(
            params,
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        self._work: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def _init_state(self, p: np.ndarray) -> State:
        state = {"exp_avg": aligned_zeros(p.shape), "exp_avg_sq": aligned_zeros(p.shape)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        beta1, beta2 = self.betas
        if self.maximize:
            g = -g
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        # In place, as torch's lerp_, mul_, addcmul_ and addcdiv_: each line below is one
        # NumPy operation of the formula, in its order.  The temporaries go into two work
        # arrays kept from step to step, not into nine new arrays.
        m, v = state["exp_avg"], state["exp_avg_sq"]
        work, step = self._work_arrays(p.shape)
        _lerp_(m, g, 1 - beta1, work)
        v *= beta2
        square = np.multiply(g, 1 - beta2, out=work)
        square *= g
        v += square  # v += (1 - beta2) * g * g
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        t = state["step"]
        step_size = self.lr / (1 - beta1**t)
        denom = np.sqrt(v, out=work)
        denom /= (1 - beta2**t) ** 0.5
        denom += self.eps  # denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        np.multiply(m, step_size, out=step)
        step /= denom
        p -= step  # p -= step_size * m / denom

    def _work_arrays(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Two scratch arrays of `shape`, made at the first step and reused after it.

        Reusing them spares NumPy an allocation per operation, and they start on a cache
        line (64 bytes), where the CPU's vector stores are fastest: a few percent of a step.
        """
        if shape not in self._work:
            self._work[shape] = (aligned_zeros(shape), aligned_zeros(shape))
        return self._work[shape]


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * weight_decay)``, then Adam."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    ::

        g = grad + weight_decay * p                       (-grad when maximize)
        s = alpha * s + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g,   d = sqrt(s - a**2) + eps    (centered)
                                           d = sqrt(s) + eps           (otherwise)
        b = momentum * b + g / d,   p = p - lr * b                     (momentum > 0)
                                    p = p - lr * g / d                 (otherwise)
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )

    def _init_state(self, p: np.ndarray) -> State:
        state = {"square_avg": np.zeros_like(p)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(p)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        if self.maximize:
            g = -g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        s = state["square_avg"]
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        if self.centered:
            a = state["grad_avg"]
            _lerp_(a, g, 1 - self.alpha)
            d = np.sqrt(s - a * a) + self.eps
        else:
            d = np.sqrt(s) + self.eps
        if self.momentum > 0:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / d
            p -= self.lr * b
        else:
            p -= self.lr * g / d


class Adagrad(Optimizer):
    """Adagrad: a step size per coordinate, shrinking with the sum of squared gradients.

    ::

        g = grad + weight_decay * p                       (-grad when maximize)
        s = s + g**2                              (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )

    def _init_state(self, p: np.ndarray) -> State:
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        if self.maximize:
            g = -g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        s = state["sum"]
        s += g * g
        p -= clr * g / (np.sqrt(s) + self.eps)


# -- learning-rate schedules -----------------------------------------------------------


class LRScheduler:
    """Sets ``optimizer.lr`` at each `step()` (call it after ``optimizer.step()``).

    Construction counts as epoch 0 and sets the epoch-0 rate, as torch does.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr: float = optimizer.lr
        self.last_epoch = -1
        self.step()

    def step(self) -> None:
        """Advance one epoch and set the learning rate for it."""
        self.last_epoch += 1
        self.optimizer.lr = self._lr()

    def get_last_lr(self) -> list[float]:
        """The learning rate set last, in a list (torch's form: one per parameter group)."""
        return [self.optimizer.lr]

    def _lr(self) -> float:
        raise NotImplementedError


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def _lr(self) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma


class LambdaLR(LRScheduler):
    """Set the learning rate to ``base_lr * lr_lambda(epoch)``."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def _lr(self) -> float:
        return self.base_lr * self.lr_lambda(self.last_epoch)
