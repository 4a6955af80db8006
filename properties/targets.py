"""Targets: an engine that follows shared/target-spec.md, run in a worker process of its own.

A target is named as an importable module (``engine``, ``micrograd.engine``), as a path
to a ``.py`` file or a package folder, or by one of the peer aliases (``micrograd``,
``torch``), which name the adapters in `properties.peers`.

The target is untrusted code. `load_target` starts a worker (`properties.worker`) that
imports it and detects its capabilities; every property then talks to the target only
through `Target.call`, which sends a task as data and waits, at most the time limit,
for numbers. Whatever the target does, the suite's process goes on:

* an exception it raises (any, `SystemExit` and `KeyboardInterrupt` too) comes back as
  `TargetRaised`, an ordinary exception the properties report as the case's failure;
* a worker that exited, was killed by a signal, ran past the time limit or answered
  with something that is not plain data is replaced by a fresh one, and the call raises
  `TargetDied`, a `BaseException`: Hypothesis does not shrink it (every try would cost a
  worker), so the property fails at once on the case that did it, saying what happened.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from properties.worker.main import PHASE_BYTES
from properties.worker.wire import MAX_ANSWER_BYTES, dump, load_answer

__all__ = ["Target", "TargetDied", "TargetLoadError", "TargetRaised"]

DEFAULT_TIMEOUT = 30.0  # seconds a case may take on the target
LOAD_TIMEOUT = 60.0  # importing torch takes seconds, more on a loaded machine
MEMORY_MB = 8192  # address space of a worker (torch reserves several GiB of it)
LOG_TAIL = 2000  # characters of a dead worker's output shown


class TargetLoadError(Exception):
    """The target could not be imported or offers nothing the suite can verify."""


class TargetRaised(Exception):
    """The target raised an exception while running a task; its type, message, traceback."""

    def __init__(self, info: dict[str, str]) -> None:
        self.type_name = shown(info.get("type", "?"), 200)
        # a target's text is set off from the suite's: any line past its first is marked,
        # so none can pass for a line of the suite's (a verdict, say)
        first, *rest = shown(info.get("message", ""), 2000).split("\n") or [""]
        self.message = "\n".join([first, *(f"    | {line}" for line in rest)])
        self.traceback = shown(info.get("traceback", ""), 8000)
        self.where = shown(info.get("where", ""), 300)
        super().__init__(f"{self.type_name}: {self.message}")

    def describe(self) -> str:
        """``SystemExit: 3 (raised in tanh, engine.py:12)``."""
        where = f" (raised in {self.where})" if self.where else ""
        return f"{self.type_name}: {self.message}{where}"


class TargetDied(BaseException):
    """The worker exited, crashed, hung or answered garbage while running a task."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def shown(text: Any, limit: int = 4000) -> str:
    """Text from a target as inert text: control characters escaped (no terminal codes),
    every line indented by the caller, at most `limit` characters."""
    text = str(text) if isinstance(text, str) else repr(text)
    out = "".join(
        c if c in "\n\t" or (c.isprintable() and c not in "\x1b") else repr(c)[1:-1] for c in text
    )
    return out if len(out) <= limit else out[:limit] + f"... ({len(out) - limit} more)"


