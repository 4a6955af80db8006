"""Seeded random tensor graphs with the `functional` ops too, for `vgrad report --tensor
--ops conv2d,max_pool2d,...`.

`NetworkGrower` extends `random_network_base`'s grower with the ops of `oracle.ir.NETWORK_OPS`.
An image op takes the node drawn when it is 4-D (N, C, H, W), else the latest 4-D node,
else a fresh image input: odd and even, non-square, batch 1 or 2.  Kernels (1 to 3 per
side, square or not) may be larger than the stride or smaller, padding is up to half the
kernel; a weight (and a bias, half the time) is a fresh input or, sometimes, a node of
the right shape.  ``linear`` takes a 2-D node (a fresh one when none fits), the losses
any node of a shape they accept, with fresh labels; two in five cross-entropy and
binary cross-entropy nodes take a fresh input of large logits instead.  Inputs stay in
each op's domain as in `random_network_base`: every window of a max pooling has a clear
maximum, every hinge margin is away from its kink.  A form whose argument the target
lacks (stride, padding, bias, start_dim) is never drawn.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from oracle import network_eval
from oracle.ir import Graph, Node
from properties.cases.random_network_base import _MARGIN, _Grower, grow_network_graph

_IMAGE_SIZE = 300  # entries of a 4-D node an image op may take (the second opinion's cost)


def random_network_graph(
    rng: np.random.Generator,
    n_nodes: int,
    ops: Sequence[str],
    n_outputs: int = 1,
    capabilities: Collection[str] | None = None,
) -> tuple[Graph, dict[str, np.ndarray]]:
    """`grow_network_graph` with the `functional` ops among `ops` drawn too, and every op
    node no other node reads made an output (a dead node's mistake would go unseen)."""
    graph, inputs = grow_network_graph(
        rng,
        n_nodes,
        ops,
        n_outputs=n_outputs,
        capabilities=capabilities,
        grower_class=NetworkGrower,
    )
    read = {a for node in graph.nodes for a in node.args} | set(graph.outputs)
    unread = [i for i, node in enumerate(graph.nodes) if node.args and i not in read]
    return Graph(graph.kind, graph.nodes, (*graph.outputs, *unread)), inputs


def _capability(op: str, argument: str = "") -> str:
    return f"functional.{op}({argument}=...)" if argument else f"functional.{op}"


class NetworkGrower(_Grower):
    """`_Grower` with a method per `functional` op."""

    def _offers(self, op: str, *arguments: str) -> bool:
        needs = [_capability(op), *(_capability(op, a) for a in arguments)]
        return self.capabilities is None or all(n in self.capabilities for n in needs)

    def _add(self, op: str, args: tuple[int, ...], attrs: dict, value: np.ndarray) -> bool:
        """Keep the node if its value is moderate (its arguments were checked by `_offers`
        before any input was made for it)."""
        return self._keep(Node(op, args, attrs), value)

    def _image(self, x: int) -> int:
        """Node x when it is a small 4-D value, else the latest one, else a fresh image."""
        fits = [k for k, v in enumerate(self.values) if v.ndim == 4 and v.size <= _IMAGE_SIZE]
        if x in fits:
            return x
        if fits and self.rng.random() < 0.8:
            return fits[-1]
        n, c = int(self.rng.integers(1, 3)), int(self.rng.integers(1, 3))
        h, w = (int(s) for s in self.rng.integers(2, 6, size=2))
        return self.new_input((n, c, h, w))

    def _rows(self, x: int) -> int:
        """Node x when it is 2-D, else the latest 2-D node, else a fresh 2-D input."""
        if self.values[x].ndim == 2:
            return x
        fits = [k for k, v in enumerate(self.values) if v.ndim == 2]
        if fits:
            return fits[-1]
        return self.new_input((int(self.rng.integers(1, 4)), int(self.rng.integers(1, 6))))

    def _same_shape(self, shape: tuple[int, ...]) -> int:
        """A node of `shape`, sometimes an earlier one, else a fresh input."""
        fits = [k for k, v in enumerate(self.values) if v.shape == shape]
        if fits and self.rng.random() < 0.3:
            return int(self.rng.choice(fits))
        return self.new_input(shape)

    def _pair(self, low: int, high: int) -> int | tuple[int, int]:
        """An int in [low, high], or (a third of the time) a pair of them."""
        first, second = (int(v) for v in self.rng.integers(low, high + 1, size=2))
        return (first, second) if self.rng.random() < 1 / 3 else first

    def _geometry(self, size: tuple[int, int], largest: int) -> tuple | None:
        """A kernel, stride and padding for an image of `size` (H, W), or None."""
        kernel = self._pair(1, largest)
        stride = self._pair(1, 3) if self.rng.random() < 0.5 else 1
        kh, kw = np.broadcast_to(kernel, 2)
        half, padding = int(min(kh, kw)) // 2, 0
        if half and self.rng.random() < 0.6:
            padding = self._pair(0, half) or 1  # an int 0 is the default: padded, at least 1
        ph, pw = np.broadcast_to(padding, 2)
        if size[0] + 2 * ph < kh or size[1] + 2 * pw < kw:
            return None
        return kernel, stride, padding

    def _conv2d(self, x: int) -> bool:
        bias = self.rng.random() < 0.5
        image = self._image(x)
        found = self._geometry(self.values[image].shape[2:], 3)
        if found is None:
            return False
        kernel, stride, padding = found
        arguments = [a for a, on in (("bias", bias), ("stride", stride != 1)) if on]
        if padding != 0:
            arguments.append("padding")
        if not self._offers("conv2d", *arguments):
            return False
        kh, kw = np.broadcast_to(kernel, 2)
        channels = self.values[image].shape[1]
        weight = self._same_shape((int(self.rng.integers(1, 4)), channels, int(kh), int(kw)))
        args = (image, weight)
        if bias:
            args = (*args, self._same_shape((self.values[weight].shape[0],)))
        attrs = {"stride": stride, "padding": padding}
        value = network_eval.apply("conv2d", attrs, [self.values[a] for a in args], *_FLOAT64)
        return self._add("conv2d", args, attrs, value)

    def _pool(self, op: str, x: int) -> bool:
        image = self._image(x)
        found = self._geometry(self.values[image].shape[2:], 3)
        if found is None:
            return False
        kernel, stride, padding = found
        stride = None if self.rng.random() < 0.4 else stride
        arguments = ["stride"] if stride is not None else []
        if padding != 0:
            arguments.append("padding")
        if not self._offers(op, *arguments):
            return False
        attrs = {"kernel_size": kernel, "stride": stride, "padding": padding}
        a = self.values[image]
        if op == "max_pool2d" and not _clear_maxima(a, attrs):
            return False
        value = network_eval.apply(op, attrs, [a], *_FLOAT64)
        return self._add(op, (image,), attrs, value)

    def _max_pool2d(self, x: int) -> bool:
        return self._pool("max_pool2d", x)

    def _avg_pool2d(self, x: int) -> bool:
        return self._pool("avg_pool2d", x)

    def _flatten(self, x: int) -> bool:
        if self.values[x].ndim < 2:
            x = self._image(x)
        a = self.values[x]
        start = 1 if self.rng.random() < 0.7 else int(self.rng.integers(0, a.ndim))
        if not self._offers("flatten", *(["start_dim"] if start != 1 else [])):
            return False
        value = a.reshape(*a.shape[:start], -1)
        return self._add("flatten", (x,), {"start_dim": start}, value)

    def _linear(self, x: int) -> bool:
        bias = self.rng.random() < 0.5
        if not self._offers("linear", *(["bias"] if bias else [])):
            return False
        x = self._rows(x)
        weight = self._same_shape((int(self.rng.integers(1, 5)), self.values[x].shape[1]))
        args = (x, weight)
        if bias:
            args = (*args, self._same_shape((self.values[weight].shape[0],)))
        value = network_eval.apply("linear", {}, [self.values[a] for a in args], *_FLOAT64)
        return self._add("linear", args, {}, value)

    def _mse_loss(self, x: int) -> bool:
        if not self._offers("mse_loss"):
            return False
        target = self._same_shape(self.values[x].shape)
        args = [self.values[x], self.values[target]]
        return self._add(
            "mse_loss", (x, target), {}, network_eval.apply("mse_loss", {}, args, *_FLOAT64)
        )

    def _large_logits(self, shape: tuple[int, ...]) -> int:
        """A fresh input of logits of magnitude 200 to 1000 (exp overflows beyond 709)."""
        name = f"x{len(self.inputs)}"
        sign = self.rng.choice([-1.0, 1.0], size=shape)
        self.inputs[name] = self.rng.uniform(200.0, 1000.0, size=shape) * sign
        self.values.append(self.inputs[name])
        return self.builder.input(name, shape)

    def _labelled(self, op: str, x: int, attrs: dict) -> bool:
        if not self._offers(op):
            return False
        if op != "hinge_loss" and self.rng.random() < 0.4:
            x = self._large_logits(self.values[x].shape)
        value = network_eval.apply(op, attrs, [self.values[x]], *_FLOAT64)
        return self._add(op, (x,), attrs, value)

    def _cross_entropy(self, x: int) -> bool:
        x = self._rows(x)
        a = self.values[x]
        labels = self.rng.integers(0, a.shape[1], size=a.shape[0])
        return self._labelled("cross_entropy", x, {"labels": labels})

    def _binary_cross_entropy_with_logits(self, x: int) -> bool:
        targets = self.rng.uniform(0.0, 1.0, size=self.values[x].shape)
        return self._labelled("binary_cross_entropy_with_logits", x, {"targets": targets})

    def _hinge_loss(self, x: int) -> bool:
        a = self.values[x]
        labels = self.rng.choice([-1.0, 1.0], size=a.shape)
        if np.any(np.abs(1 - labels * a) <= _MARGIN):
            return False  # a margin at the hinge's kink
        return self._labelled("hinge_loss", x, {"labels": labels})


_FLOAT64 = (lambda v: np.asarray(v, np.float64), np.exp, np.log)


def _clear_maxima(a: np.ndarray, attrs: dict) -> bool:
    """Every pooling window's maximum exceeds its runner-up by the margin."""
    kernel = attrs["kernel_size"]
    stride = kernel if attrs["stride"] is None else attrs["stride"]
    parts = network_eval.windows(a, kernel, stride, attrs["padding"], -np.inf)
    flat = parts.reshape(*parts.shape[:4], -1)
    if flat.shape[-1] < 2:
        return True
    top = np.sort(flat, axis=-1)[..., -2:]
    return bool(np.all(top[..., 1] - top[..., 0] > _MARGIN))
