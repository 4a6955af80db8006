"""Confirm every defect of MANIFEST.toml: its snippet shows the defect on its engine and
prints the truth on the project's own `engine`.

    python tests/corpus/confirm.py            # every engine
    python tests/corpus/confirm.py pow_bugs   # engines whose file name contains a word

Each snippet runs in a fresh interpreter (a RecursionError or a slow backward stays
there), with ``E`` bound to the engine module loaded from its file (or to the project's
`engine`, for the truth) and ``np``, ``math``, ``functools`` imported. The printed
output must equal `shows` (an exception prints ``raised <Type>: <message>``, matched by
its start); on the project's engine it must equal `truth`. A defect with `slow` must
take at least that many seconds longer on its engine than on `engine`.
Exit status 0 when every defect is confirmed.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

RUNNER = r"""
import functools, importlib.util, math, sys
import numpy as np
source = sys.argv[1]
if source == "engine":
    import engine as E
else:
    spec = importlib.util.spec_from_file_location("corpus_engine", source)
    E = importlib.util.module_from_spec(spec)
    sys.modules["corpus_engine"] = E
    spec.loader.exec_module(E)
try:
    exec(sys.argv[2], {"E": E, "np": np, "math": math, "functools": functools})
except BaseException as error:
    print(f"raised {type(error).__name__}: {error}")
"""


def run(source: str, snippet: str, timeout: float = 120.0) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, source, snippet],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    out = (done.stdout + done.stderr).strip()
    return out, seconds


def matches(printed: str, expected: str) -> bool:
    if expected.startswith("raised "):
        return printed.startswith(expected)
    return printed == expected


def confirm(engine: dict, defect: dict) -> list[str]:
    """Problems with this defect's confirmation (empty when confirmed)."""
    problems = []
    path = str(HERE / engine["file"])
    got, seconds = run(path, defect["snippet"])
    truth, truth_seconds = run("engine", defect["snippet"])
    if not matches(got, defect["shows"]):
        problems.append(f"on the engine it printed {got!r}, the manifest says {defect['shows']!r}")
    if not matches(truth, defect["truth"]):
        problems.append(f"on `engine` it printed {truth!r}, the manifest says {defect['truth']!r}")
    if "slow" in defect:
        if seconds < truth_seconds + defect["slow"]:
            problems.append(
                f"took {seconds:.2f} s, the truth {truth_seconds:.2f} s: expected at least "
                f"{defect['slow']} s more"
            )
    elif got == truth:
        problems.append("the engine prints the truth: the defect does not show")
    return problems


def main(words: list[str]) -> int:
    manifest = tomllib.loads((HERE / "MANIFEST.toml").read_text())
    failures = 0
    for engine in manifest["engine"]:
        if words and not any(w in engine["file"] for w in words):
            continue
        if not (HERE / engine["file"]).exists():
            print(f"{engine['file']}: missing file")
            failures += 1
            continue
        defects = engine.get("defects", [])
        if not defects:
            print(f"{engine['file']}: no defects (a correct engine)")
        for defect in defects:
            problems = confirm(engine, defect)
            verdict = "confirmed" if not problems else "NOT CONFIRMED"
            print(f"{engine['file']}: {defect['id']}: {verdict}")
            for p in problems:
                print(f"    {p}")
            failures += bool(problems)
    print(f"{failures} defect(s) not confirmed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
