"""Diagnosis: name the bug behind a failure, not only the failing case.

When a property fails, the op, the accumulation rule or the optimizer it checks is probed
on the target (through its worker: chosen inputs, upstream gradients, gradients already
in the leaves, optimizer runs with one argument at a time) and the numbers are compared
with what each hypothesis of a catalogue of common mistakes predicts (computed here, in
NumPy). A diagnosis is stated only when the correct rule does not explain the probes and
exactly one hypothesis does; otherwise the text says "no diagnosis" and why, never a guess.

Each question is asked once per target (the answers are cached by target and scope).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from oracle.ir import BINARY_OPS, UNARY_OPS
from properties.diagnosis.judge import Finding
from properties.targets import Target, TargetDied, TargetRaised
from properties.worker.network_ops import OPS as NETWORK_OPS

__all__ = ["Diagnosis", "diagnose", "for_test", "of_failure", "scopes_of"]


@dataclass(frozen=True)
class Diagnosis:
    """What the probes of one scope (an op, the accumulation rules, an optimizer) say."""

    scope: str  # "scalar op tanh", "scalar accumulation", "optim Adam (tensor)"
    diagnosed: tuple[str, ...]  # the ids of the hypotheses stated (none: no diagnosis)
    text: str
    # every probe gave the correct rule's numbers (for an op: its rule and its +=, whatever
    # its broadcasting); other scopes' probes are built on a * b and a + b being right
    right: bool = False
    rule_right: bool = False  # for an op: its local rule (on fresh leaves) is right


_CACHE: dict[tuple[str, str], Diagnosis] = {}


def diagnose(target: Target, scope: tuple[str, ...]) -> Diagnosis:
    """The diagnosis of `scope` on `target`: ``("op", kind, op, side)`` (elementwise),
    ``("structural", op, variant)`` (tensor ops), ``("accumulation", kind)``,
    ``("traversal", "scalar")`` (accumulation and deep chains),
    ``("optimizer", name, kind)``, ``("schedule", name)``, ``("network", op)`` (a
    `functional` op or loss), ``("layers",)`` or ``("sequential",)``; cached per target."""
    key = (target.spec, repr(scope))
    if key not in _CACHE:
        _CACHE[key] = _diagnose(target, scope)
    return _CACHE[key]


def _diagnose(target: Target, scope: tuple[str, ...]) -> Diagnosis:
    from properties.diagnosis import accumulation, layers, networks, ops, optimizers, schedules

    what = " ".join(str(s) for s in scope if s is not None)
    kind = scope[1] if scope[0] in ("op", "accumulation", "traversal") else scope[-1]
    kind = "tensor" if scope[0] in ("structural", "network", "layers", "sequential") else kind
    if scope[0] == "schedule":  # over SGD, on Values when the target has them
        kind = "scalar" if target.has("Value") else "tensor"
    blocks = [("mul", None), ("add", None)]  # what probes (and composite ops) are built on
    if scope[0] == "op" and scope[2] in ("add", "mul"):
        blocks = [("mul", None)] if scope[2] == "add" else []
    if not target.has("Value" if kind == "scalar" else "Tensor"):
        blocks = []  # the scope itself says what is missing
    for op, side in blocks:
        block = diagnose(target, ("op", kind, op, side))
        # a + b needs a * b only as the carrier of its upstream gradient: its rule
        if not (block.rule_right if scope[0] == "op" and scope[2] == "add" else block.right):
            return Diagnosis(
                what,
                (),
                f"no diagnosis: the probes are built with {'a + b' if op == 'add' else 'a * b'} "
                f"({kind}), which is not right on its own probes (its diagnosis says how)",
            )
    try:
        if scope[0] == "op":
            return ops_diagnosis(target, ops.Key(*scope[1:]))
        if scope[0] == "structural":
            return structural_diagnosis(target, scope[1], scope[2])
        if scope[0] == "network":
            return networks.diagnosis(target, scope[1])
        if scope[0] == "schedule":
            return schedules.diagnosis(target, scope[1])
        if scope[0] == "layers":
            return layers.layers_diagnosis(target)
        if scope[0] == "sequential":
            return layers.sequential_diagnosis(target)
        if scope[0] in ("accumulation", "traversal"):
            return accumulation.diagnosis(target, scope[1], deep=scope[0] == "traversal")
        return optimizers.diagnosis(target, scope[1], scope[2])
    except TargetDied as died:
        return Diagnosis(what, (), f"no diagnosis: the target's worker died while probed ({died})")
    except TargetRaised as error:
        return Diagnosis(what, (), f"no diagnosis: probing raised {error.describe()}")


def run_probes(target: Target, probes: list[Any]) -> list[dict[str, Any]]:
    """The target's answers to `probes` (each `simulate.Probe`), in one worker call."""
    return target.call("probe_graphs", probes=[p.wire() for p in probes])


