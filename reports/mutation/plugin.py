"""The pytest plugin of `vgrad mutate`, loaded in mutmut's test runs of each mutant.

``-p reports.mutate`` in ``[tool.mutmut] pytest_add_cli_args`` loads these hooks (the
command's module imports them), so a plain ``mutmut run`` tests each mutant as
`vgrad mutate` does: with the `mutmut` Hypothesis profile, the tests of the chosen suite
only, fastest tests first.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

import pytest

PROFILE = "mutmut"
# --suite: the tests mutmut may run on a mutant (all: [tool.mutmut]'s test selection,
# the property suite and tests/engine), told to this plugin by an environment variable,
# and recorded in mutants/ by the runner (results of one suite are no results of another).
SUITES: dict[str, str | None] = {"all": None, "properties": "properties"}
SUITE_VARIABLE = "VGRAD_MUTATE_SUITE"
# A test of mutation runs only (a mutant offers what the engine offers): not a test_*.py
# file, so plain pytest and `vgrad check` never collect it; this plugin does.
MUTATION_ONLY = ("properties", "mutation_record.py")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under mutmut the suite uses the `mutmut` Hypothesis profile (properties/settings.py):
    derandomized, no example database, no shrinking, `differing_executors` and `too_slow`
    suppressed.  Runs before properties/conftest.py's `pytest_configure`, which loads the
    profile `VGRAD_PROFILE` names.
    """
    os.environ["VGRAD_PROFILE"] = PROFILE
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        # A mutant's process is forked from mutmut's fork server, which holds the whole
        # collected suite (and JAX): millions of objects the cycle collector would walk
        # again at every collection, pytest's gc.collect() calls at exit included
        # (3 s of each mutant's 3.5 s here).  None of them is garbage; freeze them.
        gc.freeze()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect properties/mutation_record.py (named on the command line, pytest does)."""
    if file_path.parts[-2:] != MUTATION_ONLY or parent.session.isinitpath(file_path):
        return None
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    """Keep only the tests of the suite `vgrad mutate --suite` chose; when testing a
    mutant, run them fastest first (by mutmut's recorded durations).

    mutmut stops at the first failure (``-x``), so a mutant dies as early as its fastest
    killing test allows; its fork server otherwise hands the tests over in set order.
    Dropping tests at collection drops them from mutmut's record of which tests reach
    which function too, so no mutant is ever tested with them.
    """
    folder = SUITES.get(os.environ.get(SUITE_VARIABLE, "all"))
    if folder is not None:
        dropped = [i for i in items if i.path.relative_to(config.rootpath).parts[0] != folder]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if i not in dropped]
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    try:  # the tests run inside mutants/, next to mutmut's stats
        durations = json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
