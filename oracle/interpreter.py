"""One compiled JAX interpreter for every scalar graph: the graph is data, not code.

Tracing and compiling a JAX function per graph costs ~0.2 s; the suite evaluates
thousands of graphs.  Instead a scalar graph is encoded as arrays (`Program`): an op
code and two operand slots per node.  The slots index a *table* of 2B float64 values for
a graph padded to B nodes (a size bucket: 16, 24, 32, 48, 64, ...): slot i < B holds
node i's value (inputs are written there first), slot B + i holds node i's constant.  A
`lax.fori_loop` over the nodes computes every op's result on the node's operands and
keeps the one its op code selects (`lax.select_n`), so one XLA program runs any graph of
the bucket, and `jax.vmap` runs a batch of graphs at once.

The reverse pass is a second loop, over the nodes an output depends on from the last to
the first, that pulls each node's cotangent back to its operand slots with `jax.vjp` of
that node's op, reading the operands from the finished table.  This is the chain rule
`jax.vjp` of the whole forward loop would apply, with the same per-op derivative rules,
but without stacking every step's residuals or visiting dead nodes (about 5x faster).
Branches a node does not take are computed on guarded operands
(``where(op == LOG, x, 1.0)``, the double-`where` trick), so a branch whose derivative
would be inf at the node's real operands (log at 0, x/0, exp(1000)) contributes 0, not
0 * inf = nan.  Padding nodes copy their own slot.  JVPs are `jax.jvp` of the forward
loop.  Values and derivatives are those of `oracle.jax_ops`, as in the per-graph
functions of `oracle.traced`.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from oracle import jax_ops
from oracle.ir import SCALAR, Graph

(KEEP, ADD, SUB, MUL, DIV, POW, POWI, NEG, RELU, TANH, EXP, LOG, SIGMOID) = range(13)
_CODES = {
    "input": KEEP,
    "add": ADD,
    "sub": SUB,
    "mul": MUL,
    "div": DIV,
    "pow": POW,
    "neg": NEG,
    "relu": RELU,
    "tanh": TANH,
    "exp": EXP,
    "log": LOG,
    "sigmoid": SIGMOID,
}
MIN_BUCKET = 16
BATCH_CHUNK = 512  # graphs per vmapped call
_BATCH_BUCKETS = (16, 128, BATCH_CHUNK)
_UNROLL = 2


@dataclass(slots=True)
class Program:
    """A scalar graph as arrays padded to its bucket B.

    `code` (int32, 4 x B): op code; first and second operand slot (slot B + i holds node
    i's constant); and the reverse pass's schedule: how many nodes it visits, then those
    nodes, last first.  It visits only the operations an output depends on: JAX leaves
    the rest out of its reverse pass too (so 0 * inf from a dead log(0) never arises),
    and in random graphs they are most of the nodes.  `consts` (B): the constants.
    """

    code: np.ndarray
    consts: np.ndarray
    n_nodes: int
    inputs: np.ndarray
    names: tuple[str, ...]
    outputs: tuple[int, ...]

    @property
    def bucket(self) -> int:
        return self.code.shape[1]

    def case(
        self, values: Sequence[float], seed: Mapping[int, float], size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """`code` padded to `size` slots (constant slots move along), and float64 (3, size)
        rows: input values in their slots, constants, and the seed (cotangents at the
        outputs or tangents at the inputs)."""
        code = self.code
        if size != self.bucket:
            code = np.zeros((4, size), np.int32)
            code[1] = np.arange(size)
            code[:, : self.bucket] = self.code
            code[1:3, : self.bucket] += (self.code[1:3] >= self.bucket) * (size - self.bucket)
        floats = np.zeros((3, size))
        floats[0, self.inputs] = values
        floats[1, : self.bucket] = self.consts
        for slot, value in seed.items():
            floats[2, slot] += value
        return code, floats


def encode(graph: Graph) -> Program:
    """The program that computes `graph`."""
    if graph.kind != SCALAR:
        raise ValueError("the interpreter runs scalar graphs only")
    n = len(graph.nodes)
    size = bucket(n)
    ops, a, b, consts = [KEEP] * size, list(range(size)), [0] * size, [0.0] * size
    live = [0] * size
    nodes, codes = graph.nodes, _CODES
    for i, node in enumerate(nodes):  # the hot loop of batch evaluation: keep it lean
        args = node.args
        if not args:
            continue  # an input: KEEP its slot
        ops[i] = codes[node.op]
        a[i] = args[0]
        attrs = node.attrs
        if "const" not in attrs:
            b[i] = args[-1]
            continue
        const = consts[i] = attrs["const"]
        if attrs["side"] == "left":
            a[i], b[i] = size + i, args[0]
        else:
            b[i] = size + i
            if node.op == "pow" and jax_ops.int_exponent(const):
                ops[i] = POWI
    for o in graph.outputs:
        live[o] = 1
    schedule = [0] * size  # how many, then which: live operations, last first
    for i in range(n - 1, -1, -1):
        if live[i] and nodes[i].args:
            schedule[0] += 1
            schedule[schedule[0]] = i
            for arg in nodes[i].args:
                live[arg] = 1
    return Program(  # array.array converts lists ~5x faster than np.array
        code=np.frombuffer(array("i", ops + a + b + schedule), np.int32).reshape(4, size),
        consts=np.frombuffer(array("d", consts), np.float64),
        n_nodes=n,
        inputs=np.array(graph.input_indices, np.int64),
        names=graph.input_names,
        outputs=graph.outputs,
    )


def bucket(n: int) -> int:
    """The padded size for a graph of `n` nodes: 16, 24, 32, 48, 64, 96, ... (at most
    1.5 times the previous one, so padding wastes at most a third of the loop)."""
    if n <= MIN_BUCKET:
        return MIN_BUCKET
    power = 1 << (n - 1).bit_length()
    return power * 3 // 4 if n <= power * 3 // 4 else power


def vjp(
    programs: Sequence[Program],
    inputs: Sequence[Mapping[str, float]],
    upstreams: Sequence[Sequence[float]],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per program, every node's value and d(sum_k u_k * out_k)/d(input) in input order.

    One program runs unbatched; several run vmapped, in chunks of graphs of similar size.
    """
    if len(programs) == 1:
        p = programs[0]
        code, floats = p.case([inputs[0][n] for n in p.names], _seed(p, upstreams[0]), p.bucket)
        out = np.asarray(_vjp_one(code, floats))
        return [out[0, : p.n_nodes]], [out[1, p.inputs]]
    order = sorted(range(len(programs)), key=lambda k: programs[k].n_nodes)
    values: list[np.ndarray] = [np.empty(0)] * len(programs)
    grads: list[np.ndarray] = [np.empty(0)] * len(programs)
    for begin in range(0, len(order), BATCH_CHUNK):
        chunk = order[begin : begin + BATCH_CHUNK]
        size = max(programs[k].bucket for k in chunk)
        n_rows = next(r for r in _BATCH_BUCKETS if r >= len(chunk))
        codes = np.zeros((n_rows, 4, size), np.int32)
        codes[:, 1] = np.arange(size)
        floats = np.zeros((n_rows, 3, size))
        for r, k in enumerate(chunk):
            p = programs[k]
            codes[r], floats[r] = p.case(
                [inputs[k][n] for n in p.names], _seed(p, upstreams[k]), size
            )
        out = np.asarray(_vjp_many(codes, floats))
        for r, k in enumerate(chunk):
            p = programs[k]
            values[k], grads[k] = out[r, 0, : p.n_nodes], out[r, 1, p.inputs]
    return values, grads


def jvp(
    program: Program, inputs: Mapping[str, float], tangents: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Every node's value and its directional derivative along `tangents` (by input name)."""
    p = program
    seed = {int(i): tangents.get(n, 0.0) for i, n in zip(p.inputs, p.names, strict=True)}
    out = np.asarray(_jvp_one(*p.case([inputs[n] for n in p.names], seed, p.bucket)))
    return out[0, : p.n_nodes], out[1, : p.n_nodes]


def _seed(program: Program, upstream: Sequence[float]) -> dict[int, float]:
    """The cotangent of every output slot (an output listed twice gets both)."""
    seed: dict[int, float] = {}
    for o, u in zip(program.outputs, upstream, strict=True):
        seed[o] = seed.get(o, 0.0) + u
    return seed


def _apply(op: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """The result of op code `op` on operands x, y, with untaken branches guarded."""
    one = jnp.ones_like(x)
    is_pow = (op == POW) | (op == POWI)
    base = jnp.where(is_pow, x, one)
    exponent = jnp.where(op == POW, y, one)
    int_exponent = jnp.where(op == POWI, y, one).astype(jnp.int64)
    return lax.select_n(
        op,
        x,
        x + y,
        x - y,
        x * y,
        x / jnp.where(op == DIV, y, one),
        lax.pow(base, exponent),
        lax.pow(base, int_exponent),
        -x,
        jax_ops.relu(x),
        jnp.tanh(x),
        jnp.exp(jnp.where(op == EXP, x, jnp.zeros_like(x))),
        jnp.log(jnp.where(op == LOG, x, one)),
        jax_ops.sigmoid(x),
    )


def _forward(ops: jax.Array, a: jax.Array, b: jax.Array, table: jax.Array) -> jax.Array:
    """The table with every node's value written into its slot."""

    def step(i: jax.Array, table: jax.Array) -> jax.Array:
        return table.at[i].set(_apply(ops[i], table[a[i]], table[b[i]]))

    return lax.fori_loop(0, ops.shape[0], step, table, unroll=_UNROLL)


def _backward(code: jax.Array, table: jax.Array, cotangent: jax.Array) -> jax.Array:
    """Reverse sweep over the scheduled nodes: each passes its cotangent to its operand
    slots through `jax.vjp` of `_apply`; returns the cotangent of every slot."""
    ops, a, b, schedule = code

    def step(k: jax.Array, ct: jax.Array) -> jax.Array:
        i = schedule[k + 1]
        _, pullback = jax.vjp(partial(_apply, ops[i]), table[a[i]], table[b[i]])
        dx, dy = pullback(ct[i])
        return ct.at[i].set(0.0).at[a[i]].add(dx).at[b[i]].add(dy)

    return lax.fori_loop(0, schedule[0], step, cotangent)


def _values_and_vjp(code: jax.Array, floats: jax.Array) -> jax.Array:
    """(2, B): node values, and the cotangent of every slot (the gradient at inputs)."""
    (ops, a, b, _), (start, consts, cotangent) = code, floats
    size = ops.shape[0]
    table = _forward(ops, a, b, jnp.concatenate([start, consts]))
    ct = _backward(code, table, jnp.concatenate([cotangent, jnp.zeros_like(consts)]))
    return jnp.stack([table[:size], ct[:size]])


def _values_and_jvp(code: jax.Array, floats: jax.Array) -> jax.Array:
    """(2, B): node values and their tangents."""
    (ops, a, b, _), (start, consts, tangent) = code, floats
    size = ops.shape[0]

    def values(s: jax.Array) -> jax.Array:
        return _forward(ops, a, b, jnp.concatenate([s, consts]))[:size]

    return jnp.stack(jax.jvp(values, (start,), (tangent,)))


_vjp_one = jax.jit(_values_and_vjp)
_vjp_many = jax.jit(jax.vmap(_values_and_vjp))
_jvp_one = jax.jit(_values_and_jvp)
