"""Shards and part files of `vgrad report`: a run cut into ranges of graphs, joined again.

A run of G graphs is cut at multiples of its batch size (256 scalar graphs, 16 tensor
graphs), so each range is judged in exactly the batches one whole run would use.
`vgrad report --shard k/N` (k counts from 1) judges the k-th of N such ranges and writes
a *part file*: JSON holding the run's configuration, the versions that made it (vgrad's
source, JAX, NumPy, the target's version and source) and the judged range (a summary
per graph, and the target's answers to the graphs the report may explain).
`vgrad report merge PART... --out DIR` refuses parts with gaps between them, overlaps,
or other configurations or versions (the merging machine's included: it regenerates the
explained graphs with its JAX), joins them (`reports.report.join`), and writes the report
one run would have written. The same part files are the checkpoints of a run on a
process pool or a Dask cluster (`reports.parallel`).

The target's answers are stored as the worker's wire format (base64) and read back with
its strict reader, so a forged part file can hold wrong numbers, never code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import asdict
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from oracle import codec
from properties.execute import TargetAnswer, TargetRun
from properties.targets import Target, TargetDied, TargetRaised, is_path
from properties.worker.wire import dump, load_answer
from reports.report import (
    BATCH,
    TENSOR_BATCH,
    Judged,
    ReportConfig,
)

PART_FORMAT = 1
_ROOT = Path(__file__).resolve().parent.parent
_SOURCES = ("engine", "oracle", "properties", "reports")


class PartError(ValueError):
    """Part files that cannot be merged into one report; the message says why."""


def batch_size(config: ReportConfig) -> int:
    return TENSOR_BATCH if config.tensor else BATCH


def shard_range(config: ReportConfig, k: int, n: int) -> tuple[int, int]:
    """Graphs `start` to `stop - 1` of shard `k` of `n` (k from 1): whole batches, as even
    as they can be (a shard may be empty when there are fewer batches than shards)."""
    size = batch_size(config)
    batches = -(-config.graphs // size)
    first, last = (k - 1) * batches // n, k * batches // n
    return min(first * size, config.graphs), min(last * size, config.graphs)


def chunks(config: ReportConfig, start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """`start` to `stop` cut into ranges of about `size` graphs, at whole batches."""
    step = max(1, -(-size // batch_size(config))) * batch_size(config)
    return [(a, min(stop, a + step)) for a in range(start, stop, step)]


def _digest(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@cache
def vgrad_source() -> str:
    """A digest of vgrad's Python source (engine, oracle, properties, reports)."""
    files = [p for name in _SOURCES for p in (_ROOT / name).rglob("*.py")]
    return _digest(files, _ROOT)


def target_source(spec: str) -> str | None:
    """A digest of a target named by a path (its file, or its package's .py files); None
    for a module name (its version stands for it, and engine's source is vgrad's)."""
    if not is_path(spec):
        return None
    path = Path(spec).resolve()
    if path.is_file():
        return _digest([path], path.parent)
    return _digest(list(path.rglob("*.py")), path) if path.is_dir() else None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def versions(target: Target) -> dict[str, Any]:
    """What must be the same on every machine whose parts are merged."""
    return {
        "vgrad": _version("vgrad"),
        "vgrad_source": vgrad_source(),
        "jax": _version("jax"),
        "jaxlib": _version("jaxlib"),
        "numpy": np.__version__,
        "target_version": target.version,
        "target_source": target_source(target.spec),
    }


def _floats(values: np.ndarray) -> list[Any]:
    return [codec.encode(float(x)) for x in values]


def encode_answer(answer: TargetAnswer) -> dict[str, Any]:
    if isinstance(answer, TargetRaised):
        keys = ("type_name", "message", "traceback", "where")
        return {"raised": {key: getattr(answer, key) for key in keys}}
    if isinstance(answer, TargetDied):
        return {"died": answer.message}
    return {"ok": base64.b64encode(dump(asdict(answer))).decode()}


def decode_answer(data: dict[str, Any]) -> TargetAnswer:
    if "raised" in data:
        raised = TargetRaised.__new__(TargetRaised)
        raised.__dict__.update({k: str(v) for k, v in data["raised"].items()})
        Exception.__init__(raised, f"{raised.type_name}: {raised.message}")
        return raised
    if "died" in data:
        return TargetDied(str(data["died"]))
    answer = load_answer(base64.b64decode(data["ok"]))
    if type(answer) is not dict or set(answer) != {"outputs", "grads", "values"}:
        raise PartError("a part holds an answer that is not a target's run")
    return TargetRun(**answer)


def encode_judged(judged: Judged) -> dict[str, Any]:
    """`judged` as JSON data (`decode_judged` gives it back exactly)."""
    return {
        "start": judged.start,
        "stop": judged.stop,
        "nodes": judged.nodes.tolist(),
        "depths": judged.depths.tolist(),
        "value_errors": _floats(judged.value_errors),
        "gradient_errors": _floats(judged.gradient_errors),
        "statuses": judged.statuses.tolist(),
        "op_nodes": judged.op_nodes,
        "op_members": {op: ks.tolist() for op, ks in judged.op_members.items()},
        "op_value_max": {op: codec.encode(x) for op, x in judged.op_value_max.items()},
        "worst": [[codec.encode(e), k] for e, k in judged.worst],
        "disagreeing": judged.disagreeing,
        "kept": {str(k): encode_answer(a) for k, a in judged.kept.items()},
    }


