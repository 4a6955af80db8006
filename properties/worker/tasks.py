"""The tasks a worker runs on its target, each taking and returning plain data.

Every interaction of the suite with target objects is one of these functions: loading
and capability detection, running graphs, the accumulation scripts, optimizer runs and
network runs. Values read from the target are passed through `plain`, so whatever the
target holds in ``.data`` or ``.grad`` (None, a string, a complex, float32, one of its
own objects) reaches the suite as data it can judge, never as an object.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import reprlib
import sys
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from properties.worker import schedules
from properties.worker.execute import (
    SCALAR,
    Graph,
    build,
    constants_as_leaves,
    leaf,
    operand,
    weighted_sum,
)

Phase = Callable[[str], None]

PEER_ALIASES = {
    "micrograd": "properties.peers.micrograd_peer",
    "torch": "properties.peers.torch_peer",
}
ARITHMETIC = (
    *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__"),
    *("__truediv__", "__rtruediv__", "__pow__", "__neg__", "backward"),
)
VALUE_METHODS = ("relu", "tanh", "exp", "log", "sigmoid")
TENSOR_METHODS = (
    *VALUE_METHODS,
    *("sum", "mean", "max", "reshape", "transpose", "softmax", "log_softmax"),
    *("T", "__getitem__", "__matmul__"),
)
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
REFUSALS = (TypeError, AssertionError, NotImplementedError)


class Loaded:
    """The target module and its namespaces, once loaded in this worker."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.Value = getattr(module, "Value", None)
        self.Tensor = getattr(module, "Tensor", None)
        self.optim = _namespace(module, "optim")
        self.nn = _namespace(module, "nn")


TARGET: Loaded | None = None


def target() -> Loaded:
    if TARGET is None:
        raise RuntimeError("no target loaded in this worker")
    return TARGET


# -- loading and capabilities ------------------------------------------------------------


def load(spec: str, is_path: bool, phase: Phase) -> dict[str, Any]:
    """Import the target, detect what it offers; how a snippet imports it."""
    global TARGET
    phase(f"importing {spec}")
    module = (
        _import_path(Path(spec))
        if is_path
        else importlib.import_module(PEER_ALIASES.get(spec, spec))
    )
    TARGET = Loaded(module)
    phase("detecting capabilities")
    capabilities, limitations = detect(TARGET)
    refusals = plain_operand_refusals(TARGET)
    for kind, cls in (("scalar", TARGET.Value), ("tensor", TARGET.Tensor)):
        if cls is not None and _class_name(kind) in refusals:
            constants_as_leaves(kind, lambda c, kind=kind: leaf(TARGET, kind, c))
    import_name = module.__name__
    if import_name.startswith("vgrad_target_"):
        file = str(module.__file__)
        import_name = str(Path(file).parent) if file.endswith("__init__.py") else file
    return {
        "import_name": import_name,
        "version": _version(module, spec),
        "capabilities": sorted(capabilities),
        "limitations": limitations,
        "plain_operand_refusals": refusals,
    }


def _class_name(kind: str) -> str:
    return "Value" if kind == SCALAR else "Tensor"


_PLAIN_PROBES = {
    "__add__": lambda x, c: x + c,
    "__radd__": lambda x, c: c + x,
    "__sub__": lambda x, c: x - c,
    "__rsub__": lambda x, c: c - x,
    "__mul__": lambda x, c: x * c,
    "__rmul__": lambda x, c: c * x,
    "__truediv__": lambda x, c: x / c,
    "__rtruediv__": lambda x, c: c / x,
}
_PLAIN_SHOWN = {
    "__add__": "{x} + {c}",
    "__radd__": "{c} + {x}",
    "__sub__": "{x} - {c}",
    "__rsub__": "{c} - {x}",
    "__mul__": "{x} * {c}",
    "__rmul__": "{c} * {x}",
    "__truediv__": "{x} / {c}",
    "__rtruediv__": "{c} / {x}",
}


