"""Targets: load an engine that follows shared/target-spec.md and find what it offers.

A target is named as an importable module (``engine``, ``micrograd.engine``), as a path
to a ``.py`` file or a package folder, or by one of the peer aliases (``micrograd``,
``torch``), which name the adapters in `properties.peers`.

Capabilities are detected once per target. Methods count when they are present: a
method that exists but crashes is a bug the properties must report, not a capability
to skip. Operator variants that share a method (``v ** w`` with a `Value` exponent, 1-D
and batched ``@``) are probed, and count as missing only when the probe is *refused*
(TypeError, AssertionError or NotImplementedError, how engines decline an operand).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PEER_ALIASES = {
    "micrograd": "properties.peers.micrograd_peer",
    "torch": "properties.peers.torch_peer",
}

VALUE_METHODS = ("relu", "tanh", "exp", "log", "sigmoid")
TENSOR_METHODS = [
    "sum",
    "mean",
    "max",
    "reshape",
    "transpose",
    "exp",
    "log",
    "tanh",
    "relu",
    "sigmoid",
    "softmax",
    "log_softmax",
]
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
REFUSALS = (TypeError, AssertionError, NotImplementedError)


class TargetLoadError(Exception):
    """The target could not be imported or offers nothing the suite can verify."""


@dataclass
class Target:
    """A loaded engine: its classes and namespaces, and what it can do."""

    name: str
    module: ModuleType
    Value: type | None = None
    Tensor: type | None = None
    optim: Any = None
    nn: Any = None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def has(self, *capabilities: str) -> bool:
        return all(c in self.capabilities for c in capabilities)

    def missing(self, *capabilities: str) -> list[str]:
        return [c for c in capabilities if c not in self.capabilities]


def load_target(spec: str) -> Target:
    """Import `spec` (module name, alias, .py file or package folder) and detect it."""
    module = _import(PEER_ALIASES.get(spec, spec))
    target = Target(
        name=spec,
        module=module,
        Value=getattr(module, "Value", None),
        Tensor=getattr(module, "Tensor", None),
        optim=_namespace(module, "optim"),
        nn=_namespace(module, "nn"),
    )
    target.capabilities = frozenset(detect_capabilities(target))
    if not target.capabilities:
        raise TargetLoadError(f"{spec}: no Value, Tensor, optim or nn found")
    return target


def _import(spec: str) -> ModuleType:
    path = Path(spec)
    try:
        if spec.endswith(".py") or path.is_dir():
            return _import_path(path)
        return importlib.import_module(spec)
    except TargetLoadError:
        raise
    except Exception as error:  # the target's own import failed: say how
        raise TargetLoadError(f"cannot import target {spec!r}: {error!r}") from error


def _import_path(path: Path) -> ModuleType:
    path = path.resolve()
    if path.is_dir():
        init = path / "__init__.py"
        if not init.exists():
            raise TargetLoadError(f"{path} is a folder without __init__.py")
        location, search = init, [str(path)]
    elif path.is_file():
        location, search = path, None
    else:
        raise TargetLoadError(f"no such file or folder: {path}")
    name = f"vgrad_target_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(
        name, location, submodule_search_locations=search
    )
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


def detect_capabilities(target: Target) -> set[str]:
    """Every capability name the target offers (names match `properties.ops`)."""
    found: set[str] = set()
    if target.Value is not None:
        v = target.Value
        found.add("Value")
        found.update(f"Value.{m}" for m in VALUE_METHODS if callable(getattr(v, m, None)))
        if _accepted(lambda: v(2.0) ** v(3.0)):
            found.add("Value.pow_value")
        if _accepted(lambda: 2.0 ** v(3.0)):
            found.add("Value.rpow")
    if target.Tensor is not None:
        found.add("Tensor")
        t = target.Tensor
        found.update(f"Tensor.{m}" for m in TENSOR_METHODS if callable(getattr(t, m, None)))
        if hasattr(t, "T"):
            found.add("Tensor.T")
        if hasattr(t, "__getitem__"):
            found.add("Tensor.index")
        if hasattr(t, "__matmul__"):
            found.add("Tensor.matmul")
            if _accepted(lambda: t(np.ones(3)) @ t(np.ones((3, 2)))):
                found.add("Tensor.matmul_1d")
            if _accepted(lambda: t(np.ones((2, 2, 3))) @ t(np.ones((3, 2)))):
                found.add("Tensor.matmul_batched")
    if target.optim is not None:
        found.update(f"optim.{name}" for name in OPTIMIZERS if hasattr(target.optim, name))
    if target.nn is not None and hasattr(target.nn, "MLP"):
        found.add("nn.MLP")
    return found


def _accepted(probe: Callable[[], object]) -> bool:
    """False when the engine refuses the operation; True otherwise, also on other errors."""
    try:
        probe()
    except REFUSALS:
        return False
    except Exception:  # present but broken: the properties will say so
        return True
    return True
