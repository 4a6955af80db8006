"""Draw a computation graph: micrograd's `draw_dot`, as Graphviz DOT text.

`draw_dot(out)` snapshots the graph that `out` was computed from: one box per `Value`
or `Tensor` (its data and grad; a tensor's shape and first few numbers) and one oval per
operation, arrows flowing left to right from the inputs to `out`.  The DOT text is made
here, without Graphviz, and is deterministic: nodes are named ``n0, n1, ...`` in
topological order (the order they were created), so the same graph always gives the
same text.  The `dot` program, when installed, turns it into SVG or PNG, and Jupyter
shows the picture inline; without it the text itself is the drawing.

The graph is walked with an explicit queue, breadth first from `out`, so any depth
works.  At most `max_nodes` nodes are drawn, those nearest to `out`; the rest become
one marker saying how many were left out.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from engine.tensor import Tensor
from engine.value import Value

Node = Value | Tensor
SHOWN_VALUES = 4  # how many numbers of a tensor a box lists
_DIRECTIONS = ("LR", "TB", "RL", "BT")
_QUOTED = str.maketrans({c: "\\" + c for c in '"\\'})  # inside a DOT string
_RECORD_SPECIALS = str.maketrans({c: "\\" + c for c in '{}|<>"\\'})  # inside a record field


class Drawing:
    """The DOT text of a graph, and its picture when Graphviz's `dot` program is installed.

    ``str(drawing)`` and ``drawing.source`` are the DOT text; `svg()`, `pipe()` and
    `render()` run `dot`; in Jupyter the drawing shows itself as SVG (as text without
    `dot`).
    """

    def __init__(self, source: str, shown: int, total: int) -> None:
        self.source = source
        self.shown = shown  # nodes drawn
        self.total = total  # nodes in the whole graph

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Drawing of {self.shown} of {self.total} nodes; print() it for the DOT text>"

    def pipe(self, format: str = "svg") -> bytes:
        """The picture in `format` (svg, png, pdf...); RuntimeError without `dot`."""
        program = find_dot()
        if program is None:
            raise RuntimeError(
                "the Graphviz program `dot` is not installed (e.g. apt install graphviz); "
                "str(drawing) is the DOT text"
            )
        command = [program, f"-T{format}"]
        done = subprocess.run(command, input=self.source.encode(), capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {done.stderr.decode().strip()}")
        return done.stdout

    def svg(self) -> str | None:
        """The picture as SVG text, or None without `dot`."""
        return self.pipe("svg").decode() if find_dot() else None

    def render(self, path: str | Path) -> Path:
        """Write the picture to `path`, in the format its suffix names (.svg, .png, .pdf).

        Without `dot`, write the DOT text to `path` with the suffix ``.dot`` instead.
        Returns the path written.
        """
        path = Path(path)
        if find_dot() is None or path.suffix in ("", ".dot", ".gv"):
            path = path.with_suffix(".dot")
            path.write_text(self.source)
        else:
            path.write_bytes(self.pipe(path.suffix[1:]))
        return path

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """Jupyter's rich display: the SVG picture, or the DOT text without `dot`."""
        bundle = {"text/plain": self.source}
        picture = self.svg()
        if picture is not None:
            bundle["image/svg+xml"] = picture
        return bundle


def find_dot() -> str | None:
    """The path of Graphviz's `dot` program, or None when it is not installed."""
    return shutil.which("dot")


