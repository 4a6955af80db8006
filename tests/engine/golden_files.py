"""Golden files: expected text kept under tests/golden/, compared exactly."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/`name` (VGRAD_UPDATE_GOLDEN=1 rewrites the file instead)."""
    path = GOLDEN / name
    if os.environ.get("VGRAD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; diff it against {path}"
