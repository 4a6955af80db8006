"""Write docs/api.md, the API reference of `engine`, from its docstrings.

Run ``python docs/gen_api.py`` after changing a public name, a signature or a docstring
of `engine` (``--stdout`` prints instead of writing); tests/test_docs.py fails while the
committed file differs from what this script makes.

A module's public names are its ``__all__``, or else the classes and functions it defines
whose names do not start with ``_``. A class shows its constructor, its operators and its
public methods and properties, each with its docstring.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from types import ModuleType

MODULES = (
    "engine.value",
    "engine.tensor",
    "engine.functional",
    "engine.nn",
    "engine.optim",
    "engine.draw",
    "engine.explain",
)
OPERATORS = {
    "__add__": "x + y",
    "__radd__": "2 + x",
    "__sub__": "x - y",
    "__rsub__": "2 - x",
    "__mul__": "x * y",
    "__rmul__": "2 * x",
    "__truediv__": "x / y",
    "__rtruediv__": "2 / x",
    "__pow__": "x ** y",
    "__rpow__": "2 ** x",
    "__neg__": "-x",
    "__matmul__": "x @ y",
    "__rmatmul__": "array @ x",
    "__getitem__": "x[index]",
    "__len__": "len(x)",
}
HEADER = """# `engine` API reference

Generated from the docstrings by `python docs/gen_api.py`: edit the docstrings, not this
file (`tests/test_docs.py` checks that it is up to date). For a guided tour, see
[tutorial.md](tutorial.md).
"""


def public_names(module: ModuleType) -> list[str]:
    """`module.__all__`, or the classes and functions it defines, in source order."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__
    ]


def signature(obj: object, skip_self: bool = False) -> str:
    """``(a, b=1, *shape)``: parameter names and defaults, without annotations or privates."""
    try:
        parameters = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return "(...)"
    shown = []
    for p in parameters[1:] if skip_self else parameters:
        if p.name.startswith("_"):
            continue
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        default = "" if p.default is p.empty else f"={p.default!r}"
        shown.append(f"{prefix}{p.name}{default}")
    return f"({', '.join(shown)})"


def docstring(obj: object, indent: str = "") -> str:
    """`obj`'s own docstring (never an inherited one), continuation lines indented."""
    doc = inspect.cleandoc(obj.__doc__) if obj.__doc__ else ""
    lines = fence_literal_blocks(doc.splitlines())
    return "\n".join(lines[:1] + [(indent + line).rstrip() for line in lines[1:]])


def fence_literal_blocks(lines: list[str]) -> list[str]:
    """A reStructuredText ``::`` block (the indented lines after it) as a ```text block."""
    out: list[str] = []
    literal = False
    for line in lines:
        if line.strip() == "::":
            out.append("```text")
            literal = True
        elif literal and line and not line.startswith(" "):  # the block has ended
            while out[-1] == "":
                out.pop()
            out += ["```", "", line]
            literal = False
        elif literal:
            if line or out[-1] != "```text":
                out.append(line[4:])
        else:
            out.append(line)
    return [*out, "```"] if literal else out


def item(title: str, obj: object, note: str = "") -> str:
    """A list item: the member (and a note), then its docstring when it has one."""
    doc = docstring(obj, "  ")
    return f"- `{title}`{note}: {doc}" if doc else f"- `{title}`{note}"


def describe_class(name: str, cls: type) -> list[str]:
    lines = [f"### `{name}{signature(cls)}`", ""]
    bases = [b.__name__ for b in cls.__bases__ if b is not object]
    if bases:
        lines += [f"Subclass of {', '.join(f'`{b}`' for b in bases)}.", ""]
    if cls.__doc__:
        lines += [docstring(cls), ""]
    operators = [f"`{form}`" for dunder, form in OPERATORS.items() if dunder in vars(cls)]
    if operators:
        lines += [f"Operators: {', '.join(operators)}.", ""]
    members = []
    for member, obj in vars(cls).items():
        if member == "__call__":
            members.append(item(f"{name.lower()}{signature(obj, skip_self=True)}", obj))
        elif member.startswith("_"):
            continue
        elif isinstance(obj, property):
            members.append(item(f".{member}", obj, " (property)"))
        elif isinstance(obj, (classmethod, staticmethod)):
            skip = isinstance(obj, classmethod)
            members.append(item(f"{name}.{member}{signature(obj.__func__, skip)}", obj.__func__))
        elif inspect.isfunction(obj):
            members.append(item(f".{member}{signature(obj, skip_self=True)}", obj))
    lines += [line.rstrip() for line in members]
    return [*lines, ""] if members else lines


def describe_module(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    summary = (inspect.getdoc(module) or "").split("\n\n")[0]
    lines = [f"## `{module_name}`", "", summary, ""]
    for name in public_names(module):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            lines += describe_class(name, obj)
        elif inspect.isfunction(obj):
            lines += [f"### `{name}{signature(obj)}`", "", docstring(obj), ""]
    return lines


def generate() -> str:
    import engine

    top = ", ".join(f"`{name}`" for name in engine.__all__)
    lines = [
        HEADER,
        "## `engine`",
        "",
        inspect.getdoc(engine),
        "",
        f"`from engine import`: {top}.",
        "",
    ]
    for module_name in MODULES:
        lines += describe_module(module_name)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--stdout" in argv:
        sys.stdout.write(text)
    else:
        (Path(__file__).parent / "api.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
