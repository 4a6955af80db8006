"""`Module`: the base of every network piece, scalar or tensor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from engine.aligned import aligned_copy
from engine.tensor import Tensor
from engine.value import Value

# The classes whose instances count as trainable parameters when a module holds them.
PARAMETER_TYPES: tuple[type, ...] = (Value, Tensor)


class Module:
    """A network piece that owns parameters, directly or through sub-modules.

    Parameters are found by walking the instance's attributes in the order they were
    set, descending into sub-modules and into lists and tuples of either, so a module
    only has to store what it owns.
    """

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Yield ``(dotted.name, parameter)`` for every parameter, in a fixed order."""
        for name, attribute in vars(self).items():
            yield from _walk(attribute, f"{prefix}{name}")

    def parameters(self) -> list[Any]:
        """Every parameter in the order of `named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget accumulated gradients: 0 for a `Value`, None for a tensor."""
        for p in self.parameters():
            p.grad = 0.0 if isinstance(p, Value) else None

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's value by name, ready for ``np.savez(path, **sd)``."""
        return {name: np.array(p.data, dtype=np.float64) for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Set the parameters from `state_dict` (a dict, or what ``np.load`` returns).

        Every value must have its parameter's shape.  With `strict`, the names must be
        exactly this module's; otherwise names on one side only are left alone.
        """
        parameters = dict(self.named_parameters())
        if strict:
            missing = [name for name in parameters if name not in state_dict]
            unexpected = [name for name in state_dict if name not in parameters]
            if missing or unexpected:
                raise ValueError(
                    f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
                )
        values = {name: np.asarray(state_dict[name]) for name in parameters if name in state_dict}
        for name, value in values.items():
            if value.shape != np.shape(parameters[name].data):
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {value.shape}, "
                    f"the parameter {np.shape(parameters[name].data)}"
                )
        for name, value in values.items():
            p = parameters[name]
            p.data = float(value) if isinstance(p, Value) else aligned_copy(value)


def _walk(item: object, name: str) -> Iterator[tuple[str, Any]]:
    if isinstance(item, PARAMETER_TYPES):
        yield name, item
    elif isinstance(item, Module):
        yield from item.named_parameters(prefix=f"{name}.")
    elif isinstance(item, (list, tuple)):
        for i, element in enumerate(item):
            yield from _walk(element, f"{name}.{i}")
