"""The command-line options of `vgrad check` and `vgrad report` past one process.

`vgrad check TARGET...` (several targets, folders of submissions, globs) with
`--gradebook`, `--gradescope`, `--jobs`, `--scheduler`, `--database`; `vgrad report` with
`--jobs`, `--shard`, `--checkpoint`, `--scheduler`. Checked before any work, as the rest
of `reports.cli`.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import re
from pathlib import Path

SHARD = re.compile(r"([0-9]+)/([0-9]+)")


def parse_shard(text: str) -> tuple[int, int]:
    """An argparse type: ``k/N`` with 1 <= k <= N (k counts from 1)."""
    match = SHARD.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"must be k/N, e.g. 1/4 (k counts from 1), got {text!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"must be k/N with 1 <= k <= N, got {text!r}")
    return k, n


MAX_JOBS = 64
MAX_TARGETS = 10_000


class OptionError(Exception):
    """An option no run can be made of (reports.cli words it as its UsageError)."""


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_JOBS}, got {value}")
    return value


_REDIS = re.compile(r"redis://([^:/\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})(/([0-9]+))?")


def redis_address(text: str) -> tuple[str, int, int]:
    """``redis://HOST:PORT[/DB]`` -> (host, port, db)."""
    match = _REDIS.fullmatch(text)
    if not match or not 0 < int(match[2]) < 65536:
        raise argparse.ArgumentTypeError(f"must be redis://HOST:PORT, got {text!r}")
    return match[1].strip("[]"), int(match[2]), int(match[4] or 0)


def _database(text: str) -> str:
    redis_address(text)
    return text


def _scheduler(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls|inproc|ucx)://\S+", text):
        raise argparse.ArgumentTypeError(f"must be an address like tcp://HOST:8786, got {text!r}")
    return text


SCHEDULER_HELP = (
    "address of a Dask scheduler (tcp://HOST:8786; default: DASK_SCHEDULER_ADDRESS when set) "
    "to run the work on; needs the extra vgrad[dask]"
)


def register_past_one_machine(
    report: argparse.ArgumentParser, check: argparse.ArgumentParser
) -> None:
    """Add the options of this module to the parsers of `report` and `check`."""
    check.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="targets to check at once (a class): .py files, package folders, module names, "
        "folders of submissions (each .py file or package inside is one) or globs; several "
        "make a gradebook",
    )
    check.add_argument(
        "--gradebook",
        metavar="DIR",
        help="write the gradebook (gradebook.html, .csv, .json and Gradescope's results "
        "per target) into DIR (default vgrad-gradebook when several targets are given)",
    )
    check.add_argument(
        "--gradescope", metavar="FILE", help="write Gradescope's results.json of one target"
    )
    check.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help=f"processes (1 to {MAX_JOBS}, default 1): targets checked at once, or with one "
        "target its properties",
    )
    check.add_argument("--scheduler", type=_scheduler, help=SCHEDULER_HELP)
    check.add_argument(
        "--database",
        type=_database,
        metavar="redis://HOST:PORT",
        help="a Hypothesis example database shared by several machines (Redis; needs "
        "hypothesis[redis]), each test keyed by its id and the target",
    )
    report.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help=f"processes judging chunks of graphs (1 to {MAX_JOBS}, default 1)",
    )
    report.add_argument(
        "--shard",
        type=parse_shard,
        metavar="k/N",
        help="judge only the k-th of N shards (k counts from 1, so 1/4 to 4/4) and write "
        "its part file to --out (default vgrad-part-k-of-N.json); join the parts with "
        "`vgrad report merge PART... --out DIR`",
    )
    report.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="keep each finished chunk in DIR; a run given the same DIR again resumes",
    )
    report.add_argument("--scheduler", type=_scheduler, help=SCHEDULER_HELP)


def expand_targets(given: list[str]) -> tuple[list[str], bool]:
    """The targets that `given` names, and whether they make a class (a folder of
    submissions, a glob, or more than one). A folder that is a package is one target."""
    targets: list[str] = []
    many = len(given) > 1
    for item in given:
        path = Path(item)
        if glob.has_magic(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise OptionError(f"{item}: no file or folder matches")
            targets += matches
            many = True
        elif path.is_dir() and not (path / "__init__.py").exists():
            inside = sorted(
                str(entry)
                for entry in path.iterdir()
                if not entry.name.startswith((".", "_"))
                and (
                    (entry.suffix == ".py" and entry.is_file())
                    or (entry.is_dir() and (entry / "__init__.py").exists())
                )
            )
            if not inside:
                raise OptionError(f"{item}: a folder with no .py file or package inside")
            targets += inside
            many = True
        else:
            targets.append(item)
    if len(targets) > MAX_TARGETS:
        raise OptionError(f"{len(targets)} targets, over {MAX_TARGETS}")
    return targets, many


def _needs(module: str, what: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:  # found without importing it
        raise OptionError(f"{what} needs {module}: pip install 'vgrad[{extra}]'")


def validate_past_one_machine(args: argparse.Namespace) -> None:
    """Check the options of this module (raise OptionError), expand the targets, and set
    the defaults that depend on other arguments."""
    if args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"):
        _needs("distributed", "--scheduler (or DASK_SCHEDULER_ADDRESS)", "dask")
    if args.command == "report":
        if args.shard is not None and args.out is None:
            k, n = args.shard
            args.out = f"vgrad-part-{k}-of-{n}.json"
        if args.shard is not None and args.checkpoint is not None:
            raise OptionError("--checkpoint is for whole runs; a shard is resumed by running it")
        if args.checkpoint is not None:
            folder = Path(args.checkpoint).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            args.checkpoint = str(folder)
        return
    if args.database:
        _needs("redis", "--database", "redis")
    targets, many = expand_targets(args.targets)
    args.targets = targets
    args.many = many or args.gradebook is not None
    if args.many and args.gradebook is None:
        args.gradebook = "vgrad-gradebook"
    if args.gradescope is not None and len(targets) > 1:
        raise OptionError(
            "--gradescope writes one target's results.json; with several targets the "
            "gradebook holds one per target"
        )
    if args.many and args.json is not None:
        raise OptionError("--json is for one target; the gradebook holds gradebook.json")
    if len(targets) == 1 and not args.many:
        args.target = targets[0]
    if args.gradebook is not None:
        folder = Path(args.gradebook).resolve()
        if folder.exists() and not folder.is_dir():
            raise OptionError(f"--gradebook {args.gradebook} exists and is not a folder")
        if not folder.parent.is_dir() or not os.access(folder.parent, os.W_OK):
            raise OptionError(f"--gradebook {args.gradebook}: its folder is not writable")
        args.gradebook = str(folder)
