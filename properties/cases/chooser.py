"""The chooser a case generator makes its random choices through, so that one growth
routine serves both the properties (Hypothesis draws, which shrink) and the seeded graphs
of `vgrad report` and the benchmarks (a NumPy `Generator`, which is fast).

Each choice has a simplest value, the one Hypothesis shrinks toward: `integer` toward the
value nearest 0 in its range, `choice` toward the first option, `uniform` toward the
simplest float in its range (0, or an integer), `boolean` toward False. Generators write
their choices so that the simplest one gives the smallest case (False: do not branch out).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np
from hypothesis import strategies as st

T = TypeVar("T")


class Chooser(Protocol):
    def integer(self, low: int, high: int) -> int:
        """An int from `low` to `high`, both included."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of `options` (a tuple, so that its strategy can be cached)."""
        ...

    def uniform(self, low: float, high: float) -> float:
        """A float from `low` to `high`."""
        ...

    def boolean(self, p: float = 0.5) -> bool:
        """True with probability `p` (under Hypothesis: any, shrinking toward False)."""
        ...

    def back(self, n: int) -> int:
        """A count from 0 to `n - 1`, mostly small (how far back from the newest node an
        operand is: long paths, some fan-out); one choice, shrinking toward 0."""
        ...


# one strategy object per range or tuple of options: Hypothesis validates each new one
_integers = functools.cache(st.integers)
_sampled = functools.cache(st.sampled_from)


@functools.cache
def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_subnormal=False)


_BOOLEANS = st.booleans()


class DrawChooser:
    """Choices drawn by Hypothesis (`draw` of an `st.composite` or `st.data()`)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(_integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(_sampled(tuple(options)))

    def uniform(self, low: float, high: float) -> float:
        return self.draw(_floats(float(low), float(high)))

    def boolean(self, p: float = 0.5) -> bool:
        return self.draw(_BOOLEANS)

    def back(self, n: int) -> int:
        return self.draw(_integers(0, n - 1))


class RngChooser:
    """Choices from a NumPy `Generator` (one `random()` call each: the fastest it offers)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.random = rng.random

    def integer(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def boolean(self, p: float = 0.5) -> bool:
        return self.random() < p

    def back(self, n: int) -> int:
        """One of the three newest 7 times in 10, else any."""
        u = self.random()
        return int(u / 0.7 * min(n, 3)) if u < 0.7 else int((u - 0.7) / 0.3 * n)
