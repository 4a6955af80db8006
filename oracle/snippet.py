"""Print an IR case as a standalone Python snippet that reproduces it on a target.

The snippet imports the target's `Value` (scalar graphs) or `Tensor` (tensor graphs),
builds the inputs, rebuilds every node with the target's operators (a constant stays on
the side of the operator it was on, so ``2.0 + x`` exercises `__radd__`), runs
``backward()`` on the outputs weighted by the upstream gradient, and prints the outputs
and every input's gradient.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from oracle.ir import BINARY_OPS, NETWORK_OPS, SCALAR, Graph

_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def to_python(
    graph: Graph,
    inputs: Mapping[str, Any],
    module: str = "engine",
    upstream: Sequence[Any] | None = None,
    constants_as_leaves: bool = False,
) -> str:
    """Python source that rebuilds `graph` on the target `module` and prints its gradients.

    `module` is an importable name (``engine``, ``micrograd.engine``) or a path to a
    ``.py`` file or a package folder.  `upstream` holds one upstream gradient per output
    (the snippet backpropagates ``sum(out * u)``); by default every output gets ones.
    With `constants_as_leaves` (a target whose operators refuse plain numbers), every
    constant operand but an exponent is written as a leaf, ``Value(3.0)``.
    """
    cls = "Value" if graph.kind == SCALAR else "Tensor"
    wrap = (lambda text: f"{cls}({text})") if constants_as_leaves else (lambda text: text)
    names = [_var(graph, i) for i in range(len(graph.nodes))]
    outputs = ", ".join(names[o] for o in graph.outputs)
    lines = [f"# vgrad case: {len(graph.nodes)} nodes, outputs {outputs}"]
    if graph.kind != SCALAR:
        lines.append("import numpy as np")
    if any(node.op in NETWORK_OPS for node in graph.nodes):
        lines += import_lines(module, [cls, "functional"])
    else:
        lines += _import_lines(module, cls)
    lines.append("")
    if graph.kind != SCALAR:
        lines += ["np.set_printoptions(precision=17)", ""]
    for i, node in enumerate(graph.nodes):
        if node.op == "input":
            lines.append(f"{names[i]} = {cls}({_literal(inputs[names[i]], graph.kind)})")
        else:
            lines.append(f"{names[i]} = {_expression(node, names, wrap)}")
    lines.append(f"loss = {_loss(graph, names, upstream, wrap)}")
    lines.append("loss.backward()")
    lines += [f"print({names[o]!r}, '=', {names[o]}.data)" for o in dict.fromkeys(graph.outputs)]
    lines += [f"print('d loss / d {n} =', {n}.grad)" for n in graph.input_names]
    return "\n".join(lines) + "\n"


def _var(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    return node.attrs["name"] if node.op == "input" else f"n{i}"


def import_lines(module: str, names: Sequence[str]) -> list[str]:
    """Lines that import `names` (classes, or the `optim` namespace) from the target."""
    if not (module.endswith(".py") or os.sep in module or "/" in module):
        return [f"from {module} import {', '.join(names)}"]
    lines = _import_lines(module, names[0])
    for name in names[1:]:
        lines.append(
            f"{name} = getattr(target, {name!r}, None) or importlib.import_module('target.{name}')"
        )
    return lines


def _import_lines(module: str, cls: str) -> list[str]:
    if not (module.endswith(".py") or os.sep in module or "/" in module):
        return [f"from {module} import {cls}"]
    path = module.rstrip("/" + os.sep)
    if module.endswith(".py"):
        spec = f"importlib.util.spec_from_file_location('target', {path!r})"
    else:
        init = os.path.join(path, "__init__.py")
        spec = (
            f"importlib.util.spec_from_file_location('target', {init!r}, "
            f"submodule_search_locations=[{path!r}])"
        )
    return [
        "import importlib",
        "import importlib.util",
        "import sys",
        "",
        f"spec = {spec}",
        "target = importlib.util.module_from_spec(spec)",
        "sys.modules['target'] = target",
        "spec.loader.exec_module(target)",
        f"{cls} = target.{cls}",
    ]


def _expression(node: Any, names: list[str], wrap: Any = lambda text: text) -> str:
    op, attrs = node.op, node.attrs
    args = [names[a] for a in node.args]
    if op in BINARY_OPS:
        symbol = _SYMBOLS[op]
        if node.const_side is None:
            return f"{args[0]} {symbol} {args[1]}"
        const = _operand(attrs["const"]) if op == "pow" else wrap(_operand(attrs["const"]))
        if node.const_side == "left":
            return f"{const} {symbol} {args[0]}"
        return f"{args[0]} {symbol} {const}"
    if op == "matmul":
        return f"{args[0]} @ {args[1]}"
    if op == "neg":
        return f"-{args[0]}"
    if op in ("sum", "mean", "max"):
        options = []
        if attrs["axis"] is not None:
            options.append(f"axis={attrs['axis']!r}")
        if attrs["keepdims"]:
            options.append("keepdims=True")
        return f"{args[0]}.{op}({', '.join(options)})"
    if op == "reshape":
        shape = attrs["shape"]
        return f"{args[0]}.reshape({', '.join(map(str, shape))})"
    if op == "transpose":
        axes = attrs["axes"]
        return f"{args[0]}.transpose({', '.join(map(str, axes)) if axes is not None else ''})"
    if op == "T":
        return f"{args[0]}.T"
    if op in ("softmax", "log_softmax"):
        return f"{args[0]}.{op}(axis={attrs['axis']})"
    if op == "index":
        return f"{args[0]}[{', '.join(_index_item(v) for v in attrs['index'])}]"
    if op in NETWORK_OPS:
        return _functional_call(op, attrs, args)
    return f"{args[0]}.{op}()"


_PLAIN_DEFAULTS = {"stride": 1, "padding": 0, "start_dim": 1}


def _functional_call(op: str, attrs: Any, args: list[str]) -> str:
    """``functional.op(...)``, keywords only where they differ from torch's defaults (as the
    suite's worker calls it)."""
    if op in ("max_pool2d", "avg_pool2d"):
        args = [*args, repr(attrs["kernel_size"])]
    if op == "cross_entropy":
        args = [*args, _array(attrs["labels"])]
    if op in ("binary_cross_entropy_with_logits", "hinge_loss"):
        second = attrs["targets" if "targets" in attrs else "labels"]
        args = [*args, f"Tensor({_array(np.asarray(second, np.float64))})"]
    for name, default in _PLAIN_DEFAULTS.items():
        plain = None if name == "stride" and op != "conv2d" else default
        if name in attrs and attrs[name] != plain and attrs[name] != (plain, plain):
            args.append(f"{name}={attrs[name]!r}")
    return f"functional.{op}({', '.join(args)})"