def ops_diagnosis(target: Target, key: Any) -> Diagnosis:
    """The op's local rule; for two operands, whether it adds to them (``+=``); for two
    Tensors, whether it sums broadcast gradients back to their shapes."""
    from properties.diagnosis import ops

    scope = f"{key.kind} op {key.expr()}"
    probes = ops.rule_probes(key)
    finding, rule = ops.judge_rule(key, probes, run_probes(target, probes))
    lines = [describe(finding, f"{key.expr()} alone", len(probes))]
    ids = [finding.hypothesis.id] if finding.hypothesis else []
    right = finding.status == "right"
    if finding.status in ("right", "diagnosed"):  # the rule is known: ask further
        presets = ops.preset_probes(key)
        further = [
            (
                ops.judge_preset(key, rule, presets, run_probes(target, presets)),
                len(presets),
                "with gradients already in its operands",
            ),
        ]
        if key.kind == "tensor" and key.binary and key.side is None:
            shapes = ops.broadcast_probes(key)
            further.append(
                (
                    ops.judge_broadcast(key, rule, shapes, run_probes(target, shapes)),
                    len(shapes),
                    "on shapes that broadcast",
                )
            )
        for found, count, how in further:
            reset = found.hypothesis is not None and found.hypothesis.id == "leaves-reset"
            right = right and (found.status == "right" or reset or "broadcast" in how)
            if found.status == "unexplained":  # the rule found does not explain these probes
                text = f"{key.expr()} {how}"
                text = describe(found, text, count) + _alone(finding)
                return Diagnosis(scope, (), text, rule_right=finding.status == "right")
            # "leaves-reset" is the accumulation's business, stated by its own properties
            if found.hypothesis is not None and found.hypothesis.id != "leaves-reset":
                ids.append(found.hypothesis.id)
                lines = [line for line in lines if not line.startswith("no diagnosis")]
                lines.append(describe(found, f"{key.expr()} {how}", count))
    return Diagnosis(scope, tuple(ids), "\n".join(lines), right, finding.status == "right")


def _alone(finding: Finding) -> str:
    """What the op alone showed, when a further question undoes its diagnosis."""
    if finding.hypothesis is None:
        return ""
    return f" (alone, the op fits one hypothesis: {finding.hypothesis.text})"


def structural_diagnosis(target: Target, op: str, variant: str | None) -> Diagnosis:
    from properties.diagnosis import structural

    scope = f"tensor op {op}" + (f" ({variant})" if variant else "")
    probes = structural.probes(op, variant)
    finding = structural.judge_op(op, probes, run_probes(target, probes))
    ids = (finding.hypothesis.id,) if finding.hypothesis else ()
    shown = "indexing x[i]" if op == "index" else f"Tensor.{op}"
    text = describe(finding, f"{shown} alone", len(probes))
    return Diagnosis(scope, ids, text, finding.status == "right")


