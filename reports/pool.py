"""The process pool of `vgrad report --jobs J`, started before this process imports JAX.

A run of 20000 graphs takes seconds, so the pool's start-up (an interpreter, JAX, the
target's worker) counts: `reports.cli` starts the pool first thing, and its processes
start up while this one imports its own modules. Hence this module imports nothing
heavy; the pool processes import `reports.parallel` (JAX, the oracle) themselves.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor


def scheduler_address(given: str | None) -> str | None:
    """The Dask scheduler: `--scheduler`, else DASK_SCHEDULER_ADDRESS, else none."""
    return given or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


def quick_exit() -> None:
    """At this process's exit, leave its objects to the operating system rather than to the
    interpreter's last garbage collections, which walk every object of JAX and matplotlib
    (a third of a second at the end of every run, and of every pool process)."""
    atexit.unregister(gc.freeze)  # registered once, however many runs this process makes
    atexit.register(gc.freeze)


def report_pool(args: argparse.Namespace) -> ProcessPoolExecutor | None:
    """With --jobs J (J > 1, no scheduler), the J - 1 pool processes, already starting."""
    jobs = getattr(args, "jobs", 1)
    if jobs < 2 or scheduler_address(getattr(args, "scheduler", None)) is not None:
        return None
    return start_pool(args.target, jobs, args.timeout, plots=getattr(args, "shard", None) is None)


def start_pool(
    target: str, jobs: int, timeout: float | None, plots: bool = False
) -> ProcessPoolExecutor:
    """`jobs - 1` processes started with spawn (never a fork of a process where JAX runs),
    each loading `target` in a worker of its own as soon as it is up (and matplotlib, with
    `plots`: they draw the report's plots at the end)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs - 1, mp_context=context, initializer=_ignore_interrupts)
    for _ in range(jobs - 1):
        pool.submit(_warm_up, target, timeout, plots)
    return pool


def _ignore_interrupts() -> None:
    """Pool processes leave Ctrl-C and SIGTERM to the parent, which stops the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _warm_up(target: str, timeout: float | None, plots: bool) -> None:
    """A pool process's imports and target worker, before the first chunk comes."""
    from reports.parallel import loaded_target

    quick_exit()
    loaded_target(target, timeout)
    if plots:
        from reports.pictures import pyplot

        pyplot()  # imported now, for the plots drawn at the end
    # what is loaded stays: the collector need not walk it again at every full collection
    gc.freeze()
