"""Seeded random tensor graphs, for `vgrad report --tensor` and the oracle's self-tests:
the properties' growth (`properties.cases.tensor.grow_tensor`, the same safety model)
with choices and arrays from a NumPy `Generator`, about a given number of nodes (a step
may add an input), inputs of size 0.2 to 2 and values within ±1e4. The last node is an
output, further outputs are drawn from the other nodes, and a node no other node reads
stays unread (the report draws it dashed). Graphs with `functional` ops come from
`properties.cases.random_network`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from oracle.ir import NETWORK_OPS, TENSOR_OPS, Graph
from properties.cases.chooser import RngChooser
from properties.cases.random_scalar import LIMIT
from properties.cases.tensor import TENSOR_CAPABILITY, grow_tensor

# the `functional` ops are drawn only when asked for (`properties.cases.random_network`)
TENSOR_DEFAULT_OPS = tuple(op for op in TENSOR_OPS if op not in ("input", *NETWORK_OPS))


class RngNumbers:
    """Shapes of rank 0 to 3 (mostly 1 and 2) with axes of 1 to 4; inputs of size 0.2 to 2
    and constants of size 0.1 to 3, either sign."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def shape(self) -> tuple[int, ...]:
        rank = int(self.rng.choice(4, p=[0.1, 0.3, 0.4, 0.2]))
        return tuple(int(d) for d in self.rng.integers(1, 5, size=rank))

    def broadcastable(self, shape: tuple[int, ...], max_dims: int) -> tuple[int, ...]:
        rank = int(self.rng.integers(0, max(max_dims, len(shape)) + 1))
        sides = [int(d) for d in self.rng.integers(1, 5, size=rank)]
        for k in range(1, min(rank, len(shape)) + 1):  # aligned from the right
            if shape[-k] != 1:
                sides[-k] = shape[-k] if self.rng.random() < 0.7 else 1
        return tuple(sides)

    def inputs(self, shape: tuple[int, ...], positive: bool) -> np.ndarray:
        signs = 1.0 if positive else self.rng.choice([-1.0, 1.0], size=shape)
        return self.rng.uniform(0.2, 2.0, size=shape) * signs

    def constants(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.uniform(0.1, 3.0, size=shape) * self.rng.choice([-1.0, 1.0], size=shape)


def random_tensor_graph(
    rng: np.random.Generator,
    n_nodes: int,
    ops: Sequence[str] = TENSOR_DEFAULT_OPS,
    n_inputs: int | None = None,
    n_outputs: int = 1,
    capabilities: Collection[str] | None = None,
) -> tuple[Graph, dict[str, np.ndarray]]:
    """A tensor graph of about `n_nodes` nodes (inputs included) and input arrays in every
    op's domain; the last node is an output.  With `capabilities`, only nodes a target
    offering those can evaluate are drawn."""
    c = RngChooser(rng)
    if n_inputs is None:
        n_inputs = c.integer(1, max(1, min(3, n_nodes // 3)))
    n_inputs = min(n_inputs, n_nodes)
    menu = [
        entry
        for entry, needs in TENSOR_CAPABILITY.items()
        if entry[0] in ops and (capabilities is None or needs in capabilities)
    ]
    if not menu and n_nodes > n_inputs:
        raise ValueError(f"no form of the ops {list(ops)} is offered")
    b, _, inputs = grow_tensor(
        c,
        RngNumbers(rng),
        menu,
        n_inputs,
        n_nodes - n_inputs,
        max_inputs=n_inputs + 3,
        exact=True,
        bound=LIMIT,
    )
    n = len(b.nodes)
    extra = rng.choice(n - 1, size=min(n_outputs - 1, n - 1), replace=False)
    return b.build([n - 1, *(int(i) for i in extra)]), inputs
