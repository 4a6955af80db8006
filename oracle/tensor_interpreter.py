"""One compiled JAX interpreter for tensor graphs: shapes are data, not code.

`oracle.traced` compiles a JAX function per graph structure (~0.1 s each), and random
tensor graphs rarely repeat one.  Here every tensor op is a *gather* followed by JAX's
own function of it, so one XLA program runs any graph of a size bucket:

* every node's value is a row of a table, flattened (C order) and padded to S entries;
  slot ``i`` holds node ``i``, slot ``B + i`` node ``i``'s constant (as in
  `oracle.interpreter`), for a graph padded to B nodes;
* for each node, output entry ``j`` reads a list of K entries of each operand row
  (`Program.gather`, with a mask of the real ones).  The lists are computed in NumPy by
  applying the op to an array of entry numbers: broadcasting a binary op's operands,
  reshape, transpose and indexing (repeats included) read one entry each; a reduction
  reads the entries it reduces, matmul the row and column it contracts, softmax the
  slice along its axis;
* the op is then JAX's: `oracle.jax_ops` elementwise, ``sum``/``max`` over the read
  entries (``mean`` divides the sum by their count, as `jnp.mean` does),
  ``sum(x * y)`` for matmul, `jax.nn.softmax` / `jax.nn.log_softmax` with ``where=`` the
  mask, keeping entry ``j``'s own position of the slice.

A `lax.fori_loop` runs the nodes through `lax.switch` on the op code, one graph per
call (vmapped, a switch would run every op at every node); the reverse loop
visits only the nodes an output depends on (as `jax.vjp` of the whole graph does) and
pulls each node's cotangent back with `jax.vjp` of its op, so the derivative rules are
JAX's (the gathers' transpose is a scatter-add: repeated indices add up).  Entries past a
value's size, and the padding of the read lists, are replaced through ``where`` before
any arithmetic (1 for elementwise ops, 0 for sums, -inf for max), so their cotangents
are exact zeros and a pole at the padding never reaches a real entry (0 * inf = nan).

Only rounding differs from `oracle.traced`: sums run in another order (a few ulps; a
gradient that cancels to rounding noise gets other noise, which the error analysis
bounds by the magnitude of its terms).  `vjp` returns None where the interpreter would
not give JAX's answer, and the caller uses `oracle.traced`: a max whose value has -inf
(JAX's rule splits the gradient among entries equal to the max, and the padding is -inf
too), a value with no entries, an index NumPy refuses, a softmax of a 0-d value, a graph
too large for the buckets' memory, a `functional` op (`oracle.ir.NETWORK_OPS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from oracle import jax_ops
from oracle.ir import NETWORK_OPS, TENSOR, Graph, Node

OPS = (
    "input",  # KEEP: the slot keeps its value
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "powi",  # x ** p with an int constant p: the integer-exponent rule
    "neg",
    "relu",
    "tanh",
    "exp",
    "log",
    "sigmoid",
    "gather",  # reshape, transpose, T, index
    "sum",
    "mean",
    "max",
    "matmul",
    "softmax",
    "log_softmax",
)
_CODE = {op: code for code, op in enumerate(OPS)}
_CODE.update(reshape=_CODE["gather"], transpose=_CODE["gather"], T=_CODE["gather"])
_CODE["index"] = _CODE["gather"]
# Buckets, one compiled program each: nodes 32, 64, ...; entries per row S and reads per
# entry K grow together, (16, 4), (64, 16), (256, 64), ..., which keeps the number of
# programs small.  A program costs ~3 s of CPU to compile once per machine (JAX's
# persistent cache keeps it) and ~0.5 s to trace in each process; it then runs a graph in
# ~0.3, 0.5 and 4 ms at the three sizes above (XLA's default optimization: at -O0, as
# `oracle.traced` compiles its one-off programs, twice that).
MIN_NODES = 32
MIN_SIZE = 16
MIN_READS = 4
MAX_READS = 2**21  # B * S * K beyond which a graph goes to `oracle.traced` (time, memory)


@dataclass(slots=True)
class Program:
    """A tensor graph as arrays: B nodes, rows of S entries, K reads per entry.

    `code` (int32, 4 x B): op code, first and second operand slot, and the reverse
    schedule (how many, then which nodes, last first), as in `oracle.interpreter`.
    `gather` (int32, B x 2 x S x K): the entries of each operand that output entry j
    reads; `mask` (bool, B x S x K): which of them are real (row j has none past the
    node's size); `pos` (int32, B x S): entry j's position in its softmax slice;
    `count` (B): the number of entries a mean averages.  `consts` (B x S): constants.
    """

    code: np.ndarray
    gather: np.ndarray
    mask: np.ndarray
    pos: np.ndarray
    count: np.ndarray
    consts: np.ndarray
    graph: Graph
    sizes: tuple[int, ...]


class Unsupported(ValueError):
    """A graph the interpreter does not run as JAX would (see the module docstring)."""


def encode(graph: Graph) -> Program:
    """The program that computes `graph`; raises `Unsupported` for the exceptions."""
    if graph.kind != TENSOR:
        raise ValueError("the tensor interpreter runs tensor graphs only")
    shapes = graph.shapes
    if any(0 in s for s in shapes):
        raise Unsupported("a value with no entries")
    if any(node.op in NETWORK_OPS for node in graph.nodes):
        raise Unsupported("a `functional` op (convolution, pooling, a loss)")
    n = len(graph.nodes)
    reads = [
        _reads(nd, [shapes[a] for a in nd.args], shapes[i]) for i, nd in enumerate(graph.nodes)
    ]
    consts = [
        np.asarray(node.attrs["const"], np.float64).ravel() if node.const_side else None
        for node in graph.nodes
    ]
    sizes = tuple(int(np.prod(s)) for s in shapes)
    level = max(
        _level(max([*sizes, *(c.size for c in consts if c is not None)]), MIN_SIZE),
        _level(max(r[0].shape[1] for r in reads), MIN_READS),
    )
    size, width = MIN_SIZE * 4**level, MIN_READS * 4**level
    slots = max(MIN_NODES, 1 << (n - 1).bit_length())
    if slots * size * width > MAX_READS:
        raise Unsupported(f"{n} nodes of up to {size} entries: too large for the interpreter")
    code = np.zeros((4, slots), np.int32)
    code[1] = np.arange(slots)
    gather = np.zeros((slots, 2, size, width), np.int32)
    mask = np.zeros((slots, size, width), bool)
    mask[:, :, 0] = np.arange(size) < np.array([*sizes, *[0] * (slots - n)])[:, None]
    pos = np.zeros((slots, size), np.int32)
    count = np.ones(slots)
    table_consts = np.zeros((slots, size))
    for i, node in enumerate(graph.nodes):
        if not node.args:
            continue
        (first, second, p, c), k = reads[i], reads[i][0].shape[1]
        code[0, i] = _op_code(node)
        code[1, i] = node.args[0]
        code[2, i] = node.args[-1]
        if consts[i] is not None:
            table_consts[i, : consts[i].size] = consts[i]
            code[1 if node.const_side == "left" else 2, i] = slots + i
        gather[i, 0, : sizes[i], :k] = first
        if second is not None:
            gather[i, 1, : sizes[i], : second.shape[1]] = second
        mask[i, : sizes[i], :k] = True
        if p is not None:
            pos[i, : sizes[i]] = p
        count[i] = c
    live = np.zeros(slots, bool)
    live[list(graph.outputs)] = True
    schedule = [i for i in range(n - 1, -1, -1) if _visit(graph, live, i)]
    code[3, : len(schedule) + 1] = [len(schedule), *schedule]
    return Program(code, gather, mask, pos, count, table_consts, graph, sizes)


def _visit(graph: Graph, live: np.ndarray, i: int) -> bool:
    """Whether the reverse pass visits node i (marking its operands live when it does)."""
    if not (live[i] and graph.nodes[i].args):
        return False
    live[list(graph.nodes[i].args)] = True
    return True


def _level(n: int, smallest: int) -> int:
    """The least l with n <= smallest * 4**l."""
    level = 0
    while smallest * 4**level < n:
        level += 1
    return level


def _op_code(node: Node) -> int:
    right = node.op == "pow" and node.const_side == "right"
    return _CODE["powi" if right and jax_ops.int_exponent(node.attrs["const"]) else node.op]


Reads = tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float]


def _reads(node: Node, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Reads:
    """(first operand's reads (size x k), second's or None, softmax positions or None,
    mean's count) for a node; an input reads itself."""
    op, attrs = node.op, node.attrs
    if op == "input":
        return (np.arange(int(np.prod(out)))[:, None], None, None, 1.0)
    if node.const_side is not None:
        const_shape = np.shape(attrs["const"])
        ins = [const_shape, ins[0]] if node.const_side == "left" else [ins[0], const_shape]
    if _CODE.get(op, _CODE["gather"]) < _CODE["gather"]:  # elementwise
        if len(ins) == 1:
            return (_entries(ins[0], lambda e: e), None, None, 1.0)
        first, second = (_entries(s, lambda e: np.broadcast_to(e, out)) for s in ins)
        return (first, second, None, 1.0)
    x = np.arange(int(np.prod(ins[0]))).reshape(ins[0])
    if op in ("reshape", "transpose", "T", "index"):
        try:
            moved = {
                "reshape": lambda: x.reshape(attrs.get("shape")),
                "transpose": lambda: np.transpose(x, attrs.get("axes")),
                "T": lambda: x.T,
                "index": lambda: x[attrs["index"]],
            }[op]()
        except (IndexError, ValueError) as error:
            raise Unsupported(f"{op}: {error}") from error
        return (np.asarray(moved).reshape(-1, 1), None, None, 1.0)
    if op in ("sum", "mean", "max"):
        axis = attrs["axis"]
        axes = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis).tolist()
        axes = [a % max(x.ndim, 1) for a in axes] if x.ndim else []
        k = int(np.prod([x.shape[a] for a in axes]))
        moved = np.moveaxis(x, axes, list(range(x.ndim - len(axes), x.ndim)))
        return (moved.reshape(-1, k), None, None, float(k))
    if op == "matmul":
        a, b = x, np.arange(int(np.prod(ins[1]))).reshape(ins[1])
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
        rows = np.broadcast_to(a2[..., :, None, :], (*batch, m, n, k))
        cols = np.broadcast_to(np.swapaxes(b2, -1, -2)[..., None, :, :], (*batch, m, n, k))
        return (rows.reshape(-1, k), cols.reshape(-1, k), None, 1.0)
    if op in ("softmax", "log_softmax"):
        if x.ndim == 0:
            raise Unsupported(f"{op} of a 0-d value")
        axis = attrs["axis"] % x.ndim
        n = x.shape[axis]
        slices = np.moveaxis(x, axis, -1)  # (..., n): each entry's slice
        per_entry = np.broadcast_to(slices[..., None, :], (*slices.shape, n))
        reads = np.moveaxis(per_entry, -2, axis).reshape(-1, n)
        where = np.arange(n).reshape([n if d == axis else 1 for d in range(x.ndim)])
        return (reads, None, np.broadcast_to(where, x.shape).ravel(), 1.0)
    raise ValueError(f"unknown op {op!r}")


def _entries(shape: tuple[int, ...], place: Any) -> np.ndarray:
    return np.asarray(place(np.arange(int(np.prod(shape))).reshape(shape))).reshape(-1, 1)


def vjp(
    graph: Graph, inputs: Mapping[str, Any], upstream: Sequence[Any]
) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Every node's value and d(sum_k <upstream_k, out_k>)/d(input) in input order, or
    None for a graph the interpreter leaves to `oracle.traced`."""
    try:
        p = encode(graph)
    except Unsupported:
        return None
    shapes, sizes = graph.shapes, p.sizes
    start, cotangent = np.zeros_like(p.consts), np.zeros_like(p.consts)
    for i, name in zip(graph.input_indices, graph.input_names, strict=True):
        value = np.asarray(inputs[name], np.float64)
        if value.shape != shapes[i]:
            return None
        start[i, : sizes[i]] = value.ravel()
    for o, u in zip(graph.outputs, upstream, strict=True):
        u = np.asarray(u, np.float64)
        if u.shape != shapes[o]:
            return None
        cotangent[o, : sizes[o]] += u.ravel()
    floats = np.stack([start, p.consts, cotangent])
    out = np.asarray(_vjp(p.code, p.gather, p.mask, p.pos, p.count, floats))
    values = [out[0, i, : sizes[i]].reshape(shape) for i, shape in enumerate(shapes)]
    if any(n.op == "max" and np.isneginf(values[i]).any() for i, n in enumerate(graph.nodes)):
        return None
    grads = [out[1, i, : sizes[i]].reshape(shapes[i]) for i in graph.input_indices]
    return values, grads


def _read(row: jax.Array, entries: jax.Array, mask: jax.Array, pad: float) -> jax.Array:
    """row[entries], with `pad` for the entries that are not real."""
    return jnp.where(mask, row[entries], pad)


def _elementwise(f: Any, arity: int) -> Any:
    def branch(x, y, gather, mask, pos, count):
        real = mask[:, 0]
        args = [_read(x, gather[0, :, 0], real, 1.0), _read(y, gather[1, :, 0], real, 1.0)]
        return jnp.where(real, f(*args[:arity]), 0.0)

    return branch


def _branches() -> list[Any]:
    def keep(x, y, gather, mask, pos, count):
        return x

    def reduce(fn: Any, pad: float, scale: bool = False) -> Any:
        def branch(x, y, gather, mask, pos, count):
            out = fn(_read(x, gather[0], mask, pad), axis=1)
            return jnp.where(mask[:, 0], out / count if scale else out, 0.0)

        return branch

    def matmul(x, y, gather, mask, pos, count):
        products = _read(x, gather[0], mask, 0.0) * _read(y, gather[1], mask, 0.0)
        return jnp.sum(products, axis=1)

    def slices(fn: Any) -> Any:
        def branch(x, y, gather, mask, pos, count):
            full = fn(x[gather[0]], axis=1, where=mask)
            return jnp.where(mask[:, 0], full[jnp.arange(full.shape[0]), pos], 0.0)

        return branch

    def powi(x, y):
        return lax.pow(x, y.astype(jnp.int64))

    def gather(x):
        return x

    binary = {**jax_ops.BINARY, "pow": lax.pow, "powi": powi}
    table = {op: _elementwise(fn, 2) for op, fn in binary.items()}
    unary = {**jax_ops.UNARY, "gather": gather}
    table.update({op: _elementwise(fn, 1) for op, fn in unary.items()})
    table.update(
        input=keep,
        sum=reduce(jnp.sum, 0.0),
        mean=reduce(jnp.sum, 0.0, scale=True),
        max=reduce(jnp.max, -jnp.inf),
        matmul=matmul,
        softmax=slices(jax.nn.softmax),
        log_softmax=slices(jax.nn.log_softmax),
    )
    return [table[op] for op in OPS]


_BRANCHES = _branches()


def _pullback(branch: Any) -> Any:
    def pull(x, y, gather, mask, pos, count, ct):
        _, back = jax.vjp(lambda x, y: branch(x, y, gather, mask, pos, count), x, y)
        return back(ct)

    return pull


_PULLBACKS = [_pullback(b) for b in _BRANCHES]


def _values_and_vjp(code, gather, mask, pos, count, floats):
    """(2, B, S): every node's value row and every node's cotangent row."""
    ops, a, b, schedule = code
    start, consts, cotangent = floats
    slots = ops.shape[0]

    def operands(table: jax.Array, i: jax.Array) -> tuple:
        return table[a[i]], table[b[i]], gather[i], mask[i], pos[i], count[i]

    def forward(i: jax.Array, table: jax.Array) -> jax.Array:
        return table.at[i].set(lax.switch(ops[i], _BRANCHES, *operands(table, i)))

    table = lax.fori_loop(0, slots, forward, jnp.concatenate([start, consts]))

    def backward(k: jax.Array, ct: jax.Array) -> jax.Array:
        i = schedule[k + 1]
        dx, dy = lax.switch(ops[i], _PULLBACKS, *operands(table, i), ct[i])
        return ct.at[i].set(0.0).at[a[i]].add(dx).at[b[i]].add(dy)

    seed = jnp.concatenate([cotangent, jnp.zeros_like(consts)])
    ct = lax.fori_loop(0, schedule[0], backward, seed)
    return jnp.stack([table[:slots], ct[:slots]])


_vjp = jax.jit(_values_and_vjp)
