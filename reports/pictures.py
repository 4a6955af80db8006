"""Pictures for `vgrad report`: matplotlib plots as PNG, graphs as Graphviz SVG or text.

Plots are returned as PNG bytes (inlined in the HTML as data URIs); a graph is drawn as
SVG when Graphviz's `dot` program is on the PATH, and as an indented text listing of
its nodes otherwise, so a report is complete either way.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import graphviz
import numpy as np

from oracle.ir import BINARY_OPS, NETWORK_OPS, Graph, Node

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FLOOR = 1e-18  # exact agreement is drawn at this error on log scales
DRAW_LIMIT = 100  # nodes; larger graphs take Graphviz long to lay out and no one to read
CEILING = 1e3  # larger errors (and a target's crash, an infinite error) are drawn here
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def pyplot() -> Any:
    """matplotlib's pyplot (on Agg), imported by the first plot: a process that draws none,
    such as a `--jobs` run's own, which leaves its plots to its pool, spends no time on it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(figure)
    return buffer.getvalue()


def _log_axis(axes: Axes, which: str) -> None:
    """A log scale labelled 1e-16, 1e-12, ... (plain text: mathtext is slow to lay out)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    getattr(axes, f"set_{which}scale")("log")
    axis = getattr(axes, f"{which}axis")
    axis.set_major_locator(LogLocator(base=10, numticks=8))
    axis.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e"))
    )
    axis.set_minor_formatter(NullFormatter())


def _log_errors(errors: np.ndarray) -> np.ndarray:
    """Errors for a log axis: exact zeros at FLOOR, the rest (crashes too) at most CEILING."""
    return np.clip(np.nan_to_num(errors, nan=CEILING, posinf=CEILING), FLOOR, CEILING)


def error_histogram(gradient_errors: np.ndarray, value_errors: np.ndarray) -> bytes:
    """Distribution of relative gradient (and output) errors on a log scale."""
    figure, axes = pyplot().subplots(figsize=(7.5, 3.6))
    bins = np.logspace(np.log10(FLOOR), np.log10(CEILING), 85)
    for errors, label, colour in (
        (gradient_errors, "input gradients", "#3465a4"),
        (value_errors, "outputs", "#f57900"),
    ):
        # one outline per series, not a patch per bin: the same picture, drawn faster
        axes.hist(
            _log_errors(errors),
            bins=bins,
            alpha=0.6,
            label=label,
            color=colour,
            histtype="stepfilled",
        )
    _log_axis(axes, "x")
    axes.set_xlabel(
        f"largest relative error per graph (exact agreement drawn at {FLOOR:g}, "
        f"errors over {CEILING:g} and crashes at {CEILING:g})"
    )
    axes.set_ylabel("graphs")
    axes.set_title("Relative error against the oracle (JAX, float64)")
    axes.legend()
    axes.grid(alpha=0.3)
    return _png(figure)


def error_by_size(depths: np.ndarray, nodes: np.ndarray, gradient_errors: np.ndarray) -> bytes:
    """Gradient error against graph depth and against graph size."""
    figure, panels = pyplot().subplots(1, 2, figsize=(9, 3.6), sharey=True)
    finite = np.isfinite(gradient_errors)
    errors = np.maximum(gradient_errors[finite], FLOOR)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, size=errors.shape)
    for axes, x, label in (
        (panels[0], depths, "graph depth (longest input-to-node path)"),
        (panels[1], nodes, "graph size (nodes)"),
    ):
        axes.scatter(x[finite] + jitter, errors, s=6, alpha=0.35, color="#3465a4", linewidths=0)
        _log_axis(axes, "y")
        axes.set_xlabel(label)
        axes.grid(alpha=0.3)
    panels[0].set_ylabel("relative gradient error")
    figure.suptitle("Gradient error against depth and size")
    return _png(figure)


def error_by_op(rows: list[Mapping[str, Any]]) -> bytes:
    """Median, 90th percentile and largest gradient error of the graphs containing each op."""
    figure, axes = pyplot().subplots(figsize=(9, 3.6))
    positions = np.arange(len(rows))
    series = (
        ("median_gradient_error", "median", "#3465a4"),
        ("p90_gradient_error", "90th percentile", "#f57900"),
        ("max_gradient_error", "largest", "#cc0000"),
    )
    for k, (key, label, colour) in enumerate(series):
        heights = [min(max(row[key], FLOOR), CEILING) for row in rows]
        axes.bar(positions + (k - 1) * 0.27, heights, width=0.27, label=label, color=colour)
    _log_axis(axes, "y")
    axes.set_xticks(positions, [row["op"] for row in rows], rotation=45, ha="right")
    axes.set_ylabel("relative gradient error")
    axes.set_title(
        "Gradient error of the graphs containing each op\n"
        f"(exact drawn at {FLOOR:g}; crashes, and errors over {CEILING:g}, at "
        f"{CEILING:g})"
    )
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, axis="y")
    return _png(figure)


def node_label(graph: Graph, i: int, inputs: Mapping[str, Any]) -> str:
    """A node as an expression of its operands: ``n4 = n2 * 1.5``, ``x0 (input)``."""
    node = graph.nodes[i]
    if node.op == "input":
        return f"{node.attrs['name']} (input)"
    return f"n{i} = {expression(graph, node)}"


def _name(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    return node.attrs["name"] if node.op == "input" else f"n{i}"


def expression(graph: Graph, node: Node) -> str:
    """The op applied to its operands, as the snippet writes it."""
    args = [_name(graph, a) for a in node.args]
    if node.op in BINARY_OPS or node.op == "matmul":
        if node.const_side is not None:
            const = _short(node.attrs["const"])
            args = [args[0], const] if node.const_side == "right" else [const, args[0]]
        return f"{args[0]} {_SYMBOLS[node.op]} {args[1]}"
    if node.op == "neg":
        return f"-{args[0]}"
    if node.op == "T":
        return f"{args[0]}.T"
    if node.op in NETWORK_OPS:
        attrs = ", ".join(f"{k}={_short(v)}" for k, v in node.attrs.items())
        return f"{node.op}({', '.join([*args, attrs] if attrs else args)})"
    attrs = ", ".join(f"{k}={_short(v)}" for k, v in node.attrs.items())
    return f"{args[0]}.{node.op}({attrs})"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, threshold=6)
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _value(v: Any) -> str:
    if np.ndim(v) == 0:
        return f"{float(v):.6g}"
    return f"shape {tuple(np.shape(v))}"


def graph_dot(
    graph: Graph,
    inputs: Mapping[str, Any],
    values: tuple[Any, ...],
    grads: Mapping[str, Any],
    wrong: frozenset[str] = frozenset(),
) -> graphviz.Digraph:
    """The graph left to right: each node with its value, inputs with their gradient;
    outputs doubly outlined, inputs whose gradient disagrees in red, nodes no output
    depends on dashed and grey."""
    dot = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "fontsize": "10"},
        node_attr={"shape": "record", "fontname": "monospace", "fontsize": "10"},
    )
    outputs, live = set(graph.outputs), reaching_outputs(graph)
    for i, node in enumerate(graph.nodes):
        fields = [node_label(graph, i, inputs), f"value {_value(values[i])}"]
        attrs: dict[str, str] = {}
        if node.op == "input":
            name = node.attrs["name"]
            fields.append(f"grad {_value(grads[name])}")
            attrs = {"style": "filled", "fillcolor": "#ffd7d7" if name in wrong else "#e8f0fe"}
        if i in outputs:
            attrs["peripheries"] = "2"
        if i not in live:  # computed, but no output depends on it
            attrs.update(color="#aaaaaa", fontcolor="#888888", style="dashed")
        dot.node(f"n{i}", " | ".join(_escape(f) for f in fields), **attrs)
        for a in dict.fromkeys(node.args):
            dot.edge(f"n{a}", f"n{i}")
    return dot


def reaching_outputs(graph: Graph) -> set[int]:
    """The nodes some output depends on (the outputs included)."""
    live = set(graph.outputs)
    for i in range(len(graph.nodes) - 1, -1, -1):
        if i in live:
            live.update(graph.nodes[i].args)
    return live


def _escape(text: str) -> str:
    """A record label field: braces, angle brackets, bars and quotes are structure there."""
    for char in '\\{}<>|"':
        text = text.replace(char, "\\" + char)
    return text


def graph_svg(dot: graphviz.Digraph) -> str | None:
    """The graph as inline SVG, or None when Graphviz's `dot` program is not installed."""
    if shutil.which("dot") is None:
        return None
    try:
        svg = dot.pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None
    return svg[svg.index("<svg") :]


def graph_text(
    graph: Graph, values: tuple[Any, ...], grads: Mapping[str, Any], inputs: Mapping[str, Any]
) -> str:
    """The graph as text, one node per line: what it computes, its value, input gradients."""
    lines = []
    for i, node in enumerate(graph.nodes):
        line = f"{node_label(graph, i, inputs):<40} value {_value(values[i])}"
        if node.op == "input":
            line += f"   grad {_value(grads[node.attrs['name']])}"
        if i in graph.outputs:
            line += "   (output)"
        lines.append(line)
    return "\n".join(lines)
