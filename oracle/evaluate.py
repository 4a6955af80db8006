"""The oracle's answers for an IR case: values, gradients, VJPs and JVPs in float64 JAX.

Scalar graphs run on the compiled interpreter (`oracle.interpreter`), tensor graphs on the
compiled tensor interpreter (`oracle.tensor_interpreter`), or, for the few it leaves out
and for JVPs, on a jitted function per graph structure (`oracle.traced`); all use the op
definitions of `oracle.jax_ops`.  Scalar values and gradients come back as Python floats,
tensor ones as float64 NumPy arrays.  Inputs and tangents are mappings from input name to value.

Conventions at special points (those of JAX, which the target spec adopts):
relu'(0) = 0; max splits the gradient equally among tied maxima; d/dx x**p = p*x**(p-1),
except that an int exponent 0 gives 0 everywhere while a float exponent 0.0 gives nan at
x = 0; d/dy x**y at x = 0 is 0 (JAX uses log(1) in place of log(0)); 0 ** -1 = inf with
gradient -inf; log(0) = -inf with gradient inf; log(x < 0) = nan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle import interpreter, tensor_interpreter, traced
from oracle._jax import ensure_x64
from oracle.ir import SCALAR, Graph

Number = float | np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Every node's value and, by input name, the gradient of ``sum_k <u_k, out_k>``."""

    graph: Graph
    values: tuple[Number, ...]
    grads: dict[str, Number]

    @property
    def outputs(self) -> tuple[Number, ...]:
        """The values of the graph's outputs."""
        return tuple(self.values[o] for o in self.graph.outputs)


def vjp(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any] | None = None
) -> Evaluation:
    """Values and the VJP of `upstream` (one per output; default: ones) for every input."""
    return vjp_batch([graph], [inputs], None if upstream is None else [upstream])[0]


def grad(graph: Graph, inputs: Mapping[str, Any], output: int = 0) -> Evaluation:
    """Values and the gradient of output number `output` (a one-element value)."""
    if np.prod(graph.shapes[graph.outputs[output]]) != 1:
        raise ValueError(
            f"output {output} has shape {graph.shapes[graph.outputs[output]]}, not one element"
        )
    upstream = [np.ones(graph.shapes[o]) * (k == output) for k, o in enumerate(graph.outputs)]
    return vjp(graph, inputs, upstream)


def values(graph: Graph, inputs: Mapping[str, Any]) -> tuple[Number, ...]:
    """Every node's value."""
    return vjp(graph, inputs).values


def jvp(
    graph: Graph, inputs: Mapping[str, Any], tangents: Mapping[str, Any]
) -> tuple[tuple[Number, ...], tuple[Number, ...]]:
    """Every node's value and its derivative along `tangents` (missing inputs: zero)."""
    if graph.kind == SCALAR:
        vals, tans = interpreter.jvp(interpreter.encode(graph), inputs, tangents)
        return tuple(vals.tolist()), tuple(tans.tolist())
    vals, tans = traced.jvp(graph, inputs, tangents)
    return tuple(np.asarray(v) for v in vals), tuple(np.asarray(t) for t in tans)


def vjp_batch(
    graphs: Sequence[Graph],
    inputs: Sequence[Mapping[str, Any]],
    upstreams: Sequence[Sequence[Any]] | None = None,
) -> list[Evaluation]:
    """`vjp` for many cases; scalar graphs run together through the vmapped interpreter."""
    ensure_x64()
    results: list[Evaluation | None] = [None] * len(graphs)
    scalar = [k for k, g in enumerate(graphs) if g.kind == SCALAR]
    if scalar:
        programs = [interpreter.encode(graphs[k]) for k in scalar]
        ups = [
            [1.0] * len(graphs[k].outputs)
            if upstreams is None
            else [float(u) for u in upstreams[k]]
            for k in scalar
        ]
        vals, grads = interpreter.vjp(programs, [inputs[k] for k in scalar], ups)
        for k, v, g in zip(scalar, vals, grads, strict=True):
            grads_by_name = dict(zip(graphs[k].input_names, g.tolist(), strict=True))
            results[k] = Evaluation(graphs[k], tuple(v.tolist()), grads_by_name)
    for k, graph in enumerate(graphs):
        if graph.kind != SCALAR:
            ups = (
                [np.ones(graph.shapes[o]) for o in graph.outputs]
                if upstreams is None
                else upstreams[k]
            )
            answer = tensor_interpreter.vjp(graph, inputs[k], ups)
            vals, grads = answer if answer is not None else traced.vjp(graph, inputs[k], ups)
            results[k] = Evaluation(
                graph,
                tuple(np.asarray(v) for v in vals),
                dict(zip(graph.input_names, (np.asarray(g) for g in grads), strict=True)),
            )
    return results  # type: ignore[return-value]