def draw_dot(
    root: Node,
    max_nodes: int = 200,
    names: Mapping[Node, str] | None = None,
    rankdir: str = "LR",
) -> Drawing:
    """Draw the graph `root` was computed from (its data and grads as they are now).

    `max_nodes` bounds the boxes drawn (those nearest `root`); `names` labels some nodes,
    e.g. ``{a: "a", b: "b"}``; `rankdir` is Graphviz's direction (``"TB"``: top to bottom).
    """
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(f"draw_dot needs a Value or a Tensor, got {type(root).__name__}")
    if rankdir not in _DIRECTIONS:
        raise ValueError(f"draw_dot: rankdir must be one of {_DIRECTIONS}, got {rankdir!r}")
    if max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be at least 1, got {max_nodes}")
    reached = _breadth_first(root)
    shown = sorted(reached[:max_nodes], key=_creation_number)
    number = {node: i for i, node in enumerate(shown)}
    names = names or {}
    lines = [
        "digraph vgrad {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica"];',
    ]
    cut = []  # drawn nodes with an input that is not drawn
    for node in shown:
        i = number[node]
        label = _box_label(node, names.get(node))
        lines.append(f'  n{i} [label="{label}", shape=record];')
        if node._prev:
            lines.append(f'  n{i}_op [label="{_op_label(node).translate(_QUOTED)}"];')
            lines.append(f"  n{i}_op -> n{i};")
        for child in node._prev:
            if child in number:
                lines.append(f"  n{number[child]} -> n{i}_op;")
            elif not cut or cut[-1] is not node:
                cut.append(node)
    hidden = len(reached) - len(shown)
    if hidden:
        lines.append(
            f'  elided [label="... {hidden:,} more node{"s" if hidden > 1 else ""} '
            f'(draw_dot max_nodes={max_nodes})", shape=plaintext];'
        )
        lines.extend(f"  elided -> n{number[node]}_op [style=dashed];" for node in cut)
    lines.append("}")
    return Drawing("\n".join(lines) + "\n", len(shown), len(reached))


def _breadth_first(root: Node) -> list[Node]:
    """Every node `root` depends on, nearest first (no recursion)."""
    order = [root]
    seen = {root}
    queue = deque(order)
    while queue:
        for child in queue.popleft()._prev:
            if child not in seen:
                seen.add(child)
                order.append(child)
                queue.append(child)
    return order


def _creation_number(node: Node) -> int:
    """When `node` was made: inputs always have smaller numbers than their outputs."""
    return node._id


def _op_label(node: Node) -> str:
    """The operation that made `node` as a box shows it: ``sum axis=1``, ``index [:, 0]``."""
    details = _op_details(node)
    return f"{node._op} {details}" if details else node._op


def _op_details(node: Node) -> str:
    """A tensor operation's settings: ``axis=1, keepdims=True``, ``axes=(1, 0)``, ``[:, 0]``."""
    if not isinstance(node, Tensor):
        return ""
    op, aux = node._op, node._aux
    if op in ("sum", "mean", "max"):
        axis, keepdims = aux[:2]
        return ", ".join(
            ([] if axis is None else [f"axis={axis}"]) + (["keepdims=True"] if keepdims else [])
        )
    if op == "softmax":
        return f"axis={aux}"
    if op == "log_softmax":
        return f"axis={aux[0]}"
    if op == "transpose":
        return f"axes={aux}"
    if op == "index":
        return _index_text(aux)
    return ""


def _index_text(index: object) -> str:
    """An index as written in Python: ``[1]``, ``[:, 0]``, ``[[0, 0, 2]]``."""
    parts = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(_index_part(part) for part in parts) + "]"


def _index_part(part: object) -> str:
    if isinstance(part, slice):
        start, stop, step = (
            "" if b is None else str(b) for b in (part.start, part.stop, part.step)
        )
        return f"{start}:{stop}:{step}" if step else f"{start}:{stop}"
    if part is Ellipsis:
        return "..."
    if isinstance(part, np.ndarray):
        if part.size > SHOWN_VALUES:
            return f"<array of shape {part.shape}>"
        return str(part.tolist())
    return repr(part)


def _box_label(node: Node, name: str | None) -> str:
    fields = [] if name is None else [name.translate(_RECORD_SPECIALS)]
    if isinstance(node, Value):
        fields += [f"data {_format_number(node.data)}", f"grad {_format_number(node.grad)}"]
    else:
        fields += [
            f"shape {node.shape}",
            f"data {_format_array(node.data)}",
            f"grad {_format_array(node.grad)}" if node.requires_grad else "no grad",
        ]
    return "{ " + " | ".join(fields) + " }"


def _format_number(x: float) -> str:
    """A float in six significant digits: ``-4``, ``24.7041``, ``1e-07``, ``nan``."""
    return f"{x:.6g}"


def _format_array(a: np.ndarray | None) -> str:
    """``None``, one number, or the first few numbers of an array in brackets."""
    if a is None:
        return "None"
    if a.size == 1:
        return f"{a.item():.4g}"
    flat = [f"{x:.4g}" for x in a.flat[:SHOWN_VALUES]]
    if a.size > SHOWN_VALUES:
        flat.append("...")
    return "[" + ", ".join(flat) + "]"
