"""A correct optimizer may part from the oracle's by the rounding of a gradient that
cancels: found by `vgrad check --target torch --profile thorough`."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.optim_config import OptimizerConfig
from properties.targets import load_target
from properties.test_optimizers import check_trajectory, reference_run

# Adam maximizing with weight decay: the update's gradient -g + wd * p is
# 0.0316... - 0.0316... * 1.0000000020399 = -6.4e-11, a cancellation whose last bits
# depend on how `wd * p` is added (torch may fuse the multiply-add); Adam's first step
# then divides it by |g| + eps with eps = 1e-8, carrying its relative error 1e-7 into a
# step of 6e-3.
CONFIG = OptimizerConfig(
    "Adam",
    {
        "lr": 1.0,
        "betas": (0.5, 0.5),
        "eps": 1e-08,
        "weight_decay": 0.03162277660168379,
        "amsgrad": False,
        "decoupled_weight_decay": False,
        "maximize": True,
    },
)
START = [np.array([-1.0000000020399127, 1.0, 1.0]), np.array([[1.0, 1.0], [1.0, 1.0]])]
GRADS = [[np.array([-0.03162277660168379, 0.0, 0.0]), np.array([[1.0, 1.0], [0.0, 0.0]])]]


@pytest.mark.parametrize("name", ["engine", "torch"])
def test_adam_on_a_cancelling_decayed_gradient_follows_within_its_rounding(name: str) -> None:
    if name == "torch":
        pytest.importorskip("torch", reason="torch is an optional peer (pip install -e '.[peers]')")
    target = load_target(name)
    try:
        check_trajectory(target, "tensor", CONFIG, START, GRADS)
    finally:
        target.close()


def test_the_room_is_where_the_gradient_cancels() -> None:
    """The spread measures this run's conditioning: large at the cancelling entry, at
    rounding level where the decayed gradient does not cancel."""
    want, spread = reference_run(CONFIG, START, GRADS)
    cancelling, plain = spread[1][0][0], spread[1][0][1]
    assert cancelling > 1e-11, f"spread at the cancelling entry {cancelling}, step {want[1][0]}"
    assert plain < 1e-14, f"spread where nothing cancels {plain}, step {want[1][0]}"
