"""Session-wide settings of the project's own tests."""

from __future__ import annotations

import gc

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection built (JAX, torch, Hypothesis, every test module: about a
    million objects, none of them garbage) out of reach of the cycle collector.

    Otherwise every full collection walks them all again: the automatic ones, and the
    `gc.collect()` that pytest's unraisable-exception check runs at the end of each
    `vgrad check` the meta-tests run in this process (half a second each, a third of a
    planted bug's test). Frozen objects stay alive for the session, as they would anyway;
    what the tests create afterwards is collected as before.
    """
    gc.collect()
    gc.freeze()