def describe(finding: Finding, probed: str, probes: int) -> str:
    """One line of text for a finding."""
    if finding.status == "diagnosed" and finding.hypothesis is not None:
        return (
            f"diagnosis: {finding.hypothesis.text} ({_of(finding.considered)} that "
            f"explains all {probes} probes of {probed})"
        )
    if finding.status == "right":
        return (
            f"no diagnosis: {probed} gives the right numbers on {probes} probes, so the "
            "failure comes from how it combines with the rest of the case"
        )
    if finding.status == "ambiguous":
        return (
            f"no diagnosis: {len(finding.explaining)} hypotheses explain the {probes} probes "
            f"of {probed} equally ({', '.join(finding.explaining)})"
        )
    return (
        f"no diagnosis: none of the {finding.considered} hypotheses of the catalogue explains "
        f"the {probes} probes of {probed}"
    )


def of_failure(item: Any, error: BaseException | None = None) -> str:
    """The diagnosis text of a failed property's pytest item ("" when it has none, when
    the environment sets VGRAD_NO_DIAGNOSIS, under mutmut, or when the failure is a worker
    that died or hung: probing it again would only repeat that). Never raises an Exception: a
    diagnosis is advice, and the failure is reported whatever happens here."""
    target = getattr(item, "funcargs", {}).get("target")
    off = os.environ.get("VGRAD_NO_DIAGNOSIS") or "MUTANT_UNDER_TEST" in os.environ
    if not isinstance(target, Target) or off:  # mutation testing needs the failure alone
        return ""
    if _died(error):
        return ""
    callspec = getattr(item, "callspec", None)
    params = dict(callspec.params) if callspec else {}
    optimizer = _optimizer(error)  # a training failure: its optimizer is diagnosed too
    if optimizer and target.has(f"optim.{optimizer}"):
        params["optimizer"] = optimizer
    try:
        found = for_test(target, item.nodeid, params)
    except Exception as error:  # a bug of the diagnosis must not hide the failure
        return f"no diagnosis: the diagnosis itself failed ({type(error).__name__}: {error})"
    return found.text if found else ""


def _optimizer(error: BaseException | None) -> str:
    """The optimizer a failed training ran (`network_opinion.Disagreement.optimizer`)."""
    if isinstance(error, BaseExceptionGroup):
        return next((o for e in error.exceptions if (o := _optimizer(e))), "")
    return str(getattr(error, "optimizer", "") or "")


def scopes_of(target: Target) -> list[tuple[str, ...]]:
    """Every scope the catalogue can probe on `target` (what the meta-tests sweep)."""
    from properties.cases.optimizers import OPTIMIZERS
    from properties.cases.scalar import scalar_menu
    from properties.cases.tensor import tensor_menu
    from properties.diagnosis import structural

    found: list[tuple[Any, ...]] = []
    if target.has("Value"):
        found += [("op", "scalar", op, side) for op, side in scalar_menu(target.capabilities)]
        found += [("accumulation", "scalar"), ("traversal", "scalar")]
    if target.has("Tensor"):
        menu = tensor_menu(target.capabilities)
        found += [("op", "tensor", op, v) for op, v in menu if op in _TENSOR_ELEMENTWISE]
        found += [("structural", op, v) for op, v in structural.PROBES if (op, v) in menu]
        found.append(("accumulation", "tensor"))
        found += [("network", op) for op in NETWORK_OPS if target.has(f"functional.{op}")]
        probed = ("nn.Linear", "nn.Conv2d", "nn.MaxPool2d", "nn.AvgPool2d")
        found += [("layers",)] if any(target.has(layer) for layer in probed) else []
        found += [("sequential",)] if target.has("nn.Sequential", "nn.Linear") else []
    for name in OPTIMIZERS:
        found += [("optimizer", name, kind) for kind in ("scalar", "tensor")]
    found += [("schedule", name) for name in ("StepLR", "LambdaLR") if target.has(f"optim.{name}")]
    return found


def _of(n: int) -> str:
    return "the catalogue's one hypothesis" if n == 1 else f"of {n} hypotheses, the only one"


def _died(error: BaseException | None) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return any(_died(e) for e in error.exceptions)
    return isinstance(error, TargetDied)


