"""`draw_dot`: golden DOT text, op labels, boxes, elision, rendering with and without `dot`."""

from __future__ import annotations

import io
import re
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from golden_files import assert_golden

import engine
import engine.draw
from engine import Drawing, Tensor, Value, draw_dot
from engine import draw as draw_module
from engine import functional as F
from engine.explain import explain_backward
from engine.functional import linear
from engine.tensor import make_node


def micrograd_readme() -> tuple[Value, Value, Value]:
    """micrograd's README example, after g.backward(): (a, b, g)."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


def op_labels(dot: str) -> list[str]:
    """The label of every operation oval, in node order."""
    return re.findall(r'^  n\d+_op \[label="(.*)"\];$', dot, re.MULTILINE)


def boxes(dot: str) -> list[str]:
    """The label of every value box, in node order."""
    return re.findall(r'^  n\d+ \[label="(.*)", shape=record\];$', dot, re.MULTILINE)


def test_micrograd_readme_example_matches_golden_dot() -> None:
    a, b, g = micrograd_readme()
    assert (round(a.grad, 4), round(b.grad, 4)) == (138.8338, 645.5773), "micrograd's numbers"
    assert_golden("micrograd_readme.dot", draw_dot(g).source)
    assert_golden("micrograd_readme_named.dot", str(draw_dot(g, names={a: "a", b: "b", g: "g"})))


def test_same_graph_same_text() -> None:
    """Nodes are numbered by position, not by identity: a rebuilt graph draws identically."""
    first = draw_dot(micrograd_readme()[2]).source
    Value(1.0) * 2  # shift the global creation counter
    assert draw_dot(micrograd_readme()[2]).source == first


def test_small_tensor_graph_matches_golden_dot() -> None:
    w = Tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    x = Tensor([1.0, 2.0, 3.0])
    out = ((w @ x).relu() * 2).sum()
    out.backward()
    assert_golden("tensor_graph.dot", draw_dot(out, names={w: "w", x: "x"}, rankdir="TB").source)


def test_every_value_op_is_labelled() -> None:
    x, y = Value(0.5), Value(2.0)
    terms = [x + y, x - y, x * y, x / y, -x, x**2, x**0.5, x**y, 2**x, 1 - x, 3 / x]
    terms += [x.relu(), x.tanh(), x.exp(), x.log(), x.sigmoid()]
    terms.append(engine.value.weighted_sum([x, y], [y, x], 1.0))
    labels = [op_labels(draw_dot(t).source)[-1] for t in terms]
    assert labels == [
        *("+", "-", "*", "/", "neg", "**2", "**0.5", "**", "**", "-", "/"),
        *("relu", "tanh", "exp", "log", "sigmoid", "wsum"),
    ]


def test_every_tensor_op_is_labelled() -> None:
    a = Tensor(np.arange(6.0).reshape(2, 3))
    b = Tensor(np.ones((2, 3)))
    m = Tensor(np.ones((3, 2)))
    cases = {
        "+": a + b,
        "-": a - 1.0,
        "*": 2.0 * a,
        "/": a / b,
        "**3": a**3,
        "**0.5": a**0.5,
        "neg": -a,
        "@": a @ m,
        "exp": a.exp(),
        "log": b.log(),
        "tanh": a.tanh(),
        "relu": a.relu(),
        "sigmoid": a.sigmoid(),
        "sum": a.sum(),
        "sum axis=1": a.sum(axis=1),
        "mean axis=(0, 1), keepdims=True": a.mean(axis=(0, 1), keepdims=True),
        "max keepdims=True": a.max(keepdims=True),
        "max axis=-1": a.max(axis=-1),
        "reshape": a.reshape(3, 2),
        "transpose axes=(1, 0)": a.T,
        "softmax axis=0": a.softmax(axis=0),
        "log_softmax axis=-1": a.log_softmax(),
        "index [1]": a[1],
        "index [:, 0]": a[:, 0],
        "index [1::2, :2]": a[1::2, :2],
        "index [..., None]": a[..., None],
        "index [[0, 0, 1]]": a[np.array([0, 0, 1])],
        "index [[0, 1, 1, 0]]": a[np.array([0, 1, 1, 0])],
        "index [::2]": a[::2],
        "index [<array of shape (5,)>]": a[np.array([0, 1, 1, 0, 1])],
        "linear": linear(a, m.T),
    }
    for label, out in cases.items():
        assert op_labels(draw_dot(out).source)[-1] == label, f"expected {label!r}"


def test_value_boxes_show_name_data_and_grad() -> None:
    x = Value(0.1)
    y = x * 3e-8
    y.backward()
    dot = draw_dot(y, names={x: 'x|"1"', y: "y"}).source
    assert boxes(dot) == [
        r"{ x\|\"1\" | data 0.1 | grad 3e-08 }",
        "{ data 3e-08 | grad 0.1 }",
        "{ y | data 3e-09 | grad 1 }",
    ]


def test_labels_are_escaped_for_dot() -> None:
    x = Value(1.0)
    dot = draw_dot(x, names={x: 'a{b}<c>|"d"\\'}).source
    assert boxes(dot) == ['{ a\\{b\\}\\<c\\>\\|\\"d\\"\\\\ | data 1 | grad 0 }']
    odd = make_node(np.ones(2), (Tensor([1.0, 2.0]),), 'say "hi" \\ {|<>}', None)
    assert op_labels(draw_dot(odd).source) == ['say \\"hi\\" \\\\ {|<>}']


def test_tensor_boxes_show_shape_a_few_numbers_and_grad() -> None:
    four = Tensor([1.0, 2.5, -3.0, 4.0])
    five = Tensor(np.arange(5.0), requires_grad=False)
    out = (four.sum() * five).sum()
    out.backward()
    assert boxes(draw_dot(out).source) == [
        "{ shape (4,) | data [1, 2.5, -3, 4] | grad [10, 10, 10, 10] }",
        "{ shape (5,) | data [0, 1, 2, 3, ...] | no grad }",
        "{ shape () | data 4.5 | grad 10 }",
        "{ shape (5,) | data [0, 4.5, 9, 13.5, ...] | grad [1, 1, 1, 1, ...] }",
        "{ shape () | data 45 | grad 1 }",
    ]
    before = Tensor([[0.123456]])
    assert boxes(draw_dot(before).source) == ["{ shape (1, 1) | data 0.1235 | grad None }"]


def test_edges_run_from_each_input_to_the_op_in_order() -> None:
    x, y = Value(3.0), Value(4.0)
    dot = draw_dot((x * x) - y).source
    edges = re.findall(r"^  (\S+) -> (\S+);$", dot, re.MULTILINE)
    assert edges == [
        ("n2_op", "n2"),
        ("n0", "n2_op"),
        ("n0", "n2_op"),
        ("n3_op", "n3"),
        ("n2", "n3_op"),
        ("n1", "n3_op"),
    ]
    assert dot.startswith('digraph vgrad {\n  rankdir=LR;\n  node [fontname="Helvetica"];\n')
    assert dot.endswith("\n}\n")


def chain(length: int) -> Value:
    node = Value(0.5)
    for _ in range(length):
        node = node.tanh()
    return node


def test_max_nodes_keeps_the_nearest_and_marks_the_rest() -> None:
    out = chain(9)
    drawing = draw_dot(out, max_nodes=3)
    assert (drawing.shown, drawing.total) == (3, 10)
    assert_golden("chain_elided.dot", drawing.source)
    assert boxes(drawing.source)[-1] == "{ data 0.314757 | grad 0 }", "the output is drawn"
    one_left = draw_dot(out, max_nodes=9).source
    assert '  elided [label="... 1 more node (draw_dot max_nodes=9)", shape=plaintext];' in (
        one_left
    )
    assert "  elided -> n0_op [style=dashed];" in one_left
    for everything in (10, 11):
        drawing = draw_dot(out, max_nodes=everything)
        assert (drawing.shown, drawing.total) == (10, 10)
        assert "elided" not in drawing.source


def test_the_nodes_drawn_are_the_nearest_to_the_output() -> None:
    """Breadth first: the output's inputs come before the inputs of a long branch."""
    y, z = Value(2.0), Value(3.0)
    out = chain(4) + y * z
    shown = boxes(draw_dot(out, max_nodes=4, names={y: "y"}).source)
    assert shown == [
        "{ data 0.406831 | grad 0 }",
        "{ data 0.385779 | grad 0 }",
        "{ data 6 | grad 0 }",
        "{ data 6.38578 | grad 0 }",
    ], "the tanh chain's last two nodes, y * z and the output; never y or z"


