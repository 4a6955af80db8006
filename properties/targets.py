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

ARITHMETIC = (
    *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__"),
    *("__truediv__", "__rtruediv__", "__pow__", "__neg__"),
)
VALUE_METHODS = ("relu", "tanh", "exp", "log", "sigmoid")
TENSOR_METHODS = (
    *VALUE_METHODS,
    *("sum", "mean", "max", "reshape", "transpose", "softmax", "log_softmax"),
    *("T", "__getitem__", "__matmul__"),
)
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

    @property
    def import_name(self) -> str:
        """How a snippet imports the target: its module name, or its file or folder path."""
        if self.module.__name__.startswith("vgrad_target_"):
            return str(
                Path(self.module.__file__).parent
                if self.module.__file__.endswith("__init__.py")
                else self.module.__file__
            )
        return self.module.__name__

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


def is_path(spec: str) -> bool:
    """A target named by a file or folder path rather than a module name."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec or spec in (".", "..")


def _import(spec: str) -> ModuleType:
    path = Path(spec)
    try:
        if is_path(spec):
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
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(location):
        return sys.modules[name]
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
    """Every capability the target offers, named as `oracle.ir.Graph.capability` names them."""
    found: set[str] = set()
    for cls, methods in ((target.Value, VALUE_METHODS), (target.Tensor, TENSOR_METHODS)):
        if cls is not None:
            name = "Value" if cls is target.Value else "Tensor"
            found.add(name)
            found.update(f"{name}.{m}" for m in (*ARITHMETIC, *methods) if hasattr(cls, m))
    if target.Value is not None:
        v = target.Value
        probes = {
            "Value.__pow__(Value)": lambda: v(2.0) ** v(3.0),
            "Value.__rpow__": lambda: 2.0 ** v(3.0),
        }
        found.update(name for name, probe in probes.items() if _accepted(probe))
    if target.Tensor is not None:
        t = target.Tensor
        probes = {
            "Tensor.__pow__(Tensor)": lambda: t(np.ones(2)) ** t(np.ones(2)),
            "Tensor.__rpow__": lambda: 2.0 ** t(np.ones(2)),
            "Tensor.__matmul__(nd)": lambda: (
                t(np.ones(3)) @ t(np.ones((3, 2))),
                t(np.ones((2, 2, 3))) @ t(np.ones((3, 2))),
            ),
        }
        probes.update(
            {
                f"Tensor.{r}(axis=tuple)": lambda r=r: getattr(t(np.ones((2, 2))), r)(axis=(0, 1))
                for r in ("sum", "mean", "max")
            }
        )
        found.update(name for name, probe in probes.items() if _accepted(probe))
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
