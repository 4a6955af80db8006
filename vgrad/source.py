"""Objects from a notebook or a session, turned into a module file a worker can load.

`vgrad.check(Value)` never runs `Value` in the caller's process: it recovers the source
of the objects (with `inspect`, the text IPython keeps of each cell, or IPython's cell
history), adds what that source needs (imports, helper functions and classes of the
notebook, constants), writes it to a file named after its content in vgrad's cache, and
checks that file as a path target. A failure's snippet loads the same file, so it
reproduces the case in a fresh interpreter.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import linecache
import symtable
import sys
import textwrap
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from properties.settings import cache_dir
from reports.output import write_atomically

SPEC_NAMES = ("Value", "Tensor", "optim", "nn", "functional")
LITERALS = (int, float, complex, str, bytes, bool, type(None))
HOW_TO = (
    "define it in a notebook cell or a .py file and pass it again, or save your engine in "
    "a file and call vgrad.check('my_engine.py')"
)


class SourceError(Exception):
    """The source of an object given to `vgrad.check` cannot be recovered."""


def target_file(objects: Mapping[str, Any]) -> Path:
    """Write a module defining `objects` (name -> class, function, module or namespace)
    into vgrad's cache, named by its content; return its path."""
    text = module_source(objects)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    stem = "_".join(objects)[:40]
    path = cache_dir() / "targets" / f"{stem}_{digest}.py"
    if not path.exists():
        write_atomically(path, text)
    return path


def module_source(objects: Mapping[str, Any]) -> str:
    """The text of a module that defines each name of `objects` as the caller has it."""
    writer = _Writer()
    for name, obj in objects.items():
        writer.define(name, obj)
    parts = ['"""Written by vgrad.check from objects defined in a notebook or a session."""']
    if writer.imports:
        parts.append("\n".join(writer.imports))
    parts += [block.strip("\n") for block in writer.blocks]
    return "\n\n\n".join(parts) + "\n"


class _Writer:
    """Collects the imports and the code blocks of the module, dependencies first."""

    def __init__(self) -> None:
        self.imports: list[str] = []
        self.blocks: list[str] = []
        self.defined: dict[str, int] = {}  # name -> id of the object it holds

    def define(self, name: str, obj: Any) -> None:
        if self.defined.get(name) == id(obj):
            return
        if name in self.defined:
            raise SourceError(
                f"two different objects are both named {name!r}; give each engine its own "
                "vgrad.check call"
            )
        self.defined[name] = id(obj)
        if isinstance(obj, types.ModuleType):
            self._module(name, obj)
        elif isinstance(obj, LITERALS) or _literal_tuple(obj):
            self.blocks.append(f"{name} = {obj!r}")
        elif isinstance(obj, type | types.FunctionType):
            self._code(name, obj)
        elif isinstance(obj, types.SimpleNamespace):
            for member, value in vars(obj).items():
                self.define(member, value)
            members = ", ".join(f"{m}={m}" for m in vars(obj))
            self._import("import types")
            self.blocks.append(f"{name} = types.SimpleNamespace({members})")
        else:
            raise SourceError(
                f"{name!r} is a {type(obj).__name__}, which vgrad cannot send to the target's "
                f"worker as source; {HOW_TO}"
            )

    def _module(self, name: str, module: types.ModuleType) -> None:
        real = module.__name__
        if module.__spec__ is None or real == "__main__" or sys.modules.get(real) is not module:
            if getattr(module, "__file__", None):
                self._file_module(name, Path(module.__file__))
                return
            raise SourceError(
                f"the module {name!r} ({real}) was not imported from a file; {HOW_TO}"
            )
        parent, _, last = real.rpartition(".")
        if last != name:
            self._import(f"import {real} as {name}")
        else:
            self._import(f"from {parent} import {name}" if parent else f"import {name}")

    def _file_module(self, name: str, path: Path) -> None:
        self._import("import importlib.util")
        location = path.parent if path.name == "__init__.py" else path
        self.blocks.append(
            f"_spec = importlib.util.spec_from_file_location({name!r}, {str(path)!r}"
            + (f", submodule_search_locations=[{str(location)!r}])" if location != path else ")")
            + f"\n{name} = importlib.util.module_from_spec(_spec)"
            + f"\n_spec.loader.exec_module({name})"
        )

    def _import(self, line: str) -> None:
        if line not in self.imports:
            self.imports.append(line)

    def _code(self, name: str, obj: type | types.FunctionType) -> None:
        module = sys.modules.get(obj.__module__)
        if (
            obj.__module__ not in ("__main__", "builtins")
            and module is not None
            and module.__spec__ is not None
            and getattr(module, obj.__name__, None) is obj
        ):
            alias = "" if name == obj.__name__ else f" as {name}"
            self._import(f"from {obj.__module__} import {obj.__name__}{alias}")
            return
        text = source_of(obj)
        patches = _attached_later(obj) if isinstance(obj, type) else []
        patch_text = [
            source_of(f) + f"\n{obj.__name__}.{attr} = {f.__name__}" for attr, f in patches
        ]
        needed = free_names("\n\n".join([text, *patch_text]))
        namespace = _namespace_of(obj)
        for free, must in sorted(needed.items()):
            if free == obj.__name__ or free in vars(builtins):
                continue
            if free not in namespace and not must:
                continue
            if free not in namespace:
                raise SourceError(
                    f"{obj.__name__} uses {free!r}, which is not defined where "
                    f"{obj.__name__} was defined; define it, then call vgrad.check again"
                )
            self.define(free, namespace[free])
        self.blocks.append(text)
        self.blocks += patch_text
        if name != obj.__name__:
            self.blocks.append(f"{name} = {obj.__name__}")