def test_each_cut_node_gets_one_marker_edge() -> None:
    x, y = Value(1.0), Value(2.0)
    out = (x * y) + (x - y)
    dot = draw_dot(out, max_nodes=3).source
    assert re.findall(r"elided -> (\S+) ", dot) == ["n0_op", "n1_op"]
    assert "... 2 more nodes" in dot


def test_a_100000_node_chain_is_summarized_quickly() -> None:
    out = chain(100_000)
    start = time.perf_counter()
    drawing = draw_dot(out)
    seconds = time.perf_counter() - start
    assert (drawing.shown, drawing.total) == (200, 100_001)
    assert len(boxes(drawing.source)) == 200
    assert "... 99,801 more nodes (draw_dot max_nodes=200)" in drawing.source
    assert seconds < 5, f"draw_dot took {seconds:.1f} s on a 100,000-node chain"
    tensor = Tensor([0.5])
    for _ in range(20_000):
        tensor = tensor.tanh()
    assert draw_dot(tensor, max_nodes=50).total == 20_001


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: draw_dot(1.5), TypeError, "draw_dot needs a Value or a Tensor, got float"),
        (
            lambda: draw_dot(Value(1.0), max_nodes=0),
            ValueError,
            "draw_dot: max_nodes must be at least 1, got 0",
        ),
        (
            lambda: draw_dot(Value(1.0), rankdir="XY"),
            ValueError,
            "draw_dot: rankdir must be one of ('LR', 'TB', 'RL', 'BT'), got 'XY'",
        ),
    ],
)
def test_bad_arguments_are_refused(call, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value) == message


