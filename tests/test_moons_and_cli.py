"""The moons demo converges, and the `vgrad` command line answers."""

from __future__ import annotations

import numpy as np
import pytest

from reports.cli import main
from reports.moons import make_moons, train


def test_make_moons_shapes_and_labels() -> None:
    X, y = make_moons(n_samples=101, seed=3)
    assert X.shape == (101, 2), X.shape
    assert sorted(set(y.tolist())) == [-1.0, 1.0], set(y.tolist())
    assert (y == -1).sum() == 50, (y == -1).sum()


def test_moons_training_loss_falls_and_accuracy_rises() -> None:
    run = train(steps=20, log=None)
    assert run.losses[-1] < 0.5 * run.losses[0], run.losses
    assert run.accuracies[-1] >= 0.9, run.accuracies


def test_vgrad_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "bench" in out, out


def test_vgrad_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--steps", "many"]) == 2
    assert "invalid int value" in capsys.readouterr().err


def test_demo_writes_decision_boundary(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    picture = tmp_path / "moons.png"
    assert main(["demo", "--steps", "3", "--out", str(picture)]) == 0
    assert picture.stat().st_size > 1000, picture.stat().st_size
    assert "step   2" in capsys.readouterr().out


def test_make_moons_is_seeded() -> None:
    a, _ = make_moons(seed=5)
    b, _ = make_moons(seed=5)
    assert np.array_equal(a, b), "same seed, different points"
