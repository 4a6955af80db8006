"""Detection of the protocol v2 variants: `functional.linear(nd)` and `nn.Flatten(start_dim)`."""

from __future__ import annotations

from pathlib import Path

from properties.targets import load_target

# linear written for (N, in) inputs only: its forward broadcasts over leading axes (NumPy's
# @), its backward's g.T @ x does not; Flatten without start_dim
TWO_D_ONLY = """
import numpy as np
from types import SimpleNamespace


class Tensor:
    def __init__(self, data, prev=(), vjp=None):
        self.data, self.grad = np.asarray(data, dtype=np.float64), None
        self._prev, self._vjp = prev, vjp

    def sum(self):
        return Tensor(self.data.sum(), (self,), lambda g: (np.broadcast_to(g, self.data.shape),))

    def backward(self):
        order, seen = [], set()

        def visit(t):
            if id(t) not in seen:
                seen.add(id(t))
                for p in t._prev:
                    visit(p)
                order.append(t)

        visit(self)
        self.grad = np.ones_like(self.data)
        for t in reversed(order):
            for p, g in zip(t._prev, t._vjp(t.grad) if t._prev else ()):
                p.grad = g if p.grad is None else p.grad + g


def linear(x, weight, bias=None):
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = x.data @ weight.data.T + (0.0 if bias is None else bias.data)
    return Tensor(
        out, inputs, lambda g: (g @ weight.data, g.T @ x.data, g.sum(axis=0))[: len(inputs)]
    )


class Flatten:
    def __call__(self, x):
        return Tensor(x.data.reshape(len(x.data), -1), (x,), lambda g: (g.reshape(x.data.shape),))


functional = SimpleNamespace(linear=linear)
nn = SimpleNamespace(Flatten=Flatten)
"""


def test_engine_offers_both_variants() -> None:
    target = load_target("engine")
    assert target.has("functional.linear(nd)", "nn.Flatten(start_dim=...)"), target.capabilities
    assert not target.limitations, target.limitations


def test_a_two_d_linear_is_a_limitation_and_flatten_without_start_dim_is_missing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "two_d.py"
    path.write_text(TWO_D_ONLY)
    target = load_target(str(path))
    assert target.has("functional.linear", "functional.linear(bias=...)", "nn.Flatten")
    assert not target.has("functional.linear(nd)"), target.capabilities
    assert "functional.linear(nd)" in target.limitations, target.limitations
    assert "backward raised" in target.limitations["functional.linear(nd)"]
    assert not target.has("nn.Flatten(start_dim=...)"), target.capabilities