def plain_operand_refusals(loaded: Loaded) -> dict[str, str]:
    """For `Value` and `Tensor`: the first arithmetic operator that refuses a plain number
    (the spec's operators take one on either side), as ``"Value(2.0) * 3.0 raised ..."``;
    nothing for a class that takes them."""
    refusals: dict[str, str] = {}
    for name, cls, make, shown_x, constants in (
        ("Value", loaded.Value, lambda: loaded.Value(2.0), "Value(2.0)", [3.0]),
        (
            "Tensor",
            loaded.Tensor,
            lambda: loaded.Tensor(np.array([2.0, 4.0])),
            "Tensor(np.array([2.0, 4.0]))",
            [3.0, np.array([3.0, 5.0])],
        ),
    ):
        if cls is None:
            continue
        for method, probe in _PLAIN_PROBES.items():
            if not callable(getattr(cls, method, None)):
                continue
            for c in constants:
                try:
                    probe(make(), c)
                except BaseException as error:  # SystemExit, KeyboardInterrupt too
                    shown = _PLAIN_SHOWN[method].format(x=shown_x, c=_repr.repr(c))
                    refusals[name] = f"{shown} raised {type(error).__name__}: {_text(error)}"
                    break
            if name in refusals:
                break
    return refusals


def _version(module: ModuleType, spec: str) -> str | None:
    """The target's ``__version__``, or its distribution's version, or None."""
    from importlib import metadata

    version = getattr(module, "__version__", None)
    if version is None:
        top = module.__name__.split(".")[0]
        distribution = {"properties": spec, "engine": "vgrad"}.get(top, top)
        try:
            version = metadata.version(distribution)
        except (metadata.PackageNotFoundError, ValueError):
            return None
    return str(version)


def _import_path(path: Path) -> ModuleType:
    if path.is_dir():
        init = path / "__init__.py"
        if not init.exists():
            raise ImportError(f"{path} is a folder without __init__.py")
        location, search = init, [str(path)]
    elif path.is_file():
        location, search = path, None
    else:
        raise ImportError(f"no such file or folder: {path}")
    name = f"vgrad_target_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(
        name, location, submodule_search_locations=search
    )
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _namespace(module: ModuleType, name: str) -> Any:
    """`module.name`, or the submodule `module.name` of a package, or None."""
    if hasattr(module, name):
        return getattr(module, name)
    if hasattr(module, "__path__"):
        try:
            return importlib.import_module(f"{module.__name__}.{name}")
        except ImportError:
            return None
    return None


def detect(loaded: Loaded) -> tuple[set[str], dict[str, str]]:
    """Every capability the target offers, named as `oracle.ir` names them, and its
    limitations: variants whose forward runs but whose backward fails."""
    found: set[str] = set()
    limitations: dict[str, str] = {}
    for name, cls, methods in (
        ("Value", loaded.Value, VALUE_METHODS),
        ("Tensor", loaded.Tensor, TENSOR_METHODS),
    ):
        if cls is not None:
            found.add(name)
            for m in (*ARITHMETIC, *methods):
                attr = getattr(cls, m, None)
                if attr is not None and (m == "T" or callable(attr)):
                    found.add(f"{name}.{m}")
    probes: dict[str, Callable[[], Any]] = {}
    if loaded.Value is not None and "Value.__pow__" in found:
        v = loaded.Value
        probes["Value.__pow__(Value)"] = lambda: _backward_probe(v(2.0), v(3.0), lambda a, b: a**b)
    if loaded.Value is not None and hasattr(loaded.Value, "__rpow__"):
        v = loaded.Value
        probes["Value.__rpow__"] = lambda: _backward_probe(v(3.0), None, lambda a, _: 2.0**a)
    if loaded.Tensor is not None:
        t = loaded.Tensor
        if "Tensor.__pow__" in found:
            probes["Tensor.__pow__(Tensor)"] = lambda: _backward_probe(
                t(np.full(2, 1.5)), t(np.full(2, 2.0)), lambda a, b: (a**b).sum()
            )
        if hasattr(t, "__rpow__"):
            probes["Tensor.__rpow__"] = lambda: _backward_probe(
                t(np.full(2, 1.5)), None, lambda a, _: (2.0**a).sum()
            )
        if "Tensor.__matmul__" in found:
            probes["Tensor.__matmul__(nd)"] = lambda: (
                _backward_probe(t(np.ones(3)), t(np.ones((3, 2))), lambda a, b: (a @ b).sum()),
                _backward_probe(
                    t(np.ones((2, 2, 3))), t(np.ones((3, 2))), lambda a, b: (a @ b).sum()
                ),
            )
        for r in ("sum", "mean", "max"):
            if f"Tensor.{r}" in found:
                probes[f"Tensor.{r}(axis=tuple)"] = lambda r=r: _backward_probe(
                    t(np.arange(4.0).reshape(2, 2)),
                    None,
                    lambda a, _: getattr(a, r)(axis=(0, 1)),
                )
    for name, probe in probes.items():
        verdict = _probe(probe)
        if verdict == "":
            found.add(name)
        elif verdict is not None:
            limitations[name] = verdict
    if loaded.optim is not None:
        found.update(f"optim.{n}" for n in OPTIMIZERS if callable(getattr(loaded.optim, n, None)))
        found.update(
            f"optim.{n}"
            for n in schedules.SCHEDULERS
            if schedules.scheduler_class(loaded.optim, n) is not None
        )
    if loaded.nn is not None and callable(getattr(loaded.nn, "MLP", None)):
        found.add("nn.MLP")
    found.update(network_tasks.detect(loaded, limitations))
    return found, limitations