def _literal_tuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and all(isinstance(x, LITERALS) for x in obj)


def _namespace_of(obj: type | types.FunctionType) -> Mapping[str, Any]:
    """The globals `obj` was defined in (the notebook's for a class of a cell)."""
    if isinstance(obj, types.FunctionType):
        return obj.__globals__
    for function in _functions(obj):
        return function.__globals__
    module = sys.modules.get(obj.__module__)
    return vars(module) if module is not None else {}


def _functions(cls: type) -> Iterable[types.FunctionType]:
    """The plain functions behind the attributes of `cls` (methods, properties, ...)."""
    for value in vars(cls).values():
        for candidate in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
            if isinstance(candidate, types.FunctionType):
                yield candidate


def _attached_later(cls: type) -> list[tuple[str, types.FunctionType]]:
    """Methods assigned to `cls` after its class statement (``Value.tanh = tanh``)."""
    prefix = cls.__qualname__ + "."
    return [
        (attr, value)
        for attr, value in vars(cls).items()
        if isinstance(value, types.FunctionType)
        and not value.__qualname__.startswith(prefix)
        and value.__name__ != "<lambda>"
    ]


def source_of(obj: type | types.FunctionType) -> str:
    """The source text of a class or a function, also one defined in a notebook cell."""
    try:
        text = textwrap.dedent(inspect.getsource(obj))
        # inspect finds a class by its name: make sure the statement is this class's
        if not isinstance(obj, type) or _defines(text, obj):
            return text
    except (OSError, TypeError):
        pass
    if isinstance(obj, type):
        for finder in (_class_in_cell, _class_in_history):
            found = finder(obj)
            if found:
                return found
    raise SourceError(f"cannot recover the source of {obj.__qualname__}; {HOW_TO}")


def _class_in_cell(cls: type) -> str:
    """The class statement, from the text IPython keeps of the cell its methods come from."""
    for function in _functions(cls):
        if not function.__qualname__.startswith(cls.__qualname__ + "."):
            continue
        code = function.__code__
        text = "".join(linecache.getlines(code.co_filename))
        found = _class_statement(text, cls.__name__, code.co_firstlineno)
        if found:
            return found
    return ""


def _class_in_history(cls: type) -> str:
    """The last cell of IPython's history whose text defines the class."""
    shell = _ipython()
    if shell is None:
        return ""
    for cell in reversed(shell.user_ns.get("_ih") or shell.user_ns.get("In") or []):
        found = _class_statement(shell.transform_cell(cell), cls.__name__)
        if found and _defines(found, cls):
            return found
    return ""


def _defines(text: str, cls: type) -> bool:
    """Whether the class statement `text` defines what `cls` holds: every name its body
    binds, and every method `cls` got in its class statement (not one of the same name)."""
    body = ast.parse(text).body[0].body  # type: ignore[attr-defined]
    names = {n.name for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    for node in body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    own = {
        name
        for name, value in vars(cls).items()
        if isinstance(value, types.FunctionType)
        and value.__qualname__.startswith(cls.__qualname__ + ".")
    }
    return names <= set(vars(cls)) and own <= names


def _ipython() -> Any:
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _class_statement(text: str, name: str, line: int | None = None) -> str:
    """The text of the last top-level ``class name`` statement of `text` (the one that
    spans `line`, when given)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    lines = text.splitlines()
    for node in reversed(tree.body):
        spans = line is None or node.lineno <= line <= (node.end_lineno or node.lineno)
        if isinstance(node, ast.ClassDef) and node.name == name and spans:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return "\n".join(lines[start - 1 : node.end_lineno]) + "\n"
    return ""


def free_names(text: str) -> dict[str, bool]:
    """The global names `text` reads but does not define itself, each with whether it must
    be found: a name a class body reads and also assigns (``SGD = SGD``) may be its own."""
    table = symtable.symtable(text, "<vgrad target>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    found = {s.get_name(): True for s in table.get_symbols() if s.is_referenced()}
    pending = list(table.get_children())
    while pending:
        scope = pending.pop()
        pending += scope.get_children()
        for symbol in scope.get_symbols():
            if not symbol.is_referenced():
                continue
            if symbol.is_global():
                found[symbol.get_name()] = True
            elif scope.get_type() == "class" and symbol.is_assigned():
                found.setdefault(symbol.get_name(), False)
    return {name: must for name, must in found.items() if name not in defined}
