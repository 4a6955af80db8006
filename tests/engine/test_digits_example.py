"""examples/digits.py runs end to end (one epoch per model) and writes its picture."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the digits example needs scikit-learn ('.[examples]')")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits.py"


def test_digits_example_trains_both_models_and_plots(tmp_path: Path, capsys, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("digits_example", EXAMPLE)
    digits = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, digits)  # dataclasses look their module up
    spec.loader.exec_module(digits)
    picture = tmp_path / "digits.png"
    code = digits.main(["--mlp-epochs", "1", "--cnn-epochs", "1", "--out", str(picture)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "MLP: test accuracy" in printed and "CNN: test accuracy" in printed, printed
    assert picture.stat().st_size > 10_000, f"picture of {picture.stat().st_size} bytes"
