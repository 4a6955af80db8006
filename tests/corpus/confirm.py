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
With the defect's `fix` applied (alone) to a copy of the engine, the snippet must print
the truth, and a `slow` one must no longer be slow: the fix proves the defect is where
the manifest says. Exit status 0 when every defect is confirmed.

    python tests/corpus/confirm.py --write-fixed DIR

writes each engine with every fix of its defects applied into DIR (the same file names),
for running the suite on engines that are meant to be correct.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
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


def patched(source: str, pairs: list) -> str:
    """`source` with each (old, new) replacement applied; each old must occur once."""
    for old, new in pairs:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"a fix's old text occurs {count} times: {old[:60]!r}")
        source = source.replace(old, new)
    return source


def fixed_source(engine: dict, defects: list | None = None) -> str:
    """The engine's source with the fixes of `defects` (default: all) applied, each
    distinct fix once (two defects may share one fix)."""
    source = (HERE / engine["file"]).read_text()
    done = []
    for defect in engine.get("defects", []) if defects is None else defects:
        pairs = [tuple(p) for p in defect.get("fix", [])]
        if pairs and pairs not in done:
            source = patched(source, pairs)
            done.append(pairs)
    return source


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
    if "fix" in defect:
        with tempfile.TemporaryDirectory() as folder:
            fixed = Path(folder) / engine["file"]
            fixed.write_text(fixed_source(engine, [defect]))
            after, after_seconds = run(str(fixed), defect["snippet"])
        if not matches(after, defect["truth"]):
            problems.append(f"with its fix applied it printed {after!r}, not the truth")
        if "slow" in defect and after_seconds > truth_seconds + defect["slow"]:
            problems.append(f"with its fix applied it still took {after_seconds:.2f} s")
    else:
        problems.append("no fix in the manifest")
    return problems


def write_fixed(folder: Path) -> None:
    manifest = tomllib.loads((HERE / "MANIFEST.toml").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for engine in manifest["engine"]:
        (folder / engine["file"]).write_text(fixed_source(engine))
        print(folder / engine["file"])


def main(words: list[str]) -> int:
    if words[:1] == ["--write-fixed"]:
        write_fixed(Path(words[1]))
        return 0
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
