"""pytest wiring of the suite: the `--target` option, the target fixture, the profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from properties.settings import (
    case_timeout,
    limit_shrinking,
    no_shrink,
    register_profiles,
    set_shrink_seconds,
)
from properties.targets import Target, TargetLoadError, load_target

register_profiles()
_outer_profile: list[str] = []
_outer_shrink_seconds: list[float] = []


def pytest_configure(config: pytest.Config) -> None:
    """Load the profile `VGRAD_PROFILE` names (default: `default`) for this session."""
    _outer_profile.append(getattr(settings, "_current_profile", None) or "default")
    profile = os.environ.get("VGRAD_PROFILE", "default")
    if os.environ.get("VGRAD_NO_SHRINK"):
        profile = no_shrink(profile)
    settings.load_profile(profile)
    _outer_shrink_seconds.append(limit_shrinking(profile))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give the profile back: `vgrad check` may run inside another session's process."""
    if _outer_profile:
        settings.load_profile(_outer_profile.pop())
    if _outer_shrink_seconds:
        set_shrink_seconds(_outer_shrink_seconds.pop())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default="engine",
        help="the engine to verify: a module, a .py file, a package folder, or micrograd/torch",
    )
    parser.addoption(
        "--case-timeout",
        type=float,
        default=None,
        help="seconds one case may take on the target (default: the profile's)",
    )


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The engine under test, loaded once per session in a worker process of its own."""
    spec = request.config.getoption("--target")
    profile = os.environ.get("VGRAD_PROFILE", "default")
    given = request.config.getoption("--case-timeout")
    try:
        loaded = load_target(spec, timeout=given or case_timeout(profile), load_timeout=given)
    except TargetLoadError as error:
        pytest.exit(f"vgrad: {error}", returncode=2)
    yield loaded
    loaded.close()
