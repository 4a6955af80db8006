"""A JAX function per graph, jitted once per graph structure and shapes.

`function(graph)` returns a plain JAX function of the input values and the graph's
constants that returns every node's value; `vjp` and `jvp` run it through
`jax.vjp` / `jax.jvp` under `jax.jit`.  Constants are arguments, not baked into the
program, so graphs that differ only in their constants share one compiled function (an
int exponent of ``x ** p`` is the exception: it selects the integer-power rule and is part
of the structure).  Compiled functions are kept in an LRU cache keyed by the graph's
structure and shapes, and on disk by JAX's persistent compilation cache.  They are
compiled for speed of compilation (`oracle._jax.FAST_COMPILE`: LLVM at -O0, XLA's
classic emitters): a new structure costs ~0.1 s instead of ~0.25 s (tracing and lowering
~40 ms of it), and the programs are too small for optimization to matter (a graph with
a `functional` op or a `max` excepted, see `_compiled`).  Compiling one
function per op instead (cached by op, attributes and shapes) was measured slower: a
random graph's ops rarely repeat exactly, and each costs a compilation of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from oracle import _jax, codec, jax_ops, networks
from oracle.ir import BINARY_OPS, NETWORK_OPS, Graph, Node

CACHE_SIZE = 512
_cache: OrderedDict[str, tuple[Callable, Callable]] = OrderedDict()

Values = tuple[jax.Array, ...]


def function(graph: Graph) -> Callable[[Sequence[Any], Sequence[Any]], Values]:
    """``f(inputs, consts) -> every node's value`` for `graph` (not jitted).

    `inputs` are the input values in input order, `consts` the traced constants in node
    order (see `traced_consts`).
    """

    def run(inputs: Sequence[Any], consts: Sequence[Any]) -> Values:
        inputs_left, consts_left = iter(inputs), iter(consts)
        values: list[jax.Array] = []
        for node in graph.nodes:
            if node.op == "input":
                values.append(jnp.asarray(next(inputs_left), jnp.float64))
                continue
            const = None
            if node.const_side is not None:
                const = node.attrs["const"] if _static(node) else next(consts_left)
            values.append(_apply(node, [values[a] for a in node.args], const))
        return tuple(values)

    return run


def traced_consts(graph: Graph) -> tuple[np.ndarray, ...]:
    """The constants `function` takes as arguments, in node order."""
    return tuple(
        np.asarray(n.attrs["const"], np.float64)
        for n in graph.nodes
        if n.const_side is not None and not _static(n)
    )


def vjp(graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any]) -> tuple[Values, Values]:
    """Every node's value, and d(sum_k <upstream_k, out_k>)/d(input) in input order."""
    fn_vjp, _ = _compiled(graph)
    args = [np.asarray(inputs[name], np.float64) for name in graph.input_names]
    cotangents = [np.asarray(u, np.float64) for u in upstream]
    return fn_vjp(args, traced_consts(graph), cotangents)


def jvp(
    graph: Graph, inputs: Mapping[str, Any], tangents: Mapping[str, Any]
) -> tuple[Values, Values]:
    """Every node's value and tangent along `tangents` (missing inputs: zero)."""
    _, fn_jvp = _compiled(graph)
    args = [np.asarray(inputs[name], np.float64) for name in graph.input_names]
    directions = [
        np.broadcast_to(np.asarray(tangents.get(name, 0.0), np.float64), x.shape)
        for name, x in zip(graph.input_names, args, strict=True)
    ]
    return fn_jvp(args, traced_consts(graph), directions)


def structure_key(graph: Graph) -> str:
    """Equal for graphs that differ at most in their traced constants' values."""
    nodes = []
    for node in graph.nodes:
        attrs = dict(node.attrs)
        if node.const_side is not None and not _static(node):
            attrs["const"] = ("traced", np.shape(attrs["const"]))
        nodes.append((node.op, node.args, attrs))
    return codec.key((graph.kind, tuple(nodes), graph.outputs))