def _backward_probe(a: Any, b: Any, f: Callable[[Any, Any], Any]) -> None:
    """Run ``f(a, b).backward()``: the forward, then the backward (its numbers are the
    properties' business: a wrong gradient is a failure, not a missing capability)."""
    out = f(a, b)
    try:
        out.backward()
    except BaseException as error:  # SystemExit, KeyboardInterrupt: the target's too
        raise _BackwardFailed(error) from error


class _BackwardFailed(Exception):
    pass


def _probe(probe: Callable[[], Any]) -> str | None:
    """ "" when the variant works; None when its forward fails (not offered); the
    limitation's description when the forward runs but the backward does not."""
    try:
        probe()
    except _BackwardFailed as failed:
        error = failed.__cause__
        return f"backward raised {type(error).__name__}: {_text(error)}"
    except BaseException:  # SystemExit, KeyboardInterrupt: the target's too
        return None
    return ""


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a target's exception whose str() fails
        return f"<{type(error).__name__} whose str() raised>"


# -- values as data --------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200


def plain(x: Any) -> Any:
    """A value read from the target as data: numbers and numeric arrays as they are
    (dtype and shape kept), anything else described (its type and repr)."""
    kind = type(x)
    if kind is int and not _fits_float(x):
        return opaque(x)  # beyond float64: the suite could not compare it
    if x is None or kind in (bool, int, float, complex):
        return x
    if kind is np.float64:
        return float(x)
    if isinstance(x, np.generic) and x.dtype.kind in "biufc":
        return np.asarray(x)
    if kind is np.ndarray and x.dtype.kind in "biufc":
        return np.array(x)
    if kind is list and len(x) < 100_000:
        try:
            array = np.asarray(x)
        except Exception:
            array = None
        if array is not None and array.dtype.kind in "biufc":
            return {"list": array}
    return opaque(x)


def _fits_float(n: int) -> bool:
    try:
        float(n)
    except OverflowError:
        return False
    return True


def opaque(x: Any) -> dict[str, str]:
    try:
        shown = _repr.repr(x)
    except Exception:
        shown = "<repr raised>"
    return {"opaque": f"{type(x).__module__}.{type(x).__qualname__}", "repr": shown}


def _grad(x: Any) -> Any:
    return plain(x.grad)


def _data(x: Any) -> Any:
    return plain(x.data)


# -- graphs ------------------------------------------------------------------------------


