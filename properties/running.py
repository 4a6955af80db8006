"""Run a property built at run time, its example database keyed by test id and target.

Properties decorate their inner function with ``@given`` inside the test (so the loaded
profile applies, and the strategy can depend on the target's capabilities). Hypothesis
keys its example database by the function's source, so without a key every
parametrization and every target would share one entry, and one engine's saved
counterexample would be replayed first on the next. `run` adds the test id and the
target to the key (as pytest's parametrization does for decorated tests).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from properties.targets import Target

CURRENT_TEST: ContextVar[str] = ContextVar("CURRENT_TEST", default="")


def run(test: Callable[[], None], target: Target) -> None:
    """Call the ``@given`` function `test`, its database key made its own."""
    key = f"{CURRENT_TEST.get()}\n{target.name}\n{target.spec}"
    test.hypothesis.inner_test._hypothesis_internal_add_digest = key.encode()  # type: ignore[attr-defined]
    test()