def _compiled(graph: Graph) -> tuple[Callable, Callable]:
    key = structure_key(graph)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    run = function(graph)
    outputs = graph.outputs

    def values_and_vjp(inputs: list, consts: tuple, cotangents: list) -> tuple[Values, Values]:
        def outs(xs: list) -> tuple[Values, Values]:
            values = run(xs, consts)
            return tuple(values[o] for o in outputs), values

        # only the outputs are differentiated: nodes no output depends on stay out of the
        # reverse pass (a zero cotangent through log(0) would be 0 * inf = nan)
        _, pullback, values = jax.vjp(outs, inputs, has_aux=True)
        return values, tuple(pullback(tuple(cotangents))[0])

    def values_and_jvp(inputs: list, consts: tuple, tangents: list) -> tuple[Values, Values]:
        return jax.jvp(lambda xs: run(xs, consts), (inputs,), (tangents,))

    # a graph with a `functional` op or a `max` compiles with XLA's default options: at
    # -O0, a matmul plus a bias feeding a max was measured to lose the max's gradient on
    # some rows, and to give an infinite gradient to the bias when the inner axis is 1 (the
    # sum recomputed with and without a fused multiply-add no longer equals the maximum)
    fragile = any(node.op in NETWORK_OPS or node.op == "max" for node in graph.nodes)
    options = None if fragile else _jax.FAST_COMPILE
    _cache[key] = (
        jax.jit(values_and_vjp, compiler_options=options),
        jax.jit(values_and_jvp, compiler_options=options),
    )
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return _cache[key]


def _static(node: Node) -> bool:
    """An int exponent of ``x ** p``: part of the program, not an argument."""
    return (
        node.op == "pow"
        and node.const_side == "right"
        and jax_ops.int_exponent(node.attrs["const"])
    )


def _apply(node: Node, args: list[jax.Array], const: Any) -> jax.Array:
    op, attrs = node.op, node.attrs
    if op in BINARY_OPS:
        if node.const_side is None:
            x, y = args
        else:
            x, y = (const, args[0]) if node.const_side == "left" else (args[0], const)
        return jax_ops.BINARY[op](x, y)
    x = args[0]
    if op in jax_ops.UNARY:
        return jax_ops.UNARY[op](x)
    if op == "matmul":
        return jnp.matmul(x, args[1])
    if op in ("sum", "mean", "max"):
        reduce = {"sum": jnp.sum, "mean": jnp.mean, "max": jnp.max}[op]
        return reduce(x, axis=attrs["axis"], keepdims=attrs["keepdims"])
    if op == "reshape":
        return jnp.reshape(x, attrs["shape"])
    if op == "transpose":
        return jnp.transpose(x, attrs["axes"])
    if op == "T":
        return x.T
    if op == "softmax":
        return jax.nn.softmax(x, axis=attrs["axis"])
    if op == "log_softmax":
        return jax.nn.log_softmax(x, axis=attrs["axis"])
    if op == "index":
        return x[attrs["index"]]
    if op in NETWORK_OPS:
        return _network(op, attrs, args)
    raise ValueError(f"unknown op {op!r}")


def _network(op: str, attrs: Any, args: list[jax.Array]) -> jax.Array:
    """A `functional` node: `oracle.networks`'s reference in torch's layout."""
    reference = networks.REFERENCES[op]
    if op in ("conv2d", "linear"):
        return reference(*args, **{k: attrs[k] for k in ("stride", "padding") if k in attrs})
    if op in ("max_pool2d", "avg_pool2d"):
        return reference(args[0], attrs["kernel_size"], attrs["stride"], attrs["padding"])
    if op == "flatten":
        return reference(args[0], attrs["start_dim"])
    if op == "mse_loss":
        return reference(*args)
    second = attrs["labels"] if "labels" in attrs else attrs["targets"]
    return reference(args[0], jnp.asarray(second))