def test_rankdir_and_max_nodes_one() -> None:
    drawing = draw_dot(Value(2.0) * 3, max_nodes=1, rankdir="TB")
    assert "  rankdir=TB;\n" in drawing.source
    assert (drawing.shown, drawing.total) == (1, 3)
    assert repr(drawing) == "<Drawing of 1 of 3 nodes; print() it for the DOT text>"
    assert str(drawing) == drawing.source


def fake_dot(tmp_path: Path, exit_code: int = 0) -> str:
    """A stand-in `dot` that prints its arguments and echoes its input (or fails)."""
    script = tmp_path / "fake_dot.py"
    body = (
        f"import sys\nsys.stdout.write(' '.join(sys.argv[1:]) + '|' + sys.stdin.read())\n"
        f"sys.stderr.write('bad input')\nsys.exit({exit_code})\n"
    )
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_pipe_feeds_the_source_to_dot(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine.draw.shutil, "which", lambda name: fake_dot(tmp_path))
    drawing = draw_dot(Value(1.0))
    assert drawing.pipe("png") == b"-Tpng|" + drawing.source.encode()
    assert drawing.svg() == "-Tsvg|" + drawing.source
    written = drawing.render(tmp_path / "graph.pdf")
    assert written == tmp_path / "graph.pdf"
    assert written.read_bytes() == b"-Tpdf|" + drawing.source.encode()
    assert drawing._repr_mimebundle_() == {
        "text/plain": drawing.source,
        "image/svg+xml": "-Tsvg|" + drawing.source,
    }
    for text_only in ("graph.dot", "graph.gv", "graph"):
        assert drawing.render(tmp_path / text_only).read_text() == drawing.source


def test_a_failing_dot_is_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine.draw.shutil, "which", lambda name: fake_dot(tmp_path, 3))
    with pytest.raises(RuntimeError) as raised:
        draw_dot(Value(1.0)).pipe()
    assert str(raised.value) == "dot -Tsvg failed: bad input"


def test_without_dot_the_drawing_is_text(tmp_path: Path, monkeypatch) -> None:
    looked_up = []
    monkeypatch.setattr(engine.draw.shutil, "which", lambda name: looked_up.append(name))
    drawing = draw_dot(micrograd_readme()[2])
    assert engine.draw.find_dot() is None and looked_up == ["dot"]
    assert drawing.svg() is None
    assert drawing._repr_mimebundle_() == {"text/plain": drawing.source}
    written = drawing.render(tmp_path / "graph.svg")
    assert written == tmp_path / "graph.dot"
    assert written.read_text() == drawing.source
    assert not (tmp_path / "graph.svg").exists()
    with pytest.raises(RuntimeError, match=r"`dot` is not installed .*str\(drawing\) is the DOT"):
        drawing.pipe("png")


@pytest.mark.skipif(engine.draw.find_dot() is None, reason="Graphviz's dot is not installed")
def test_with_dot_the_drawing_renders(tmp_path: Path) -> None:
    a, b, g = micrograd_readme()
    drawing = draw_dot(g, names={a: "a", b: "b"})
    svg = drawing.svg()
    assert svg is not None and "<svg" in svg and "grad 138.834" in svg
    assert drawing._repr_mimebundle_()["image/svg+xml"] == svg
    png = drawing.render(tmp_path / "g.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "<svg" in drawing.render(tmp_path / "g.svg").read_text()


def test_exported_from_engine() -> None:
    assert engine.draw_dot is draw_dot and engine.Drawing is Drawing
    assert {"draw_dot", "Drawing", "explain_backward"} <= set(engine.__all__)


# -- edges of the drawing and the walkthrough ---------------------------------------------
# The missing-`dot` message, constant inputs listed first, two-input operations that are
# not infix: each test pins down what a surviving mutant once changed.


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
