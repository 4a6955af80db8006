"""`vgrad report` past one process: --jobs on a spawn pool, --shard k/N part files joined by
`vgrad report merge`, --checkpoint resumes; each gives the report one run writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports.cli import main

GRAPHS = ["--graphs", "800", "--max-nodes", "8", "--seed", "11"]  # 4 batches: 4 shards


def same_report(path: Path) -> dict:
    """report.json without what depends on the clock."""
    doc = json.loads((path / "report.json").read_text())
    doc.pop("created")
    for key in ("seconds", "graphs_per_second"):
        doc["summary"].pop(key)
    return doc


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("one") / "report"
    assert main(["report", *GRAPHS, "--out", str(out)]) == 0
    return same_report(out)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parts")
    paths = [folder / f"part{k}.json" for k in range(1, 5)]
    for k, path in enumerate(paths, start=1):
        assert main(["report", *GRAPHS, "--shard", f"{k}/4", "--out", str(path)]) == 0, k
    return paths


def test_four_shards_merged_give_the_report_of_one_run(
    one_run: dict, parts: list[Path], tmp_path: Path
) -> None:
    ranges = [json.loads(p.read_text())["judged"] for p in parts]
    assert [(r["start"], r["stop"]) for r in ranges] == [
        (0, 256),
        (256, 512),
        (512, 768),
        (768, 800),
    ]
    out = tmp_path / "merged"
    shuffled = [parts[2], parts[0], parts[3], parts[1]]
    assert main(["report", "merge", *map(str, shuffled), "--out", str(out)]) == 0
    merged = same_report(out)
    assert merged == one_run, [k for k in one_run if one_run[k] != merged.get(k)]


def _edited(path: Path, folder: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    new = folder / f"edited-{path.name}"
    new.write_text(json.dumps(doc))
    return new


@pytest.mark.parametrize(
    ("which", "said"),
    [
        ("gap", "graphs 256 to 511 are in no part (a gap)"),
        ("overlap", "overlaps another part"),
        ("jax", "made by other versions than"),
        ("target", "made by other versions than"),
        ("vgrad", "made by other versions than"),
        ("config", "is a part of another run"),
        ("machine", "other versions than this machine's"),
    ],
)
def test_merge_refuses_gaps_overlaps_and_other_versions(
    parts: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, said: str
) -> None:
    given = list(parts)
    if which == "gap":
        given.pop(1)
    elif which == "overlap":
        given.append(parts[1])
    elif which == "machine":  # every part alike, but not this machine's JAX
        given = [_edited(p, tmp_path, lambda d: d["versions"].update(jax="0.0.1")) for p in parts]
    else:
        edit = {
            "jax": lambda d: d["versions"].update(jax="0.0.1"),
            "target": lambda d: d["versions"].update(target_version="9.9"),
            "vgrad": lambda d: d["versions"].update(vgrad_source="0" * 16),
            "config": lambda d: d["config"].update(max_nodes=9),
        }[which]
        given[3] = _edited(parts[3], tmp_path, edit)
    out = tmp_path / "merged"
    code = main(["report", "merge", *map(str, given), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and said in " ".join(err.split()), (which, code, err)
    assert not out.exists(), which


@pytest.mark.campaign  # two spawned processes, each starting JAX: seconds of start-up
def test_jobs_2_gives_the_report_of_one_run(one_run: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", *GRAPHS, "--jobs", "2", "--out", str(out)]) == 0
    doc = same_report(out)
    assert doc == one_run, [k for k in one_run if one_run[k] != doc.get(k)]


def test_a_checkpoint_is_resumed_from_its_finished_chunks(one_run: dict, tmp_path: Path) -> None:
    checkpoint, out = tmp_path / "chunks", tmp_path / "report"
    args = ["report", *GRAPHS, "--checkpoint", str(checkpoint), "--out", str(out)]
    assert main(args) == 0
    assert same_report(out) == one_run
    chunks = sorted(checkpoint.glob("chunk-*.json"))
    assert len(chunks) >= 2, chunks
    # a finished chunk is taken as it is (here marked, to see it used): graph 0's error
    first = json.loads(chunks[0].read_text())
    assert first["judged"]["start"] == 0, chunks[0]
    first["judged"]["gradient_errors"][0] = 0.25
    chunks[0].write_text(json.dumps(first))
    chunks[-1].unlink()  # as if the run had stopped before its last chunk
    assert main(args) == 0
    resumed = same_report(out)
    assert resumed["graphs"]["gradient_error"][0] == 0.25, resumed["graphs"]["gradient_error"][:3]
    assert resumed["graphs"]["gradient_error"][1:] == one_run["graphs"]["gradient_error"][1:]
    assert chunks[-1].exists(), "the missing chunk was judged and kept"


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    checkpoint = tmp_path / "chunks"
    small = ["report", "--graphs", "20", "--max-nodes", "5", "--checkpoint", str(checkpoint)]
    assert main([*small, "--out", str(tmp_path / "a")]) == 0
    assert list(checkpoint.glob("chunk-*.json")), "a chunk was kept"
    other = [*small, "--seed", "1"]
    assert main([*other, "--out", str(tmp_path / "b")]) == 2
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("shard", ["0/4", "5/4", "1/0", "x", "1/4/2", "-1/4"])
def test_bad_shards_are_refused_before_any_work(
    shard: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", f"--shard={shard}", "--out", str(tmp_path / "part.json")])
    err = capsys.readouterr().err
    assert code == 2 and "--shard" in err and "k/N" in err, (shard, err)
    assert not (tmp_path / "part.json").exists(), shard


def test_nothing_of_dask_is_imported_without_a_scheduler(tmp_path: Path) -> None:
    """The chunked path (a checkpoint), the gradebook and the shards, without Dask."""
    program = (
        "import sys\n"
        "import reports.gradebook, reports.shards\n"
        "from reports.cli import main\n"
        f"code = main(['report', '--graphs', '300', '--max-nodes', '6', '--checkpoint', "
        f"{str(tmp_path / 'c')!r}, '--out', {str(tmp_path / 'r')!r}])\n"
        "found = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print(code, found)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert run.stdout.strip().splitlines()[-1:] == ["0 []"], run.stdout + run.stderr[-3000:]
    assert list((tmp_path / "c").glob("chunk-*.json")), "the chunked path was taken"


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


@pytest.mark.campaign  # a long run, killed in its middle
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_a_pool_process_killed_stops_the_run_with_what_it_was(tmp_path: Path) -> None:
    checkpoint, out = tmp_path / "chunks", tmp_path / "report"
    command = ["report", "--graphs", "200000", "--jobs", "2", "--checkpoint", str(checkpoint)]
    run = subprocess.Popen(
        [sys.executable, "-m", "reports.cli", *command, "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not list(checkpoint.glob("chunk-*.json")):
            assert run.poll() is None, run.communicate()
            time.sleep(0.1)
        pool = [
            c for c in _children(run.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()
        ]
        assert pool, "the run has a spawned pool process"
        os.kill(pool[0], signal.SIGKILL)
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    said = " ".join(err.split())
    assert run.returncode == 2, (run.returncode, err)
    assert "a report process of the pool died" in said, err
    assert f"finished chunks are kept in {checkpoint}" in said, err
    assert "Traceback" not in err, err
    assert list(checkpoint.glob("chunk-*.json")), "what was checked is kept"
