"""`explain_backward`: its walkthrough (golden text), the gradients it leaves, its guards."""

from __future__ import annotations

import io

import numpy as np
import pytest
from golden_files import assert_golden

import engine
from engine import Tensor, Value, explain_backward
from engine.tensor import make_node


def explained(out, **kwargs) -> str:
    buffer = io.StringIO()
    explain_backward(out, file=buffer, **kwargs)
    return buffer.getvalue()


def neuron() -> tuple[Value, Value, Value, Value]:
    """tanh(w * x + b) * 2 - x**2, with x used twice: (x, w, b, out)."""
    x, w, b = Value(0.5), Value(-2.0), Value(0.25)
    out = (w * x + b).tanh() * 2 - x**2
    return x, w, b, out


def test_value_walkthrough_matches_golden(capsys) -> None:
    x, w, b, out = neuron()
    explain_backward(out, names={x: "x", w: "w", b: "b", out: "out"})
    assert_golden("explain_value.txt", capsys.readouterr().out)


def test_tensor_walkthrough_matches_golden() -> None:
    w = Tensor([[1.0, -2.0], [0.5, 3.0]])
    x = Tensor([1.0, 2.0])
    out = ((w @ x).relu() * 2 + 1.0).sum(axis=0)
    assert_golden("explain_tensor.txt", explained(out, names={w: "w", x: "x"}))


def test_gradients_are_exactly_those_of_backward() -> None:
    """Same numbers, bit for bit, as backward(), also for inputs used twice and on a rerun."""

    def graph(kind: type) -> tuple[list, object]:
        a, b = kind(1.3), kind(-0.7)
        out = (a * a + b / a - (b * 3) ** 2).tanh() * a + (a - b).sigmoid() / b
        return [a, b], out

    explained_leaves, out = graph(Value)
    explained(out)
    explained(out)  # a second pass doubles the leaves, as backward() does
    leaves, reference = graph(Value)
    reference.backward()
    reference.backward()
    assert [v.grad for v in explained_leaves] == [v.grad for v in leaves]
    assert out.grad == 1.0


def test_tensor_gradients_are_exactly_those_of_backward() -> None:
    def graph() -> tuple[list, Tensor]:
        w = Tensor(np.linspace(-1, 1, 6).reshape(2, 3))
        x = Tensor([[0.5], [-1.5]])
        out = ((w + x) * w).tanh().sum(axis=1).log_softmax().mean()
        return [w, x], out

    explained_leaves, out = graph()
    explained(out)
    explained(out)  # interior gradients reset, leaves doubled, as by backward()
    leaves, reference = graph()
    reference.backward()
    reference.backward()
    for mine, theirs in zip(explained_leaves, leaves, strict=True):
        np.testing.assert_array_equal(mine.grad, theirs.grad)
    np.testing.assert_array_equal(out._prev[0].grad, reference._prev[0].grad)


def test_interior_gradients_are_reset_first() -> None:
    x = Value(2.0)
    y = x * 3
    z = y + 1
    z.backward()
    explained(z)
    assert (x.grad, y.grad, z.grad) == (6.0, 1.0, 1.0)


def test_a_leaf_output_is_seeded_and_accumulates() -> None:
    leaf = Value(3.0)
    assert explained(leaf) == (
        "backward pass from n0 over 1 node, each before its inputs\n"
        "n0.grad = 1  (the seed: n0 by itself has slope 1)\n"
        "leaves: n0.grad = 1\n"
    )
    assert explained(leaf).splitlines()[-1] == "leaves: n0.grad = 2"


