"""Planted-bug engines: a clean engine of the spec and named patches that break it.

`write_engine(bug, directory)` writes the clean engine (`bug=None`) or a patched one as a
standalone .py file that `vgrad check --target PATH` (or `properties.targets`) can load.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .bugs import BUGS, CLEAN_SOURCE, Bug, shows
from .network_bugs import NETWORK_BUGS

BUGS = [*BUGS, *NETWORK_BUGS]

__all__ = ["BUGS", "CLEAN_SOURCE", "Bug", "load_engine", "shows", "write_engine"]


def write_engine(bug: Bug | None, directory: Path) -> Path:
    """Write the clean or `bug`-patched engine to `directory`/planted_<name>.py."""
    name = "clean" if bug is None else bug.name
    path = Path(directory) / f"planted_{name}.py"
    path.write_text(CLEAN_SOURCE if bug is None else bug.source())
    return path


def load_engine(path: Path) -> ModuleType:
    """Import the engine file at `path` as a fresh module named after the file."""
    name = f"planted_engine_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
