"""Two machines share one Hypothesis example database on a real Redis server: a failure
that `vgrad check --database redis://...` finds on one is replayed first on the other.

"Machines" are processes with caches of their own (each its own $XDG_CACHE_HOME, so no
folder database is shared). The second one runs the property with Hypothesis's reuse
phase alone (no new examples), so it fails only with what the database gives it: it
passes against an empty database and fails, on the same case, against the shared one.
Skipped, saying so, where Debian's redis-server or the redis client is not installed.
"""

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

pytestmark = pytest.mark.campaign  # a Redis server and three suite processes

redis = pytest.importorskip("redis", reason="the redis client comes with hypothesis[redis]")
ROOT = Path(__file__).resolve().parent.parent
PROPERTY = "properties/test_scalar_graphs.py::test_random_scalar_graphs_agree_with_oracle"
REPLAY_PLUGIN = """
from pathlib import Path

from hypothesis import Phase, settings

from properties.database import example_database

# the saved examples only: no example is generated
settings.register_profile(
    "replay", database=example_database(Path("unused")), phases=[Phase.reuse], deadline=None
)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("Debian's redis-server is not installed (apt-get install redis-server)")
    folder = tmp_path_factory.mktemp("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(30)


def _machine(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    cache = tmp_path / name
    cache.mkdir()
    path = os.pathsep.join([str(ROOT), str(tmp_path), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": path, **extra}


def _replay(engine: Path, tmp_path: Path, name: str, database: str) -> subprocess.CompletedProcess:
    """The property on machine `name`, replaying what `database` holds, nothing more."""
    env = _machine(tmp_path, name, VGRAD_PROFILE="replay", VGRAD_DATABASE=database)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{ROOT / PROPERTY}",
            f"--target={engine}",
            f"--rootdir={ROOT}",
            "-p",
            "replay_plugin",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-q",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )


def test_a_failure_found_on_one_machine_is_replayed_first_on_another(
    server: int, tmp_path: Path
) -> None:
    (tmp_path / "replay_plugin.py").write_text(REPLAY_PLUGIN)
    engine = write_engine(next(b for b in BUGS if b.name == "tanh_grad_uses_input"), tmp_path)
    shared, empty = f"redis://127.0.0.1:{server}/0", f"redis://127.0.0.1:{server}/1"

    found = subprocess.run(
        [
            sys.executable,
            "-m",
            "reports.cli",
            "check",
            "--target",
            str(engine),
            "--profile",
            "quick",
            "-k",
            "random_scalar_graphs",
            "--database",
            shared,
            "--json",
            str(tmp_path / "a.json"),
        ],
        capture_output=True,
        text=True,
        env=_machine(tmp_path, "a"),
        cwd=tmp_path,
        timeout=600,
    )
    assert found.returncode == 1, found.stdout[-3000:] + found.stderr[-3000:]
    failed = [
        c
        for c in json.loads((tmp_path / "a.json").read_text())["cases"]
        if c["outcome"] == "failed"
    ]
    assert [c["nodeid"] for c in failed] == [PROPERTY], failed
    keys = redis.Redis(host="127.0.0.1", port=server, db=0).keys("vgrad:*")
    assert keys, "machine a saved nothing in the shared database"

    alone = _replay(engine, tmp_path, "b-alone", empty)
    assert alone.returncode == 0, "replaying an empty database fails:\n" + alone.stdout[-3000:]

    replayed = _replay(engine, tmp_path, "b", shared)
    assert replayed.returncode == 1, (
        "the shared failure was not replayed:\n" + replayed.stdout[-3000:]
    )
    first_line = failed[0]["message"].splitlines()[1].strip()  # the first wrong number
    assert first_line in replayed.stdout, (first_line, replayed.stdout[-3000:])
