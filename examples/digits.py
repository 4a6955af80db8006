"""Handwritten digits with engine.Tensor: an MLP and a small CNN trained with Adam.

scikit-learn's bundled 8x8 digits (1797 images, no download), split 75/25 into train
and test.  Both models train with mini-batch Adam on cross-entropy; the script prints
each one's test accuracy and training time, and writes a picture with the loss curves
and the two confusion matrices.

    pip install -e '.[examples]'
    python examples/digits.py --out digits.png

BLAS runs on one thread here: these matrices are small, so more threads only add
synchronisation, and on a busy machine they wait for each other (10x slower).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import Tensor, no_grad
from engine.nn import (
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    cross_entropy,
)
from engine.optim import Adam

DEFAULT_SEED = 0
CLASSES = 10


@dataclass
class Split:
    """Images scaled to [0, 1] as (N, 1, 8, 8), and their labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass
class Run:
    """What training one model produced."""

    name: str
    losses: list[float]
    accuracy: float
    confusion: np.ndarray
    seconds: float


def load_split(seed: int = DEFAULT_SEED) -> Split:
    """The digits, shuffled by `seed` and split 75/25 with every class in both parts."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    parts = train_test_split(
        images, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    return Split(*parts[0::2], *parts[1::2])


def make_mlp(rng: np.random.Generator) -> Sequential:
    """64 pixels -> 128 ReLU units -> 10 logits."""
    return Sequential(Flatten(), Linear(64, 128, rng=rng), ReLU(), Linear(128, CLASSES, rng=rng))


def make_cnn(rng: np.random.Generator) -> Sequential:
    """Two 3x3 convolutions (16 and 32 channels), each with ReLU and 2x2 max pooling."""
    return Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),  # 16 x 4 x 4
        Conv2d(16, 32, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),  # 32 x 2 x 2
        Flatten(),
        Linear(128, CLASSES, rng=rng),
    )


def train(
    model: Module,
    split: Split,
    rng: np.random.Generator,
    epochs: int,
    batch_size: int = 32,
    lr: float = 3e-3,
) -> list[float]:
    """Mini-batch Adam on cross-entropy; returns the mean training loss of each epoch."""
    optimizer = Adam(model.parameters(), lr=lr)
    n = len(split.train_labels)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            loss = cross_entropy(model(split.train_images[batch]), split.train_labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / n)
    return losses


def predict(model: Module, images: np.ndarray) -> np.ndarray:
    """The most likely class of each image (no graph is recorded)."""
    with no_grad():
        logits: Tensor = model(images)
    return logits.data.argmax(axis=1)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """counts[true class, predicted class]."""
    counts = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def run(name: str, model: Module, split: Split, rng: np.random.Generator, epochs: int) -> Run:
    """Train `model`, then measure it on the test images."""
    start = time.perf_counter()
    losses = train(model, split, rng, epochs)
    seconds = time.perf_counter() - start
    predictions = predict(model, split.test_images)
    accuracy = float(np.mean(predictions == split.test_labels))
    return Run(name, losses, accuracy, confusion_matrix(split.test_labels, predictions), seconds)


def plot(runs: Sequence[Run], path: Path) -> Path | None:
    """Loss curves and confusion matrices in one PNG; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no picture")
        return None
    figure, axes = plt.subplots(1, 1 + len(runs), figsize=(5 * (1 + len(runs)), 4.5))
    for result in runs:
        epochs = np.arange(1, len(result.losses) + 1)
        axes[0].plot(epochs, result.losses, marker="o", markersize=3, label=result.name)
    axes[0].set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log")
    axes[0].set_title("loss per epoch")
    axes[0].legend()
    for ax, result in zip(axes[1:], runs, strict=True):
        ax.imshow(result.confusion, cmap="Blues")
        for (i, j), count in np.ndenumerate(result.confusion):
            if count:
                color = "white" if count > result.confusion.max() / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=color)
        ax.set(xlabel="predicted", ylabel="true", xticks=range(CLASSES), yticks=range(CLASSES))
        ax.set_title(f"{result.name}: test accuracy {result.accuracy:.1%}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split and weight seed")
    parser.add_argument("--mlp-epochs", type=int, default=30, help="MLP epochs (default 30)")
    parser.add_argument("--cnn-epochs", type=int, default=15, help="CNN epochs (default 15)")
    parser.add_argument("--out", default="digits.png", help="picture to write")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    split = load_split(args.seed)
    print(f"digits: {len(split.train_labels)} training and {len(split.test_labels)} test images")
    rng = np.random.default_rng(args.seed)
    runs = []
    for name, make, epochs in [
        ("MLP", make_mlp, args.mlp_epochs),
        ("CNN", make_cnn, args.cnn_epochs),
    ]:
        with threadpool_limits(limits=1, user_api="blas"):
            result = run(name, make(rng), split, rng, epochs)
        print(
            f"{name}: test accuracy {result.accuracy:.2%} after {epochs} epochs "
            f"({result.seconds:.1f} s, final training loss {result.losses[-1]:.4f})"
        )
        runs.append(result)
    picture = plot(runs, Path(args.out))
    if picture:
        print(f"loss curves and confusion matrices written to {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