def test_each_expression_is_written_as_python() -> None:
    x = Value(2.0)
    lines = [
        explained(e).splitlines()[2]
        for e in (x + 1, x**3, -x, x.relu(), x**x, engine.value.weighted_sum([x], [x], 0.5))
    ]
    assert lines == [
        "n2 = n0 + n1 = 3",
        "n1 = n0**3 = 8",
        "n1 = -n0 = -2",
        "n1 = relu(n0) = 2",
        "n1 = n0 ** n0 = 4",
        "n2 = wsum(n1, n0, n0) = 4.5",
    ]
    t = Tensor(np.arange(4.0).reshape(2, 2))
    tensor_lines = [
        explained(e).splitlines()[2]
        for e in (t[1, 0], t.sum(axis=1, keepdims=True)[0, 0], t.T.max())
    ]
    assert tensor_lines == [
        "n1 = n0[1, 0] = 2",
        "n2 = n1[0, 0] = 1",
        "n2 = max(n1) = 3",
    ]
    assert explained(t.sum(axis=1, keepdims=True)[0, 0]).splitlines()[6] == (
        "n1 = sum(n0, axis=1, keepdims=True) = [1, 5]  (shape (2, 1))"
    )
    assert explained(t.T.max()).splitlines()[6] == (
        "n1 = transpose(n0, axes=(1, 0)) = [0, 2, 1, 3]  (shape (2, 2))"
    )


def test_value_steps_show_local_derivative_upstream_and_product() -> None:
    x = Value(3.0)
    text = explained(x * x * 2, names={x: "x"})
    assert "  x.grad += local 6 * upstream 2 = 12  ->  x.grad = 12\n" in text, "x * x: 2x"
    assert text.count("x.grad +=") == 1, "an input used twice is one input"
    assert "  rule: out = a * b:  d/da = b,  d/db = a.\n" in text
    assert "  upstream: n1.grad = 2\n" in text


def test_tensor_steps_show_the_vector_jacobian_product_and_constants() -> None:
    t = Tensor([1.0, -1.0])
    text = explained((t * np.array([3.0, 4.0])).sum(), names={t: "t"})
    assert "  t.grad += [3, 4]  ->  t.grad = [3, 4]\n" in text
    assert "  n1 is a constant: no gradient\n" in text
    assert "  upstream: n2.grad = [1, 1]\n" in text


def test_a_rule_without_docstring_shows_no_rule_line() -> None:
    t = Tensor([2.0])

    def double(out: Tensor) -> None:
        engine.tensor.accumulate_grad(out._prev[0], 2 * out.grad)

    out = make_node(t.data * 2, (t,), "double", double)
    assert explained(out) == (
        "backward pass from n1 over 2 nodes, each before its inputs\n"
        "n1.grad = 1  (the seed: n1 by itself has slope 1)\n"
        "n1 = double(n0) = 4  (shape (1,))\n"
        "  upstream: n1.grad = 1\n"
        "  n0.grad += 2  ->  n0.grad = 2\n"
        "leaves: n0.grad = 2\n"
    )


def chain(length: int) -> tuple[Value, Value]:
    x = node = Value(0.1)
    for _ in range(length):
        node = node.tanh()
    return x, node


def test_large_graphs_are_refused_with_how_to_override() -> None:
    x, out = chain(50)
    with pytest.raises(ValueError) as raised:
        explained(out)
    assert str(raised.value) == (
        "explain_backward: the graph has 51 nodes, more than max_nodes=50; a walkthrough is "
        "for small graphs. Pass max_nodes=51 to explain it anyway, or draw it with draw_dot(out)."
    )
    assert (x.grad, out.grad) == (0.0, 0.0), "nothing ran"
    assert explained(out, max_nodes=51).count(" = tanh(n") == 50
    assert explained(chain(49)[1]).startswith("backward pass from n49 over 50 nodes")


@pytest.mark.parametrize(
    ("out", "error", "message"),
    [
        ([1.0], TypeError, "explain_backward needs a Value or a Tensor, got list"),
        (
            Tensor([1.0, 2.0]) * 2,
            ValueError,
            "explain_backward needs a tensor with one element (a loss), got shape (2,)",
        ),
        (
            Tensor([1.0], requires_grad=False) * 2,
            RuntimeError,
            "explain_backward: this tensor does not require a gradient",
        ),
    ],
)
def test_what_backward_refuses_is_refused(out, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        explained(out)
    assert str(raised.value) == message


def test_exported_from_engine() -> None:
    assert engine.explain_backward is explain_backward
