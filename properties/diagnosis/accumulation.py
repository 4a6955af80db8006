"""The catalogue of accumulation mistakes, and the probes that tell them apart.

Hypotheses: interior gradients not reset between passes (stale ones propagated again);
leaf gradients overwritten by each pass instead of added to; an operand used twice by one
op (``x * x``) counted once; a traversal out of topological order; a recursive traversal
(RecursionError on deep graphs). The probes: one pass then a second, two outputs that
share nodes, gradients already in the leaves, ``x * x`` and ``x + x``, a diamond; and for
the traversal alone, chains 30 and 3000 nodes deep.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from properties.diagnosis.judge import Hypothesis, judge
from properties.diagnosis.simulate import Node, Probe, World, changed, interior_orders, simulate
from properties.targets import Target

DEEP = 3000  # nodes: beyond Python's default recursion limit (1000) by far
RECURSION_DEPTH = 900  # a recursive traversal fails past about this depth

HYPOTHESES = {
    "stale-interior": "backward() does not reset interior gradients: a second pass (or a "
    "pass of another output that shares nodes) propagates the previous pass's stale "
    "gradients again",
    "leaf-overwritten": "backward() overwrites (=) leaf gradients instead of adding (+=) to "
    "them: a second pass does not double them, and gradients already in a leaf are lost",
    "shared-operand-once": "an op whose two operands are the same node (x * x, x + x) gives "
    "it one contribution, not two",
    "out-of-order": "the backward traversal is not in topological order: a shared node "
    "passes its gradient on before all of its consumers have added theirs",
    "recursive": f"the backward traversal is recursive: RecursionError on a chain {DEEP} "
    "nodes deep (one Python frame per node)",
}


def _value(kind: str, x: float, k: int = 0) -> Any:
    return x if kind == "scalar" else np.array([x, 0.5 - x * 0.3 + 0.1 * k])


def _inputs(kind: str) -> tuple[list[Node], dict[str, Any]]:
    nodes: list[Node] = [("input", (), {"name": "x"}), ("input", (), {"name": "y"})]
    return nodes, {"x": _value(kind, 1.5), "y": _value(kind, -0.8, 1)}


def _out(kind: str, nodes: list[Node], i: int) -> int:
    """Node `i` as an output: itself (scalar) or its sum (tensor, for backward())."""
    if kind == "scalar":
        return i
    nodes.append(("sum", (i,), {"axis": None, "keepdims": False}))
    return len(nodes) - 1


def probes(kind: str, deep: bool = False) -> list[Probe]:
    """The accumulation probes of a `kind` ("scalar" or "tensor") engine; with `deep`,
    instead, the traversal's: chains of 30 and 3000 nodes, one backward() each."""
    once, read = ("backward", 0, None), ("read",)
    found = []
    if deep:
        for depth in (30, DEEP):
            nodes, inputs = [("input", (), {"name": "x"})], {"x": 1.5}
            for _ in range(depth):
                nodes.append(("mul", (len(nodes) - 1,), {"const": 1.0, "side": "right"}))
            found.append(Probe(kind, tuple(nodes), (len(nodes) - 1,), inputs, (once, read)))
        return found
    nodes, inputs = _inputs(kind)
    nodes += [("mul", (0, 1), {}), ("add", (2, 0), {}), ("mul", (3, 2), {})]
    f = _out(kind, nodes, 4)
    nodes.append(("add", (2, 1), {}))
    g = _out(kind, nodes, len(nodes) - 1)
    shared = tuple(nodes)
    found.append(Probe(kind, shared[: f + 1], (f,), inputs, (once, read, once, read)))
    found.append(Probe(kind, shared, (f, g), inputs, (once, read, ("backward", 1, None), read)))
    preset = {"x": _value(kind, 0.25), "y": _value(kind, -0.5, 1)}
    found.append(Probe(kind, shared[: f + 1], (f,), inputs, (once, read), preset))
    for op in ("mul", "add"):
        nodes, inputs = [("input", (), {"name": "x"})], {"x": _value(kind, 1.5)}
        nodes.append((op, (0, 0), {}))
        out = _out(kind, nodes, 1)
        found.append(Probe(kind, tuple(nodes), (out,), inputs, (once, read)))
    nodes, inputs = _inputs(kind)
    nodes += [("mul", (0, 1), {}), ("mul", (2,), {"const": 2.0, "side": "right"})]
    nodes.append(("add", (3, 2), {}))
    out = _out(kind, nodes, 4)
    found.append(Probe(kind, tuple(nodes), (out,), inputs, (once, read)))
    return found


def _worlds(hypothesis: str, probe: Probe) -> list[World]:
    base = World()
    if hypothesis == "stale-interior":
        return [changed(base, interior_reset=False, seed_assign=s) for s in (False, True)]
    if hypothesis == "leaf-overwritten":
        return [changed(base, leaf_reset=True)]
    if hypothesis == "shared-operand-once":
        return [changed(base, shared_once=True)]
    if hypothesis == "out-of-order":
        if len(probe.nodes) > 12:
            return [base]
        return [changed(base, order=o) for o in interior_orders(probe)]
    if hypothesis == "recursive":
        return [changed(base, recursion_depth=RECURSION_DEPTH)]
    return [base]


def hypothesis(name: str, found: list[Probe]) -> Hypothesis:
    text = HYPOTHESES.get(name, "the spec's accumulation rules")
    return Hypothesis(
        name, text, lambda k: [simulate(found[k], w) for w in _worlds(name, found[k])]
    )


def diagnosis(target: Target, kind: str, deep: bool = False) -> Any:
    """The accumulation rules on small graphs (with `deep`, the traversal on chains 3000
    deep: the one question a deep chain's single backward() can answer)."""
    from properties.diagnosis import Diagnosis, describe, run_probes

    if not target.has("Value" if kind == "scalar" else "Tensor"):
        return Diagnosis(f"{kind} accumulation", (), "no diagnosis: no such engine")
    found = probes(kind, deep)
    observed = run_probes(target, found)
    finding = judge(
        hypothesis("correct", found),
        [hypothesis(h, found) for h in HYPOTHESES if deep == (h == "recursive")],
        observed,
    )
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    what = (
        "backward() on chains 30 and 3000 nodes deep"
        if deep
        else f"backward() on small {kind} graphs"
    )
    text = describe(finding, what, len(found))
    scope = f"{kind} {'traversal' if deep else 'accumulation'}"
    return Diagnosis(scope, ids, text, finding.status == "right")