def run_graph(
    graph: Any, inputs: dict[str, Any], upstream: list[Any], phase: Phase, values: bool = False
) -> dict[str, Any]:
    """Evaluate the graph on the target and backpropagate the upstream gradients."""
    g = Graph(*graph)
    leaves, nodes = _fresh(g, inputs, phase)
    outs = [nodes[i] for i in g.outputs]
    phase("computing the loss (outputs weighted by the upstream gradient)")
    loss = weighted_sum(g.kind, outs, upstream)
    phase("loss.backward()")
    loss.backward()
    phase("reading the outputs and gradients")
    answer = {
        "outputs": [_data(o) for o in outs],
        "grads": {name: _grad(leaves[name]) for name in g.input_names},
    }
    if values:
        answer["values"] = [_data(n) for n in nodes]
    return answer


def _fresh(g: Graph, inputs: dict[str, Any], phase: Phase) -> tuple[dict[str, Any], list[Any]]:
    phase("making the leaves")
    namespace = target()
    leaves = {name: leaf(namespace, g.kind, inputs[name]) for name in g.input_names}
    return leaves, build(g, leaves, phase)


def accumulate(
    graph: Any, inputs: dict[str, Any], upstream: list[Any], script: str, phase: Phase
) -> dict[str, Any]:
    """The accumulation rules of the spec, each a short script on fresh leaves:

    * ``twice``: gradients after one ``loss.backward()`` and after a second;
    * ``split``: ``f.backward(); g.backward()``, one output at a time;
    * ``zero``: a zero upstream gradient, with a spare leaf the graph does not use;
    * ``reset``: backward, every leaf reset (``0`` or ``None``), backward again.
    """
    g = Graph(*graph)
    leaves, nodes = _fresh(g, inputs, phase)
    outs = [nodes[o] for o in g.outputs]
    names = g.input_names

    def grads() -> list[Any]:
        phase("reading the gradients")
        return [_grad(leaves[n]) for n in names]

    if script == "split":
        for k, (out, u) in enumerate(zip(outs, upstream, strict=True)):
            phase(f"output {k}: (out * upstream).backward()")
            weighted_sum(g.kind, [out], [u]).backward()
        return {"grads": grads()}
    if script == "zero":
        spare = leaf(target(), g.kind, np.ones_like(np.asarray(inputs[names[0]], dtype=float)))
        zeros = [np.zeros_like(np.asarray(u, dtype=np.float64)) for u in upstream]
        if g.kind == SCALAR:
            zeros = [float(z) for z in zeros]
        phase("loss.backward() with a zero upstream gradient")
        weighted_sum(g.kind, outs, zeros).backward()
        return {"grads": grads(), "spare": _grad(spare)}
    loss = weighted_sum(g.kind, outs, upstream)
    phase("loss.backward()")
    loss.backward()
    first = grads()
    if script == "reset":
        phase("resetting the leaves' gradients")
        for x in leaves.values():
            x.grad = 0 if g.kind == SCALAR else None
    phase("a second loss.backward()")
    loss.backward()
    return {"first": first, "grads": grads()}


# -- optimizers --------------------------------------------------------------------------


def _parameters(kind: str, values: list[Any]) -> list[Any]:
    namespace = target()
    if kind == SCALAR:
        return [namespace.Value(float(v)) for v in values]
    return [namespace.Tensor(np.array(v, dtype=np.float64)) for v in values]


def optimizer_run(
    kind: str,
    name: str,
    kwargs: dict[str, Any],
    start: list[Any],
    grads: list[list[Any]],
    phase: Phase,
    schedule: dict[str, Any] | None = None,
    unused: list[Any] | None = None,
) -> list[list[Any]]:
    """The parameters before the first step and after each: each step the optimizer's
    ``zero_grad()``, then the gradient of ``sum_i <g_i, p_i>`` (exactly ``g_i``)
    backpropagated, then ``step()`` (and the scheduler's ``step()`` when a `schedule` is
    given, worker/schedules.py).  `unused` parameters come first in the optimizer's list,
    never in the loss; their values end each step's list."""
    params = _parameters(kind, start)
    idle = _parameters(kind, unused or [])
    phase(f"optim.{name}(params, **{kwargs!r})")
    optimizer = getattr(target().optim, name)(idle + params, **kwargs)
    scheduler = None
    if schedule is not None:
        phase(f"optim.{schedule['name']}(optimizer, ...) for {schedule!r}")
        scheduler = schedules.make_scheduler(target().optim, optimizer, schedule)
    history = [[_data(p) for p in params + idle]]
    for t, step_grads in enumerate(grads):
        phase(f"step {t + 1}: optimizer.zero_grad()")
        optimizer.zero_grad()
        loss = weighted_sum(kind, params, step_grads)  # sum_i <g_i, p_i>
        phase(f"step {t + 1}: loss.backward()")
        loss.backward()
        phase(f"step {t + 1}: optimizer.step()")
        optimizer.step()
        if scheduler is not None:
            phase(f"step {t + 1}: scheduler.step()")
            scheduler.step()
        history.append([_data(p) for p in params + idle])
    return history