def decode_judged(data: dict[str, Any]) -> Judged:
    floats = lambda xs: np.array([codec.decode(x) for x in xs], dtype=np.float64)  # noqa: E731
    return Judged(
        start=int(data["start"]),
        stop=int(data["stop"]),
        nodes=np.array(data["nodes"], dtype=np.int32),
        depths=np.array(data["depths"], dtype=np.int32),
        value_errors=floats(data["value_errors"]),
        gradient_errors=floats(data["gradient_errors"]),
        statuses=np.array(data["statuses"], dtype=np.int8),
        op_nodes={op: int(n) for op, n in data["op_nodes"].items()},
        op_members={op: np.array(ks, dtype=np.int64) for op, ks in data["op_members"].items()},
        op_value_max={op: float(codec.decode(x)) for op, x in data["op_value_max"].items()},
        worst=[(float(codec.decode(e)), int(k)) for e, k in data["worst"]],
        disagreeing=[int(k) for k in data["disagreeing"]],
        kept={int(k): decode_answer(a) for k, a in data["kept"].items()},
    )


def part_document(
    config: ReportConfig, target: Target, judged: Judged, seconds: float, planned: tuple[int, int]
) -> dict[str, Any]:
    """A part file's content: the range judged of a run, and what made it."""
    return {
        "vgrad_part": PART_FORMAT,
        "config": asdict(config) | {"ops": None if config.ops is None else list(config.ops)},
        "versions": versions(target),
        "planned": list(planned),
        "seconds": round(seconds, 3),
        "judged": encode_judged(judged),
    }


def read_part(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PartError(f"{path}: not a readable part file ({error})") from None
    if type(doc) is not dict or doc.get("vgrad_part") != PART_FORMAT:
        raise PartError(f"{path}: not a vgrad report part file (format {PART_FORMAT})")
    return doc


def config_of(doc: dict[str, Any]) -> ReportConfig:
    fields = dict(doc["config"])
    fields["ops"] = None if fields["ops"] is None else tuple(fields["ops"])
    return ReportConfig(**fields)


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [
        f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    ]


def check_parts(named: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The parts in order of their ranges; PartError when they are not one whole run:
    other configurations or versions, ranges that overlap, or a gap (a missing or
    unfinished part)."""
    if not named:
        raise PartError("no part files given")
    first_name, first = named[0]
    for name, doc in named[1:]:
        if doc["config"] != first["config"]:
            why = "; ".join(_differences(first["config"], doc["config"]))
            raise PartError(f"{name} is a part of another run than {first_name}: {why}")
        if doc["versions"] != first["versions"]:
            why = "; ".join(_differences(first["versions"], doc["versions"]))
            raise PartError(f"{name} was made by other versions than {first_name}: {why}")
    ordered = sorted(
        named, key=lambda item: (item[1]["judged"]["start"], item[1]["judged"]["stop"])
    )
    expected = 0
    for name, doc in ordered:
        start, stop = doc["judged"]["start"], doc["judged"]["stop"]
        if start < expected:
            raise PartError(f"{name} (graphs {start} to {stop - 1}) overlaps another part")
        if start > expected:
            raise PartError(f"graphs {expected} to {start - 1} are in no part (a gap)")
        expected = stop
    graphs = first["config"]["graphs"]
    if expected < graphs:
        raise PartError(f"graphs {expected} to {graphs - 1} are in no part (a gap)")
    return ordered


def merge_main(argv: list[str]) -> int:
    """`vgrad report merge PART... --out DIR`: the report of one run from its parts.
    Exit codes as `vgrad report`'s; 2 when the parts are not one whole run."""
    from rich.console import Console

    from properties.targets import TargetLoadError, load_target
    from reports import cli
    from reports.report import finish, join
    from reports.report_cli import _print_summary
    from reports.report_files import write_report

    parser = cli._Parser(
        prog="vgrad report merge",
        description="join the part files of `vgrad report --shard k/N` into the report one "
        "run would have written",
    )
    parser.add_argument("parts", nargs="+", metavar="PART", help="part files, in any order")
    parser.add_argument("--out", default="vgrad-report", help="report folder (vgrad-report)")
    parser.add_argument("--timeout", type=cli._timeout, metavar="SECONDS", help="per case")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    console = Console(stderr=True)

    def refuse(message: str) -> int:
        console.print(f"vgrad report merge: {message}", style="red", markup=False)
        return cli.EXIT_USAGE

    try:
        out = cli._destination(args.out, "--out", cli._report_destination)
        ordered = check_parts([(p, read_part(Path(p))) for p in args.parts])
        config = config_of(ordered[0][1])
        target = load_target(config.target, timeout=args.timeout, load_timeout=args.timeout)
    except (cli.UsageError, PartError, TargetLoadError) as error:
        return refuse(" ".join(str(error).splitlines()))
    try:
        made_by = ordered[0][1]["versions"]
        if (here := versions(target)) != made_by:
            why = "; ".join(_differences(made_by, here))
            return refuse(f"the parts were made by other versions than this machine's: {why}")
        judged = join([decode_judged(doc["judged"]) for _, doc in ordered])
        data = finish(config, target, judged, time.perf_counter())
        data.seconds = sum(doc["seconds"] for _, doc in ordered)
    finally:
        target.close()
    try:
        files = write_report(data, Path(out))
    except OSError as error:
        return refuse(f"cannot write the report to {out}: {error}")
    _print_summary(data, files, Console())
    return data.exit_code
