"""Loading targets and detecting their capabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from properties.targets import TargetLoadError, load_target

MINIMAL = """
class Value:
    def __init__(self, data):
        self.data, self.grad = data, 0
    def __add__(self, other):
        return Value(self.data + other.data)
    def __mul__(self, other):
        return Value(self.data * other.data)
    def tanh(self):
        raise RuntimeError("broken, but present")
"""


def test_engine_offers_the_whole_spec() -> None:
    target = load_target("engine")
    for needed in [
        "Value.__rpow__",
        "Value.__pow__(Value)",
        "Value.sigmoid",
        "Tensor.__matmul__(nd)",
        "Tensor.sum(axis=tuple)",
        "Tensor.__getitem__",
        "Tensor.log_softmax",
        "optim.AdamW",
        "nn.MLP",
    ]:
        assert needed in target.capabilities, f"engine lacks {needed}"


def test_a_file_target_is_loaded_by_path_and_broken_methods_count(tmp_path: Path) -> None:
    path = tmp_path / "student.py"
    path.write_text(MINIMAL)
    target = load_target(str(path))
    assert target.has("Value", "Value.__add__", "Value.__mul__", "Value.tanh"), target.capabilities
    assert not target.has("Value.__sub__"), "a missing operator was detected"
    assert not target.has("Value.__rpow__"), "a refused operand was detected"
    assert target.import_name == str(path.resolve()), target.import_name


def test_a_package_folder_is_a_target(tmp_path: Path) -> None:
    package = tmp_path / "mygrad_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(MINIMAL)
    target = load_target(str(package) + "/")
    assert target.has("Value.__add__"), target.capabilities


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_anywhere", "cannot import target"),
        ("./missing.py", "no such file"),
        ("json", "no Value, Tensor, optim or nn"),
    ],
)
def test_unloadable_targets_raise_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(TargetLoadError, match=message):
        load_target(spec)


def test_micrograd_peer_lacks_what_micrograd_lacks() -> None:
    pytest.importorskip("micrograd", reason="micrograd is an optional peer (extra 'peers')")
    target = load_target("micrograd")
    missing = target.missing(
        "Value.tanh", "Value.exp", "Value.log", "Value.sigmoid", "Value.__pow__(Value)", "Tensor"
    )
    assert len(missing) == 6, f"micrograd should lack all of these, lacks only {missing}"
    assert target.has("Value.relu", "nn.MLP"), target.capabilities


def test_an_error_raised_inside_numpy_names_the_targets_line(tmp_path: Path) -> None:
    """`described` names the target's own function, with NumPy's frame after it, not
    NumPy's alone (a transpose with a wrong axis raises in numpy's fromnumeric.py)."""
    import importlib.util

    from properties.worker.tasks import described

    engine = tmp_path / "student_engine.py"
    engine.write_text(
        "import numpy as np\n\ndef transpose(x):\n    return np.transpose(x, axes=(0, 5))\n"
    )
    spec = importlib.util.spec_from_file_location("student_engine", engine)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        module.transpose(np.zeros((2, 3)))
    except Exception as error:  # numpy's AxisError
        where = described(error)["where"]
    assert where.startswith("transpose (student_engine.py:4), inside "), where
    assert "fromnumeric.py" in where or "numpy" in where.lower(), where