def for_test(target: Target, nodeid: str, params: dict[str, Any]) -> Diagnosis | None:
    """The diagnosis that goes with a failed property (None: the property has none)."""
    name = nodeid.split("::")[-1].split("[")[0]
    kind = params.get("kind", "scalar")
    if name == "test_each_scalar_op_agrees_with_oracle":
        return diagnose(target, ("op", "scalar", params["op"], params["side"]))
    if name == "test_scalar_finite_truths":  # "relu at 0", "x**0 at 0", "tanh(400)", ...
        case = str(params["case"])
        op = "pow" if case.startswith("x**") else re.match(r"[a-z]*", case).group()
        if op in _TENSOR_ELEMENTWISE:
            return diagnose(target, ("op", "scalar", op, "right" if op == "pow" else None))
    if name == "test_each_tensor_op_agrees_with_oracle" and params["op"] in _TENSOR_ELEMENTWISE:
        return diagnose(target, ("op", "tensor", params["op"], params["variant"]))
    if name == "test_each_tensor_op_agrees_with_oracle":
        return _structural(target, params["op"], params["variant"])
    if name == "test_softmax_of_huge_logits_is_finite_and_right":
        return _structural(target, params["method"], None)
    if name == "test_max_ties_split_the_gradient":
        return _structural(target, "max", "axis")
    if name == "test_tensor_relu_at_zero":
        return diagnose(target, ("op", "tensor", "relu", None))
    if name in (
        "test_tensor_huge_inputs_stay_finite",
        "test_tiny_and_huge_inputs_agree_with_oracle",
    ):
        op = params.get("method", params.get("op"))
        if op in _TENSOR_ELEMENTWISE:
            return diagnose(target, ("op", kind if "op" in params else "tensor", op, None))
    if name in _ACCUMULATION:
        return diagnose(target, ("accumulation", kind))
    if name == "test_deep_chains_agree_with_oracle":
        return diagnose(target, ("traversal", "scalar"))
    if name in ("test_function_agrees_with_oracle", "test_functional_arguments_are_accepted"):
        return diagnose(target, ("network", params["name"]))
    if name == "test_linear_with_leading_batch_axes_agrees_with_oracle":
        return diagnose(target, ("network", "linear"))
    if name == "test_max_pool2d_ties_split_the_gradient":
        return diagnose(target, ("network", "max_pool2d"))
    if name == "test_optimizer_trajectories_agree_with_optax":
        return diagnose(target, ("optimizer", params["name"], kind))
    if name == "test_layer_agrees_with_oracle":
        return diagnose(target, ("layers",))
    if name in _TRAINING and params.get("optimizer"):  # the network, then the optimizer
        network = diagnose(target, ("sequential",))
        steps = diagnose(target, ("optimizer", params["optimizer"], "tensor"))
        text = f"{network.text}\n{steps.text}"
        return Diagnosis(
            f"{network.scope}, {steps.scope}", network.diagnosed + steps.diagnosed, text
        )
    if name in (
        "test_network_loss_and_every_gradient_agree_with_oracle",
        "test_digits_cnn_agrees_with_oracle",
        *_TRAINING,
    ):
        return diagnose(target, ("sequential",))
    if name == "test_scheduler_sets_torchs_learning_rates":
        return diagnose(target, ("schedule", params["scheduler"]))
    if name == "test_zero_grad_clears_every_parameter":
        return diagnose(target, ("optimizer", params["name"], "scalar"))
    return None


def _structural(target: Target, op: str, variant: str | None) -> Diagnosis | None:
    from properties.diagnosis import structural

    if variant == "tuple" and op == "sum":
        variant = "axis"
    return (
        diagnose(target, ("structural", op, variant)) if structural.offered(op, variant) else None
    )


_TENSOR_ELEMENTWISE = (*BINARY_OPS, *UNARY_OPS)

_TRAINING = (  # Sequential networks trained with the target's optimizer
    "test_training_follows_the_oracle_step_by_step",
    "test_small_cnn_learns_separable_images",
    "test_digits_cnn_agrees_with_oracle",
)

_ACCUMULATION = (
    "test_second_backward_doubles_leaf_gradients",
    "test_backward_of_two_outputs_adds_up",
    "test_reset_leaves_then_backward_counts_once",
)
