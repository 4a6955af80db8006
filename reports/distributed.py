"""Work on a Dask cluster (the optional extra ``vgrad[dask]``): imported only when a
scheduler is given, so nothing of Dask is imported otherwise.

A Dask worker runs the same functions as a local process pool: `judge_chunk` for a
chunk of report graphs, `check_target` for a target of a gradebook; the target still
runs in a worker process of its own, started by the Dask worker. Results come back as
they finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from distributed import Client, as_completed

CONNECT_TIMEOUT = "30s"


def dask_map(
    scheduler: str,
    function: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    stop_requests: Callable[[], int] = lambda: 0,
) -> Iterator[Any]:
    """`function(*call)` for each call, on the cluster at `scheduler`; each result as it
    finishes. After a request to stop, the calls not yet finished are cancelled."""
    with Client(scheduler, timeout=CONNECT_TIMEOUT) as client:
        futures = [client.submit(function, *call, pure=False) for call in calls]
        finished = as_completed(futures)
        for future in finished:
            yield future.result()
            if stop_requests():
                client.cancel([f for f in futures if not f.done()])
                return


def cluster_threads(scheduler: str) -> int:
    """How many tasks the cluster runs at once (its workers' threads)."""
    with Client(scheduler, timeout=CONNECT_TIMEOUT) as client:
        return max(1, sum(client.nthreads().values()))


def dask_results(
    scheduler: str,
    function: Callable[..., dict],
    plan: Sequence[tuple[int, int]],
    args: tuple[Any, Any],
    stop_requests: Callable[[], int],
) -> Iterator[dict]:
    """Each chunk's part document, judged on the cluster."""
    calls = [(args[0], start, stop, args[1]) for start, stop in plan]
    return dask_map(scheduler, function, calls, stop_requests)
