"""engine.optim: closed-form sequences, agreement with torch.optim, bookkeeping, errors.

Tolerances: a closed form and the optimizer's recurrence are algebraically equal, and
torch fuses multiply-adds (FMA) where NumPy rounds twice, so each step may differ by a
few units in the last place of the largest quantity involved.  Over 10-20 steps that is
at most some dozens of ulps (measured: 5e-16 here, 5e-15 on a wider grid); the tests allow
1e-13 relative to the largest parameter, far below any wrong formula (a misplaced eps,
sign, order or bias correction moves the parameters by 1e-10 or much more here).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np
import pytest

from engine import Tensor, Value, optim

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (extra `peers`)")

RTOL = 1e-13
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
P0 = np.array([[0.5, -1.5, 2.0], [-0.25, 3.0, 1.0]])
C = np.array([[0.3, -0.7, 1.1], [2.0, -0.05, 0.5]])  # a constant gradient


class Params:
    """The same starting values as scalar `Value`s or as one `Tensor`, read back as an array."""

    def __init__(self, kind: str, p0: np.ndarray) -> None:
        self.kind, self.shape = kind, p0.shape
        if kind == "value":
            self.list: list = [Value(float(x)) for x in p0.ravel()]
        else:
            self.list = [Tensor(p0)]

    def set_grad(self, g: np.ndarray) -> None:
        g = np.broadcast_to(np.asarray(g, dtype=float), self.shape)
        if self.kind == "value":
            for v, gi in zip(self.list, g.ravel().tolist(), strict=True):
                v.grad = gi
        else:
            self.list[0].grad = g.copy()

    def read(self) -> np.ndarray:
        if self.kind == "value":
            return np.array([v.data for v in self.list]).reshape(self.shape)
        return self.list[0].data.copy()


def assert_close(got: np.ndarray, want: np.ndarray, case: str) -> None:
    scale = max(np.max(np.abs(want)), 1.0)
    err = np.max(np.abs(got - want)) / scale
    assert err <= RTOL, f"{case}: error {err:.3g} relative to {scale:.3g}\ngot  {got}\nwant {want}"


# -- closed forms: gradient at step t (1-based) and the parameters after step t ---------

_Grad = Callable[[int], np.ndarray]
_Want = Callable[[int], np.ndarray]


def _steps(t: int) -> np.ndarray:
    """k = 1..t along a new leading axis, to sum per-step terms of a closed form."""
    return np.arange(1, t + 1, dtype=float).reshape(-1, 1, 1)


def _sgd_momentum(m: float, d: float, nesterov: bool) -> _Want:
    def want(t: int) -> np.ndarray:
        k = _steps(t)
        buf = m ** (k - 1) * C + (1 - d) * C * (1 - m ** (k - 1)) / (1 - m)
        direction = C + m * buf if nesterov else buf
        return P0 - 0.1 * direction.sum(axis=0)

    return want


def _adam_first_then_zero(amsgrad: bool) -> _Want:
    """Gradient C at step 1, then 0: m_t = (1-b1) b1^(t-1) C, v_t = (1-b2) b2^(t-1) C**2."""
    b1, b2, lr, eps = 0.8, 0.9, 0.01, 1e-8

    def want(t: int) -> np.ndarray:
        k = _steps(t)
        m = (1 - b1) * b1 ** (k - 1) * C
        v = (1 - b2) * (b2 if not amsgrad else 1.0) ** (k - 1) * C**2  # amsgrad keeps v_1
        step = lr / (1 - b1**k) * m / (np.sqrt(v) / np.sqrt(1 - b2**k) + eps)
        return P0 - step.sum(axis=0)

    return want


def _rmsprop(alpha: float, centered: bool, momentum: float) -> _Want:
    lr, eps = 0.01, 1e-8

    def want(t: int) -> np.ndarray:
        k = _steps(t)
        mean_sq = (1 - alpha**k) * alpha**k if centered else 1 - alpha**k
        scaled = C / (np.abs(C) * np.sqrt(mean_sq) + eps)  # g / d at each step
        if momentum:
            bufs = [sum(momentum ** (j - i) * scaled[i] for i in range(j + 1)) for j in range(t)]
            return P0 - lr * np.sum(bufs, axis=0)
        return P0 - lr * scaled.sum(axis=0)

    return want


def _adagrad(lr_decay: float, initial: float) -> _Want:
    lr, eps = 0.1, 1e-10

    def want(t: int) -> np.ndarray:
        k = _steps(t)
        clr = lr / (1 + (k - 1) * lr_decay)
        return P0 - (clr * C / (np.sqrt(initial + k * C**2) + eps)).sum(axis=0)

    return want


def _const(t: int) -> np.ndarray:
    return C


def _first_then_zero(t: int) -> np.ndarray:
    return C if t == 1 else np.zeros_like(C)


def _zero(t: int) -> np.ndarray:
    return np.zeros_like(C)


_a = 1 - 0.05 * 0.5  # AdamW's decay factor for lr=0.05, weight_decay=0.5
_u = 0.05 * C / (np.abs(C) + 1e-8)  # Adam's step for a constant gradient
_g1 = C + 0.1 * P0  # the first gradient with L2 weight decay 0.1

# (name, constructor arguments, gradient at step t, parameters after step t, steps)
CLOSED_FORMS: list[tuple[str, dict, _Grad, _Want, int]] = [
    ("SGD", {"lr": 0.1}, _const, lambda t: P0 - t * 0.1 * C, 10),
    ("SGD", {"lr": 0.1, "maximize": True}, _const, lambda t: P0 + t * 0.1 * C, 10),
    ("SGD", {"lr": 0.1, "weight_decay": 0.3}, _zero, lambda t: P0 * (1 - 0.1 * 0.3) ** t, 10),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, _const, _sgd_momentum(0.9, 0.0, False), 10),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.8, "dampening": 0.3},
        _const,
        _sgd_momentum(0.8, 0.3, False),
        10,
    ),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        _const,
        _sgd_momentum(0.9, 0.0, True),
        10,
    ),
    ("Adam", {"lr": 0.05}, _const, lambda t: P0 - t * _u, 10),
    ("Adam", {"lr": 0.05, "maximize": True}, _const, lambda t: P0 + t * _u, 10),
    (
        "Adam",
        {"lr": 0.05, "weight_decay": 0.1},
        _const,
        lambda t: P0 - 0.05 * _g1 / (np.abs(_g1) + 1e-8),
        1,
    ),
    (
        "Adam",
        {"lr": 0.01, "betas": (0.8, 0.9)},
        _first_then_zero,
        _adam_first_then_zero(False),
        10,
    ),
    (
        "Adam",
        {"lr": 0.01, "betas": (0.8, 0.9), "amsgrad": True},
        _first_then_zero,
        _adam_first_then_zero(True),
        10,
    ),
    (
        "AdamW",
        {"lr": 0.05, "weight_decay": 0.5},
        _const,
        lambda t: _a**t * P0 - _u * (1 - _a**t) / (1 - _a),
        10,
    ),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.0}, _const, lambda t: P0 - t * _u, 10),
    ("RMSprop", {"lr": 0.01}, _const, _rmsprop(0.99, False, 0.0), 10),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}, _const, _rmsprop(0.9, True, 0.0), 10),
    ("RMSprop", {"lr": 0.01, "momentum": 0.7}, _const, _rmsprop(0.99, False, 0.7), 10),
    (
        "RMSprop",
        {"lr": 0.01, "weight_decay": 0.1},
        _const,
        lambda t: P0 - 0.01 * _g1 / (np.abs(_g1) * math.sqrt(0.01) + 1e-8),
        1,
    ),
    ("Adagrad", {"lr": 0.1}, _const, _adagrad(0.0, 0.0), 10),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.2, "initial_accumulator_value": 0.5},
        _const,
        _adagrad(0.2, 0.5),
        10,
    ),
    (
        "Adagrad",
        {"lr": 0.1, "weight_decay": 0.1},
        _const,
        lambda t: P0 - 0.1 * _g1 / (np.abs(_g1) + 1e-10),
        1,
    ),
]


@pytest.mark.parametrize("kind", ["value", "tensor"])
@pytest.mark.parametrize(
    ("name", "kwargs", "grad", "want", "steps"),
    CLOSED_FORMS,
    ids=[f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}" for c in CLOSED_FORMS],
)
def test_closed_form_sequence(
    kind: str, name: str, kwargs: dict, grad: _Grad, want: _Want, steps: int
) -> None:
    params = Params(kind, P0)
    opt = getattr(optim, name)(params.list, **kwargs)
    for t in range(1, steps + 1):
        params.set_grad(grad(t))
        opt.step()
        assert_close(params.read(), want(t), f"{name}({kwargs}) on {kind}s, step {t}")


# -- agreement with torch.optim ---------------------------------------------------------

TORCH_CASES: list[tuple[str, dict]] = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.1, "betas": (0.3, 0.6), "eps": 1e-3}),
    ("Adam", {"lr": 0.1, "betas": (0.0, 0.0)}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.1, "maximize": True, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.5, "betas": (0.3, 0.6)}),
    ("AdamW", {"lr": 0.1, "amsgrad": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.1, "alpha": 0.3, "eps": 1e-2, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.1, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.1, "alpha": 0.3, "centered": True}),
    ("RMSprop", {"lr": 0.1, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.1, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.5, "lr_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.5, "weight_decay": 0.1, "eps": 1e-2}),
    ("Adagrad", {"lr": 0.5, "maximize": True}),
]


@needs_torch
@pytest.mark.parametrize(
    ("name", "kwargs"),
    TORCH_CASES,
    ids=[
        f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in TORCH_CASES
    ],
)
def test_agrees_with_torch_over_20_steps(name: str, kwargs: dict) -> None:
    """A matrix, a 0-d tensor and five `Value`s in one optimizer; some gradients go missing."""
    rng = np.random.default_rng(7)
    starts = [rng.standard_normal((3, 4)), np.array(rng.standard_normal()), *rng.standard_normal(5)]
    ours = [Tensor(starts[0]), Tensor(starts[1]), *(Value(float(x)) for x in starts[2:])]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in starts]
    opt = getattr(optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(20):
        for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            g = rng.standard_normal(np.shape(starts[i])) * 10.0 ** rng.uniform(-3, 1)
            if step % 7 == 3 and i in (0, 2):  # no gradient: torch skips the parameter
                p.grad, q.grad = None, None
            else:
                p.grad = g if isinstance(p, Tensor) else float(g)
                q.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        topt.step()
        got = np.concatenate([np.ravel(p.data) for p in ours])
        want = np.concatenate([q.detach().numpy().ravel() for q in theirs])
        assert_close(got, want, f"{name}({kwargs}) against torch, step {step + 1}")


@needs_torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_signature_and_defaults_are_torchs(name: str) -> None:
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    positional = [n for n, p in ours.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == list(theirs)[: len(positional)], f"{name}: order {positional}"
    for arg, p in ours.items():
        assert arg in theirs, f"{name}: torch has no argument {arg!r}"
        assert p.default == theirs[arg].default, (
            f"{name}({arg}={p.default!r}), torch's default {theirs[arg].default!r}"
        )


@needs_torch
@pytest.mark.parametrize(
    ("make", "make_torch"),
    [
        (
            lambda o: optim.StepLR(o, step_size=3, gamma=0.3),
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3),
        ),
        (
            lambda o: optim.LambdaLR(o, lambda e: 0.9**e / (1 + e)),
            lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.9**e / (1 + e)),
        ),
    ],
    ids=["StepLR", "LambdaLR"],
)
def test_schedules_agree_with_torch(make: Callable, make_torch: Callable) -> None:
    p, q = Value(1.0), torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.7), torch.optim.SGD([q], lr=0.7)
    sched, tsched = make(opt), make_torch(topt)
    got, want = [sched.get_last_lr()], [tsched.get_last_lr()]
    for _ in range(10):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        got.append(sched.get_last_lr())
        want.append(tsched.get_last_lr())
    assert got == want, f"learning rates by epoch: {got} != torch's {want}"


# torch 2.13's defaults, written out so that they are checked without torch too.
DEFAULTS = {
    "SGD": {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False},
    "Adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False},
    "AdamW": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
    "RMSprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0},
    "Adagrad": {"lr": 1e-2, "lr_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_defaults(name: str) -> None:
    opt = getattr(optim, name)([Value(0.0)])
    got = {k: getattr(opt, k) for k in DEFAULTS[name]}
    assert got == DEFAULTS[name], f"{name} defaults {got}, want {DEFAULTS[name]}"
    assert opt.maximize is False, f"{name}: maximize={opt.maximize}"


# -- schedules without torch ------------------------------------------------------------


def test_step_lr_decays_every_step_size_epochs_and_sgd_uses_it() -> None:
    p = Value(0.0)
    opt = optim.SGD([p], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    rates = []
    for _ in range(6):
        rates.append(opt.lr)
        p.grad = 1.0
        opt.step()
        sched.step()
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25], rates
    assert p.data == -sum(rates), (p.data, rates)


def test_lambda_lr_scales_the_initial_rate() -> None:
    opt = optim.Adam([Value(0.0)], lr=0.2)
    sched = optim.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    rates = [opt.lr]
    for _ in range(3):
        sched.step()
        rates.append(opt.lr)
    assert rates == [0.2, 0.1, 0.2 / 3, 0.05], rates
    assert sched.get_last_lr() == [0.05], sched.get_last_lr()


# -- bookkeeping ------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_missing_gradient_skips_the_parameter_and_its_step_count(name: str) -> None:
    """A parameter without gradient is untouched; its first real step is a first step."""
    kw = {"lr": 0.1, "momentum": 0.5, "dampening": 0.5} if name == "SGD" else {"lr": 0.1}
    a, b, t = Value(1.0), Value(2.0), Tensor(np.array([2.0, -1.0]))
    opt = getattr(optim, name)([a, b, t], **kw)
    for _ in range(3):
        a.grad, b.grad, t.grad = 0.5, None, None
        opt.step()
        assert (b.data, t.data.tolist()) == (2.0, [2.0, -1.0]), f"{name} moved {b}, {t}"
    b.grad, t.grad = 0.5, np.array([0.5, 0.5])
    opt.step()
    fresh = [Value(2.0), Tensor(np.array([2.0, -1.0]))]
    fresh[0].grad, fresh[1].grad = 0.5, np.array([0.5, 0.5])
    getattr(optim, name)(fresh, **kw).step()
    assert b.data == fresh[0].data, f"{name}: Value after skips {b.data}, fresh {fresh[0].data}"
    assert np.array_equal(t.data, fresh[1].data), f"{name}: tensor {t.data}, fresh {fresh[1].data}"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_value_data_stays_a_float_and_tensor_updates_in_place(name: str) -> None:
    v, t = Value(1.0), Tensor(np.ones((2, 2)))
    array = t.data
    v.grad, t.grad = 0.5, np.full((2, 2), 0.5)
    getattr(optim, name)([v, t], lr=0.1).step()
    assert type(v.data) is float, f"{name}: Value.data became {type(v.data).__name__}"
    assert t.data is array and t.data.dtype == np.float64, f"{name}: tensor data replaced"
    assert v.data < 1.0 and np.all(t.data < 1.0), f"{name}: no descent: {v.data}, {t.data}"


def test_zero_grad_sets_value_grads_to_zero_and_tensor_grads_to_none() -> None:
    v, t = Value(1.0), Tensor(np.ones(3))
    opt = optim.SGD([v, t])
    v.grad, t.grad = 2.0, np.ones(3)
    opt.zero_grad()
    assert (v.grad, t.grad) == (0.0, None), (v.grad, t.grad)
    v.grad, t.grad = 2.0, np.ones(3)
    opt.zero_grad(set_to_none=False)
    assert v.grad == 0.0 and np.array_equal(t.grad, np.zeros(3)), (v.grad, t.grad)


def test_generator_of_params_is_materialized_once() -> None:
    values = [Value(1.0), Value(2.0)]
    opt = optim.SGD((v for v in values), lr=0.25)
    assert opt.params == values, opt.params
    for v in values:
        v.grad = 1.0
    opt.step()
    opt.step()
    assert [v.data for v in values] == [0.5, 1.5], [v.data for v in values]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_resumes_the_same_trajectory(name: str) -> None:
    def run(opt: optim.Optimizer, params: list, steps: int) -> None:
        for k in range(steps):
            params[0].grad = math.sin(k + 1.0)
            params[1].grad = np.cos(np.arange(3.0) + k)
            opt.step()

    params = [Value(1.0), Tensor(np.arange(3.0))]
    opt = getattr(optim, name)(params, lr=0.1)
    run(opt, params, 3)
    saved = opt.state_dict()
    saved_data = [params[0].data, params[1].data.copy()]
    run(opt, params, 3)
    clone = [Value(saved_data[0]), Tensor(saved_data[1])]
    other = getattr(optim, name)(clone, lr=0.5)
    other.load_state_dict(saved)
    assert other.lr == 0.1, f"{name}: lr not restored: {other.lr}"
    clone[0].grad, clone[1].grad = 0.0, None
    run(other, clone, 3)
    assert clone[0].data == params[0].data, f"{name}: {clone[0].data} != {params[0].data}"
    assert np.array_equal(clone[1].data, params[1].data), f"{name}: {clone[1]} != {params[1]}"


def test_load_state_dict_refuses_state_of_other_parameters() -> None:
    opt = optim.Adam([Tensor(np.ones(3))])
    opt.params[0].grad = np.ones(3)
    opt.step()
    other = optim.Adam([Tensor(np.ones(4))])
    with pytest.raises(ValueError, match="shape") as info:
        other.load_state_dict(opt.state_dict())
    assert "(3,)" in str(info.value), str(info.value)


# -- refusals ---------------------------------------------------------------------------

_P = [Value(1.0)]

REFUSALS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("empty list", lambda: optim.SGD([]), ValueError, "empty parameter list"),
    ("one bare Value", lambda: optim.Adam(Value(1.0)), TypeError, "iterable of parameters"),
    ("one bare Tensor", lambda: optim.Adam(Tensor(np.ones(2))), TypeError, "single Tensor"),
    ("a number", lambda: optim.Adam([Value(1.0), 2.0]), TypeError, r"params\[1\] is a float"),
    ("a param group", lambda: optim.Adam([{"params": _P}]), TypeError, r"params\[0\] is a dict"),
    ("negative lr", lambda: optim.SGD(_P, lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("nan lr", lambda: optim.Adam(_P, lr=math.nan), ValueError, "Invalid learning rate: nan"),
    ("negative eps", lambda: optim.Adam(_P, eps=-1e-8), ValueError, "Invalid epsilon value"),
    ("negative momentum", lambda: optim.SGD(_P, momentum=-0.9), ValueError, "momentum value"),
    ("rmsprop momentum", lambda: optim.RMSprop(_P, momentum=-1), ValueError, "momentum value"),
    ("negative alpha", lambda: optim.RMSprop(_P, alpha=-0.5), ValueError, "Invalid alpha"),
    ("negative wd", lambda: optim.AdamW(_P, weight_decay=-1), ValueError, "weight_decay value"),
    ("adagrad wd", lambda: optim.Adagrad(_P, weight_decay=-1), ValueError, "weight_decay value"),
    ("lr_decay", lambda: optim.Adagrad(_P, lr_decay=-1), ValueError, "Invalid lr_decay"),
    (
        "initial accumulator",
        lambda: optim.Adagrad(_P, initial_accumulator_value=-1),
        ValueError,
        "initial_accumulator_value",
    ),
    ("beta1 = 1", lambda: optim.Adam(_P, betas=(1.0, 0.9)), ValueError, "index 0: 1.0"),
    ("beta2 < 0", lambda: optim.AdamW(_P, betas=(0.9, -0.1)), ValueError, "index 1: -0.1"),
    (
        "nesterov, no momentum",
        lambda: optim.SGD(_P, nesterov=True),
        ValueError,
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (
        "nesterov, dampening",
        lambda: optim.SGD(_P, momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "Nesterov momentum requires",
    ),
]


@pytest.mark.parametrize(
    ("case", "make", "error", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refuses(case: str, make: Callable, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_same_parameter_twice_is_refused_naming_both_positions(name: str) -> None:
    v, t = Value(1.0), Tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"params\[1\] and params\[3\] are the same parameter"):
        getattr(optim, name)([v, t, Value(1.0), t])


def test_gradient_of_the_wrong_shape_is_refused_naming_both_shapes() -> None:
    t = Tensor(np.ones((2, 3)))
    opt = optim.SGD([t])
    t.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) has a gradient of shape \(3,\)"):
        opt.step()


# -- state, reprs, defaults and messages ---------------------------------------------------------
# Each test pins down what a surviving mutant once changed.


def _stepped(name: str, params: list, **kwargs) -> optim.Optimizer:
    opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = 0.5 if isinstance(p, Value) else np.full(np.shape(p.data), 0.5)
    opt.step()
    return opt


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_loaded_state_is_a_copy_the_optimizer_does_not_write_through(name: str) -> None:
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    params = [Value(1.0), Value(2.0), Tensor(np.ones(2))]
    saved = _stepped(name, params, lr=0.1, **kwargs).state_dict()
    before = repr(saved)
    clone = [Value(1.0), Value(2.0), Tensor(np.ones(2))]
    other = getattr(optim, name)(clone, lr=0.1, **kwargs)
    other.load_state_dict(saved)
    for p in clone:
        p.grad = 1.0 if isinstance(p, Value) else np.ones(2)
    other.step()
    assert repr(saved) == before, "stepping the loaded optimizer changed the saved state"


def test_load_state_dict_refuses_other_scalars_or_other_tensors_alone() -> None:
    saved = _stepped("Adam", [Value(1.0), Tensor(np.ones(2))]).state_dict()
    fewer_scalars = optim.Adam([Value(1.0), Value(2.0), Tensor(np.ones(2))])
    with pytest.raises(ValueError) as info:
        fewer_scalars.load_state_dict(saved)
    assert str(info.value) == (
        "the state is for other parameters: this optimizer has 2 scalars and 1 tensors"
    )
    more_tensors = optim.Adam([Value(1.0), Tensor(np.ones(2)), Tensor(np.ones(2))])
    with pytest.raises(ValueError) as info:
        more_tensors.load_state_dict(saved)
    assert str(info.value) == (
        "the state is for other parameters: this optimizer has 1 scalars and 2 tensors"
    )
    other_shape = optim.Adam([Value(1.0), Tensor(np.ones(3))])
    with pytest.raises(ValueError) as info:
        other_shape.load_state_dict(saved)
    assert str(info.value) == "state 'exp_avg' has shape (2,), its parameter (3,)"


def test_reprs_list_the_hyperparameters() -> None:
    params = [Value(1.0), Tensor(np.ones(2))]
    assert repr(optim.SGD(params, lr=0.5)) == (
        "SGD(2 parameters, lr=0.5, momentum=0.0, dampening=0.0, weight_decay=0.0, "
        "nesterov=False, maximize=False)"
    )
    assert repr(optim.Adagrad(params)) == (
        "Adagrad(2 parameters, lr=0.01, lr_decay=0.0, weight_decay=0.0, "
        "initial_accumulator_value=0.0, eps=1e-10, maximize=False)"
    )


def test_step_lr_default_gamma_is_a_tenth() -> None:
    opt = optim.SGD([Value(0.0)], lr=1.0)
    scheduler = optim.StepLR(opt, step_size=1)
    scheduler.step()
    assert scheduler.get_last_lr() == [0.1]


@pytest.mark.parametrize(
    ("name", "kwargs", "keys"),
    [
        ("SGD", {}, {"step"}),
        ("SGD", {"momentum": 0.5}, {"step", "momentum_buffer"}),
        ("Adam", {}, {"step", "exp_avg", "exp_avg_sq"}),
        ("Adam", {"amsgrad": True}, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
        ("RMSprop", {}, {"step", "square_avg"}),
        ("RMSprop", {"momentum": 0.5}, {"step", "square_avg", "momentum_buffer"}),
        ("RMSprop", {"centered": True}, {"step", "square_avg", "grad_avg"}),
        ("Adagrad", {}, {"step", "sum"}),
    ],
)
def test_state_holds_exactly_what_the_rule_needs(name: str, kwargs: dict, keys: set) -> None:
    saved = _stepped(name, [Value(1.0), Tensor(np.ones(2))], **kwargs).state_dict()
    assert set(saved["scalar_state"]) == keys
    assert set(saved["tensor_states"][0]) == keys


# One step from p = 2 with gradient 0.5 and weight_decay = 1 (so g = 0.5 + 2 = 2.5),
# by each rule's formula.
_G = 2.5
WEIGHT_DECAY_ONE = {
    "SGD": 2.0 - 0.1 * _G,
    "Adam": 2.0 - 0.1 * (0.1 * _G / 0.1) / (np.sqrt(0.001 * _G**2) / np.sqrt(0.001) + 1e-8),
    "RMSprop": 2.0 - 0.1 * _G / (np.sqrt(0.01 * _G**2) + 1e-8),
    "Adagrad": 2.0 - 0.1 * _G / (np.sqrt(_G**2) + 1e-10),
    # decoupled: p = 2 * (1 - 0.1 * 1), then Adam's step with the bare gradient 0.5
    "AdamW": 2.0 * 0.9
    - (0.1 / 0.1) * (0.1 * 0.5) / (np.sqrt(0.001 * 0.25) / np.sqrt(0.001) + 1e-8),
}


@pytest.mark.parametrize("name", sorted(WEIGHT_DECAY_ONE))
def test_weight_decay_of_one_is_applied(name: str) -> None:
    params = [Value(2.0), Tensor([2.0])]
    _stepped(name, params, lr=0.1, weight_decay=1.0)
    assert params[0].data == pytest.approx(WEIGHT_DECAY_ONE[name], rel=1e-12)
    assert params[1].data[0] == pytest.approx(WEIGHT_DECAY_ONE[name], rel=1e-12)


def test_lerp_at_one_half_uses_torchs_second_form() -> None:
    # torch.lerp: start + w * (end - start) for w < 0.5, else end - (end - start) * (1 - w);
    # at w = 0.5 the two round differently for these numbers.
    from engine.optim import _lerp_

    start, end = -0.6232744625373522, -0.07729256326094218
    assert start + 0.5 * (end - start) != end - (end - start) * 0.5
    for weight in (0.5, 0.75):
        got = np.array([start])
        _lerp_(got, np.array([end]), weight)
        assert got[0] == end - (end - start) * (1 - weight)
    got = np.array([start])
    _lerp_(got, np.array([end]), 0.25)
    assert got[0] == start + 0.25 * (end - start)


def test_sgd_with_momentum_one_keeps_a_buffer() -> None:
    p = Value(1.0)
    opt = optim.SGD([p], lr=0.1, momentum=1.0)
    for expected in (0.95, 0.85, 0.7):  # buffers 0.5, 1.0, 1.5
        p.grad = 0.5
        opt.step()
        assert p.data == pytest.approx(expected, rel=1e-15)


def test_nesterov_message() -> None:
    with pytest.raises(ValueError) as info:
        optim.SGD([Value(1.0)], lr=0.1, nesterov=True)
    assert str(info.value) == "Nesterov momentum requires a momentum and zero dampening"


def test_zero_grad_without_none_makes_float_zeros_for_any_parameter() -> None:
    from types import SimpleNamespace

    p = SimpleNamespace(data=np.array([1, 2]), grad=np.array([3, 4]))  # .data and .grad suffice
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad.dtype == np.float64
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


def test_updates_are_computed_in_float64_for_any_parameter() -> None:
    from types import SimpleNamespace

    # a float32 gradient is used as float64, not rounded through float32 arithmetic
    g32 = np.array([0.1, 0.3], dtype=np.float32)
    t = Tensor([1.0, 1.0])
    t.grad = g32
    optim.SGD([t], lr=0.1).step()
    np.testing.assert_array_equal(t.data, 1.0 - 0.1 * g32.astype(np.float64))
    # an int array of data (a bare object with .data and .grad) becomes float64
    p = SimpleNamespace(data=np.array([1, 2]), grad=np.array([0.5, 0.5]))
    optim.SGD([p], lr=0.1).step()
    assert p.data.dtype == np.float64
    np.testing.assert_array_equal(p.data, [0.95, 1.95])


_Q = [Value(1.0)]

EXACT_REFUSALS = [
    (lambda: optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (
        lambda: optim.Adam(Value(1.0)),
        TypeError,
        "params should be an iterable of parameters, got a single Value; pass [p]",
    ),
    (
        # an array has a .data (its buffer) but no .grad: its numbers are not parameters
        lambda: optim.SGD(np.array([1.0, 2.0])),
        TypeError,
        "an optimizer can only optimize parameters (objects with .data and .grad), "
        "but params[0] is a float64",
    ),
    (
        lambda: optim.SGD([Value(1.0), np.ones(2)]),
        TypeError,
        "an optimizer can only optimize parameters (objects with .data and .grad), "
        "but params[1] is a ndarray",
    ),
    (
        lambda: optim.SGD(_Q + _Q),
        ValueError,
        "params[0] and params[1] are the same parameter; pass each parameter once",
    ),
    (lambda: optim.SGD(_Q, lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.Adam(_Q, eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda: optim.SGD(_Q, weight_decay=-2), ValueError, "Invalid weight_decay value: -2"),
    (lambda: optim.SGD(_Q, momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda: optim.RMSprop(_Q, alpha=-1), ValueError, "Invalid alpha value: -1"),
    (lambda: optim.Adagrad(_Q, lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (
        lambda: optim.Adagrad(_Q, initial_accumulator_value=-1),
        ValueError,
        "Invalid initial_accumulator_value value: -1",
    ),
    (
        lambda: optim.Adam(_Q, betas=(0.9, 1.0)),
        ValueError,
        "Invalid beta parameter at index 1: 1.0",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), EXACT_REFUSALS)
def test_refusal_messages_exactly(make, error, message: str) -> None:
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


def test_zero_hyperparameters_are_allowed() -> None:
    for opt in (
        optim.SGD([Value(1.0)], lr=0.0, momentum=0.0, weight_decay=0.0),
        optim.Adam([Value(1.0)], lr=0.0, eps=0.0, betas=(0.0, 0.0)),
        optim.RMSprop([Value(1.0)], lr=0.0, alpha=0.0, eps=0.0),
        optim.Adagrad([Value(1.0)], lr=0.0, lr_decay=0.0, initial_accumulator_value=0.0),
    ):
        assert opt.lr == 0.0
