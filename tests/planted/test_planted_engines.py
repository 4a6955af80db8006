"""Sanity of the planted-bug engines: the clean engine obeys the spec, every bug is real.

These are direct checks, not the property suite: they prove the meta-test material is
sound (the clean engine right, each planted bug observable) before the suite is asked
to pass the one and fail the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from . import BUGS, CLEAN_SOURCE, Bug, clean_engine, load_engine, shows, write_engine
from .bugs import (
    OPTIM_CASES,
    OPTIM_START,
    OPTIM_STEPS,
    SCHEDULE_CASES,
    optim_gradient,
    optim_trajectory,
    schedule_trajectory,
)

E = clean_engine
Value, Tensor = E.Value, E.Tensor


# ------------------------------------------------------------------- scalar: Value


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name -> (engine expression, the same in plain floats, inputs)
SCALAR_CASES: dict[str, tuple[Callable, Callable, tuple[float, ...]]] = {
    "a + b": (lambda a, b: a + b, lambda a, b: a + b, (1.3, -0.4)),
    "a - b": (lambda a, b: a - b, lambda a, b: a - b, (1.3, -0.4)),
    "a * b": (lambda a, b: a * b, lambda a, b: a * b, (1.3, -0.4)),
    "a / b": (lambda a, b: a / b, lambda a, b: a / b, (1.3, -0.4)),
    "a ** b": (lambda a, b: a**b, lambda a, b: a**b, (1.3, -0.4)),
    "a ** 3": (lambda a: a**3, lambda a: a**3, (-1.7,)),
    "a ** -1.5": (lambda a: a**-1.5, lambda a: a**-1.5, (0.8,)),
    "2.5 + a": (lambda a: 2.5 + a, lambda a: 2.5 + a, (0.7,)),
    "2.5 - a": (lambda a: 2.5 - a, lambda a: 2.5 - a, (0.7,)),
    "2.5 * a": (lambda a: 2.5 * a, lambda a: 2.5 * a, (0.7,)),
    "2.5 / a": (lambda a: 2.5 / a, lambda a: 2.5 / a, (0.7,)),
    "2.5 ** a": (lambda a: 2.5**a, lambda a: 2.5**a, (0.7,)),
    "-a": (lambda a: -a, lambda a: -a, (0.7,)),
    "relu(+)": (lambda a: a.relu(), lambda a: max(a, 0.0), (0.7,)),
    "relu(-)": (lambda a: a.relu(), lambda a: max(a, 0.0), (-0.7,)),
    "tanh": (lambda a: a.tanh(), math.tanh, (0.6,)),
    "exp": (lambda a: a.exp(), math.exp, (0.6,)),
    "log": (lambda a: a.log(), math.log, (0.6,)),
    "sigmoid": (lambda a: a.sigmoid(), _sigmoid, (-0.6,)),
    "shared DAG": (
        lambda a, b: (a * b + a).tanh() * (a * b) / (b - 3.0) + (a * b).exp(),
        lambda a, b: math.tanh(a * b + a) * (a * b) / (b - 3.0) + math.exp(a * b),
        (0.4, -1.1),
    ),
}


def _central(f: Callable, xs: tuple[float, ...], i: int) -> float:
    h = 1e-6 * max(1.0, abs(xs[i]))
    up = [*xs[:i], xs[i] + h, *xs[i + 1 :]]
    down = [*xs[:i], xs[i] - h, *xs[i + 1 :]]
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize("case", SCALAR_CASES)
def test_value_ops_match_math_and_central_differences(case: str) -> None:
    build, reference, xs = SCALAR_CASES[case]
    leaves = [Value(x) for x in xs]
    out = build(*leaves)
    out.backward()
    assert math.isclose(out.data, reference(*xs), rel_tol=1e-12), f"{case} at {xs}: {out.data}"
    for i, leaf in enumerate(leaves):
        want = _central(reference, xs, i)
        assert math.isclose(leaf.grad, want, rel_tol=1e-6, abs_tol=1e-9), (
            f"{case} at {xs}: d/dx{i} = {leaf.grad}, central difference {want}"
        )


# name -> (expression, x, value, gradient): conventions and finite truths of the spec
EDGE_CASES = {
    "relu'(0) = 0": (lambda v: v.relu(), 0.0, 0.0, 0.0),
    "x**0 at 0": (lambda v: v**0, 0.0, 1.0, 0.0),
    "x**1 at 0": (lambda v: v**1, 0.0, 0.0, 1.0),
    "x**2 at 0": (lambda v: v**2, 0.0, 0.0, 0.0),
    "tanh(400)": (lambda v: v.tanh(), 400.0, 1.0, 0.0),
    "tanh(-400)": (lambda v: v.tanh(), -400.0, -1.0, 0.0),
    "sigmoid(800)": (lambda v: v.sigmoid(), 800.0, 1.0, 0.0),
    "sigmoid(-800)": (lambda v: v.sigmoid(), -800.0, 0.0, 0.0),
    "exp(-800)": (lambda v: v.exp(), -800.0, 0.0, 0.0),
    "log(1e-300)": (lambda v: v.log(), 1e-300, math.log(1e-300), 1e300),
    "tanh'(16) = sech(16)**2": (lambda v: v.tanh(), 16.0, math.tanh(16.0), math.cosh(16.0) ** -2),
    "sigmoid'(40)": (
        lambda v: v.sigmoid(),
        40.0,
        1.0,
        math.exp(-40.0) / (1 + math.exp(-40.0)) ** 2,
    ),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_value_conventions_and_finite_truths(case: str) -> None:
    build, x, value, grad = EDGE_CASES[case]
    leaf = Value(x)
    out = build(leaf)
    out.backward()
    got = (out.data, leaf.grad)
    assert math.isclose(got[0], value, rel_tol=1e-12) and math.isclose(
        got[1], grad, rel_tol=1e-12
    ), f"{case}: (value, grad) {got}, expected {(value, grad)}"


@pytest.mark.parametrize(
    ("case", "build", "x"),
    [
        ("log(0)", lambda v: v.log(), 0.0),
        ("log(-1)", lambda v: v.log(), -1.0),
        ("(-4)**0.5", lambda v: v**0.5, -4.0),
        ("1/x at 0", lambda v: 1.0 / v, 0.0),
        ("sqrt slope at 0", lambda v: v**0.5, 0.0),
    ],
)
def test_value_undefined_points_are_ieee(case: str, build: Callable, x: float) -> None:
    leaf = Value(x)
    out = build(leaf)
    out.backward()
    got = (out.data, leaf.grad)
    assert all(isinstance(n, float) for n in got), f"{case}: not floats {got!r}"
    assert not all(math.isfinite(n) for n in got), f"{case}: finite {got} at an undefined point"


def test_value_accumulation_rule() -> None:
    a, b = Value(0.7), Value(-1.3)
    shared = a * b + a  # interior node feeding both outputs
    f, g = shared.tanh() * b, shared * shared
    f.backward()
    once = (a.grad, b.grad)
    f.backward()
    assert [a.grad, b.grad] == pytest.approx([2 * v for v in once], rel=1e-14), (
        f"second backward: {(a.grad, b.grad)}, expected double of {once}"
    )
    a.grad = b.grad = 0
    g.backward()
    g_only = (a.grad, b.grad)
    a.grad = b.grad = 0
    f.backward()
    g.backward()
    want = [x + y for x, y in zip(once, g_only, strict=True)]
    assert [a.grad, b.grad] == pytest.approx(want, rel=1e-14), (
        f"f then g: {(a.grad, b.grad)}, expected df + dg = {once} + {g_only}"
    )


def test_value_deep_chain_has_no_recursion_limit() -> None:
    x = Value(1.0)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    assert math.isclose(x.grad, 1.0001**20_000, rel_tol=1e-9), f"deep chain grad {x.grad}"


# ------------------------------------------------------------------ tensor: Tensor


_RNG = np.random.default_rng(7)
_CUBE = _RNG.normal(size=(2, 3, 4))

# name -> (engine expression, torch expression, inputs); torch is the reference
TENSOR_CASES: dict[str, tuple[Callable, Callable, tuple[np.ndarray, ...]]] = {
    "broadcast arithmetic": (
        lambda a, b, c: (a * b - c / (b * b + 1.0)) + 2.0 - a,
        lambda a, b, c: (a * b - c / (b * b + 1.0)) + 2.0 - a,
        (_RNG.normal(size=(2, 1, 3)), _RNG.normal(size=(4, 1)), _RNG.normal(size=3)),
    ),
    "number and array on the left": (
        lambda a: 2.0 / (a * a + 1.0) - 3.0 + np.arange(3.0) * a - np.ones(3) ** 2,
        lambda a: 2.0 / (a * a + 1.0) - 3.0 + _t(np.arange(3.0)) * a - 1.0,
        (_RNG.normal(size=3),),
    ),
    "pow and neg": (lambda a: -((a * a + 1.0) ** -1.5) + a**2, None, (_CUBE,)),
    "sum((0, 2), keepdims)": (lambda a: a.sum(axis=(0, 2), keepdims=True), None, (_CUBE,)),
    "sum(-1)": (lambda a: a.sum(axis=-1), lambda a: a.sum(dim=-1), (_CUBE,)),
    "sum()": (lambda a: a.sum(), None, (_CUBE,)),
    "mean((-1, -3))": (lambda a: a.mean(axis=(-1, -3)), lambda a: a.mean(dim=(-1, -3)), (_CUBE,)),
    "mean(1, keepdims)": (
        lambda a: a.mean(axis=1, keepdims=True),
        lambda a: a.mean(dim=1, keepdim=True),
        (_CUBE,),
    ),
    "max(-2)": (lambda a: a.max(axis=-2), lambda a: a.amax(dim=-2), (_CUBE,)),
    "max((0, 2), keepdims)": (
        lambda a: a.max(axis=(0, 2), keepdims=True),
        lambda a: a.amax(dim=(0, 2), keepdim=True),
        (_CUBE,),
    ),
    "matmul 2-D": (lambda a, b: a @ b, None, (_RNG.normal(size=(2, 3)), _RNG.normal(size=(3, 4)))),
    "matmul 1-D": (lambda a, b: a @ b, None, (_RNG.normal(size=3), _RNG.normal(size=(3, 4)))),
    "matmul batched": (
        lambda a, b: a @ b,
        None,
        (_RNG.normal(size=(5, 1, 2, 3)), _RNG.normal(size=(4, 3, 2))),
    ),
    "reshape": (lambda a: a.reshape(4, 6).reshape((2, 12)), lambda a: a.reshape(2, 12), (_CUBE,)),
    "transpose": (lambda a: a.transpose(1, 2, 0), lambda a: a.permute(1, 2, 0), (_CUBE,)),
    "transpose tuple": (lambda a: a.transpose((2, -3, 1)), lambda a: a.permute(2, 0, 1), (_CUBE,)),
    ".T": (lambda a: a.T, lambda a: a.permute(2, 1, 0), (_CUBE,)),
    "index repeats": (lambda a: a[np.array([0, 0, 1, 0])], None, (_CUBE,)),
    "index mixed": (lambda a: a[:, 1:3, [2, 2, 0]], None, (_CUBE,)),
    "exp tanh relu sigmoid log": (
        lambda a: a.exp() + a.tanh() * a.relu() - a.sigmoid() + (a * a).log(),
        lambda a: a.exp() + a.tanh() * a.relu() - a.sigmoid() + (a * a).log(),
        (_CUBE,),
    ),
    "softmax": (lambda a: a.softmax(), lambda a: a.softmax(-1), (_CUBE * 300,)),
    "softmax(0)": (lambda a: a.softmax(axis=0), lambda a: a.softmax(0), (_CUBE,)),
    "log_softmax": (lambda a: a.log_softmax(), lambda a: a.log_softmax(-1), (_CUBE * 300,)),
    "log_softmax(1)": (lambda a: a.log_softmax(1), lambda a: a.log_softmax(1), (_CUBE,)),
    "relu kink, reflected ops": (
        lambda a: a.relu() + (5.0 - a) * 2.0 - 1.0 / (a + 10.0),
        None,
        (np.array([-1.0, 0.0, 2.0]),),
    ),
    "0-d": (lambda a: a * 3.0 + a.sum() + a.max(), None, (np.array(2.0),)),
}


def _t(x: np.ndarray) -> object:
    import torch

    return torch.tensor(x, dtype=torch.float64)


@pytest.mark.parametrize("case", TENSOR_CASES)
def test_tensor_ops_match_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    build, reference, arrays = TENSOR_CASES[case]
    reference = reference or build
    leaves = [Tensor(a) for a in arrays]
    out = build(*leaves)
    upstream = _RNG.normal(size=out.data.shape)
    (out * upstream).sum().backward()
    torch_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    torch_out = reference(*torch_leaves)
    (torch_out * _t(upstream)).sum().backward()
    assert np.allclose(out.data, torch_out.detach().numpy(), rtol=1e-12, atol=1e-300), (
        f"{case}: value {out.data} vs torch {torch_out}"
    )
    for i, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves, strict=True)):
        want = torch_leaf.grad.numpy()
        assert leaf.grad.shape == leaf.data.shape and np.allclose(leaf.grad, want, rtol=1e-10), (
            f"{case}: grad of input {i} {leaf.grad} vs torch {want}"
        )


def test_tensor_max_ties_split_equally() -> None:
    x = Tensor([[2.0, 2.0, 1.0], [4.0, 3.0, 4.0]])
    (x.max(axis=1) * np.array([1.0, -3.0])).sum().backward()
    want = [[0.5, 0.5, 0.0], [-1.5, 0.0, -1.5]]
    assert np.array_equal(x.grad, want), f"max ties grad {x.grad.tolist()}, expected {want}"


def test_tensor_huge_logits_stay_finite() -> None:
    x = np.array([[1000.0, -1000.0, 0.0]])
    soft, log_soft = Tensor(x).softmax().data, Tensor(x).log_softmax().data
    assert np.allclose(soft, [[1.0, 0.0, 0.0]]), f"softmax of {x}: {soft}"
    assert np.allclose(log_soft, [[0.0, -2000.0, -1000.0]]), f"log_softmax of {x}: {log_soft}"
    big = Tensor([900.0, -900.0])
    for name, got, want in [
        ("tanh", big.tanh().data, [1.0, -1.0]),
        ("sigmoid", big.sigmoid().data, [1.0, 0.0]),
    ]:
        assert np.array_equal(got, want), f"{name} of [900, -900]: {got}"


def test_tensor_accumulation_and_grad_reset() -> None:
    x = Tensor([1.0, -2.0, 0.5])
    assert x.grad is None, f"grad before backward: {x.grad}"
    y = x * x
    out = (y * y).sum()  # interior nodes reused across passes
    out.backward()
    out.backward()
    want = 2 * 4 * x.data**3
    assert np.allclose(x.grad, want, rtol=1e-14), f"two passes: {x.grad}, expected {want}"
    x.grad = None
    y.backward(np.array([1.0, 2.0, 3.0]))
    assert np.allclose(x.grad, [2.0, -8.0, 3.0]), f"explicit VJP: {x.grad}"
    with pytest.raises(ValueError, match="one element"):
        y.backward()


# ------------------------------------------------------------------------ optim


def _torch_trajectory(name: str, kwargs: dict) -> list[float]:
    torch = pytest.importorskip("torch")
    params = [_t(np.array(OPTIM_START[0])), _t(np.array(OPTIM_START[1]))]
    for p in params:
        p.requires_grad_(True)
    opt = getattr(torch.optim, name)(params, **kwargs)
    trajectory: list[float] = []
    for _ in range(OPTIM_STEPS):
        opt.zero_grad()
        for p in params:
            p.grad = optim_gradient(p.detach().clone())
        opt.step()
        trajectory += [params[0].item(), *params[1].tolist()]
    return trajectory


DEFAULT_CASES = {
    f"{name} defaults": (name, {"lr": 0.1} if name == "SGD" else {})
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
}
ALL_OPTIM_CASES = {**OPTIM_CASES, **DEFAULT_CASES}


@pytest.mark.parametrize("case", ALL_OPTIM_CASES)
def test_optimizers_match_torch(case: str) -> None:
    name, kwargs = ALL_OPTIM_CASES[case]
    want = _torch_trajectory(name, kwargs)
    got = optim_trajectory(E, name, kwargs)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-15), (
        f"{name}({kwargs}): {got} vs torch {want}"
    )


@pytest.mark.parametrize("case", SCHEDULE_CASES)
def test_schedulers_match_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    name, args = SCHEDULE_CASES[case]
    param = _t(np.array(OPTIM_START[0])).requires_grad_(True)
    opt = torch.optim.SGD([param], lr=0.1)
    scheduler = getattr(torch.optim.lr_scheduler, name)(opt, *args)
    want = []
    for _ in range(OPTIM_STEPS):
        param.grad = optim_gradient(param.detach().clone())
        opt.step()
        scheduler.step()
        want.append(param.item())
    got = schedule_trajectory(E, case)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-15), f"{case}: {got} vs torch {want}"


def test_optimizer_zero_grad() -> None:
    scalar, tensor = Value(1.0), Tensor([1.0, 2.0])
    opt = E.optim.Adam([scalar, tensor])
    scalar.grad, tensor.grad = 2.0, np.ones(2)
    opt.zero_grad()
    assert scalar.grad == 0 and tensor.grad is None, (
        f"after zero_grad: {scalar.grad}, {tensor.grad}"
    )


# --------------------------------------------------------------------------- nn


def test_mlp_layout_and_forward() -> None:
    nin, nouts = 3, [4, 2, 1]
    net = E.nn.MLP(nin, nouts)
    params = net.parameters()
    weights = _RNG.normal(size=len(params))
    for p, w in zip(params, weights, strict=True):
        p.data = float(w)
    x = _RNG.normal(size=nin)
    h, rest = x, list(weights)
    for i, nout in enumerate(nouts):  # layer by layer, neuron by neuron: weights then bias
        rows = [rest[k * (len(h) + 1) : (k + 1) * (len(h) + 1)] for k in range(nout)]
        rest = rest[nout * (len(h) + 1) :]
        z = np.array([np.dot(r[:-1], h) + r[-1] for r in rows])
        h = z if i == len(nouts) - 1 else np.maximum(z, 0.0)
    out = net([Value(v) for v in x])
    assert not rest and math.isclose(out.data, h[0], rel_tol=1e-12), f"MLP: {out.data} vs {h[0]}"
    out.backward()
    net.zero_grad()
    assert all(p.grad == 0 for p in params), "MLP.zero_grad left a gradient"
    for p in params[-(nouts[-2] + 1) :]:  # the last layer is linear: negate it and its output
        p.data = -p.data
    negated = net([Value(v) for v in x]).data
    assert math.isclose(negated, -h[0], rel_tol=1e-12), f"negated last layer: {negated} vs {-h[0]}"


# ----------------------------------------------------------------- planted bugs


def test_bug_catalogue() -> None:
    names = [bug.name for bug in BUGS]
    assert len(names) == len(set(names)) >= 35, f"{len(names)} bugs, names must be unique"
    areas = {bug.area for bug in BUGS}
    wanted = {"scalar ops", "graph", "broadcasting", "reductions", "indexing", "softmax", "optim"}
    assert wanted <= areas, f"areas missing: {wanted - areas}"


def test_clean_engine_writes_and_loads(tmp_path: Path) -> None:
    path = write_engine(None, tmp_path)
    assert path.read_text() == CLEAN_SOURCE, f"{path} differs from clean_engine.py"
    module = load_engine(path)
    assert not any(shows(bug, module) for bug in BUGS), "a witness fires on the clean engine"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # naive formulas overflow on purpose
@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_each_bug_is_real(bug: Bug, tmp_path: Path) -> None:
    count = CLEAN_SOURCE.count(bug.old)
    assert count == 1, f"{bug.name}: `old` occurs {count} times in clean_engine.py"
    assert bug.witness(E) is False, f"{bug.name}: witness fires on the clean engine"
    module = load_engine(write_engine(bug, tmp_path))
    assert shows(bug, module), f"{bug.name}: witness does not see the bug ({bug.description})"


def test_written_engines_load_as_targets(tmp_path: Path) -> None:
    targets = pytest.importorskip("properties.targets")
    target = targets.load_target(str(write_engine(None, tmp_path)))
    wanted = {"Value", "Tensor", "nn.MLP", "Tensor.softmax", "Value.tanh", "optim.AdamW"}
    assert wanted <= target.capabilities, f"missing: {wanted - target.capabilities}"


# ------------------------------------------------------------ functional (protocol v2)

_IMAGES = _RNG.normal(size=(2, 2, 5, 6))
_KERNEL = _RNG.normal(size=(3, 2, 3, 2))
# name -> (function, tensor inputs, other positional arguments, keyword arguments)
NETWORK_CASES: dict[str, tuple[str, tuple[np.ndarray, ...], tuple, dict]] = {
    "linear": (
        "linear",
        (_RNG.normal(size=(3, 4)), _RNG.normal(size=(2, 4)), _RNG.normal(size=2)),
        (),
        {},
    ),
    "linear leading batch axes": (
        "linear",
        (_RNG.normal(size=(2, 3, 4)), _RNG.normal(size=(2, 4)), _RNG.normal(size=2)),
        (),
        {},
    ),
    "linear one axis": (
        "linear",
        (_RNG.normal(size=4), _RNG.normal(size=(2, 4)), _RNG.normal(size=2)),
        (),
        {},
    ),
    "conv2d stride padding": (
        "conv2d",
        (_IMAGES, _KERNEL, _RNG.normal(size=3)),
        (),
        {"stride": (2, 1), "padding": 1},
    ),
    "max_pool2d overlapping, padded": (
        "max_pool2d",
        (_IMAGES,),
        ((3, 2),),
        {"stride": 1, "padding": 1},
    ),
    "avg_pool2d padded": ("avg_pool2d", (_IMAGES,), (3,), {"stride": 2, "padding": 1}),
    "flatten": ("flatten", (_IMAGES,), (), {}),
    "mse_loss": ("mse_loss", (_RNG.normal(size=(3, 2)), _RNG.normal(size=(3, 2))), (), {}),
    "cross_entropy huge": (
        "cross_entropy",
        (np.array([[1000.0, -1000.0, 3.0], [2.0, 5.0, -1.0]]),),
        (np.array([1, 2]),),
        {},
    ),
    "bce huge": (
        "binary_cross_entropy_with_logits",
        (np.array([800.0, -800.0, 0.5]), np.array([0.0, 1.0, 0.25])),
        (),
        {},
    ),
}


@pytest.mark.parametrize("case", NETWORK_CASES)
def test_functional_matches_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    name, arrays, rest, kwargs = NETWORK_CASES[case]
    leaves = [Tensor(a) for a in arrays]
    out = getattr(E.functional, name)(*leaves, *rest, **kwargs)
    upstream = _RNG.normal(size=np.shape(out.data))
    (out * upstream).sum().backward()
    torch_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    torch_rest = [torch.as_tensor(r) if isinstance(r, np.ndarray) else r for r in rest]
    # torch.flatten starts at axis 0; the spec's, as nn.Flatten, at 1
    function = (
        (lambda x: torch.flatten(x, 1)) if name == "flatten" else getattr(torch.nn.functional, name)
    )
    torch_out = function(*torch_leaves, *torch_rest, **kwargs)
    (torch_out * _t(upstream)).sum().backward()
    assert np.allclose(out.data, torch_out.detach().numpy(), rtol=1e-12), f"{case}: value"
    for i, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves, strict=True)):
        want = torch_leaf.grad.numpy()
        assert np.allclose(leaf.grad, want, rtol=1e-10, atol=1e-300), (
            f"{case}: grad of input {i} {leaf.grad} vs torch {want}"
        )


def test_hinge_loss_and_layers() -> None:
    scores, labels = Tensor(np.array([0.5, -2.0, 1.5])), np.array([1.0, -1.0, -1.0])
    loss = E.functional.hinge_loss(scores, Tensor(labels))
    loss.backward()
    assert math.isclose(loss.data, (0.5 + 0.0 + 2.5) / 3), f"hinge loss {loss.data}"
    assert np.allclose(scores.grad, [-1 / 3, 0.0, 1 / 3]), f"hinge gradient {scores.grad}"
    model = E.nn.Sequential(E.nn.Conv2d(1, 2, 3, padding=1), E.nn.ReLU(), E.nn.Linear(4, 3))
    shapes = [p.data.shape for p in model.parameters()]
    assert shapes == [(2, 1, 3, 3), (2,), (3, 4), (3,)], f"parameters() shapes {shapes}"


@pytest.mark.parametrize("start_dim", [0, 1, 2, 3])
def test_flatten_layer_start_dim_matches_torch(start_dim: int) -> None:
    torch = pytest.importorskip("torch")
    x = Tensor(_IMAGES)
    out = E.nn.Flatten(start_dim=start_dim)(x)
    want = torch.nn.Flatten(start_dim=start_dim)(_t(_IMAGES))
    assert out.data.shape == tuple(want.shape), f"start_dim={start_dim}: {out.data.shape}"
    assert np.array_equal(out.data, want.numpy()), f"start_dim={start_dim}: values"
