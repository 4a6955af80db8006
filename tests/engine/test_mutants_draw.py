"""engine.draw and engine.explain: what `vgrad mutate` found unchecked in the drawing and
the backward walkthrough (the missing-`dot` message, constant inputs listed first,
two-input operations that are not infix)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from engine import Tensor
from engine import draw as draw_module
from engine import functional as F
from engine.draw import Drawing
from engine.explain import explain_backward


def test_pipe_without_dot_says_how_to_get_it(monkeypatch) -> None:
    monkeypatch.setattr(draw_module, "find_dot", lambda: None)
    with pytest.raises(RuntimeError) as info:
        Drawing("digraph vgrad {\n}\n", 1, 1).pipe()
    assert str(info.value) == (
        "the Graphviz program `dot` is not installed (e.g. apt install graphviz); "
        "str(drawing) is the DOT text"
    )


def walkthrough(out: Tensor, names: dict) -> str:
    text = io.StringIO()
    explain_backward(out, names=names, file=text)
    return text.getvalue()


def test_a_constant_first_input_does_not_hide_the_next_input() -> None:
    t = Tensor(np.array([1.0, 2.0]))
    text = walkthrough((np.array([2.0, 3.0]) * t).sum(), {t: "t"})
    lines = text.splitlines()
    constant = lines.index("  n1 is a constant: no gradient")
    assert lines[constant + 1] == "  t.grad += [2, 3]  ->  t.grad = [2, 3]", text


def test_two_input_operations_that_are_not_infix_are_written_as_calls() -> None:
    t, w = Tensor(np.array([1.0, 2.0])), Tensor(np.ones((1, 2)))
    text = walkthrough(F.linear(t, w).sum(), {t: "t", w: "w"})
    assert "n2 = linear(t, w) = 3  (shape (1,))" in text.splitlines(), text
