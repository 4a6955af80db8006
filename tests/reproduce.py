"""Run a failure's snippet in a fresh interpreter and compare what it prints with the
numbers the failure reports (for the planted bugs and the corpus meta-tests)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from oracle import codec
from properties.reference import CASE_MARKER

FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)")


def assert_snippet_reproduces(message: str, folder: Path) -> None:
    """A graph failure's snippet, run in a fresh interpreter, prints the gradients the
    failure reports (its record's actual numbers), to the last bit."""
    marker = [line for line in message.splitlines() if line.startswith(CASE_MARKER)]
    if "reproduce with:" in message and not marker:
        assert_plain_snippet_reproduces(message, folder)
        return
    if not marker or "reproduce with:" not in message:
        return
    record = json.loads(marker[-1][len(CASE_MARKER) :])
    if "actual" not in record:
        return
    head = message.split("reproduce with:", 1)[1]
    if head.startswith(" python "):
        snippet = Path(head.split()[1]).read_text()
    else:
        snippet = head.split("\n" + CASE_MARKER, 1)[0].split("\nthe target is not", 1)[0]
        snippet = snippet.split("\nsecond opinion", 1)[0]
    script = folder / "snippet.py"
    script.write_text(snippet)
    printed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=folder, timeout=60
    )
    assert printed.returncode == 0, f"the snippet raised:\n{printed.stderr}\n{snippet}"
    for name, value in codec.decode(record["actual"]).items():
        shown = printed.stdout.split(f"d loss / d {name} =", 1)[1].split("\nd loss /")[0]
        numbers = [
            float(t)
            for t in FLOAT.findall(shown.split("\n", 1)[0] if np.ndim(value) == 0 else shown)
        ]
        want = np.ravel(np.asarray(value, dtype=np.float64)).tolist()
        if shown.split("\n", 1)[0].strip() == "None" and (not any(want) or all(np.isnan(want))):
            continue  # None on the target: reported as zeros (a tensor's) or nan (a Value's)
        if np.shape(numbers) == np.shape(want) and np.array_equal(
            np.float32(numbers), np.float32(want)
        ):
            continue  # a float32 engine: NumPy prints the shortest float32 that round-trips
        assert np.array_equal(numbers, want, equal_nan=True), (
            f"d loss / d {name}: the snippet printed {numbers}, the failure reported {want}\n"
            f"{snippet}"
        )


def assert_plain_snippet_reproduces(message: str, folder: Path) -> None:
    """A failure without a graph record (networks, optimizers): its snippet runs in a
    fresh interpreter and prints every number the failure says the target gave ("got X")."""
    said, snippet = message.split("reproduce with:\n", 1)
    script = folder / "snippet.py"
    script.write_text(snippet)
    try:
        printed = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=folder, timeout=120
        )
    except subprocess.TimeoutExpired:  # reproduces a failure that says backward never ended
        assert "did not finish" in said, f"the snippet ran for over 120 s:\n{snippet}"
        return
    if printed.returncode != 0:  # reproduces a failure that says the target raised this
        last = printed.stderr.strip().splitlines()[-1] if printed.stderr.strip() else ""
        raised = last.split(":", 1)[0].strip()
        assert (raised and f"{raised}:" in said) or "the target raised" in said, (
            f"the snippet raised, the failure does not say so:\n{printed.stderr}\n{snippet}"
        )
        return
    shown = {float(t) for t in FLOAT.findall(printed.stdout)}
    printed_nan = any(math.isnan(t) for t in shown)
    for got in re.findall(r"got (\[[^\]]*\]|\S+)", said):
        for number in FLOAT.findall(got):
            assert float(number) in shown or (math.isnan(float(number)) and printed_nan), (
                f"the failure says the target gave {number}; the snippet printed "
                f"{printed.stdout}\n{snippet}"
            )


SHOWN_GRADIENT = re.compile(r"^\s*d loss / d (\w+): expected \S+, got (\S+?),? \(", re.MULTILINE)


def assert_shown_snippet_reproduces(shown: str, folder: Path) -> None:
    """A failure as a person sees it (`vgrad check`'s text, or a notebook's): its snippet,
    run in a fresh interpreter, prints every wrong gradient the failure reports, to the
    last digit shown."""
    assert "reproduce with:\n" in shown, f"no snippet in:\n{shown}"
    snippet = shown.split("reproduce with:\n", 1)[1].split("\nsecond opinion", 1)[0]
    wrong = SHOWN_GRADIENT.findall(shown.split("reproduce with:\n", 1)[0])
    assert wrong, f"no wrong gradient shown in:\n{shown}"
    script = folder / "shown_snippet.py"
    script.write_text(snippet)
    printed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=folder, timeout=60
    )
    assert printed.returncode == 0, f"the snippet raised:\n{printed.stderr}\n{snippet}"
    for name, got in wrong:
        line = printed.stdout.split(f"d loss / d {name} =", 1)[1].split("\n", 1)[0]
        assert float(line) == float(got), (
            f"d loss / d {name}: the snippet printed {line.strip()}, the failure showed {got}\n"
            f"{snippet}"
        )
