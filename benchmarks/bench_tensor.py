"""Tensor-engine benchmark: one training step of a digits MLP, engine vs NumPy vs torch.

The step: an MLP 64-128-10 (ReLU) on a batch of 64 of scikit-learn's 8x8 digits,
cross-entropy loss, backward, Adam.  Three versions of the same step, from the same
initial weights on the same batches:

* ``engine``: `engine.nn` layers, `cross_entropy`, `backward()`, `engine.optim.Adam`;
* ``numpy``: the forward and backward written out by hand in NumPy, and Adam's update
  in place: the floor for an engine that calls NumPy;
* ``torch``: torch.nn, CPU, float64 (when torch imports).

Before timing, each version runs a few steps and their parameters are compared, so
the three really compute the same thing.  Rounds are interleaved in one process, so all
see the same machine load, and the order goes through every permutation (a rotation
would keep engine always right after torch, in caches torch just filled); the table
shows the median time per step over the rounds and its ratio to NumPy's, in wall time
and in the process's CPU time (on a busy machine the wall time also counts the time
other processes held the CPU; the CPU time does not).

BLAS and torch run on one thread by default: these matrices are too small to gain
from more, and on a busy machine spinning BLAS threads make every time meaningless
(``--threads 0`` keeps the libraries' own settings).

``--before REV`` runs the benchmark on a `git archive` of REV and on this tree, in turns,
and prints the ratios of the two (`benchmarks/before_after.py`).

Run ``python benchmarks/bench_tensor.py --help``; `main` is what `vgrad bench` calls.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

BATCH = 64
SIZES = (64, 128, 10)
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
CHECK_STEPS = 5

Step = Callable[[], Any]


def digits_batches(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of (64 images as rows of 64 pixels in [0, 1], 64 labels), shuffled by `seed`.

    scikit-learn's bundled digits when it is installed, random data of the same shapes
    (said on stdout) otherwise: the step's cost does not depend on the pixel values.
    """
    rng = np.random.default_rng(seed)
    try:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images, labels = digits.data / 16.0, digits.target
    except ImportError:
        print("scikit-learn is not installed (pip install -e '.[examples]'): random data")
        images, labels = rng.uniform(size=(1797, SIZES[0])), rng.integers(0, SIZES[-1], 1797)
    order = rng.permutation(len(labels))
    return [
        (images[order[i : i + BATCH]], labels[order[i : i + BATCH]])
        for i in range(0, len(labels) - BATCH + 1, BATCH)
    ]


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    """W1, b1, W2, b2 with torch.nn.Linear's shapes and initialisation."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        bound = 1.0 / np.sqrt(fan_in)
        weights += [
            rng.uniform(-bound, bound, (fan_out, fan_in)),
            rng.uniform(-bound, bound, fan_out),
        ]
    return weights


def _cycle(batches: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[], tuple[Any, Any]]:
    position = [0]

    def next_batch() -> tuple[Any, Any]:
        position[0] = (position[0] + 1) % len(batches)
        return batches[position[0]]

    return next_batch


def engine_step(batches: list, weights: list[np.ndarray]) -> tuple[Step, Callable[[], list]]:
    """The step with engine; returns it and a function giving the current parameters."""
    from engine.nn import Linear, ReLU, Sequential, cross_entropy
    from engine.optim import Adam

    model = Sequential(Linear(*SIZES[:2]), ReLU(), Linear(*SIZES[1:]))
    model.load_state_dict(
        {"0.weight": weights[0], "0.bias": weights[1], "2.weight": weights[2], "2.bias": weights[3]}
    )
    optimizer = Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    next_batch = _cycle(batches)

    def step() -> None:
        images, labels = next_batch()
        loss = cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, lambda: [p.data for p in model.parameters()]


def numpy_step(batches: list, weights: list[np.ndarray]) -> tuple[Step, Callable[[], list]]:
    """The step written out by hand in NumPy, Adam as torch computes it."""
    params = [w.copy() for w in weights]
    moments = [np.zeros_like(w) for w in weights]
    squares = [np.zeros_like(w) for w in weights]
    count = [0]
    next_batch = _cycle(batches)

    def step() -> None:
        images, labels = next_batch()
        w1, b1, w2, b2 = params
        n = len(labels)
        rows = np.arange(n)
        # forward
        z = images @ w1.T + b1
        h = np.maximum(z, 0.0)
        logits = h @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1)
        _loss = (np.log(total) - shifted[rows, labels]).sum() / n
        # backward: d loss / d logits = (softmax - one_hot) / n
        d_logits = e / total[:, np.newaxis]
        d_logits[rows, labels] -= 1.0
        d_logits /= n
        d_z = (d_logits @ w2) * (z > 0.0)
        grads = [d_z.T @ images, d_z.sum(axis=0), d_logits.T @ h, d_logits.sum(axis=0)]
        # Adam
        count[0] += 1
        t = count[0]
        step_size = LR / (1 - BETAS[0] ** t)
        correction = (1 - BETAS[1] ** t) ** 0.5
        for p, g, m, v in zip(params, grads, moments, squares, strict=True):
            m += (1 - BETAS[0]) * (g - m)
            v *= BETAS[1]
            v += (1 - BETAS[1]) * g * g
            p -= step_size * m / (np.sqrt(v) / correction + EPS)

    return step, lambda: params


def torch_step(batches: list, weights: list[np.ndarray]) -> tuple[Step, Callable[[], list]] | None:
    """The step with torch.nn in float64 on the CPU, or None when torch does not import."""
    try:
        import torch
    except ImportError:
        return None
    model = torch.nn.Sequential(
        torch.nn.Linear(*SIZES[:2], dtype=torch.float64),
        torch.nn.ReLU(),
        torch.nn.Linear(*SIZES[1:], dtype=torch.float64),
    )
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(torch.from_numpy(w))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    torch_batches = [(torch.from_numpy(x), torch.from_numpy(y).long()) for x, y in batches]
    next_batch = _cycle(torch_batches)

    def step() -> None:
        images, labels = next_batch()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, lambda: [p.detach().numpy() for p in model.parameters()]


@contextlib.contextmanager
def _threads(threads: int) -> Iterator[str]:
    """Run BLAS and torch on `threads` threads (0: as they are) inside; yields a note."""
    if not threads:
        yield "the libraries' own thread counts"
        return
    with contextlib.ExitStack() as restore:
        limited = []
        try:
            from threadpoolctl import threadpool_limits

            restore.enter_context(threadpool_limits(threads))
            limited.append("BLAS")
        except ImportError:
            print("threadpoolctl is not installed: BLAS keeps its own thread count")
        try:
            import torch

            restore.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(threads)
            limited.append("torch")
        except ImportError:
            pass
        yield f"{' and '.join(limited) or 'nothing'} limited to {threads} thread(s)"


def checked_steps() -> dict[str, Step] | None:
    """The step of each version that imports, after checking they compute the same thing.

    Each runs `CHECK_STEPS` steps from the same weights on the same batches; None (and a
    message) if some version's parameters then differ from engine's by more than 1e-9.
    """
    batches, weights = digits_batches(), initial_weights()
    steps: dict[str, Step] = {}
    reference = None
    for name, make in {"engine": engine_step, "numpy": numpy_step, "torch": torch_step}.items():
        made = make(batches, weights)
        if made is None:
            print(f"{name} does not import (pip install -e '.[peers]'): skipped")
            continue
        step, parameters = made
        for _ in range(CHECK_STEPS):
            step()
        if reference is None:
            reference = [np.array(p) for p in parameters()]
        else:
            pairs = zip(parameters(), reference, strict=True)
            gap = max(np.abs(np.asarray(p) - r).max() for p, r in pairs)
            if gap > 1e-9:
                print(f"{name} disagrees with engine after {CHECK_STEPS} steps by {gap:.2e}")
                return None
        steps[name] = step
    return steps


def interleaved_times(
    steps: dict[str, Step], rounds: int, per_round: int
) -> tuple[dict[str, list], dict[str, list]]:
    """Wall and CPU seconds per step of each version in each round; round r runs the
    versions in the r-th permutation of their order (cycling), so each follows each
    other equally often."""
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    orders = list(itertools.permutations(steps))
    for round_ in range(rounds):
        for name in orders[round_ % len(orders)]:
            step = steps[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(per_round):
                step()
            wall[name].append((time.perf_counter() - start) / per_round)
            cpu[name].append((time.process_time() - start_cpu) / per_round)
    return wall, cpu


def main(rounds: int = 15, steps: int = 50, threads: int = 1, as_json: bool = False) -> int:
    """Print the benchmark table (or, `as_json`, one JSON line of the medians and ratios);
    returns the exit code (1 if the versions disagree).

    `threads` limits BLAS and torch; 0 keeps their own thread counts.
    """
    with _threads(threads) as note:
        versions = checked_steps()
        if versions is None:
            return 1
        samples, cpu_samples = interleaved_times(versions, rounds, steps)
    if as_json:
        result = {}
        for clock, by_name in (("", samples), (" cpu", cpu_samples)):
            medians = {name: statistics.median(times) for name, times in by_name.items()}
            result.update({f"{name}{clock} us/step": t * 1e6 for name, t in medians.items()})
            result.update(
                {f"{name}/numpy{clock}": t / medians["numpy"] for name, t in medians.items()}
            )
        print(json.dumps(result))
        return 0
    print(
        f"MLP {'-'.join(map(str, SIZES))} training step (batch {BATCH}, cross-entropy, "
        "backward, Adam), float64"
    )
    print(
        f"median of {rounds} interleaved rounds of {steps} steps; {os.cpu_count()} CPUs, "
        f"{note}; parameters agree to 1e-9 after {CHECK_STEPS} steps"
    )
    floor, cpu_floor = statistics.median(samples["numpy"]), statistics.median(cpu_samples["numpy"])
    for name, times in samples.items():
        median, cpu = statistics.median(times), statistics.median(cpu_samples[name])
        print(
            f"  {name:8s} {median * 1e6:8.1f} us/step   {median / floor:5.2f}x numpy   "
            f"CPU {cpu * 1e6:8.1f} us/step   {cpu / cpu_floor:5.2f}x numpy"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--steps", type=int, default=50, help="steps per round (default 50)")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and torch threads (default 1; 0: theirs)"
    )
    parser.add_argument("--before", metavar="REV", help="compare with revision REV")
    parser.add_argument("--runs", type=int, default=3, help="runs per tree with --before")
    parser.add_argument("--json", action="store_true", help="one JSON line of the numbers")
    arguments = parser.parse_args()
    if arguments.before:
        from before_after import compare

        words = ["--rounds", str(arguments.rounds), "--steps", str(arguments.steps)]
        compare(
            __file__,
            [*words, "--threads", str(arguments.threads)],
            arguments.before,
            arguments.runs,
        )
        sys.exit(0)
    sys.exit(main(arguments.rounds, arguments.steps, arguments.threads, arguments.json))
