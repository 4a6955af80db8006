"""The `functional` nodes of a graph (protocol v2), built with the target's own functions.

A node ``conv2d`` with args (x, weight[, bias]) and attributes is the call
``functional.conv2d(x, weight[, bias], stride=..., padding=...)``, each keyword passed
only when it is not torch's default (so a target that lacks an argument runs the forms
without it); labels and targets are constants: a NumPy int array for `cross_entropy`, a
`Tensor` for the others, as `network_tasks` passes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Capabilities of `functional` that network_tasks' probes find and the suite's properties
# ask for, named once here (importing network_tasks alone runs into its cycle with tasks)
LINEAR_ND = "functional.linear(nd)"  # inputs (in,) and (N, *, in), as torch's
HINGE_LABELS = "functional.hinge_loss(labels gradient)"  # a limitation: labels as constants

OPS = (
    *("conv2d", "max_pool2d", "avg_pool2d", "flatten", "linear"),
    *("mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss"),
)


def keywords(op: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the call: the attributes that are not torch's defaults."""
    names = ("stride", "padding", "start_dim")
    return {n: attrs[n] for n in names if n in attrs and not _is_default(n, op, attrs[n])}


def _is_default(name: str, op: str, value: Any) -> bool:
    if name == "stride" and op != "conv2d":
        return value is None
    default = {"stride": 1, "padding": 0, "start_dim": 1}[name]
    return value == default or value == (default, default)


def apply(op: str, attrs: Mapping[str, Any], args: Sequence[Any]) -> Any:
    """One `functional` node on the target."""
    from properties.worker.network_tasks import functional  # it imports this module's users
    from properties.worker.tasks import target

    namespace = target()
    function = getattr(functional(namespace), op)
    if op in ("max_pool2d", "avg_pool2d"):
        return function(args[0], attrs["kernel_size"], **keywords(op, attrs))
    if op == "cross_entropy":
        return function(args[0], np.array(attrs["labels"]))
    if op in ("binary_cross_entropy_with_logits", "hinge_loss"):
        second = attrs["targets" if "targets" in attrs else "labels"]
        return function(args[0], namespace.Tensor(np.array(second, dtype=np.float64)))
    return function(*args, **keywords(op, attrs))
