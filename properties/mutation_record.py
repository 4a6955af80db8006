"""Mutation runs only (`vgrad mutate`): a mutant of the engine offers what the engine offers.

The suite detects what a target offers and verifies that.  A mutant that breaks an
optional argument or variant (``max_pool2d(stride=...)`` refused, ``linear`` on (N, *, in)
inputs refused, or a backward that raises on them) is no longer verified there: the
suite lists the capability (or an optimizer's argument) as missing, or the variant as a
limitation, and every property passes.  For `vgrad check` on someone's engine that is
the protocol (and ``--strict`` fails limitations).  A mutation run asks something else:
does the suite tell this mutant from the engine?  It does when it finds the mutant
offering less than the engine it was made from, and this test says so, as
`vgrad check --strict` fails a limitation.

mutmut runs the suite on the unmutated engine first (its stats and clean runs), where
this test records what detection found (``vgrad-capabilities.json`` in mutmut's folder);
on a mutant it fails when a capability of the record is missing or a limitation is new.
Its module is no ``test_*.py``: only `vgrad mutate`'s pytest plugin collects it
(reports/mutation/plugin.py), so `vgrad check` never lists it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from properties.cases.optimizers import OPTIMIZERS
from properties.targets import Target, TargetRaised, _count_mutmut_hits

RECORD = Path("vgrad-capabilities.json")  # in mutants/, where mutmut runs the tests


def test_a_mutant_offers_what_the_engine_offers(target: Target) -> None:
    under_test = os.environ.get("MUTANT_UNDER_TEST")
    if under_test is None:
        pytest.skip("compares a mutant of the engine with the engine: only under vgrad mutate")
    # what loading and detection reached: a mutant there is tested here too
    _count_mutmut_hits(list(target.load_hits))
    found = {
        "capabilities": sorted(target.capabilities),
        "limitations": sorted(target.limitations),
        "optimizer arguments refused": _refusals(target),
    }
    if under_test in ("stats", ""):  # mutmut's runs of the unmutated engine
        RECORD.write_text(json.dumps(found, indent=1))
        return
    if "__mutmut_" not in under_test:
        pytest.skip(f"mutmut's {under_test!r} run: neither the engine nor a mutant")
    if not RECORD.is_file():
        pytest.skip(f"no record of the unmutated engine's capabilities ({RECORD.resolve()})")
    engine = json.loads(RECORD.read_text())
    missing = sorted(set(engine["capabilities"]) - set(found["capabilities"]))
    for name, refused in found["optimizer arguments refused"].items():
        given = engine["optimizer arguments refused"].get(name, [])
        missing += [f"optim.{name}({a}=...)" for a in refused if a not in given]
    new = {k: v for k, v in target.limitations.items() if k not in engine["limitations"]}
    assert not missing and not new, (
        f"mutant {under_test} offers less than the engine: "
        + (f"missing {', '.join(missing)}" if missing else "")
        + ("; " if missing and new else "")
        + (f"new limitations {new}" if new else "")
    )


def _refusals(target: Target) -> dict[str, list[str]]:
    """The arguments each optimizer refuses (the trajectories are verified without them)."""
    refused = {}
    for name in OPTIMIZERS:
        if target.has(f"optim.{name}"):
            try:
                refused[name] = sorted(target.call("optimizer_refusals", name=name))
            except TargetRaised as error:
                refused[name] = [f"(making the parameters raised {error.type_name})"]
    return refused
