"""vgrad from Python or a notebook: check the engine you are writing where you write it.

    import vgrad
    vgrad.check(Value)                            # a class defined in this notebook
    vgrad.check(Value=Value, Tensor=Tensor, optim=optim)
    vgrad.check(globals())                        # the spec's names found in a namespace
    vgrad.check("my_engine.py")                   # a path or a module name, as --target
    vgrad.report(Value, graphs=200)               # the random-graph gradient report

Objects are never run in this process: their source is recovered (`vgrad.source`),
written to a file in vgrad's cache and loaded by the target's worker, as `vgrad check
--target FILE` would. The result shows as a table in Jupyter and as `vgrad check`
prints it elsewhere.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vgrad import source
from vgrad.progress import progress_bar
from vgrad.results import CheckResult, ReportResult
from vgrad.source import SPEC_NAMES, SourceError, target_file

__all__ = ["CheckResult", "ReportResult", "SourceError", "check", "report", "source"]


def check(
    target: Any = None,
    /,
    profile: str = "quick",
    *,
    seed: int | None = None,
    select: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
    precision: str = "float64",
    progress: bool = True,
    **objects: Any,
) -> CheckResult:
    """Run the property suite against `target` and return what it found.

    `target`: a class or function (``vgrad.check(Value)``), a module, a namespace dict
    (``globals()``: its `Value`, `Tensor`, `optim`, `nn`, `functional`), a path or a module
    name; or the objects as keywords (``Value=Value, optim=optim``). `select` is
    `vgrad check -k`; the other arguments are those of `vgrad check`.
    """
    from properties.profiles import PROFILES
    from reports.check import run_check

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    spec, written = _spec(target, objects)
    report = run_check(
        spec,
        profile,
        seed,
        select,
        timeout=timeout,
        strict=strict,
        precision=precision,
        progress=progress_bar("checking") if progress else None,
    )
    return CheckResult(report, written)


def report(
    target: Any = None,
    /,
    graphs: int = 1000,
    *,
    seed: int = 0,
    ops: tuple[str, ...] | None = None,
    max_nodes: int = 30,
    tensor: bool = False,
    timeout: float | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    **objects: Any,
) -> ReportResult:
    """The random-graph gradient report (`vgrad report`) of `target`, given as to `check`;
    written into the folder `out` too when given."""
    from properties.targets import load_target
    from reports.report import ReportConfig, run_report, validate

    spec, _ = _spec(target, objects)
    config = ReportConfig(spec, graphs, seed, ops, max_nodes, tensor)
    validate(config)
    loaded = load_target(spec, timeout=timeout, load_timeout=timeout)
    try:
        bar = progress_bar("graphs") if progress else None
        if bar is None:
            data = run_report(config, loaded)
        else:
            with bar:
                task = bar.add_task("graphs", total=graphs)
                data = run_report(config, loaded, lambda n: bar.advance(task, n))
    finally:
        loaded.close()
    result = ReportResult(data)
    if out is not None:
        result.write(out)
    return result


def _spec(target: Any, objects: dict[str, Any]) -> tuple[str, Path | None]:
    """The target as `--target` takes it, and the file written for objects, if any."""
    if target is not None and objects:
        raise TypeError("give the target or the objects as keywords, not both")
    if target is None and not objects:
        return "engine", None
    if isinstance(target, str | Path):
        return str(target), None
    if isinstance(target, types.ModuleType) and getattr(target, "__file__", None):
        file = Path(target.__file__)
        return str(file.parent if file.name == "__init__.py" else file), None
    if isinstance(target, Mapping | types.ModuleType):
        namespace = target if isinstance(target, Mapping) else vars(target)
        objects = {name: namespace[name] for name in SPEC_NAMES if name in namespace}
        if not objects:
            raise SourceError(f"found none of {', '.join(SPEC_NAMES)} in the namespace given")
    elif target is not None:
        name = getattr(target, "__name__", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(
                f"cannot check a {type(target).__name__}: give a class, a module, a namespace "
                "(globals()), a path or a module name"
            )
        if name not in SPEC_NAMES:
            raise TypeError(
                f"vgrad.check({name}): name it as the target spec does, e.g. "
                f"vgrad.check(Value={name})"
            )
        objects = {name: target}
    path = target_file(objects)
    return str(path), path
