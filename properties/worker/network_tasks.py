"""The worker's network tasks (protocol v2): `functional` calls, `nn` layers, `Sequential`
networks and their training, each taking and returning plain data.

`detect` finds each function, layer and argument of the spec's "`functional`" and "`nn`
layers" sections separately: a function or layer is offered when the target has it
(callable), an argument when a small probe with it runs forward and backward; an argument
the probe's call refuses (TypeError, NotImplementedError, AssertionError) is not offered,
and is listed as missing by the properties; one that runs and is wrong is theirs to find.
The variant `functional.linear(nd)` (an input of one axis, or with leading batch axes, as
torch's `(*, in)`) is probed as the `Tensor` variants are: offered when its forward and
backward run, a limitation when only its forward does. A `hinge_loss` whose labels get no
gradient is a limitation too (the spec's labels are ±1 class labels).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from properties.worker.execute import operand, weighted_sum
from properties.worker.network_ops import HINGE_LABELS, LINEAR_ND
from properties.worker.tasks import (
    REFUSALS,
    Loaded,
    Phase,
    _backward_probe,
    _data,
    _grad,
    _namespace,
    _probe,
    target,
)

FUNCTIONS = ("linear", "conv2d", "max_pool2d", "avg_pool2d", "flatten")
LOSSES = ("mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss")
LAYERS = (
    *("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"),
    *("ReLU", "Tanh", "Sigmoid", "Sequential"),
)


def functional(loaded: Loaded) -> Any:
    """The target's `functional` namespace (attribute or submodule), or None."""
    return _namespace(loaded.module, "functional")


def _images(*shape: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)


# argument -> a probe (F, Tensor) -> output; "" is the function called with its first
# arguments alone (the function's own probe)
_ARGUMENT_PROBES: dict[str, dict[str, Callable[[Any, Any], Any]]] = {
    "linear": {
        "": lambda F, T: F.linear(T(_images(2, 3)), T(_images(2, 3))),
        "bias": lambda F, T: F.linear(T(_images(2, 3)), T(_images(2, 3)), T(_images(2))),
    },
    "conv2d": {
        "": lambda F, T: F.conv2d(T(_images(1, 1, 3, 3)), T(_images(1, 1, 2, 2))),
        "bias": lambda F, T: F.conv2d(
            T(_images(1, 1, 3, 3)), T(_images(1, 1, 2, 2)), T(_images(1))
        ),
        "stride": lambda F, T: (
            F.conv2d(T(_images(1, 1, 4, 4)), T(_images(1, 1, 2, 2)), stride=2)
            + F.conv2d(T(_images(1, 1, 4, 4)), T(_images(1, 1, 2, 2)), stride=(2, 2))
        ),
        "padding": lambda F, T: (
            F.conv2d(T(_images(1, 1, 2, 2)), T(_images(1, 1, 2, 2)), padding=1)
            + F.conv2d(T(_images(1, 1, 2, 2)), T(_images(1, 1, 2, 2)), padding=(1, 1))
        ),
        "dilation": lambda F, T: F.conv2d(
            T(_images(1, 1, 4, 4)), T(_images(1, 1, 2, 2)), dilation=2
        ),
        "groups": lambda F, T: F.conv2d(T(_images(1, 2, 3, 3)), T(_images(2, 1, 2, 2)), groups=2),
    },
    "flatten": {
        "": lambda F, T: F.flatten(T(_images(2, 3, 2))),
        "start_dim": lambda F, T: F.flatten(T(_images(2, 3, 2)), start_dim=0),
    },
    "mse_loss": {"": lambda F, T: F.mse_loss(T(_images(3)), T(_images(3) * 0.5))},
    "cross_entropy": {"": lambda F, T: F.cross_entropy(T(_images(2, 3)), np.array([0, 2]))},
    "binary_cross_entropy_with_logits": {
        "": lambda F, T: F.binary_cross_entropy_with_logits(T(_images(3)), T(np.ones(3) * 0.5))
    },
    "hinge_loss": {"": lambda F, T: F.hinge_loss(T(_images(3)), T(np.array([1.0, -1.0, 1.0])))},
}
for _pool in ("max_pool2d", "avg_pool2d"):
    _ARGUMENT_PROBES[_pool] = {
        "": lambda F, T, p=_pool: getattr(F, p)(T(_images(1, 1, 4, 4)), 2),
        "stride": lambda F, T, p=_pool: (
            getattr(F, p)(T(_images(1, 1, 4, 4)), 2, stride=1)
            + getattr(F, p)(T(_images(1, 1, 4, 4)), 2, stride=(1, 1))
        ),
        "padding": lambda F, T, p=_pool: (
            getattr(F, p)(T(_images(1, 1, 4, 4)), 2, padding=1)
            + getattr(F, p)(T(_images(1, 1, 4, 4)), 2, padding=(1, 1))
        ),
    }

