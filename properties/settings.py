"""Hypothesis profiles of the suite: `quick`, `default`, `thorough`, and `mutmut`.

The example database lives in the user's cache directory, never in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

from properties.database import example_database


def cache_dir() -> Path:
    """Where vgrad keeps its caches (``$XDG_CACHE_HOME/vgrad``, or ``~/.cache/vgrad``)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "vgrad"


def register_profiles() -> None:
    """Register every profile with Hypothesis (idempotent). Hypothesis's own files (its
    cache of constants, say) go to vgrad's cache too, never into the current folder."""
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(cache_dir() / "hypothesis-home")
    database = example_database(cache_dir() / "hypothesis")
    common = dict(database=database, deadline=None, print_blob=True)
    settings.register_profile(
        "quick", max_examples=25, suppress_health_check=[HealthCheck.too_slow], **common
    )
    # Under CI the default profile is derandomized: every run draws the same examples, so
    # a red run means a change broke something, never that a rare example turned up.
    # Local runs and `vgrad check` keep exploring new examples.
    if os.environ.get("CI"):
        ci = {**common, "database": None}
        settings.register_profile("default", max_examples=100, derandomize=True, **ci)
    else:
        settings.register_profile("default", max_examples=100, **common)
    settings.register_profile("thorough", max_examples=2000, **common)
    settings.register_profile(
        "mutmut",
        max_examples=50,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )


CASE_TIMEOUTS = {"quick": 10.0, "default": 30.0, "thorough": 60.0}


def case_timeout(profile: str) -> float:
    """Seconds one case may take on the target under `profile` (a 10,000-node chain on a
    slow engine takes a few; a target past this is hung, and its worker is replaced)."""
    return CASE_TIMEOUTS.get(profile.split("-")[0], CASE_TIMEOUTS["default"])


QUICK_SHRINK_SECONDS = 3.0  # each of the first QUICK_FULL_SHRINKS failing properties
QUICK_FULL_SHRINKS = 5
# then: an engine that fails everywhere (float32 arrays fail 50 properties) still answers
# within a minute; every failure keeps its message and snippet, less shrunk
QUICK_LATE_SHRINK_SECONDS = 0.5
# With VGRAD_SHRINK_BY_COUNT, shrinking ends by Hypothesis's limits on counts (500 shrinks,
# 200 calls without progress), never by the clock, so a seeded run gives the same
# counterexamples at any load; this guard (Hypothesis's own default) only stops a runaway.
SHRINK_BY_COUNT_SECONDS = 300.0


def set_shrink_seconds(seconds: float) -> float:
    """Set how long Hypothesis shrinks one failing property; return the previous limit.

    Hypothesis has no setting for this, only a module constant (300 s by default); a
    failing quick run (a deep chain that raises RecursionError, shrunk node by node) would
    otherwise spend minutes there.
    """
    from hypothesis.internal.conjecture import engine

    previous = engine.MAX_SHRINKING_SECONDS
    engine.MAX_SHRINKING_SECONDS = seconds
    return previous


def limit_shrinking(profile: str) -> float:
    """Under `quick`, shrink each failure for at most QUICK_SHRINK_SECONDS (a smoke run
    should answer in a minute), unless VGRAD_SHRINK_BY_COUNT asks for shrinking bounded by
    counts alone; return the limit that was in force before."""
    from hypothesis.internal.conjecture import engine

    if os.environ.get("VGRAD_SHRINK_BY_COUNT"):  # a seeded gradebook: the same on any machine
        return set_shrink_seconds(SHRINK_BY_COUNT_SECONDS)
    if profile.startswith("quick"):
        return set_shrink_seconds(QUICK_SHRINK_SECONDS)
    return engine.MAX_SHRINKING_SECONDS


def shrink_less_after(failed: int, profile: str) -> None:
    """Under `quick`, once `failed` properties have failed in this process, shrink each
    further failure for QUICK_LATE_SHRINK_SECONDS only (unless VGRAD_SHRINK_BY_COUNT)."""
    quick = profile.startswith("quick") and not os.environ.get("VGRAD_SHRINK_BY_COUNT")
    if quick and failed == QUICK_FULL_SHRINKS:
        set_shrink_seconds(QUICK_LATE_SHRINK_SECONDS)


def without_database(profile: str) -> str:
    """`profile` with no example database: a run with a given seed replays exactly the same
    examples, never a counterexample saved by an earlier run."""
    name = f"{profile}-nodb"
    settings.register_profile(name, parent=settings.get_profile(profile), database=None)
    return name


def no_shrink(profile: str) -> str:
    """A profile like `profile` that reports the first failing example unshrunk.

    For the meta-tests, which only ask *whether* a property fails: shrinking a tensor
    case recompiles JAX at every step and does not change that answer. Without an
    example database too, so one planted bug's counterexamples are not replayed against
    every other engine.
    """
    name = f"{profile}-noshrink"
    settings.register_profile(
        name,
        parent=settings.get_profile(profile),
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.target],
    )
    return name


def fewer_examples(fraction: float) -> settings:
    """The loaded profile with `fraction` of its examples (at least 3), for slow properties.

    Tensor cases compile a JAX function per graph structure (~0.1-0.2 s), so they run a
    fifth of the scalar cases' examples under every profile.
    """
    current = settings()
    return settings(current, max_examples=max(3, int(current.max_examples * fraction)))


TENSOR_SHARE = 0.2
