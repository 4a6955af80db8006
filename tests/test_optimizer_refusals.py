"""An optimizer argument the target refuses is listed as missing and the rest verified; one
it accepts and breaks is a failure, never a refusal (properties/worker/tasks.py,
`optimizer_refusals`).

Each case patches the clean planted engine (tests/planted) and runs the SGD properties
under `quick`.
"""

from __future__ import annotations

from pathlib import Path

from planted import CLEAN_SOURCE

from reports.check import run_check


def _check(tmp_path: Path, *patches: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """Each property's outcome and its skip reason or first failure, on the patched engine."""
    source = CLEAN_SOURCE
    for old, new in patches:
        assert source.count(old) == 1, f"{old!r} is not once in the clean engine"
        source = source.replace(old, new)
    path = tmp_path / "patched_engine.py"
    path.write_text(source)
    report = run_check(str(path), profile="quick", select="optimizers and SGD", shrink=False)
    return {c.nodeid.split("::")[1]: (c.outcome, c.reason or c.message) for c in report.cases}


def test_a_refused_argument_is_missing_and_the_rest_verified(tmp_path: Path) -> None:
    """SGD without `maximize` (a TypeError when made with it): listed as missing."""
    outcomes = _check(
        tmp_path,
        ("nesterov=False, weight_decay=0.0, maximize=False", "nesterov=False, weight_decay=0.0"),
        ("if self.h.maximize:", 'if getattr(self.h, "maximize", False):'),
    )
    further = outcomes["test_optimizer_takes_torchs_further_arguments[SGD]"]
    assert further[0] == "skipped" and "optim.SGD(maximize=...)" in further[1], outcomes
    assert "dampening" not in further[1], outcomes
    for kind in ("scalar", "tensor"):
        name = f"test_optimizer_trajectories_agree_with_optax[SGD-{kind}]"
        assert outcomes[name][0] == "passed", outcomes
    assert outcomes["test_optimizer_takes_every_argument[SGD]"][0] == "passed", outcomes


def test_an_argument_that_breaks_step_is_a_failure_not_a_refusal(tmp_path: Path) -> None:
    """SGD whose weight decay makes step() raise TypeError: the trajectories fail."""
    outcomes = _check(
        tmp_path, ("g = g + self.h.weight_decay * x", "g = None if self.h.weight_decay else g")
    )
    assert outcomes["test_optimizer_takes_every_argument[SGD]"][0] == "passed", outcomes
    failed = [name for name, (outcome, _) in outcomes.items() if outcome == "failed"]
    assert any(name.startswith("test_optimizer_trajectories") for name in failed), outcomes
    message = next(m for name, (o, m) in outcomes.items() if o == "failed")
    assert "TypeError" in message and "weight_decay" in message, message