_LAYER_PROBES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "Linear": {"bias=False": lambda nn: nn.Linear(3, 2, bias=False)},
    "Conv2d": {
        "stride": lambda nn: nn.Conv2d(1, 2, 2, stride=2),
        "padding": lambda nn: nn.Conv2d(1, 2, 2, padding=1),
        "bias=False": lambda nn: nn.Conv2d(1, 2, 2, bias=False),
    },
    "MaxPool2d": {
        "stride": lambda nn: nn.MaxPool2d(2, stride=1),
        "padding": lambda nn: nn.MaxPool2d(2, padding=1),
    },
    "AvgPool2d": {
        "stride": lambda nn: nn.AvgPool2d(2, stride=1),
        "padding": lambda nn: nn.AvgPool2d(2, padding=1),
    },
    "Flatten": {"start_dim": lambda nn: nn.Flatten(start_dim=2)},
}
_LAYER_INPUTS = {"Linear": (2, 3)}


def _runs(probe: Callable[[], Any]) -> bool | None:
    """True when the probe's output backpropagates; False when the call refuses (or
    interrupts); None when it raised another exception (offered, and broken: the
    properties say how)."""
    try:
        out = probe()
        (out.sum() if getattr(out, "shape", ()) != () else out).backward()
    except REFUSALS:
        return False
    except Exception:
        return None
    except BaseException:  # SystemExit, KeyboardInterrupt: the target's, a refusal
        return False
    return True


def _linear_nd_probe(F: Any, T: Any, bias: bool) -> Callable[[], None]:
    """`linear` on an input of one axis and on one with two leading batch axes (with a
    bias when the target takes one), each forward then backward."""

    def probe() -> None:
        for shape in ((3,), (2, 2, 3)):
            extra = [T(_images(2))] if bias else []
            x, weight = T(_images(*shape)), T(_images(2, 3))
            _backward_probe(x, weight, lambda x, w, e=extra: F.linear(x, w, *e).sum())

    return probe


def _labels_get_no_gradient(F: Any, T: Any) -> bool:
    """Whether hinge_loss leaves its labels without a gradient (None or zeros where the
    truth, -scores / n at a positive margin, is not); False when the call raises (the
    property reports that)."""
    labels = T(np.array([1.0, -1.0, 1.0]))
    try:
        F.hinge_loss(T(np.array([0.5, -0.25, 2.0])), labels).backward()
        grad = labels.grad
        return grad is None or not np.any(np.asarray(grad, dtype=np.float64))
    except BaseException:  # SystemExit, KeyboardInterrupt: the target's too
        return False


def detect(loaded: Loaded, limitations: dict[str, str] | None = None) -> set[str]:
    """Each function, layer and argument of protocol v2 the target offers; a variant whose
    forward runs and whose backward raises goes into `limitations` instead."""
    found: set[str] = set()
    F, tensor, nn = functional(loaded), loaded.Tensor, loaded.nn
    if F is not None and tensor is not None:
        for name in (*FUNCTIONS, *LOSSES):
            if not callable(getattr(F, name, None)):
                continue
            found.add(f"functional.{name}")
            for argument, probe in _ARGUMENT_PROBES[name].items():
                if argument and _runs(lambda probe=probe: probe(F, tensor)) is not False:
                    found.add(f"functional.{name}({argument}=...)")
        if "functional.linear" in found:
            bias = "functional.linear(bias=...)" in found
            verdict = _probe(_linear_nd_probe(F, tensor, bias))
            if verdict == "":
                found.add(LINEAR_ND)
            elif verdict is not None and limitations is not None:
                limitations[LINEAR_ND] = verdict
        # labels ±1 are class labels (micrograd's demo passes plain numbers): a target may
        # treat them as constants, a limitation; torch's losses give their targets gradients
        no_gradient = "functional.hinge_loss" in found and _labels_get_no_gradient(F, tensor)
        if no_gradient and limitations is not None:
            limitations[HINGE_LABELS] = (
                "hinge_loss gives its labels no gradient (constants, as the plain-number "
                "labels of micrograd's demo): the labels' gradient is not verified"
            )
    if nn is not None and tensor is not None:
        for name in LAYERS:
            if not callable(getattr(nn, name, None)):
                continue
            found.add(f"nn.{name}")
            for argument, make in _LAYER_PROBES.get(name, {}).items():
                shape = _LAYER_INPUTS.get(name, (1, 1, 4, 4))
                ran = _runs(lambda make=make, shape=shape: make(nn)(tensor(_images(*shape))))
                if ran is not False:
                    found.add(
                        f"nn.{name}({argument})"
                        if "=" in argument
                        else f"nn.{name}({argument}=...)"
                    )
    return found


# -- functional calls ---------------------------------------------------------------------


