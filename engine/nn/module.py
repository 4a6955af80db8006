"""`Module`: the base of every network piece, scalar or tensor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.value import Value

# The classes whose instances count as trainable parameters when a module holds them.
PARAMETER_TYPES: tuple[type, ...] = (Value,)


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


def _walk(item: object, name: str) -> Iterator[tuple[str, Any]]:
    if isinstance(item, PARAMETER_TYPES):
        yield name, item
    elif isinstance(item, Module):
        yield from item.named_parameters(prefix=f"{name}.")
    elif isinstance(item, (list, tuple)):
        for i, element in enumerate(item):
            yield from _walk(element, f"{name}.{i}")
