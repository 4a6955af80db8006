"""Fixtures of the oracle's self-tests.

`scalar_cases` holds 80 random graphs, then every scalar op of `SCALAR_CASES`; their
batch evaluation runs as one compiled program (128 graphs of up to 64 nodes), shared
by every test that needs the oracle's answers for them.
"""

from __future__ import annotations

import pytest
from oracle_cases import SCALAR_CASES, Case, make_cases, scalar_op_graph

from oracle import evaluate


@pytest.fixture(scope="session")
def scalar_cases() -> list[Case]:
    """80 random scalar cases, then each case of `SCALAR_CASES` with upstream 0.75."""
    ops = [(*scalar_op_graph(*case), [0.75]) for case, _, _ in SCALAR_CASES]
    return make_cases(seed=20240611, count=80) + ops


@pytest.fixture(scope="session")
def scalar_results(scalar_cases: list[Case]) -> list[evaluate.Evaluation]:
    """The oracle's answers for `scalar_cases`, from one batched run."""
    return evaluate.vjp_batch(*zip(*scalar_cases, strict=True))
