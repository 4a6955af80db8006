"""Watch backpropagation happen: `explain_backward(out)` runs ``out.backward()`` and narrates.

Backpropagation visits every node from `out` back to the leaves (reverse topological
order) and runs the node's backward rule, which adds ``local derivative * upstream
gradient`` into the ``.grad`` of each input.  `explain_backward` does exactly that pass,
printing for each node its rule, the upstream gradient it received and, for each input,
the local derivative, the product and the input's gradient afterwards.  (A tensor
operation's local derivative is a Jacobian matrix, too big to print: for tensors the
walkthrough shows the product, the vector-Jacobian product, instead.)  Nodes are named
``n0, n1, ...`` as `draw_dot` names them, so the walkthrough and the drawing match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

import numpy as np

from engine.draw import (
    Node,
    _breadth_first,
    _creation_number,
    _format_array,
    _format_number,
    _op_details,
)
from engine.tensor import Tensor, accumulate_grad
from engine.value import Value

_INFIX = ("+", "-", "*", "/", "**", "@")


def explain_backward(
    out: Node,
    max_nodes: int = 50,
    names: Mapping[Node, str] | None = None,
    file: TextIO | None = None,
) -> None:
    """Run ``out.backward()`` step by step, printing each step to `file` (default stdout).

    For each node from `out` back to the leaves: its backward rule, its upstream gradient
    and, for each input, local derivative * upstream = what is added to the input's grad
    (for a `Tensor`, whose local derivative is a Jacobian, the product itself).  The
    gradients it leaves are exactly those ``out.backward()`` leaves (interior nodes
    reset, leaves accumulate: on fresh leaves, each leaf ends holding d(out)/d(leaf)).
    Graphs of more than `max_nodes` nodes are refused with a ValueError; `names` labels
    some nodes, e.g. ``{a: "a"}``.
    """
    if not isinstance(out, (Value, Tensor)):
        raise TypeError(f"explain_backward needs a Value or a Tensor, got {type(out).__name__}")
    if isinstance(out, Tensor) and not out.requires_grad:
        raise RuntimeError("explain_backward: this tensor does not require a gradient")
    if isinstance(out, Tensor) and out.size != 1:
        raise ValueError(
            f"explain_backward needs a tensor with one element (a loss), got shape {out.shape}"
        )
    nodes = sorted(_breadth_first(out), key=_creation_number)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"explain_backward: the graph has {len(nodes)} nodes, more than "
            f"max_nodes={max_nodes}; a walkthrough is for small graphs. Pass "
            f"max_nodes={len(nodes)} to explain it anyway, or draw it with draw_dot(out)."
        )
    label = {node: f"n{i}" for i, node in enumerate(nodes)}
    label.update(names or {})
    walked = [node for node in nodes if isinstance(node, Value) or node.requires_grad]

    def say(line: str) -> None:
        print(line, file=file)

    nodes_text = f"{len(walked)} node{'s' if len(walked) > 1 else ''}"
    say(f"backward pass from {label[out]} over {nodes_text}, each before its inputs")
    _seed(out, walked)
    say(f"{label[out]}.grad = {_show(out.grad)}  (the seed: {label[out]} by itself has slope 1)")
    for node in reversed(walked):
        if node._backward is None or node.grad is None:
            continue
        shape = f"  (shape {node.shape})" if isinstance(node, Tensor) and node.ndim else ""
        say(f"{label[node]} = {_expression(node, label)} = {_show(node.data)}{shape}")
        doc = node._backward.__doc__
        if doc:
            say(f"  rule: {doc.splitlines()[0]}")
        say(f"  upstream: {label[node]}.grad = {_show(node.grad)}")
        for line in _step(node, label):
            say("  " + line)
    leaves = [node for node in walked if not node._prev]
    say("leaves: " + ", ".join(f"{label[leaf]}.grad = {_show(leaf.grad)}" for leaf in leaves))


def _seed(out: Node, walked: list[Node]) -> None:
    """What backward() does before the rules: reset interior nodes, seed `out` with 1."""
    for node in walked:
        if node._prev:
            # 0.0 for None: every walked node gets a gradient before its rule runs
            node.grad = 0.0 if isinstance(node, Value) else None  # pragma: no mutate
    if isinstance(out, Tensor):
        accumulate_grad(out, np.ones(out.shape))
    elif out._prev:
        out.grad = 1.0
    else:
        out.grad += 1.0


def _step(node: Node, label: Mapping[Node, str]) -> list[str]:
    """Run `node`'s backward rule as backward() does; describe what it added to each input."""
    inputs = list(dict.fromkeys(node._prev))  # an input used twice (x * x) is one input
    before = [x.grad for x in inputs]
    if isinstance(node, Value):
        upstream = node.grad
        for x in inputs:  # the rule with upstream 1 from zero: the local derivatives
            x.grad = 0.0
        node.grad = 1.0
        node._backward(node)
        local = [x.grad for x in inputs]
        node.grad = upstream
    else:
        for x in inputs:  # the rule from no gradient: each input's vector-Jacobian product
            x.grad = None
        node._backward(node)
        local = [x.grad for x in inputs]
    # equivalent: both lists come from `inputs`
    for x, grad in zip(inputs, before, strict=True):  # pragma: no mutate
        x.grad = grad
    node._backward(node)
    lines = []
    # equivalent: both lists come from `inputs`
    for x, d in zip(inputs, local, strict=True):  # pragma: no mutate
        name = label[x]
        if isinstance(node, Value):
            product = d * node.grad
            added = f"local {_show(d)} * upstream {_show(node.grad)} = {_show(product)}"
        elif x.requires_grad:
            added = _show(d)
        else:
            lines.append(f"{name} is a constant: no gradient")
            continue
        lines.append(f"{name}.grad += {added}  ->  {name}.grad = {_show(x.grad)}")
    return lines


def _expression(node: Node, label: Mapping[Node, str]) -> str:
    """How `node` was computed, in Python: ``n0 * n1``, ``n2**2``, ``tanh(n3)``, ``n4[0]``."""
    args = [label[x] for x in node._prev]
    op, details = node._op, _op_details(node)
    if op in _INFIX and len(args) == 2:
        return f"{args[0]} {op} {args[1]}"
    if op.startswith("**"):
        return f"{args[0]}{op}"
    if op == "neg":
        return f"-{args[0]}"
    if op == "index":
        return f"{args[0]}{details}"
    return f"{op}({', '.join(args + ([details] if details else []))})"


def _show(x: float | np.ndarray) -> str:
    return _format_array(x) if isinstance(x, np.ndarray) else _format_number(x)