def functional_call(
    name: str,
    tensors: list[Any],
    rest: list[Any],
    kwargs: dict[str, Any],
    upstream: Any,
    phase: Phase,
) -> dict[str, Any]:
    """``F.name(*tensors, *rest, **kwargs)``, backpropagated with `upstream`: the output and
    each tensor argument's gradient."""
    namespace = target()
    phase("making the tensors")
    leaves = [namespace.Tensor(np.array(t, dtype=np.float64)) for t in tensors]
    phase(f"functional.{name}(...)")
    out = getattr(functional(namespace), name)(*leaves, *rest, **kwargs)
    phase("(out * upstream).sum().backward()")
    weighted_sum("tensor", [out], [upstream]).backward()
    phase("reading the output and gradients")
    return {"output": _data(out), "grads": [_grad(t) for t in leaves]}


# -- layers and networks --------------------------------------------------------------------


def make_layer(nn: Any, layer: dict[str, Any]) -> Any:
    """The target's `nn` layer for a layer dict, with only the non-default arguments."""
    kind = layer["type"]
    cls = getattr(nn, kind)
    if kind == "Linear":
        extra = {} if layer.get("bias", True) else {"bias": False}
        return cls(layer["in_features"], layer["out_features"], **extra)
    if kind == "Conv2d":
        extra = {k: layer[k] for k in ("stride", "padding") if k in layer}
        if not layer.get("bias", True):
            extra["bias"] = False
        return cls(layer["in_channels"], layer["out_channels"], layer["kernel_size"], **extra)
    if kind in ("MaxPool2d", "AvgPool2d"):
        extra = {k: layer[k] for k in ("stride", "padding") if k in layer}
        return cls(layer["kernel_size"], **extra)
    if kind == "Flatten" and "start_dim" in layer:
        return cls(start_dim=layer["start_dim"])
    return cls()


def _network(layers: list[dict[str, Any]], params: list[Any], sequential: bool) -> Any:
    """The target's network (a `Sequential`, or the one layer), its parameters set."""
    nn = target().nn
    built = [make_layer(nn, layer) for layer in layers]
    model = nn.Sequential(*built) if sequential else built[0]
    found = list(model.parameters())
    shapes = [tuple(np.shape(p.data)) for p in found]
    want = [tuple(np.shape(p)) for p in params]
    if shapes != want:
        raise AssertionError(
            f"parameters() of {'Sequential' if sequential else layers[0]['type']} gave shapes "
            f"{shapes}, expected {want} (each layer's weight, then its bias)"
        )
    for p, value in zip(found, params, strict=True):
        p.data = np.array(value, dtype=np.float64)
    return model, found


def _loss(name: str, out: Any, y: Any) -> Any:
    namespace = target()
    second = np.asarray(y) if name == "cross_entropy" else namespace.Tensor(np.array(y, float))
    return getattr(functional(namespace), name)(out, second)


def network_run(
    layers: list[dict[str, Any]],
    params: list[Any],
    x: Any,
    head: Any,
    y: Any,
    upstream: Any,
    sequential: bool,
    phase: Phase,
) -> dict[str, Any]:
    """The network (or one layer) on `x`, then the loss `head` on (output, y) times the
    upstream gradient, or ``sum(upstream * output)``; backward once. The output (or loss),
    the input's gradient and each parameter's, in `parameters()` order."""
    phase("building the network and setting its parameters")
    model, found = _network(layers, params, sequential)
    images = target().Tensor(np.array(x, dtype=np.float64))
    phase("the forward pass")
    out = model(images)
    if isinstance(head, str):
        phase(f"functional.{head}(output, y)")
        out = _loss(head, out, y)
        loss = out * operand("tensor", float(upstream))
    else:
        loss = weighted_sum("tensor", [out], [head])
    phase("backward()")
    loss.backward()
    phase("reading the output and gradients")
    return {"output": _data(out), "input_grad": _grad(images), "grads": [_grad(p) for p in found]}


def network_train(
    layers: list[dict[str, Any]],
    params: list[Any],
    x: Any,
    y: Any,
    loss: str,
    optimizer: str,
    kwargs: dict[str, Any],
    steps: int,
    phase: Phase,
) -> dict[str, Any]:
    """`steps` full-batch steps of the target's own `optim` on its own loss: the loss
    before each step and after the last, the parameters before each step and after the last."""
    phase("building the network and setting its parameters")
    model, found = _network(layers, params, True)
    namespace = target()
    phase(f"optim.{optimizer}(model.parameters(), **{kwargs!r})")
    opt = getattr(namespace.optim, optimizer)(model.parameters(), **kwargs)
    images = namespace.Tensor(np.array(x, dtype=np.float64))
    losses, history = [], [[_data(p) for p in found]]
    for t in range(steps):
        phase(f"step {t + 1}: the loss")
        value = _loss(loss, model(images), y)
        losses.append(_data(value))
        phase(f"step {t + 1}: optimizer.zero_grad(), loss.backward()")
        opt.zero_grad()
        value.backward()
        phase(f"step {t + 1}: optimizer.step()")
        opt.step()
        history.append([_data(p) for p in found])
    phase("the loss after the last step")
    losses.append(_data(_loss(loss, model(images), y)))
    return {"losses": losses, "history": history}


TASKS: dict[str, Callable[..., Any]] = {
    "functional_call": functional_call,
    "network_run": network_run,
    "network_train": network_train,
}
