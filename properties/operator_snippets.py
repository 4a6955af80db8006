"""Snippets for the conformance failures, which have no graph: the operators a class
lacks, the plain number it refuses, ``x.backward()`` on a leaf. Each imports the target
as a graph failure's snippet does and prints what the target does."""

from __future__ import annotations

from oracle.snippet import import_lines
from properties.targets import Target

# how each required operator is used, on x and y of the class (a plain number 3.0)
USES = {
    "__add__": "x + y",
    "__radd__": "3.0 + x",
    "__sub__": "x - y",
    "__rsub__": "3.0 - x",
    "__mul__": "x * y",
    "__rmul__": "3.0 * x",
    "__truediv__": "x / y",
    "__rtruediv__": "3.0 / x",
    "__neg__": "-x",
    "__pow__": "x ** 3",
    "__matmul__": "x @ y",
    "backward": "(x * y).backward()",
}

_LEAVES = {
    "Value": ("Value(2.0)", "Value(3.0)"),
    "Tensor": ("Tensor(np.array([2.0, 4.0]))", "Tensor(np.array([3.0, 5.0]))"),
}


def _head(target: Target, cls: str, array: bool = False) -> list[str]:
    numpy = ["import numpy as np"] if cls == "Tensor" else []
    numpy += ["from numpy import array"] if array else []  # as the refusal shows a constant
    return [*numpy, *import_lines(target.import_name, [cls]), ""]


def operators_snippet(target: Target, cls: str, missing: list[str]) -> str:
    """Uses each missing operator of `cls` and prints what it gives or raises."""
    x, y = _LEAVES[cls]
    uses = ", ".join(repr(USES[name]) for name in missing)
    return "\n".join(
        [
            *_head(target, cls),
            f"x = {x}",
            f"y = {y}",
            f"for use in [{uses}]:",
            "    try:",
            "        print(use, '=', eval(use))",
            "    except Exception as error:",
            "        print(use, 'raised', type(error).__name__ + ':', error)",
            "",
        ]
    )


def refusal_snippet(target: Target, cls: str, refusal: str) -> str:
    """The operation the class refused (``Value(2.0) + 3.0``), printed."""
    use = refusal.split(" raised ", 1)[0]
    return "\n".join([*_head(target, cls, "array(" in use), f"print({use})", ""])


def leaf_snippet(target: Target, cls: str) -> str:
    """``x.backward()`` on a leaf, and its gradient."""
    x = "Value(3.0)" if cls == "Value" else "Tensor(np.array(3.0))"
    lines = [*_head(target, cls), f"x = {x}", "x.backward()", "print('x.grad =', repr(x.grad))"]
    return "\n".join([*lines, ""])