OPTIMIZER_ARGUMENTS: dict[str, dict[str, Any]] = {
    "SGD": {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    "Adam": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
    "AdamW": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
    "RMSprop": {"alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.5},
    "Adagrad": {"eps": 1e-3, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
}
# torch's further arguments (protocol v2: optional, each detected the same way)
FURTHER_ARGUMENTS: dict[str, dict[str, Any]] = {
    "SGD": {"dampening": 0.5, "maximize": True},
    "Adam": {"amsgrad": True, "maximize": True, "decoupled_weight_decay": True},
    "AdamW": {"amsgrad": True, "maximize": True},
    "RMSprop": {"centered": True, "maximize": True},
    "Adagrad": {"lr_decay": 0.1, "maximize": True},
}
REFUSED = (TypeError, NotImplementedError)


def optimizer_refusals(name: str, phase: Phase) -> dict[str, str]:
    """The keyword arguments of `name` that the target's optimizer refuses, each with what
    it raised: TypeError or NotImplementedError when made with it alone, or
    NotImplementedError when stepped. A TypeError from ``step()`` is the argument accepted
    and broken (``None * 0.1``), which the trajectories show, not a refusal."""
    namespace = target()
    kind = SCALAR if namespace.Value is not None else "tensor"
    refusals = {}
    for argument, value in {**OPTIMIZER_ARGUMENTS[name], **FURTHER_ARGUMENTS[name]}.items():
        kwargs = {"lr": 0.1, argument: value}
        if argument in ("nesterov", "dampening"):
            kwargs["momentum"] = 0.5
        phase(f"optim.{name}(params, **{kwargs!r}) and one step")
        params = _parameters(kind, [1.5])
        try:
            optimizer = getattr(namespace.optim, name)(params, **kwargs)
        except REFUSED as error:
            refusals[argument] = f"{type(error).__name__}: {_text(error)}"
            continue
        except Exception:  # accepted, and broken: the trajectories will say how
            continue
        try:
            optimizer.zero_grad()
            loss = params[0] * operand(kind, 2.0)
            (loss if kind == SCALAR else loss.sum()).backward()
            optimizer.step()
        except NotImplementedError as error:
            refusals[argument] = f"NotImplementedError: {_text(error)}"
        except Exception:  # accepted, and broken
            pass
    return refusals


def zero_grad(name: str, phase: Phase) -> list[Any]:
    """Gradients of two parameters after a backward pass and the optimizer's zero_grad()."""
    namespace = target()
    params = [namespace.Value(1.5), namespace.Value(-2.0)]
    phase(f"optim.{name}(params, lr=0.1)")
    optimizer = getattr(namespace.optim, name)(params, lr=0.1)
    phase("(p0 * p1 * 3.0).backward()")
    (params[0] * params[1] * operand(SCALAR, 3.0)).backward()
    phase("optimizer.zero_grad()")
    optimizer.zero_grad()
    return [_grad(p) for p in params]


# -- networks ----------------------------------------------------------------------------


def _mlp(net: dict[str, Any], parameters: list[float] | None = None) -> tuple[Any, list[Any]]:
    """The target's `nn.MLP` of the case, its parameters set from the case's weights."""
    flat = parameters if parameters is not None else _flat(net)
    model = target().nn.MLP(net["nin"], list(net["nouts"]))
    params = list(model.parameters())
    if len(params) != len(flat):
        raise AssertionError(
            f"MLP({net['nin']}, {list(net['nouts'])}) has {len(params)} parameters, "
            f"expected {len(flat)}"
        )
    for p, value in zip(params, flat, strict=True):
        p.data = value
    return model, params


def _flat(net: dict[str, Any]) -> list[float]:
    return [float(v) for layer in net["weights"] for v in np.asarray(layer).ravel()]


def _mlp_loss(model: Any, net: dict[str, Any]) -> Any:
    """The case's loss of `model` on the case's data, with the target's `Value`s."""
    value = target().Value
    terms = []
    for x, y in zip(net["X"], net["y"], strict=True):
        score = model([value(float(v)) for v in x])
        if net["loss"] == "hinge":
            one, minus_y = operand(SCALAR, 1.0), operand(SCALAR, -float(y))
            terms.append((one + score * minus_y).relu())
        else:
            terms.append((score - operand(SCALAR, float(y))) ** 2)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * operand(SCALAR, 1.0 / len(terms))


def mlp_loss(net: dict[str, Any], phase: Phase) -> dict[str, Any]:
    """The loss of the target's `nn.MLP` and each parameter's gradient."""
    phase("building the MLP and setting its parameters")
    model, params = _mlp(net)
    phase("computing the loss")
    loss = _mlp_loss(model, net)
    phase("loss.backward()")
    loss.backward()
    return {"loss": _data(loss), "grads": [_grad(p) for p in params]}


def tensor_loss(net: dict[str, Any], phase: Phase) -> dict[str, Any]:
    """The same loss with the target's `Tensor` ops (``relu(X @ W.T + b)`` layer by layer),
    and the gradients in micrograd's order (neuron by neuron, weights then bias)."""
    tensor = target().Tensor
    phase("making the weights")
    weights = [tensor(np.array(np.asarray(w)[:, :-1])) for w in net["weights"]]
    biases = [tensor(np.array(np.asarray(w)[:, -1])) for w in net["weights"]]
    h = tensor(np.array(net["X"], dtype=np.float64))
    phase("computing the loss with Tensor ops")
    for k, (w, bias) in enumerate(zip(weights, biases, strict=True)):
        h = h @ w.T + bias
        if k < len(weights) - 1:
            h = h.relu()
    y = np.asarray(net["y"], dtype=np.float64)
    scores = h.reshape(len(y))
    if net["loss"] == "hinge":
        loss = (operand("tensor", 1.0) - scores * operand("tensor", y)).relu().mean()
    else:
        loss = ((scores - operand("tensor", y)) ** 2).mean()
    phase("loss.backward()")
    loss.backward()
    return {
        "loss": _data(loss),
        "weight_grads": [_grad(w) for w in weights],
        "bias_grads": [_grad(b) for b in biases],
    }


def mlp_zero_grad(net: dict[str, Any], phase: Phase) -> list[Any]:
    """Each parameter's gradient after a backward pass and the model's zero_grad()."""
    phase("building the MLP and setting its parameters")
    model, _ = _mlp(net)
    phase("loss.backward()")
    _mlp_loss(model, net).backward()
    phase("model.zero_grad()")
    model.zero_grad()
    return [_grad(p) for p in model.parameters()]


def train(net: dict[str, Any], lr: float, steps: int, phase: Phase) -> dict[str, Any]:
    """Parameters before each step and after the last, trained by the target: the model's
    `zero_grad()`, then its own `optim.SGD` when it has one, ``p.data -= lr * p.grad``
    otherwise; and the loss after the last step."""
    model, params = _mlp(net)
    namespace = target()
    sgd = getattr(namespace.optim, "SGD", None) if namespace.optim is not None else None
    optimizer = sgd(params, lr=lr) if sgd is not None else None
    history = [[_data(p) for p in params]]
    for t in range(steps):
        phase(f"training step {t + 1}: loss")
        loss = _mlp_loss(model, net)
        phase(f"training step {t + 1}: zero_grad() and backward()")
        model.zero_grad()
        loss.backward()
        phase(f"training step {t + 1}: update")
        if optimizer is not None:
            optimizer.step()
        else:
            for p in params:
                p.data -= lr * p.grad  # on the numbers themselves: no operand to wrap
        history.append([_data(p) for p in params])
    phase("the loss after training")
    return {"history": history, "loss": _data(_mlp_loss(model, net))}


def run_graphs(cases: list[tuple[Any, dict[str, Any], list[Any]]], phase: Phase) -> list[Any]:
    """`run_graph` on each case (all node values too), an exception recorded per case."""
    answers = []
    for k, (graph, inputs, upstream) in enumerate(cases):
        try:
            answers.append({"ok": run_graph(graph, inputs, upstream, _within(phase, k), True)})
        except BaseException as error:  # any exception, SystemExit too, is the case's
            answers.append({"raised": described(error)})
    return answers


def _within(phase: Phase, k: int) -> Phase:
    return lambda text: phase(f"case {k}: {text}")


def described(error: BaseException) -> dict[str, str]:
    """An exception as data: its type, message, traceback, and the function it came from.

    That function is the innermost frame of the target's own code, not the suite's nor a
    library's (NumPy's ``fromnumeric.py``, say), with the library's frame after it:
    ``transpose (engine.py:88), inside _wrapfunc (fromnumeric.py:54)``.  A target that is
    itself an installed package (torch) is all library: its innermost frame.
    """
    where, text = "", ""
    try:
        suite = str(Path(__file__).parent)
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(suite)
        ]  # the target's frames and the libraries' it called
        own = [f for f in frames if not _in_a_library(f.filename)] or frames
        if own:
            where = _frame_name(own[-1])
            if own[-1] is not frames[-1]:
                where += f", inside {_frame_name(frames[-1])}"
        text = "".join(traceback.format_exception(error, limit=-12))
    except Exception:  # a patched traceback module, or a str() that raises
        pass
    return {
        "type": str(type(error).__name__),
        "message": _text(error)[:4000],
        "traceback": str(text)[-8000:],
        "where": str(where),
    }


def _frame_name(frame: traceback.FrameSummary) -> str:
    return f"{frame.name} ({Path(frame.filename).name}:{frame.lineno})"


_LIBRARIES = tuple(
    str(Path(folder).resolve())
    for key, folder in sysconfig.get_paths().items()
    if key in ("stdlib", "platstdlib", "purelib", "platlib")
)


def _in_a_library(filename: str) -> bool:
    """Whether `filename` is the standard library's or an installed package's."""
    return str(Path(filename).resolve()).startswith(_LIBRARIES)


def leaf_backward(kind: str, phase: Phase) -> Any:
    """``x.backward()`` on a leaf: its gradient afterwards (1 by the chain rule)."""
    x = leaf(target(), kind, 3.0)
    phase("x.backward() on a leaf")
    x.backward()
    return _grad(x)


TASKS: dict[str, Callable[..., Any]] = {
    "leaf_backward": leaf_backward,
    "load": load,
    "run_graph": run_graph,
    "run_graphs": run_graphs,
    "accumulate": accumulate,
    "optimizer_run": optimizer_run,
    "zero_grad": zero_grad,
    "optimizer_refusals": optimizer_refusals,
    "mlp_loss": mlp_loss,
    "tensor_loss": tensor_loss,
    "mlp_zero_grad": mlp_zero_grad,
    "train": train,
}
TASKS.update(importlib.import_module("properties.worker.probe_tasks").PROBE_TASKS)

from properties.worker import network_tasks  # noqa: E402  (it builds on the names above)

TASKS.update(network_tasks.TASKS)


def mutmut_hits() -> list[str]:
    """Under mutmut's stats run, the engine functions this worker's tasks reached (and
    forget them): mutmut learns which tests reach which function from its process-wide
    record, which lives in the suite's process, not here."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return []
    module = sys.modules.get("mutmut.state")
    if module is None:
        return []
    record = module.state()._stats
    hits = sorted(str(name) for name in record)
    record.clear()
    return hits