def _loss(
    graph: Graph, names: list[str], upstream: Sequence[Any] | None, wrap: Any = lambda t: t
) -> str:
    terms = []
    for k, o in enumerate(graph.outputs):
        term = names[o]
        if upstream is not None and graph.kind != SCALAR:
            # exactly what the suite's executor does: an array upstream, then .sum(), also
            # for a one-element output
            u = np.asarray(upstream[k], dtype=np.float64)
            term = f"({term} * {wrap(_array(u))}).sum()"
        elif upstream is not None:
            term = f"{term} * {wrap(_operand(_constant(upstream[k])))}"
        elif graph.kind != SCALAR and math.prod(graph.shapes[o]) != 1:
            term = f"{term}.sum()"
        terms.append(term)
    return " + ".join(terms)


def _constant(value: Any) -> int | float | np.ndarray:
    if isinstance(value, (int, float)):
        return value
    return np.asarray(value, dtype=np.float64)


def _literal(value: Any, kind: str) -> str:
    if kind == SCALAR:
        return _number(float(value) if not isinstance(value, int) else value)
    return _array(np.asarray(value, dtype=np.float64))


def _operand(value: Any) -> str:
    """A constant as it appears next to an operator (negatives in parentheses)."""
    text = _array(value) if isinstance(value, np.ndarray) else _number(value)
    return f"({text})" if text.startswith("-") else text


def _number(x: int | float) -> str:
    if isinstance(x, int):
        return repr(x)
    if math.isnan(x):
        return "float('nan')"
    if math.isinf(x):
        return "float('inf')" if x > 0 else "-float('inf')"
    return repr(float(x))


def _array(a: np.ndarray) -> str:
    is_int = a.dtype.kind in "iu"
    if a.size == 0:
        dtype = ", dtype=np.int64" if is_int else ""
        return f"np.zeros({a.shape!r}{dtype})"
    return f"np.array({_nested(a.tolist(), is_int)})"


def _nested(x: Any, is_int: bool) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(v, is_int) for v in x) + "]"
    return repr(int(x)) if is_int else _number(float(x))


def _index_item(v: Any) -> str:
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) if v.step is None else ":".join(parts)
    if isinstance(v, np.ndarray):
        return _array(v)
    return str(v)
