"""pytest wiring of the suite: the `--target` option, the target fixture, the profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.errors import FlakyFailure

from properties import diagnosis, network_opinion, running
from properties.settings import (
    case_timeout,
    limit_shrinking,
    no_shrink,
    register_profiles,
    set_shrink_seconds,
    shrink_less_after,
    without_database,
)
from properties.targets import Target, TargetDied, TargetLoadError, load_target

register_profiles()
_outer_profile: list[str] = []
_outer_shrink_seconds: list[float] = []
_failed_properties: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Load the profile `VGRAD_PROFILE` names (default: `default`) for this session."""
    _outer_profile.append(getattr(settings, "_current_profile", None) or "default")
    profile = os.environ.get("VGRAD_PROFILE", "default")
    if os.environ.get("VGRAD_NO_SHRINK"):
        profile = no_shrink(profile)
    if os.environ.get("VGRAD_NO_DATABASE"):
        profile = without_database(profile)
    settings.load_profile(profile)
    _outer_shrink_seconds.append(limit_shrinking(profile))
    _failed_properties.clear()
    chosen = config.getoption("--precision", None)
    if chosen:
        os.environ["VGRAD_PRECISION"] = chosen


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
        "--precision",
        choices=("float64", "float32"),
        default=None,
        help="the precision the target computes in (default float64, or VGRAD_PRECISION)",
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


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The running test's id, for the example-database key of its property."""
    token = running.CURRENT_TEST.set(request.node.nodeid)
    yield
    running.CURRENT_TEST.reset(token)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Every distinct failure of a property on its own: when Hypothesis found several
    (an ExceptionGroup) or a flaky one, each failure's message travels with the report
    (`user_properties`, which pytest-xdist carries back too), for `vgrad check`."""
    report = yield
    if report.failed and call.excinfo is not None:
        report.user_properties.append(("vgrad_failures", failures_of(call.excinfo.value)))
        if call.when == "call":
            opinions = network_opinion.opinions_of(call.excinfo.value)
            if any(opinions):
                report.user_properties.append(("vgrad_verdicts", opinions))
            found = diagnosis.of_failure(item, call.excinfo.value)
            if found:
                report.user_properties.append(("vgrad_diagnosis", found))
            _failed_properties.append(item.nodeid)
            shrink_less_after(len(_failed_properties), os.environ.get("VGRAD_PROFILE", ""))
    return report


_HYPOTHESIS_NOTES = ("Falsifying", "You can reproduce", "Draw ", "Explanation:", "Trying example")


def failures_of(error: BaseException, flaky: bool = False) -> list[str]:
    """The messages of every failure inside `error` (a group is opened, nested ones too)."""
    if isinstance(error, BaseExceptionGroup):
        flaky = flaky or isinstance(error, FlakyFailure)
        return [m for sub in error.exceptions for m in failures_of(sub, flaky)]
    if isinstance(error, AssertionError):
        message = str(error)
    elif isinstance(error, TargetDied):
        message = error.message
    else:
        message = f"{type(error).__name__}: {error}"
    notes = [n for n in getattr(error, "__notes__", []) if not n.startswith(_HYPOTHESIS_NOTES)]
    if flaky:
        message = (
            "flaky: this failed once and passed when Hypothesis ran the same case again, so "
            "the target (or the suite) is not deterministic here (a target's usually iterates "
            "over a set, or a dict keyed by id(), of nodes in backward):\n" + message
        )
    return ["\n".join([message, *notes]).strip()]
