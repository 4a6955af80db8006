"""`vgrad report` past one process: chunks of graphs on a process pool or a Dask cluster.

A range of graphs is cut into chunks at whole batches (`reports.shards.chunks`); each
chunk is judged by `reports.report.judge` in a process of the pool (started with
*spawn*: never a fork of a process where JAX runs) or on a Dask worker, each with the
target in a worker of its own, and comes back as a part document (`reports.shards`).
With `--jobs J`, this process judges chunks too, beside J - 1 pool processes.
The chunks are joined in order (`reports.report.join`), so the report is the one a single
process would have written. With a checkpoint folder every finished chunk is written
there as a part file, and a run given the same folder again judges only the chunks
missing from it.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

from properties.targets import Target, load_target
from reports import shards
from reports.output import write_atomically
from reports.pool import scheduler_address, start_pool
from reports.report import (
    Judged,
    ReportConfig,
    ReportData,
    ReportError,
    finish,
    join,
    judge,
    usable_ops,
    validate,
)

CHUNKS_PER_JOB = 8  # small enough to balance the jobs, large enough to pay the start-up
POLL = 0.2  # seconds between looks at a request to stop
Advance = Callable[[int], None]
StopRequests = Callable[[], int]


def _config_data(config: ReportConfig) -> dict[str, Any]:
    return asdict(config) | {"ops": None if config.ops is None else list(config.ops)}


_LOADED: dict[tuple[str, float | None], Target] = {}


def loaded_target(spec: str, timeout: float | None) -> Target:
    """The target `spec`, loaded once per process (a pool process, a Dask worker)."""
    key = (spec, timeout)
    if key not in _LOADED:
        _LOADED[key] = load_target(spec, timeout=timeout, load_timeout=timeout)
    return _LOADED[key]


def judge_chunk(config_data: dict[str, Any], start: int, stop: int, timeout: float | None) -> dict:
    """Judge graphs `start` to `stop - 1` here (a pool process or a Dask worker); the part
    document. The target is loaded once per process, in a worker of its own."""
    config = shards.config_of({"config": config_data})
    target = loaded_target(config.target, timeout)
    ops, _ = usable_ops(config, target)
    started = time.perf_counter()
    judged = judge(config, ops, target, start, stop)
    seconds = time.perf_counter() - started
    return shards.part_document(config, target, judged, seconds, (start, stop))


def _pool_results(
    plan: list[tuple[int, int]],
    pool: ProcessPoolExecutor,
    jobs: int,
    args: tuple,
    stop_requests: StopRequests,
    here: Callable[[int, int], dict],
) -> Iterator[dict]:
    """Each chunk's part document as it finishes: the pool's `jobs - 1` processes and this
    one (`here`) take the chunks from the front of the plan in turn. Each pool process has
    a next chunk waiting in the pool's queue (handed over as a chunk finishes, so it never
    waits for this process). After a request to stop, only the chunks running finish."""
    queue = collections.deque(plan)
    finished: SimpleQueue[Future] = SimpleQueue()
    lock = threading.Lock()
    outstanding = 0

    def hand_over() -> None:
        """The next chunk to the pool (under `lock`)."""
        nonlocal outstanding
        if queue and not stop_requests():
            try:
                future = pool.submit(judge_chunk, args[0], *queue[0], args[1])
            except (BrokenProcessPool, RuntimeError):  # broken or shut down: the loop says so
                return
            queue.popleft()
            outstanding += 1
            future.add_done_callback(chunk_done)

    def chunk_done(future: Future) -> None:  # in the pool's management thread
        finished.put(future)
        with lock:
            hand_over()

    with lock:
        for _ in range(jobs - 1):
            hand_over()
    while True:
        while not finished.empty():
            with lock:
                outstanding -= 1
            yield finished.get().result()
        with lock:
            if stop_requests():
                queue.clear()
            chunk = queue.popleft() if queue else None
            if chunk is None and outstanding == 0:
                return
        if chunk is not None:
            yield here(*chunk)
            continue
        with contextlib.suppress(Empty):
            future = finished.get(timeout=POLL)
            with lock:
                outstanding -= 1
            yield future.result()


def _here(
    config: ReportConfig, target: Target, stop_requests: StopRequests
) -> Callable[[int, int], dict]:
    """Judge a chunk in this process, on the loaded target; its part document."""
    ops, _ = usable_ops(config, target)

    def judged_here(a: int, b: int) -> dict:
        started = time.perf_counter()
        judged = judge(config, ops, target, a, b, stop_requests=stop_requests)
        seconds = time.perf_counter() - started
        return shards.part_document(config, target, judged, seconds, (a, b))

    return judged_here


def _serial_results(
    plan: list[tuple[int, int]], here: Callable[[int, int], dict], stop_requests: StopRequests
) -> Iterator[dict]:
    """The chunks judged one after the other in this process."""
    for a, b in plan:
        if stop_requests():
            return
        yield here(a, b)


def judge_range(
    config: ReportConfig,
    target: Target,
    start: int,
    stop: int,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    checkpoint: Path | None = None,
    timeout: float | None = None,
    advance: Advance = lambda _: None,
    stop_requests: StopRequests = lambda: 0,
    pool: ProcessPoolExecutor | None = None,
) -> Judged:
    """Graphs `start` to `stop - 1` judged: in this process (jobs 1, no scheduler), on a
    pool of `jobs` processes, or on the Dask cluster at `scheduler`; with a checkpoint
    folder, resumed from the chunks found there. After a request to stop, the longest
    finished run of chunks from `start`. `pool` is a pool `start_pool` began (left running
    for its owner to use further and shut down)."""
    ops, _ = usable_ops(config, target)
    if jobs == 1 and scheduler is None and checkpoint is None:
        return judge(config, ops, target, start, stop, advance, stop_requests)
    expected = shards.versions(target)
    done: dict[int, Judged] = {}
    own = False  # a pool started here is shut down here; a pool given, by its owner
    if checkpoint is not None:
        for judged in _resume(checkpoint, config, expected, start, stop):
            done[judged.start] = judged
            advance(judged.stop - judged.start)
    if scheduler is not None:
        from reports.distributed import cluster_threads  # only with a scheduler

        jobs = max(jobs, cluster_threads(scheduler))
    plan = _plan(config, _gaps(start, stop, done), jobs)
    args = (_config_data(config), timeout)
    if scheduler is not None:
        from reports.distributed import dask_results  # only with a scheduler: Dask is optional

        results = dask_results(scheduler, judge_chunk, plan, args, stop_requests)
    elif jobs > 1:
        own = pool is None
        pool = start_pool(config.target, jobs, timeout) if own else pool
        here = _here(config, target, stop_requests)
        results = _pool_results(plan, pool, jobs, args, stop_requests, here)
    else:
        results = _serial_results(plan, _here(config, target, stop_requests), stop_requests)
    try:
        for doc in results:
            if doc["versions"] != expected:
                why = "; ".join(shards._differences(expected, doc["versions"]))
                raise ReportError(f"a worker runs other versions than this machine: {why}")
            judged = shards.decode_judged(doc["judged"])
            if checkpoint is not None:
                chunk = checkpoint / f"chunk-{judged.start}-{judged.stop}.json"
                write_atomically(chunk, json.dumps(doc))
            done[judged.start] = judged
            advance(judged.stop - judged.start)
    except BrokenProcessPool as error:
        raise ReportError(
            f"a report process of the pool died ({error}); the target runs in a worker of "
            "its own, so this is the machine (out of memory?), not the target"
            + (f"; the finished chunks are kept in {checkpoint}" if checkpoint else "")
        ) from None
    finally:
        if own and pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    return _prefix(done, start, stop, config, ops)


def _plan(config: ReportConfig, gaps: list[tuple[int, int]], jobs: int) -> list[tuple[int, int]]:
    """The gaps cut into chunks at whole batches, taken from the front by whichever job is
    free: CHUNKS_PER_JOB a job at first, then smaller towards the end (down to one batch),
    so that the jobs finish together."""
    batch = shards.batch_size(config)
    left = sum(b - a for a, b in gaps)
    most = max(1, -(-left // (CHUNKS_PER_JOB * jobs * batch)))  # batches a chunk
    plan = []
    for a, b in gaps:
        while a < b:
            n = min(most, max(1, left // (2 * jobs * batch)))
            plan.append((a, min(b, a + n * batch)))
            left -= plan[-1][1] - a
            a = plan[-1][1]
    return plan


def _gaps(start: int, stop: int, done: dict[int, Judged]) -> list[tuple[int, int]]:
    gaps, at = [], start
    for a in sorted(done):
        if a > at:
            gaps.append((at, a))
        at = max(at, done[a].stop)
    if at < stop:
        gaps.append((at, stop))
    return gaps


def _prefix(
    done: dict[int, Judged], start: int, stop: int, config: ReportConfig, ops: list[str]
) -> Judged:
    """The chunks that follow each other from `start`, joined (none: an empty range)."""
    parts, at = [], start
    while at in done and at < stop:
        parts.append(done[at])
        at = done[at].stop
    if not parts:
        return judge(config, ops, _NO_TARGET, start, start)
    return join(parts)


_NO_TARGET = Target(name="", spec="")  # judges no graph: an empty range asks nothing


def _resume(
    folder: Path, config: ReportConfig, expected: dict[str, Any], start: int, stop: int
) -> Iterator[Judged]:
    """The finished chunks in a checkpoint folder (refused when another run made them)."""
    data = _config_data(config)
    for path in sorted(folder.glob("chunk-*.json")):
        doc = shards.read_part(path)
        if doc["config"] != data or doc["versions"] != expected:
            raise ReportError(
                f"--checkpoint {folder} holds chunks of another run or other versions "
                f"({path.name}); give a new folder"
            )
        judged = shards.decode_judged(doc["judged"])
        if start <= judged.start and judged.stop <= stop and judged.stop > judged.start:
            yield judged


def run_parallel(
    config: ReportConfig,
    target: Target,
    args: argparse.Namespace,
    advance: Advance,
    stop_requests: StopRequests,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[ReportData, dict[str, Future[bytes]]]:
    """`vgrad report` with --jobs, --scheduler, --checkpoint: the report of the run, and
    the plots of all its graphs being drawn in `pool` (when given) while this process
    explains the notable graphs (`reports.report_files.write_report` takes them)."""
    validate(config)
    started = time.perf_counter()
    judged = judge_range(
        config,
        target,
        0,
        config.graphs,
        advance=advance,
        stop_requests=stop_requests,
        pool=pool,
        **_options(args),
    )
    if pool is None:
        return finish(config, target, judged, started, stop_requests), {}
    # the plots of every graph drawn in the pool, idle once the graphs are judged, while
    # this process explains the notable ones (it never imports matplotlib)
    from reports import pictures
    from reports.report_files import op_rows

    errors = judged.gradient_errors
    drawn = {
        "histogram": pool.submit(pictures.error_histogram, errors, judged.value_errors),
        "by_size": pool.submit(pictures.error_by_size, judged.depths, judged.nodes, errors),
    }
    data = finish(config, target, judged, started, stop_requests)
    drawn["by_op"] = pool.submit(pictures.error_by_op, op_rows(data))
    return data, drawn


def write_shard(
    config: ReportConfig,
    target: Target,
    args: argparse.Namespace,
    advance: Advance,
    stop_requests: StopRequests,
    pool: ProcessPoolExecutor | None = None,
) -> Judged:
    """`vgrad report --shard k/N`: judge the shard's graphs and write its part file."""
    validate(config)
    start, stop = shards.shard_range(config, *args.shard)
    started = time.perf_counter()
    judged = judge_range(
        config,
        target,
        start,
        stop,
        advance=advance,
        stop_requests=stop_requests,
        pool=pool,
        **_options(args),
    )
    seconds = time.perf_counter() - started
    doc = shards.part_document(config, target, judged, seconds, (start, stop))
    write_atomically(Path(args.out), json.dumps(doc))
    return judged


def _options(args: argparse.Namespace) -> dict[str, Any]:
    checkpoint = getattr(args, "checkpoint", None)
    return {
        "jobs": getattr(args, "jobs", 1),
        "scheduler": scheduler_address(getattr(args, "scheduler", None)),
        "checkpoint": None if checkpoint is None else Path(checkpoint),
        "timeout": args.timeout,
    }
