"""Which mutants change something the target protocol (shared/target-spec.md) defines.

The property suite verifies what the protocol says a target does; a mutant that changes
only something the protocol leaves to the target cannot be killed by it without
verifying more than the protocol.  `classify` names such a mutant's class; every other
mutant is *covered*.  The rule is mechanical: it compares the mutant's function with
the original (their syntax trees, in mutmut's ``mutants/`` copy) and never looks at
whether the mutant was killed.  A mutant is outside the protocol when

* ``undescribed``: its function is one the protocol does not describe
  (`UNDESCRIBED`: ``__repr__``, ``__iter__``, ``named_parameters``, an optimizer's
  ``state_dict`` and ``load_state_dict``, a schedule's ``get_last_lr``); or
* every change it makes is one of:

  - ``message``: inside a ``raise`` statement (what an error says), or an argument that
    only names things in messages and graph labels (`LABEL_ARGUMENTS`: an operation's
    label for `draw_dot`, the argument names `_pair` and `_same_shapes` put in errors);
  - ``refusal``: in the condition of an ``if`` whose body only raises, such that the
    mutant refuses a subset of the inputs the original refuses and behaves the same on
    every input the original accepts (checked on the condition's truth table: a weaker
    ``or``/``and`` structure, a comparison made strict or not).  The protocol says what
    a target does with valid arguments, never which invalid ones it must refuse;
  - ``initialisation``: in a layer's ``__init__``, the value drawn for the initial
    weights (the statements setting ``rng`` and ``bound``, the first two arguments of
    ``rng.uniform``; the shape stays covered): the protocol has the suite set every
    parameter's ``.data``.

Anything else (an equivalent mutant too) is covered and counts in the covered score.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

UNDESCRIBED = frozenset(
    {"__repr__", "__iter__", "named_parameters", "state_dict", "load_state_dict", "get_last_lr"}
)
# callee name -> (position, keyword) of an argument used only in messages and labels
LABEL_ARGUMENTS = {
    "make_node": (2, "op"),
    "_pair": (1, "name"),
    "_same_shapes": (0, "loss"),
}
CLASSES = ("undescribed", "message", "refusal", "initialisation")

_Path = tuple[ast.AST, ...]  # a node and its ancestors, the function first


def classify(root: Path, mutants: Iterable[Any]) -> None:
    """Set each mutant's ``outside`` to its class, or "" when the protocol covers it (also
    when its source is not in ``root/mutants``, as in a report without mutmut's copy)."""
    trees: dict[str, dict[str, ast.AST] | None] = {}
    for m in mutants:
        m.outside = ""
        if m.function.rpartition(".")[2] in UNDESCRIBED:
            m.outside = "undescribed"
            continue
        if m.path not in trees:
            trees[m.path] = _functions(root / "mutants" / m.path)
        functions = trees[m.path]
        mangled, _, number = m.name.rpartition(".")[2].rpartition("__mutmut_")
        if not functions or not number:
            continue
        original = functions.get(f"{mangled}__mutmut_orig")
        mutant = functions.get(f"{mangled}__mutmut_{number}")
        if original is not None and mutant is not None:
            m.outside = outside_class(original, mutant)


def _functions(path: Path) -> dict[str, ast.AST] | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def outside_class(original: ast.AST, mutant: ast.AST) -> str:
    """The class of the change from `original` to `mutant` (two function definitions), or
    "" when some change is covered by the protocol (or nothing differs)."""
    changes = list(_differences(original, mutant, (original,), (mutant,)))
    classes = {_class_of(a, b) for a, b in changes}
    if not changes or "" in classes:
        return ""
    return "+".join(c for c in CLASSES if c in classes)


def _differences(a: Any, b: Any, path: _Path, other: _Path) -> Iterable[tuple[_Path, _Path]]:
    """The smallest subtrees of `a` that differ from their counterparts in `b`, each as
    its ancestors in both trees (`path` ends with `a`, `other` with `b`)."""
    if type(a) is not type(b):
        yield path, other
        return
    fields = [f for f in a._fields if f != "name" or not isinstance(a, ast.FunctionDef)]
    for name in fields:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, list):
            if len(x) != len(y) or any(type(u) is not type(v) for u, v in zip(x, y, strict=True)):
                yield path, other
                continue
            for u, v in zip(x, y, strict=True):
                if isinstance(u, ast.AST):
                    yield from _differences(u, v, (*path, u), (*other, v))
                elif u != v:
                    yield path, other
        elif isinstance(x, ast.AST):
            yield from _differences(x, y, (*path, x), (*other, y))
        elif x != y:
            yield path, other


