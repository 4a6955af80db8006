"""Check that a change to the network properties' oracle work changes no number they judge
with: every output, gradient and error bound of seeded functional, layer and Sequential
cases, the training runs, rounding noise and loss bounds, and the verdicts and messages
of `follow` on answers moved from the oracle's run, bit for bit, here and in REV.

    python benchmarks/same_network_verdicts.py --before c4efeaa --cases 60
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

MOVES = (0.0, 1e-14, 1e-13, 1e-12, 3e-12, 1e-11, 3e-11, 1e-10, 1e-9, 1e-8, 1e-6)


def drawn(strategy: st.SearchStrategy, count: int, number: int) -> list[Any]:
    found = []

    @seed(number)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def draw(case: Any) -> None:
        found.append(case)

    draw()
    return found


def verdicts(case: Any, optimizer: str, kwargs: dict, steps: int, want: Any) -> list[str]:
    """`follow`'s outcome on answers moved from the oracle's run by relative steps: the
    parameters and losses, the losses alone, and the parameters with the oracle's loss
    at them (a correct target's answer)."""
    import properties.test_sequential as sequential
    from oracle import networks

    outcomes = []
    for k in MOVES:
        signs = np.random.default_rng(1)
        moved = [
            [p * (1 + k * signs.choice([-1.0, 1.0], np.shape(p))) for p in ps] for ps in want.params
        ]
        losses = [float(v * (1 + k * signs.choice([-1.0, 1.0]))) for v in want.losses]
        at = [
            float(networks.loss_and_grads(case.layers, case.loss, ps, case.x, case.y)[0])
            for ps in moved
        ]
        for answer in (
            {"losses": losses, "history": moved},
            {"losses": losses, "history": want.params},
            {"losses": at, "history": moved},
        ):
            sequential.on_target = lambda *a, answer=answer, **kw: answer
            try:
                sequential.follow(
                    SimpleNamespace(import_name="engine"), case, optimizer, kwargs, steps
                )
                outcomes.append("passed")
            except AssertionError as error:
                outcomes.append(str(error))
    return outcomes


def dump(path: str, count: int) -> None:
    """Every number of `count` seeded cases of each kind, pickled to `path`."""
    import properties.test_sequential as sequential
    from oracle import networks
    from properties.cases.layers import functional_cases, layer_cases, network_cases, optimizers
    from properties.network_checks import call_of
    from properties.targets import load_target

    target = load_target("engine")
    caps = target.capabilities
    target.close()
    out: dict[str, list] = {"training": [], "calls": [], "layers": [], "networks": []}
    training = st.tuples(network_cases(caps), optimizers(caps), st.integers(1, 4))
    for case, (name, kwargs), steps in drawn(training, count, 1):
        config = {"name": name, **kwargs}
        want = networks.train(case.layers, case.loss, case.params, case.x, case.y, config, steps)
        analyses = [networks.bounds(case.layers, p, case.x, case.loss, case.y) for p in want.params]
        apart = [[1e-12 * np.abs(p) for p in ps] for ps in want.params]
        if "analyses" in inspect.signature(sequential.rounding_noise).parameters:
            noise = sequential.rounding_noise(case, config, steps, want, analyses[:-1])
            loss = [float(analyses[0].output)] + [
                sequential.loss_error(case, analyses[t], want.params[t], apart[t])
                for t in range(1, steps + 1)
            ]
        else:  # before one analysis per step (c4efeaa)
            noise = sequential.rounding_noise(case, config, steps, want)
            loss = [sequential.loss_error(case, want.params[0], None)] + [
                sequential.loss_error(case, want.params[t], apart[t]) for t in range(1, steps + 1)
            ]
        out["training"].append((want, noise, loss, verdicts(case, name, kwargs, steps, want)))
    names = (*networks.FUNCTIONS, *networks.LOSSES)
    for case in drawn(st.one_of([functional_cases(n, caps) for n in names]), count, 2):
        call = call_of(case)
        answer = networks.vjp(call, case.upstream)
        out["calls"].append((answer, networks.call_bounds(call, case.upstream)))
    for case, upstream in drawn(layer_cases(caps), count, 3):
        head = case.loss or upstream
        answer = networks.network_vjp(case.layers, case.params, case.x, head, case.y, upstream)
        analysis = networks.bounds(case.layers, case.params, case.x, head, case.y, upstream)
        out["layers"].append((answer, analysis))
    for case in drawn(network_cases(caps), count, 4):
        answer = networks.network_vjp(case.layers, case.params, case.x, case.loss, case.y, 1.0)
        analysis = networks.bounds(case.layers, case.params, case.x, case.loss, case.y)
        out["networks"].append((answer, analysis))
    Path(path).write_bytes(pickle.dumps(out))
    passed = sum(v == "passed" for t in out["training"] for v in t[3])
    print(f"{sum(len(t[3]) for t in out['training'])} verdicts, {passed} passed")


def same(a: Any, b: Any, where: str) -> None:
    """Raise AssertionError at the first difference of `a` and `b`, bit for bit."""
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: {len(a)} != {len(b)} items"
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            same(u, v, f"{where}[{i}]")
    elif isinstance(a, str) or a is None:
        assert a == b, f"{where}:\n{a}\n!=\n{b}"
    else:
        u, v = np.asarray(a), np.asarray(b)
        bits = u.dtype == v.dtype and u.shape == v.shape
        assert bits and u.tobytes() == v.tobytes(), f"{where}: {u!r} != {v!r}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", default="main")
    parser.add_argument("--cases", type=int, default=60, help="cases of each kind")
    parser.add_argument("--dump", metavar="FILE", help="(internal) dump this tree's numbers")
    args = parser.parse_args(argv)
    if args.dump:
        dump(args.dump, args.cases)
        return 0
    from before_after import ROOT, checkout

    with tempfile.TemporaryDirectory() as folder:
        dumps = []
        for label, tree in (("before", checkout(args.before)), ("after", ROOT)):
            path = os.path.join(folder, f"{label}.pickle")
            command = [sys.executable, __file__, "--dump", path, "--cases", str(args.cases)]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            said = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
            if said.returncode:
                raise SystemExit(f"the dump of {label} ({tree}) failed:\n{said.stderr}")
            print(f"{label}: {said.stdout.strip()}")
            dumps.append(pickle.loads(Path(path).read_bytes()))
    same(*dumps, "numbers")
    counts = ", ".join(f"{len(v)} {k}" for k, v in dumps[0].items())
    print(f"the same, bit for bit: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
