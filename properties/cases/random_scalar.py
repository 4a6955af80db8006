"""Seeded random scalar graphs, for `vgrad report`, the benchmarks and the oracle's
self-tests: the properties' growth (`properties.cases.scalar.grow_scalar`, the same
safety model) with choices from a NumPy `Generator`, a given number of nodes exactly,
inputs of size 0.2 to 2 and values within ±1e4, so that the report's pictures stay
legible. The last node is an output, further outputs are drawn from the other nodes,
and a node no other node reads stays unread (the report draws it dashed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from oracle.ir import SCALAR_OPS, Graph
from properties.cases.chooser import RngChooser
from properties.cases.scalar import grow_scalar, menu_of_ops, moderate

DEFAULT_OPS = tuple(op for op in SCALAR_OPS if op != "input")
LIMIT = 1e4  # largest |value| kept


def random_scalar_graph(
    rng: np.random.Generator,
    n_nodes: int,
    ops: Sequence[str] = DEFAULT_OPS,
    n_inputs: int | None = None,
    n_outputs: int = 1,
    capabilities: Collection[str] | None = None,
) -> tuple[Graph, dict[str, float]]:
    """A graph of `n_nodes` nodes (inputs included) and input values in every op's domain.

    With `capabilities` (names as `Graph.capability` gives them, such as
    ``Value.__radd__``), only nodes a target offering those can evaluate are drawn.
    """
    c = RngChooser(rng)
    if n_inputs is None:
        n_inputs = c.integer(1, max(1, min(5, n_nodes // 3)))
    n_inputs = min(n_inputs, n_nodes)
    menu = menu_of_ops(ops, capabilities)
    if not menu and n_nodes > n_inputs:
        raise ValueError(f"no form of the ops {list(ops)} is offered")
    b, inputs = grow_scalar(
        c, menu, n_inputs, n_nodes - n_inputs, input_value=moderate, exact=True, bound=LIMIT
    )
    others = list(range(n_nodes - 1))
    extra = rng.choice(others, size=min(n_outputs - 1, len(others)), replace=False)
    return b.build([n_nodes - 1, *(int(i) for i in extra)]), inputs
