"""What every case generator shares: the `Case` itself, the number strategies, and the
operand and output choices that make graphs shrink toward chains of few nodes."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.ir import Graph, Node
from properties.cases.chooser import Chooser

ARITHMETIC = ("add", "sub", "mul", "div")


@dataclass(frozen=True)
class Case:
    """A graph, its input values by name and the upstream gradient of each output."""

    graph: Graph
    inputs: dict[str, Any]
    upstream: tuple[Any, ...]


@functools.cache  # one strategy object per range: Hypothesis validates each new one
def magnitudes(low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[float]:
    """Signed numbers whose size spans 10**low to 10**high (shrinks toward 1.0)."""
    return st.builds(
        lambda sign, exponent: sign * 10.0**exponent,
        st.sampled_from([1.0, -1.0]),
        st.floats(low, high, allow_subnormal=False),
    )


@functools.cache  # one strategy object per tuple of options: Hypothesis validates each new one
def one_of_these(options: tuple) -> st.SearchStrategy:
    """`st.sampled_from(options)`, made once per `options` (a tuple: hashable)."""
    return st.sampled_from(options)


UPSTREAM = st.one_of(
    st.floats(-2.0, 2.0, allow_subnormal=False).filter(lambda u: abs(u) > 1e-6),
    st.sampled_from([0.0, 1.0, -1.0]),
)


def pick_operand(c: Chooser, n: int) -> int:
    """One of the `n` nodes so far, counted back from the newest (`Chooser.back`): the
    simplest choice, the newest, shrinks a graph toward a chain."""
    return n - 1 - c.back(n)


def choose_outputs(c: Chooser, nodes: Sequence[Node]) -> list[int]:
    """The last node, every other op node that no node consumes, and sometimes one interior
    node more (two outputs sharing interior nodes).

    The unconsumed nodes are outputs so that every drawn op reaches the loss: a dead node's
    backward never runs, and a defect in it would pass (a wrong `neg` went unseen in one
    quick run in ten when its node was dead).
    """
    last = len(nodes) - 1
    consumed = {a for node in nodes for a in node.args}
    outputs = [last]
    outputs += [i for i, n in enumerate(nodes[:-1]) if n.op != "input" and i not in consumed]
    interior = [i for i, n in enumerate(nodes[:-1]) if n.op != "input" and i in consumed]
    if interior and c.boolean():
        outputs.append(interior[c.integer(0, len(interior) - 1)])
    return outputs


def arrays_of(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=elements)


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: 10.0**e)