def is_path(spec: str) -> bool:
    """A target named by a file or folder path rather than a module name."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec or spec in (".", "..")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Worker:
    """One worker process: a socket to it, its phase file and its output log."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="vgrad-worker-"))
        self.phase_path = self.folder / "phase"
        self.phase_path.write_bytes(bytes(PHASE_BYTES))
        self.log_path = self.folder / "output.log"
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(_search_path())
        env.setdefault("VGRAD_WORKER_MEMORY_MB", str(MEMORY_MB))
        # mutmut's stats record needs its pyproject.toml: the suite's folder, under mutmut
        cwd = os.getcwd() if "MUTANT_UNDER_TEST" in os.environ else str(self.folder)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "properties.worker.main",
                    str(theirs.fileno()),
                    str(self.phase_path),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        theirs.close()
        self.connection = Connection(ours.detach())

    def phase(self) -> str:
        try:
            data = self.phase_path.read_bytes()
            size = min(int.from_bytes(data[:2], "little"), PHASE_BYTES - 2)
            text = data[2 : 2 + size].decode("utf-8", "replace")
            # one line: the target can write this file, and a line of its own could pass
            # for one of the suite's (a case record)
            return shown(text.replace("\r", "\\r").replace("\n", "\\n"), 300)
        except OSError:
            return ""

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - LOG_TAIL))
                text = shown(log.read().decode("utf-8", "replace").strip(), 10 * LOG_TAIL)
                return text[-LOG_TAIL:]  # escaped, it may be longer: its end matters most
        except OSError:
            return ""

    def request(self, task: str, kwargs: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send a task and wait for its answer; raise TargetDied if none comes."""
        try:
            self.connection.send_bytes(dump((task, kwargs)))
        except OSError:
            raise self._died("") from None
        deadline = time.monotonic() + timeout
        while not self.connection.poll(min(max(deadline - time.monotonic(), 0.0), 1.0)):
            if self.process.poll() is not None:  # exited; a child of its may hold the channel
                raise self._died("")
            if time.monotonic() >= deadline:
                raise self._hung(timeout)
        try:
            data = self.connection.recv_bytes(MAX_ANSWER_BYTES)
        except (EOFError, OSError):
            raise self._died("") from None
        try:
            answer = load_answer(data)
            if type(answer) is not dict or not ({"ok", "raised"} & set(answer)):
                raise ValueError("an answer of the wrong form")
        except ValueError as error:
            self.kill()
            raise TargetDied(
                f"the target's worker answered with something that is not data ({error}); "
                "the target has tampered with the worker"
            ) from None
        return answer

    def _died(self, doing: str) -> TargetDied:
        phase = self.phase()
        try:
            status = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return TargetDied(f"the target closed the worker's channel during {phase}")
        what = (
            f"was killed by {_signal_name(-status)}"
            if status < 0
            else f"exited with status {status}"
        )
        message = f"the target {what} during {phase}"
        tail = self.log_tail()
        if tail:
            message += "\nits last output:\n" + _indent(tail)
        self.close()
        return TargetDied(message)

    def _hung(self, timeout: float) -> TargetDied:
        phase = self.phase()
        with contextlib.suppress(OSError):
            os.kill(self.process.pid, signal.SIGUSR1)  # faulthandler: dump the stack
            time.sleep(0.3)
        self.kill()
        message = f"no answer within {timeout:g} s: the target was still in {phase}"
        stack = _last_stack(self.log_tail())
        if stack:
            message += "\nwhere it was:\n" + _indent(stack)
        self.close()
        return TargetDied(message)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def close(self) -> None:
        self.kill()
        with contextlib.suppress(OSError):
            self.connection.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _last_stack(log: str) -> str:
    """The last stack faulthandler dumped into the log (innermost frame first)."""
    start = log.rfind("Thread ")
    start = log.rfind("Current thread", 0, len(log)) if start < 0 else start
    return log[start:].strip() if start >= 0 else ""


def _search_path() -> list[str]:
    """The suite's module search path, absolute: the worker imports what the suite would
    (under mutmut, the mutated engine)."""
    paths = []
    for entry in sys.path:
        path = os.path.abspath(entry or os.getcwd())
        if path not in paths:
            paths.append(path)
    return paths


@dataclass
class Target:
    """A target loaded in a worker: what it offers, and a way to run tasks on it."""

    name: str
    spec: str  # what the worker imports: a module name or an absolute path
    import_name: str = ""
    version: str | None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)
    limitations: dict[str, str] = field(default_factory=dict)
    # "Value"/"Tensor" -> how its operators refused a plain number (then the suite makes
    # constants leaves of the target's own type, and says so in one failing property)
    plain_operand_refusals: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    load_timeout: float = LOAD_TIMEOUT
    # under mutmut's stats run, the engine functions loading and detection reached
    # (properties/test_mutation_record.py counts them for its test)
    load_hits: tuple[str, ...] = ()
    _worker: Worker | None = field(default=None, repr=False)

    def constants_as_leaves(self, kind: str) -> bool:
        """Whether constants of a `kind` ("scalar"/"tensor") graph are made leaves."""
        return ("Value" if kind == "scalar" else "Tensor") in self.plain_operand_refusals

    def has(self, *capabilities: str) -> bool:
        return all(c in self.capabilities for c in capabilities)

    def missing(self, *capabilities: str) -> list[str]:
        return [c for c in capabilities if c not in self.capabilities]

    def call(
        self,
        task: str,
        context: Callable[[], str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run `task` on the target; its result, or TargetRaised / TargetDied.

        `context` describes the case (a snippet) for a TargetDied message; `timeout`
        replaces the target's time limit for this call."""
        try:
            worker = self._ready()
            answer = worker.request(task, kwargs, timeout or self.timeout)
        except TargetDied as died:
            self._worker = None
            if context is not None:
                died.message += "\n" + context()
            raise
        _count_mutmut_hits(answer.get("mutmut_hits"))
        if "raised" in answer:
            info = answer["raised"]
            raise TargetRaised(info if type(info) is dict else {"type": "?"})
        if not _FORMS.get(task, _anything)(answer["ok"]):
            self.close()
            raise wrong_form(task)
        return answer["ok"]

    def _ready(self) -> Worker:
        if self._worker is None:
            worker = Worker()
            try:
                answer = worker.request(
                    "load",
                    {"spec": self.spec, "is_path": is_path(self.spec)},
                    self.load_timeout,
                )
            except TargetDied as died:
                raise TargetDied(
                    f"a fresh worker could not load the target again: {died}"
                ) from None
            if "raised" in answer:
                worker.close()
                error = TargetRaised(answer["raised"])
                raise TargetDied(f"a fresh worker could not load the target again: {error}")
            self._worker = worker
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def wrong_form(task: str) -> TargetDied:
    """What a worker's answer of the wrong form means: the target tampered with it."""
    return TargetDied(
        f"the target's worker answered {task} in the wrong form; the target has tampered "
        "with the worker (its answers cannot be judged)"
    )


def _anything(answer: Any) -> bool:
    return True


def _list_of_lists(answer: Any) -> bool:
    return type(answer) is list and all(type(item) is list for item in answer)


def _has(answer: Any, **kinds: type) -> bool:
    """A dict whose `kinds` keys hold values of those types (`object`: any)."""
    return type(answer) is dict and all(
        key in answer and (kind is object or type(answer[key]) is kind)
        for key, kind in kinds.items()
    )


# The form of each task's answer (`properties.worker.tasks`), checked before any property
# reads it: a tampered worker's answer is a TargetDied, never a TypeError of the suite.
_FORMS: dict[str, Callable[[Any], bool]] = {
    "run_graph": lambda a: (
        _has(a, outputs=list, grads=dict) and ("values" not in a or type(a["values"]) is list)
    ),
    "run_graphs": lambda a: (
        type(a) is list and all(type(r) is dict and ("ok" in r or "raised" in r) for r in a)
    ),
    "accumulate": lambda a: _has(a, grads=list),
    "optimizer_run": _list_of_lists,
    "zero_grad": lambda a: type(a) is list,
    "mlp_zero_grad": lambda a: type(a) is list,
    "mlp_loss": lambda a: _has(a, loss=object, grads=list),
    "tensor_loss": lambda a: _has(a, loss=object, weight_grads=list, bias_grads=list),
    "train": lambda a: _has(a, loss=object, history=list) and _list_of_lists(a["history"]),
    "optimizer_refusals": lambda a: type(a) is dict and all(type(v) is str for v in a.values()),
    "probe_graphs": lambda a: (
        type(a) is list
        and all(type(r) is dict and type(r.get("readings")) is list for r in a)
        and all(_has(x, outputs=list, grads=dict) for r in a for x in r["readings"])
    ),
    "functional_call": lambda a: _has(a, output=object, grads=list),
    "network_run": lambda a: _has(a, output=object, input_grad=object, grads=list),
    "network_train": lambda a: _has(a, losses=list, history=list) and _list_of_lists(a["history"]),
}


_OPEN: list[Target] = []


@atexit.register
def _close_all() -> None:
    for target in _OPEN:
        target.close()


def load_target(
    spec: str, timeout: float | None = None, load_timeout: float | None = None
) -> Target:
    """Start a worker that imports `spec` (module name, alias, .py file or package folder)
    and detects what it offers; raise TargetLoadError when it cannot.

    `timeout` limits each case (default DEFAULT_TIMEOUT); `load_timeout` the import and
    detection (default LOAD_TIMEOUT, for torch's slow import).
    """
    where = str(Path(spec).resolve()) if is_path(spec) else spec
    target = Target(
        name=spec,
        spec=where,
        timeout=timeout or DEFAULT_TIMEOUT,
        load_timeout=load_timeout or LOAD_TIMEOUT,
    )
    worker = Worker()
    try:
        answer = worker.request(
            "load", {"spec": where, "is_path": is_path(spec)}, target.load_timeout
        )
    except TargetDied as died:
        worker.close()
        raise TargetLoadError(f"cannot import target {spec!r}: {died}") from None
    if "raised" in answer:
        worker.close()
        error = TargetRaised(answer["raised"])
        raise TargetLoadError(f"cannot import target {spec!r}: {error.describe()}")
    info = answer["ok"]
    try:
        target.import_name = shown(info["import_name"], 1000)
        target.version = None if info["version"] is None else shown(info["version"], 100)
        target.capabilities = frozenset(str(c) for c in info["capabilities"])
        target.limitations = {str(k): shown(v, 1000) for k, v in info["limitations"].items()}
        target.plain_operand_refusals = {
            str(k): shown(v, 1000) for k, v in info["plain_operand_refusals"].items()
        }
    except (KeyError, TypeError, AttributeError):
        worker.close()
        raise TargetLoadError(f"target {spec!r}: its worker answered in the wrong form") from None
    hits = answer.get("mutmut_hits")
    target.load_hits = tuple(str(h) for h in hits) if type(hits) is list else ()
    if not target.capabilities:
        worker.close()
        raise TargetLoadError(f"{spec}: no Value, Tensor, optim or nn found")
    target._worker = worker
    _OPEN.append(target)
    return target


def _count_mutmut_hits(hits: Any) -> None:
    """Under mutmut's stats run, add the engine functions the worker reached to mutmut's
    record in this process, so it knows which tests reach which function."""
    if not hits or type(hits) is not list:
        return
    module = sys.modules.get("mutmut.state")
    if module is not None:
        module.state()._stats.update(str(h) for h in hits)
