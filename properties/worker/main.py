"""The worker's loop: ``python -m properties.worker.main FD PHASE_FILE``.

It reads ``(task, kwargs)`` requests from the socket FD, runs the task on the target, and
answers ``{"ok": result}`` or ``{"raised": exception as data}``; any exception the
target raises, `SystemExit` and `KeyboardInterrupt` included, is an answer, not the end
of the worker. Before each step it writes what it is doing into PHASE_FILE, so the suite
can say where the target was when it crashed or hung. The worker dies with the suite
(Linux's parent-death signal), lives in a process group of its own (a Ctrl-C in the
terminal reaches the suite, not the target), and dumps its Python stack on SIGUSR1 and
on a fatal signal (faulthandler) into its log.
"""

from __future__ import annotations

import faulthandler
import mmap
import os
import pickle
import resource
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

PHASE_BYTES = 512


class PhaseFile:
    """What the worker is doing, in a small shared file: two bytes of length, then text."""

    def __init__(self, path: str) -> None:
        with open(path, "r+b") as file:
            self.map = mmap.mmap(file.fileno(), PHASE_BYTES)

    def __call__(self, text: str) -> None:
        data = text.encode("utf-8", "replace")[: PHASE_BYTES - 2]
        self.map[2 : 2 + len(data)] = data
        self.map[0:2] = len(data).to_bytes(2, "little")


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except Exception:  # not Linux: the worker ends when its socket closes instead
        pass


def _limit_memory() -> None:
    megabytes = int(os.environ.get("VGRAD_WORKER_MEMORY_MB", "0") or 0)
    if megabytes > 0:
        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(connection: Connection, phase: PhaseFile) -> None:
    from properties.worker.tasks import TASKS, described, mutmut_hits

    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        task, kwargs = pickle.loads(request)
        phase(f"starting {task}")
        try:
            answer: dict[str, Any] = {"ok": TASKS[task](**kwargs, phase=phase)}
        except BaseException as error:  # SystemExit, KeyboardInterrupt: the target's too
            answer = {"raised": described(error)}
        hits = mutmut_hits()
        if hits:
            answer["mutmut_hits"] = hits
        phase(f"answering {task}")
        connection.send_bytes(pickle.dumps(answer, protocol=5))
        phase("idle")


def main() -> None:
    fd, phase_path = int(sys.argv[1]), sys.argv[2]
    _die_with_parent()
    faulthandler.enable(file=sys.stderr, all_threads=True)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    _limit_memory()
    serve(Connection(fd), PhaseFile(phase_path))


if __name__ == "__main__":
    main()
