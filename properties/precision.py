"""The precision the target computes in: float64 (the spec's default) or float32.

A float32 engine is verified against the same float64 oracle, with tolerances from the
same error analysis at float32's unit roundoff (`oracle.tolerance.unit_roundoff`). Its
cases are made of float32 numbers (inputs, constants, upstream gradients rounded to
float32 first), so the engine's own conversion of its inputs is exact and every
difference comes from its arithmetic. The precision of a run is set once, by
``VGRAD_PRECISION`` (``vgrad check --precision``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from oracle.ir import Graph, Node


@dataclass(frozen=True)
class Precision:
    name: str
    dtype: type
    unit_roundoff: float
    rtol: float  # relative floor on top of the error analysis: what its model leaves out
    underflow_edge: float  # below this, a number is underflow noise


FLOAT64 = Precision("float64", np.float64, 2.0**-53, 1e-12, 2.0**-1000)
FLOAT32 = Precision("float32", np.float32, 2.0**-24, 2e-6, 2.0**-110)
PRECISIONS = {p.name: p for p in (FLOAT64, FLOAT32)}


def current() -> Precision:
    """The precision of this run (``VGRAD_PRECISION``, default float64)."""
    return PRECISIONS[os.environ.get("VGRAD_PRECISION") or "float64"]


def representable(value: Any, precision: Precision | None = None) -> Any:
    """`value` rounded to the precision and back to float64 (ints and None kept)."""
    precision = precision or current()
    if precision is FLOAT64 or value is None or isinstance(value, (bool, int, np.integer)):
        return value
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32).astype(np.float64)
    return value


def rounded_graph(graph: Graph) -> Graph:
    """The graph with its constants representable in the current precision."""
    if current() is FLOAT64:
        return graph
    nodes = tuple(
        Node(n.op, n.args, {**n.attrs, "const": representable(n.attrs["const"])})
        if "const" in n.attrs
        else n
        for n in graph.nodes
    )
    return Graph(graph.kind, nodes, graph.outputs)


def rounded(case: Any) -> Any:
    """A `properties.cases.Case` of numbers representable in the current precision."""
    if current() is FLOAT64:
        return case
    return replace(
        case,
        graph=rounded_graph(case.graph),
        inputs={k: representable(v) for k, v in case.inputs.items()},
        upstream=tuple(representable(u) for u in case.upstream),
    )


def fits(values: Any) -> bool:
    """Whether every number in `values` (numbers and arrays) is finite and inside the
    current precision's range: a float32 case whose true results overflow float32 (exp
    of 100, an input of 1e300) is no case for a float32 engine."""
    p = current()
    if p is FLOAT64:
        return True
    largest = float(np.finfo(p.dtype).max)
    for v in values:
        a = np.abs(np.asarray(v, dtype=np.float64))
        if not np.all(np.isfinite(a)) or np.any(a > largest):
            return False
    return True
