"""What the protocol v2 properties share: running a network case on the target, comparing
it with the oracle within the error analysis's bounds, and the snippets that reproduce a
failure (`functional` calls, one layer, a `Sequential` and its training) on the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from oracle import networks
from oracle.snippet import import_lines
from properties import precision
from properties.cases.layers import FunctionalCase, NetworkCase
from properties.mismatch_summary import summarised
from properties.network_opinion import Disagreement
from properties.reference import allowed_error
from properties.targets import Target, TargetRaised


def needs(target: Target, *capabilities: str) -> None:
    """Skip, saying why, when the target lacks a capability (or the run is not float64)."""
    if precision.current() is not precision.FLOAT64:
        pytest.skip("the protocol v2 properties verify float64 engines only")
    missing = target.missing(*capabilities)
    if missing:
        pytest.skip(f"target lacks {', '.join(missing)}")


def call_of(case: FunctionalCase) -> networks.Call:
    return networks.Call(case.name, case.tensors, case.kwargs, case.rest)


def on_target(
    target: Target,
    task: str,
    snippet: str,
    opinion: Callable[[], str] = lambda: "",
    **kwargs: Any,
) -> Any:
    """Run a task; the target's exception is a failure that shows how to reproduce it
    (with `opinion`, the second opinion on the expected numbers, computed when reported)."""
    try:
        return target.call(task, context=lambda: snippet, **kwargs)
    except TargetRaised as error:
        said = f"the target raised {error.describe()}\nreproduce with:\n{snippet}"
        raise Disagreement(said, opinion) from None


def as_array(value: Any, shape: tuple[int, ...]) -> Any:
    """A tensor's gradient as read: None (never reached) as zeros; anything else as it is."""
    return np.zeros(shape) if value is None else value


def compare(
    want: Sequence[Any], got: Sequence[Any], analysis: Sequence[Any], labels: Sequence[str]
) -> list[str]:
    """What differs (large arrays summarised, `mismatch_summary`), with the oracle's
    analysis turned into allowed errors."""
    return summarised(want, got, allowed_errors(want, analysis), labels)


def allowed_errors(want: Sequence[Any], analysis: Sequence[Any]) -> list[Any]:
    return [allowed_error(b, w) for b, w in zip(analysis, want, strict=True)]


def failure(problems: list[str], snippet: str) -> str:
    lines = ["the target disagrees with the oracle:"]
    lines += [f"  {line}" for p in problems for line in str(p).splitlines()]
    return "\n".join([*lines, "reproduce with:", snippet])


# -- snippets -------------------------------------------------------------------------------

# every digit and every entry: a failure's summary names entries of large arrays too
PRINT_ALL = "np.set_printoptions(precision=17, threshold=10**9)"


def literal(value: Any) -> str:
    """Python for an array or number, exactly (repr of float64 round-trips)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


def _kwargs(kwargs: dict[str, Any]) -> str:
    return "".join(f", {k}={v!r}" for k, v in kwargs.items())


def functional_snippet(case: FunctionalCase, module: str) -> str:
    names = [f"x{i}" for i in range(len(case.tensors))]
    lines = ["import numpy as np", *import_lines(module, ["Tensor", "functional"]), ""]
    lines.append(PRINT_ALL)
    lines += [f"{n} = Tensor({literal(t)})" for n, t in zip(names, case.tensors, strict=True)]
    args = ", ".join([*names, *(literal(r) for r in case.rest)])
    lines.append(f"out = functional.{case.name}({args}{_kwargs(case.kwargs)})")
    lines.append(f"loss = (out * {literal(case.upstream)}).sum()")
    lines += ["loss.backward()", "print('out =', out.data)"]
    lines += [f"print('d loss / d {n} =', {n}.grad)" for n in names]
    return "\n".join(lines) + "\n"


def layer_source(layer: dict[str, Any]) -> str:
    """The layer's constructor call, with the arguments the worker passes
    (`properties.worker.network_tasks.make_layer`)."""
    kind = layer["type"]
    if kind == "Linear":
        args = [layer["in_features"], layer["out_features"]]
        extra = {} if layer.get("bias", True) else {"bias": False}
    elif kind == "Conv2d":
        args = [layer["in_channels"], layer["out_channels"], layer["kernel_size"]]
        extra = {k: layer[k] for k in ("stride", "padding") if k in layer}
        if not layer.get("bias", True):
            extra["bias"] = False
    elif kind in ("MaxPool2d", "AvgPool2d"):
        args = [layer["kernel_size"]]
        extra = {k: layer[k] for k in ("stride", "padding") if k in layer}
    elif kind == "Flatten":
        args, extra = [], {k: layer[k] for k in ("start_dim",) if k in layer}
    else:
        args, extra = [], {}
    return f"nn.{kind}({', '.join(repr(a) for a in args)}{_kwargs(extra)})"


def _model_lines(case: NetworkCase, sequential: bool) -> list[str]:
    layers = [layer_source(layer) for layer in case.layers]
    model = (
        f"nn.Sequential(\n    {(',' + chr(10) + '    ').join(layers)},\n)"
        if sequential
        else layers[0]
    )
    lines = [f"model = {model}", "values = ["]
    lines += [f"    {literal(p)}," for p in case.params]
    lines += ["]", "for p, value in zip(model.parameters(), values, strict=True):"]
    lines += ["    p.data = value", f"x = Tensor({literal(case.x)})"]
    return lines


def _second(case: NetworkCase) -> str:
    return literal(case.y) if case.loss == "cross_entropy" else f"Tensor({literal(case.y)})"


def network_snippet(case: NetworkCase, module: str, upstream: Any, sequential: bool) -> str:
    """The network (or one layer) on x, its loss or ``sum(upstream * output)``, backward."""
    lines = ["import numpy as np", *import_lines(module, ["Tensor", "functional", "nn"]), ""]
    lines += [PRINT_ALL, *_model_lines(case, sequential)]
    if case.loss:
        lines.append(f"out = functional.{case.loss}(model(x), {_second(case)})")
        lines.append(f"loss = out * {float(upstream)!r}")
    else:
        lines += ["out = model(x)", f"loss = (out * {literal(upstream)}).sum()"]
    lines += ["loss.backward()", "print('out =', out.data)", "print('d loss / d x =', x.grad)"]
    lines += ["for i, p in enumerate(model.parameters()):"]
    lines += ["    print(f'd loss / d parameters()[{i}] =', p.grad)"]
    return "\n".join(lines) + "\n"


def training_snippet(
    case: NetworkCase, module: str, optimizer: str, kwargs: dict[str, Any], steps: int
) -> str:
    lines = ["import numpy as np"]
    lines += [*import_lines(module, ["Tensor", "functional", "nn", "optim"]), ""]
    lines += [PRINT_ALL, *_model_lines(case, True)]
    lines.append(f"optimizer = optim.{optimizer}(model.parameters(){_kwargs(kwargs)})")
    lines += [f"for step in range({steps}):"]
    lines += [f"    loss = functional.{case.loss}(model(x), {_second(case)})"]
    lines += ["    print('loss before step', step + 1, '=', loss.data)"]
    lines += ["    optimizer.zero_grad()", "    loss.backward()", "    optimizer.step()"]
    lines += ["for i, p in enumerate(model.parameters()):"]
    lines += [f"    print(f'parameters()[{{i}}] after {steps} steps =', p.data)"]
    return "\n".join(lines) + "\n"
