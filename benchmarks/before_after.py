"""Run a benchmark on this tree and on an earlier revision, interleaved, and print ratios.

A benchmark script that takes ``--json`` (print one JSON object of named numbers, the
lower the better, as its last line) runs alternately with ``PYTHONPATH`` set to this tree
and to a `git archive` of REV (kept under the system's temporary folder), so both see the
same machine load; the medians of each number and their ratio (after / before) are
printed.  Used by the ``--before REV`` option of the benchmarks; on a loaded machine, the
CPU times they print are the numbers to compare (wall times count the other processes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_cpu(target: object) -> float:
    """CPU seconds a target's worker process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{target._worker.process.pid}/stat").read_text().split()
    except (OSError, AttributeError):
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def checkout(rev: str) -> Path:
    """A folder holding the files of `rev` (extracted once per commit)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = Path(tempfile.gettempdir()) / f"vgrad-before-{commit[:12]}"
    if not folder.exists():
        partial = folder.with_name(folder.name + f".{os.getpid()}")
        partial.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(folder)
    return folder


def _run(tree: Path, script: Path, args: Sequence[str], own_cache: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory(prefix="vgrad-jax-") as cache:
        if own_cache:
            env["JAX_COMPILATION_CACHE_DIR"] = cache
        out = subprocess.run(
            [sys.executable, str(script), *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=tree,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(
    script: str,
    args: Sequence[str],
    rev: str,
    rounds: int,
    seed_flag: str | None = None,
    own_cache: bool = False,
) -> None:
    """Run `script` with `args` `rounds` times on each tree, alternating; print ratios.

    With `seed_flag`, round k passes ``seed_flag <base + k>`` to both trees: the same
    cases for both, and new ones every round (none of them in JAX's persistent cache of
    compiled programs, as in a run of `vgrad check` or `vgrad report` with a new seed).
    With `own_cache`, every run starts from an empty persistent cache of its own: the
    second tree of a round does not load the programs the first compiled."""
    before_tree = checkout(rev)
    here = Path(script).resolve()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    base = int(time.time()) % 1_000_000 * 1000
    for k in range(rounds):
        order = [("before", before_tree), ("after", ROOT)]
        seeded = [*args, seed_flag, str(base + k)] if seed_flag else list(args)
        for label, tree in order if k % 2 == 0 else order[::-1]:
            runs[label].append(_run(tree, here, seeded, own_cache))
    load = os.getloadavg()[0]
    print(f"before = {rev}, after = this tree; {rounds} interleaved runs each, medians")
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'':34} {'before':>12} {'after':>12} {'after/before':>13}")
    for name in runs["after"][0]:
        if not all(name in r for r in runs["before"]):
            continue
        b = statistics.median(r[name] for r in runs["before"])
        a = statistics.median(r[name] for r in runs["after"])
        ratio = f"{a / b:13.3f}" if b else f"{'-':>13}"
        print(f"{name:34} {b:12.4g} {a:12.4g} {ratio}")
