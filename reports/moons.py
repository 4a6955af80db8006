"""micrograd's demo: a scalar MLP learns to separate two interleaved half-moons.

The step (forward, max-margin loss, backward, SGD update) is written once against any
micrograd-style `Value`/`MLP` pair, so the benchmark runs the same code on `engine`
and on micrograd.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_SEED = 1337


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = DEFAULT_SEED):
    """Two interleaved half circles with Gaussian noise, labels in {-1, +1}.

    The same construction as scikit-learn's ``make_moons``, in NumPy only.
    """
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    outer = np.linspace(0.0, np.pi, n_outer)
    inner = np.linspace(0.0, np.pi, n_inner)
    x = np.concatenate([np.cos(outer), 1.0 - np.cos(inner)])
    y = np.concatenate([np.sin(outer), 1.0 - np.sin(inner) - 0.5])
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n_samples, 2))
    labels = np.concatenate([-np.ones(n_outer), np.ones(n_inner)])
    order = rng.permutation(n_samples)
    return points[order], labels[order]


def svm_loss(model: Any, X: np.ndarray, y: np.ndarray, value_cls: type, alpha: float = 1e-4):
    """Mean hinge loss ``relu(1 - y * score)`` plus ``alpha * sum(p**2)``; and the accuracy."""
    inputs = [[value_cls(float(a)), value_cls(float(b))] for a, b in X]
    scores = [model(x) for x in inputs]
    losses = [(1 + -float(yi) * score).relu() for yi, score in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    correct = sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores, strict=True))
    return data_loss + reg_loss, correct / len(y)


def sgd_step(model: Any, X: np.ndarray, y: np.ndarray, value_cls: type, lr: float):
    """One full-batch step: forward, loss, backward, ``p -= lr * grad``."""
    loss, accuracy = svm_loss(model, X, y, value_cls)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data, accuracy


@dataclass
class MoonsRun:
    """What a training run produced."""

    model: Any
    X: np.ndarray
    y: np.ndarray
    losses: list[float]
    accuracies: list[float]


def train(
    steps: int = 100,
    seed: int = DEFAULT_SEED,
    log: Callable[[str], None] | None = print,
) -> MoonsRun:
    """micrograd's demo with `engine`: MLP(2, [16, 16, 1]), lr = 1 - 0.9 k / steps."""
    from engine import Value
    from engine.nn import MLP

    X, y = make_moons(seed=seed)
    random.seed(seed)
    model = MLP(2, [16, 16, 1])
    losses, accuracies = [], []
    for k in range(steps):
        loss, accuracy = sgd_step(model, X, y, Value, lr=1.0 - 0.9 * k / steps)
        losses.append(loss)
        accuracies.append(accuracy)
        if log and (k % 10 == 0 or k == steps - 1):
            log(f"step {k:3d}  loss {loss:.4f}  accuracy {accuracy:.0%}")
    return MoonsRun(model, X, y, losses, accuracies)


def plot_decision_boundary(run: MoonsRun, path: Path) -> Path | None:
    """Write the decision boundary as a PNG; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    h = 0.05
    x_min, x_max = run.X[:, 0].min() - 1, run.X[:, 0].max() + 1
    y_min, y_max = run.X[:, 1].min() - 1, run.X[:, 1].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    scores = [
        run.model([float(a), float(b)]).data for a, b in zip(xx.ravel(), yy.ravel(), strict=True)
    ]
    zz = (np.array(scores) > 0).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xx, yy, zz, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(run.X[:, 0], run.X[:, 1], c=run.y, s=40, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_title(f"moons: {run.accuracies[-1]:.0%} training accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
