"""A real Dask cluster on 127.0.0.1 (a `dask scheduler` and two `dask worker` processes):
`vgrad report --scheduler` writes the report one local run writes, and `vgrad check
--scheduler` the same gradebook. Skipped, saying so, without the extra vgrad[dask]."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from planted import BUGS, write_engine

pytestmark = pytest.mark.campaign  # a cluster's start-up, and JAX started on each worker

pytest.importorskip("distributed", reason="Dask distributed is the extra vgrad[dask]")

ROOT = Path(__file__).resolve().parent.parent
DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
GRAPHS = ["--graphs", "1000", "--max-nodes", "10", "--seed", "5"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from distributed import Client

    if DASK is None:
        pytest.skip("the `dask` command is not installed")
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    commands = [[DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]]
    commands += [
        [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"]
    ] * 2
    processes = []
    try:
        for k, command in enumerate(commands):
            log = open(logs / f"{k}.log", "wb")  # noqa: SIM115 (closed with the process)
            processes.append(
                subprocess.Popen(command, stdout=log, stderr=log, env=_env(), cwd=logs)
            )
            if k == 0:
                time.sleep(2)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _vgrad(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "reports.cli", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=900,
    )
    return run, time.perf_counter() - started


def _report(path: Path) -> dict:
    doc = json.loads((path / "report.json").read_text())
    doc.pop("created")
    for key in ("seconds", "graphs_per_second"):
        doc["summary"].pop(key)
    return doc


def test_a_report_on_the_cluster_is_the_local_report(cluster: str, tmp_path: Path) -> None:
    local, local_seconds = _vgrad("report", *GRAPHS, "--out", "local", cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    remote_args = ["report", *GRAPHS, "--scheduler", cluster, "--checkpoint", "chunks"]
    remote, remote_seconds = _vgrad(*remote_args, "--out", "remote", cwd=tmp_path)
    assert remote.returncode == 0, remote.stderr[-3000:]
    here, there = _report(tmp_path / "local"), _report(tmp_path / "remote")
    assert here == there, [k for k in here if here[k] != there.get(k)]
    print(f"1000 graphs: local {local_seconds:.1f} s, on 2 Dask workers {remote_seconds:.1f} s")
    # an interrupted run: some chunks finished, the others are judged when it runs again
    chunks = sorted((tmp_path / "chunks").glob("chunk-*.json"))
    assert len(chunks) >= 2, chunks
    kept = {path: path.stat().st_mtime_ns for path in chunks[::2]}
    for path in chunks[1::2]:
        path.unlink()
    resumed, _ = _vgrad(*remote_args, "--out", "resumed", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _report(tmp_path / "resumed") == here
    assert all(path.stat().st_mtime_ns == t for path, t in kept.items()), "finished chunks kept"
    assert all(path.exists() for path in chunks), "the missing chunks judged again"


def test_a_gradebook_on_the_cluster_is_the_local_gradebook(cluster: str, tmp_path: Path) -> None:
    bug = next(b for b in BUGS if b.name == "tanh_grad_uses_input")
    targets = [str(write_engine(None, tmp_path)), str(write_engine(bug, tmp_path))]
    (tmp_path / "broken.py").write_text("raise ImportError('not handed in')\n")
    targets.append(str(tmp_path / "broken.py"))
    common = ["--profile", "quick", "--seed", "3", "-k", "accumulation or conventions"]
    local, _ = _vgrad("check", *targets, *common, "--gradebook", "local", cwd=tmp_path)
    remote, _ = _vgrad(
        "check", *targets, *common, "--scheduler", cluster, "--gradebook", "remote", cwd=tmp_path
    )
    assert remote.returncode == local.returncode == 1, (local.stdout[-2000:], remote.stdout[-2000:])
    here = json.loads((tmp_path / "local" / "gradebook.json").read_text())
    there = json.loads((tmp_path / "remote" / "gradebook.json").read_text())
    assert here == there
    rows = {row["name"]: row for row in there["targets"]}
    assert rows["broken"]["error"] and not rows["broken"]["loaded"], rows["broken"]
    assert rows["planted_clean"]["score"] == rows["planted_clean"]["max_score"] > 0, rows
