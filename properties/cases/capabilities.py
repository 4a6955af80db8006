"""The capability each op needs, from the IR's own names (`oracle.ir.Graph.capability`,
through the menus' probe graphs), for choosing what a target can be asked."""

from __future__ import annotations

from oracle.ir import SCALAR, Node, op_capability
from properties.cases.scalar import SCALAR_CAPABILITY
from properties.cases.tensor import TENSOR_CAPABILITY


def plain_capability(kind: str, op: str) -> str | None:
    """The capability `op` needs in its plainest form in a graph of `kind`: that of its
    first menu entry (two nodes, ``x op c``, a 2-D matmul, one axis); an op outside the
    menus (a `functional` op) as `oracle.ir.op_capability` names it."""
    menu = SCALAR_CAPABILITY if kind == SCALAR else TENSOR_CAPABILITY
    for (name, _), needs in menu.items():
        if name == op:
            return needs
    return op_capability(kind, Node(op))