def _class_of(path: _Path, other: _Path) -> str:
    if any(isinstance(node, ast.Raise) for node in path) or _is_label_argument(path):
        return "message"
    if _is_weaker_refusal(path, other):
        return "refusal"
    if _is_initial_value(path):
        return "initialisation"
    return ""


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_label_argument(path: _Path) -> bool:
    for parent, child in itertools.pairwise(path):
        if isinstance(parent, ast.Call) and _callee(parent) in LABEL_ARGUMENTS:
            position, keyword = LABEL_ARGUMENTS[_callee(parent)]
            if len(parent.args) > position and parent.args[position] is child:
                return True
            if isinstance(child, ast.keyword) and child.arg == keyword:
                return True
    return False


def _is_initial_value(path: _Path) -> bool:
    function = path[0]
    if not getattr(function, "name", "").endswith("ǁ__init____mutmut_orig"):
        return False
    for parent, child in itertools.pairwise(path):
        names = [getattr(t, "id", None) for t in getattr(parent, "targets", [])]
        if (
            isinstance(parent, ast.Assign)
            and child is parent.value
            and names in (["rng"], ["bound"])
        ):
            return True
        uniform = isinstance(parent, ast.Call) and _callee(parent) == "uniform"
        if uniform and any(child is arg for arg in parent.args[:2]):
            return True
    return False


def _is_weaker_refusal(path: _Path, other: _Path) -> bool:
    """The change lies in the condition of an ``if`` whose body only raises, and on every
    input the original accepts the mutant accepts too, evaluating nothing new."""
    for k, node in enumerate(path[:-1]):
        if (
            isinstance(node, ast.If)
            and path[k + 1] is node.test
            and not node.orelse
            and all(isinstance(s, ast.Raise) for s in node.body)
        ):
            return _accepts_where_accepted(node.test, other[k + 1])
    return False


_WEAKER = {ast.Lt: ast.LtE, ast.Gt: ast.GtE}  # a < b implies a <= b


def _atoms(test: ast.AST, into: dict[str, ast.AST]) -> None:
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            _atoms(value, into)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        _atoms(test.operand, into)
    else:
        into.setdefault(ast.dump(test), test)


def _evaluate(test: ast.AST, truth: dict[str, bool], seen: set[str]) -> bool:
    """`test` under `truth` (atom -> value), with Python's short-circuit; `seen` gets the
    atoms evaluated."""
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            result = _evaluate(value, truth, seen)
            if result == isinstance(test.op, ast.Or):
                return result
        return result
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return not _evaluate(test.operand, truth, seen)
    key = ast.dump(test)
    seen.add(key)
    return truth[key]


def _stronger(a: ast.AST, b: ast.AST) -> bool:
    """Whether atom `a` implies atom `b`: the same comparison with one ``<`` or ``>``
    of `a` made ``<=`` or ``>=`` in `b`."""
    if not (isinstance(a, ast.Compare) and isinstance(b, ast.Compare)):
        return False
    if ast.dump(a.left) != ast.dump(b.left) or len(a.ops) != len(b.ops):
        return False
    if [ast.dump(c) for c in a.comparators] != [ast.dump(c) for c in b.comparators]:
        return False
    changed = [(x, y) for x, y in zip(a.ops, b.ops, strict=True) if type(x) is not type(y)]
    return len(changed) == 1 and _WEAKER.get(type(changed[0][0])) is type(changed[0][1])


def _accepts_where_accepted(original: ast.AST, mutant: ast.AST) -> bool:
    """Whether `mutant` (a condition) is false wherever `original` is, on the truth table
    of their atoms, and evaluates only atoms the original evaluated there (or the same
    comparison with another operator)."""
    atoms: dict[str, ast.AST] = {}
    _atoms(original, atoms)
    _atoms(mutant, atoms)
    if len(atoms) > 10:
        return False
    names = list(atoms)
    stronger = {(p, q) for p in names for q in names if _stronger(atoms[p], atoms[q])}
    for values in itertools.product((False, True), repeat=len(names)):
        truth = dict(zip(names, values, strict=True))
        if any(truth[p] and not truth[q] for p, q in stronger):
            continue  # no input makes p true and q false
        seen: set[str] = set()
        if _evaluate(original, truth, seen):
            continue  # the original refuses these inputs
        evaluated: set[str] = set()
        if _evaluate(mutant, truth, evaluated):
            return False
        for q in evaluated - seen:
            if not any((p, q) in stronger or (q, p) in stronger for p in seen):
                return False
    return True
