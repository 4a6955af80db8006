"""Data flows one way (design.md): reports -> properties -> {engine, oracle}. `engine`
and `oracle` never see each other, so a bug cannot be shared between them; neither
imports the suite or the reports; the suite reaches a target only through its worker
(`properties/worker/`), which imports neither the oracle, JAX nor Hypothesis; and the
suite never imports the reports built on it.

Every import statement of every .py file in each package is parsed with `ast` (imports
inside functions and `if` blocks included); relative imports stay inside their package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = {"properties", "reports", "vgrad"}
FORBIDDEN = {
    "oracle": {"engine", *SUITE},
    "engine": {"oracle", "jax", "jaxlib", "optax", *SUITE},
    "properties": {"engine", "reports", "vgrad"},
    "properties/worker": {"oracle", "jax", "jaxlib", "optax", "hypothesis", "engine", "reports"},
}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the absolute modules `path` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_the_other_side(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files found under {ROOT / package}"
    offences = [
        f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        for path in files
        if (bad := imported_modules(path) & FORBIDDEN[package])
    ]
    assert not offences, "\n".join(offences)


def test_the_check_sees_imports_anywhere(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    if True:\n        from engine.value import Value\n"
        "    import jax.numpy as jnp\nfrom . import sibling\n"
    )
    assert imported_modules(sample) == {"engine", "jax"}, imported_modules(sample)
