"""Run a failure's snippet as a user would, in a fresh interpreter, and say whether it
prints the numbers (or the exception) the failure reports.

A target whose backward order depends on memory addresses (a `set` of nodes, a dict
keyed by ``id()``) gives the same numbers in every fresh worker, whose memory is laid out
the same way each time, and other numbers in a pasted script. Running the snippet itself
as a pasted script (two hash seeds) and, for a target loaded from a path, REPEATS times
over in one interpreter with memory laid out differently each time, catches that, often
though not surely; it is done only for a failure about to be reported, so passing runs
cost nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from properties.cases.common import Case
from properties.execute import TargetRun
from properties.reference import snippet
from properties.targets import MEMORY_MB, Target, TargetRaised, _search_path

MARK = "#vgrad-numbers "
TIMEOUT = 30.0  # seconds; a snippet that runs longer is not judged
# How the snippet runs: as a pasted script, with two hash seeds (a set of strings may order
# differently), and sixteen times over in one interpreter, each run after a different
# number of small objects (memory laid out otherwise: a set of objects may order
# differently). Only a target loaded from a path runs repeatedly: its snippet executes its
# module afresh each time, where an imported name would keep its module's state.
REPEATS = 16
_REPEATED = f"""import random, runpy, sys
keep = []
for k in range({REPEATS}):
    r = random.Random(k)
    keep += [object() for _ in range(r.randrange(64))]
    keep += [(0.0,) * r.randrange(1, 9) for _ in range(r.randrange(64))]
    keep += [{{}} for _ in range(r.randrange(16))]
    runpy.run_path(sys.argv[1])
"""


def _runs(target: Target) -> list[tuple[list[str], str]]:
    """Each run's interpreter arguments (before the script) and PYTHONHASHSEED."""
    by_path = target.import_name.endswith(".py") or os.sep in target.import_name
    return [([], "0"), ([], "1"), *([(["-c", _REPEATED], "2")] if by_path else [])]


def _epilogue(case: Case) -> str:
    """Lines after the snippet that print what it computed as JSON (exact floats)."""
    graph = case.graph
    names = [graph.nodes[o].attrs.get("name", f"n{o}") for o in graph.outputs]
    outputs = ", ".join(f"{n}.data" for n in names)
    grads = ", ".join(f"{n!r}: {n}.grad" for n in graph.input_names)
    return "\n".join(
        [
            "",
            "def _vgrad_plain(v):",
            "    if v is None or type(v) in (bool, int, float):",
            "        return v",
            "    return v.tolist() if hasattr(v, 'tolist') else repr(v)",
            "",
            "import json as _vgrad_json",
            "try:",
            f"    _vgrad = {{'outputs': [_vgrad_plain(v) for v in [{outputs}]],",
            f"              'grads': {{k: _vgrad_plain(v) for k, v in {{{grads}}}.items()}}}}",
            "except Exception:  # read by the suite: numbers it cannot compare",
            "    _vgrad = {'unreadable': True}",
            f"print({MARK!r} + _vgrad_json.dumps(_vgrad, default=repr))",
            "",
        ]
    )


def snippet_differs(target: Target, case: Case, first: TargetRun | TargetRaised) -> str | None:
    """What the case's snippet, run in a fresh interpreter, does other than `first` (the
    reported run), or None if it does the same (or could not be judged)."""
    code = snippet(case, target) + _epilogue(case)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(_search_path()))
    with tempfile.TemporaryDirectory(prefix="vgrad-snippet-") as folder:
        path = os.path.join(folder, "snippet.py")
        with open(path, "w") as file:
            file.write(code)
        runs = [
            subprocess.Popen(
                [sys.executable, *how, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=folder,
                env=dict(env, PYTHONHASHSEED=seed),
                start_new_session=True,
            )
            for how, seed in _runs(target)
        ]
        for run in runs:  # a worker's memory limit (Linux; set from here, not in a
            _limit_memory(run.pid)  # preexec_fn, which can deadlock a process with threads)
        deadline = time.monotonic() + TIMEOUT
        answers = [_finish(run, deadline) for run in runs]
    for answer in answers:
        why = _differs(case, first, answer)
        if why:
            return why
    return None


def _limit_memory(pid: int) -> None:
    if hasattr(resource, "prlimit"):
        limit = MEMORY_MB * 2**20
        with contextlib.suppress(OSError):  # it has already ended
            resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))


def _finish(run: subprocess.Popen, deadline: float) -> tuple[int, str, str] | None:
    try:
        out, err = run.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)  # its own session: whatever it started, too
        run.communicate()
        return None
    return run.returncode, out, err


def _differs(
    case: Case, first: TargetRun | TargetRaised, answer: tuple[int, str, str] | None
) -> str | None:
    if answer is None:
        return None
    code, out, err = answer
    lines = [line for line in out.splitlines() if line.startswith(MARK)]
    if code != 0 or not lines:
        if isinstance(first, TargetRaised):
            return None
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
        return f"raised {last[:300]}"
    if isinstance(first, TargetRaised):
        return "ran to the end"
    for line in lines:
        why = _numbers_differ(case, first, json.loads(line[len(MARK) :]))
        if why:
            return why
    return None


def _numbers_differ(case: Case, first: TargetRun, printed: dict[str, Any]) -> str | None:
    if "unreadable" in printed:
        return None
    shown = [
        (f"{case.graph.nodes[o].attrs.get('name', f'n{o}')}", want, got)
        for o, want, got in zip(case.graph.outputs, first.outputs, printed["outputs"], strict=True)
    ]
    shown += [
        (f"d loss / d {n}", first.grads[n], printed["grads"][n]) for n in case.graph.input_names
    ]
    for label, want, got in shown:
        if not _same(want, got):
            return f"printed {label} = {_text(got)} (the run above: {_text(want)})"
    return None


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray | np.generic):
        return x.tolist()
    if isinstance(x, dict) and "list" in x:
        return np.asarray(x["list"]).tolist()
    return x


def _same(want: Any, got: Any) -> bool:
    """Equal to the last bit (nan equal to nan); None equal to zeros (a tensor's unreached
    gradient); anything the suite could not read as numbers is not judged."""
    want = _plain(want)
    if isinstance(want, dict) or isinstance(got, str):
        return True
    if want is None or got is None:
        other = got if want is None else want
        return other is None or not np.any(np.asarray(other, dtype=np.float64))
    try:
        a, b = np.asarray(want, dtype=np.float64), np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return True
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _text(x: Any) -> str:
    x = _plain(x)
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return repr(x) if np.ndim(x) == 0 else str(np.asarray(x).tolist())[:300]
