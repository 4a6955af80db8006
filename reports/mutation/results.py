"""mutmut's results for `vgrad mutate`: each mutant's status, the counts and the score.

mutmut records an exit code per mutant in its data files (``mutants/**/*.py.meta``);
`load_results` reads them, `Counts` scores them (killed / (total - not checked): a
timeout is not a kill), and `build_report` makes the report as data, which `render`
shows and writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.mutation.runner import mutmut_command

PROTOCOL_RULE = (
    "covered: every mutant but those that change only what shared/target-spec.md leaves to "
    "the target (reports/mutation/protocol.py): a function it does not describe, an error "
    "message or graph label, a refusal of invalid input made weaker, initial weight values"
)
CLASS_SEPARATOR = "ǁ"  # mutmut's mangled names: x_func, xǁClassǁmethod

# mutmut 3.8.1's exit code -> status (mutmut/stats.py), for when mutmut is not importable.
_STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    2: "check was interrupted by user",
    None: "not checked",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}
STATUSES = (
    "killed",
    "survived",
    "timeout",
    "suspicious",
    "no tests",
    "skipped",
    "segfault",
    "caught by type check",
    "check was interrupted by user",
    "not checked",
)
SHOWN_STATUSES = ("killed", "survived", "timeout", "suspicious", "no tests")


def status_of(exit_code: int | None) -> str:
    """mutmut's status for a mutant's recorded exit code (its own table when importable)."""
    try:
        from mutmut.stats import status_by_exit_code
    except ImportError:
        return _STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")
    return status_by_exit_code[exit_code]


@dataclass
class Mutant:
    """One mutant: mutmut's name for it, where it lives, what became of it."""

    name: str
    path: str  # the mutated source file, relative to the project root
    module: str
    function: str
    status: str
    exit_code: int | None
    diff: str = ""
    outside: str = ""  # the class of a mutant outside the protocol (protocol.py), or ""


@dataclass
class Counts:
    """How many mutants ended in each status, and the score."""

    by_status: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, mutants: Iterable[Mutant]) -> Counts:
        return cls(Counter(m.status for m in mutants))

    def __getitem__(self, status: str) -> int:
        return self.by_status[status]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def checked(self) -> int:
        return self.total - self.by_status["not checked"]

    @property
    def score(self) -> float | None:
        """killed / (total - not checked); None when nothing was checked.  Timeouts count
        against it, as every other status that is not a kill."""
        return self.by_status["killed"] / self.checked if self.checked else None

    def as_dict(self) -> dict[str, Any]:
        counts = {status.replace(" ", "_"): self.by_status[status] for status in STATUSES}
        score = self.score
        return {
            **counts,
            "total": self.total,
            "score": score,
            "score_percent": None if score is None else round(100 * score, 2),
        }


def split_name(name: str) -> tuple[str, str]:
    """``engine.value.xǁValueǁ__add____mutmut_3`` -> (``engine.value``, ``Value.__add__``)."""
    mangled = name.partition("__mutmut_")[0]
    module, _, function = mangled.rpartition(".")
    if function.startswith(f"x{CLASS_SEPARATOR}"):
        _, cls, method = function.split(CLASS_SEPARATOR, 2)
        return module, f"{cls}.{method}"
    return module, function.removeprefix("x_")


def load_results(root: Path) -> list[Mutant]:
    """Every mutant mutmut knows of under ``root/mutants``, from its ``.meta`` files."""
    mutants_dir = root / "mutants"
    found = []
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        try:
            exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"cannot read mutmut's results in {meta}: {error!r}") from error
        path = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        for name, exit_code in exit_codes.items():
            module, function = split_name(name)
            found.append(Mutant(name, path, module, function, status_of(exit_code), exit_code))
    return found


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def attach_diffs(root: Path, mutants: Iterable[Mutant]) -> None:
    """Each mutant's diff against the original function, as ``mutmut show`` prints it."""
    mutants = list(mutants)
    if not mutants:
        return
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:  # another mutmut: ask its command line
        for m in mutants:
            m.diff = _show(root, m.name)
        return
    with _working_directory(root):
        for m in mutants:
            try:
                m.diff = get_diff_for_mutant(m.name, path=m.path)
            except Exception as error:  # a stale mutants/ directory; say so, go on
                m.diff = f"(no diff: {error})"


def _show(root: Path, name: str) -> str:
    command = mutmut_command()
    if command is None:
        return "(no diff: mutmut is not installed)"
    shown = subprocess.run(
        [*command, "show", name], cwd=root, capture_output=True, text=True, check=False
    )
    lines = shown.stdout.splitlines()
    return "\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines)


def _rows(mutants: Sequence[Mutant], key: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[Mutant]] = {}
    for m in mutants:
        group = (m.module,) if key == "module" else (m.module, m.function)
        groups.setdefault(group, []).append(m)
    rows = []
    for group, members in sorted(groups.items()):
        names = dict(zip(("module", "function"), group, strict=False))
        rows.append({**names, **Counts.of(members).as_dict()})
    return rows


def build_report(
    mutants: Sequence[Mutant],
    *,
    command: str,
    started: datetime | None = None,
    seconds: float | None = None,
    mutmut_version: str | None = None,
) -> dict[str, Any]:
    """The report as data: what `--json` writes and the HTML and terminal show."""
    counts = Counts.of(mutants)
    outside: dict[str, list[Mutant]] = {}
    for m in mutants:
        if m.outside:
            outside.setdefault(m.outside, []).append(m)
    not_killed = [m for m in mutants if m.status not in ("killed", "not checked")]
    return {
        "tool": f"mutmut {mutmut_version}" if mutmut_version else "mutmut",
        "command": command,
        "date": (started or datetime.now(UTC)).isoformat(timespec="seconds"),
        "seconds": None if seconds is None else round(seconds, 1),
        "score_definition": "killed / (total - not checked); timeouts are not kills",
        "counts": counts.as_dict(),
        "protocol_rule": PROTOCOL_RULE,
        "covered": Counts.of(m for m in mutants if not m.outside).as_dict(),
        "outside": {name: Counts.of(group).as_dict() for name, group in sorted(outside.items())},
        "modules": _rows(mutants, "module"),
        "functions": _rows(mutants, "function"),
        "not_killed": [
            {
                "name": m.name,
                "module": m.module,
                "function": m.function,
                "path": m.path,
                "status": m.status,
                "exit_code": m.exit_code,
                "diff": m.diff,
                "outside": m.outside,
            }
            for m in sorted(not_killed, key=lambda m: (m.status != "survived", m.name))
        ],
    }
