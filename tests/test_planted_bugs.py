"""Meta-tests: the suite fails every planted bug and passes the clean planted engine.

Each bug is planted in a copy of `planted/clean_engine.py` and checked with
``vgrad check --profile quick --exitfirst``, restricted to the properties of the bug's
area, and for a bug in one op or optimizer to that op's or optimizer's properties
(running more properties can only add failures, never remove one), and without
shrinking the counterexample (which changes how it reads, not whether it fails). The
clean engine gets the whole quick check, one property module per test so that the
workers of ``pytest -n`` share it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import BUGS, Bug, write_engine
from reproduce import assert_snippet_reproduces

from reports.check import PROPERTIES_DIR, run_check

AREA_PROPERTIES = {
    "scalar ops": "scalar_graphs or conventions",
    "graph": "accumulation or scalar_graphs",
    "broadcasting": "tensor_graphs or accumulation",
    "reductions": "tensor_graphs or conventions",
    "shape ops": "tensor_graphs",
    "indexing": "tensor_graphs",
    "softmax": "tensor_graphs or conventions",
    "tensor ops": "tensor_graphs or conventions",
    "optim": "optimizers",
    "schedule": "schedulers",
    "nn": "networks",
    "networks": "functional or layer or sequential",
}

_ADAM = "Adam and not AdamW"
# bugs in one op, one optimizer or the tensor engine only: the properties of the bug's area
# that exercise it (the others would run first and pass; a tensor case costs a compilation)
FOCUS = {
    "unbroadcast_leading_axes_kept": "tensor",
    "unbroadcast_leading_axes_averaged": "tensor",
    "unbroadcast_size_one_axes_kept": "tensor",
    "unbroadcast_keepdims_dropped": "tensor",
    "matmul_grad_full_transpose": "matmul",
    "pow_missing_factor": "pow",
    "vpow_exponent_partial": "pow",
    "vpow_base_partial": "pow",
    "mean_count_added": "mean",
    "negative_axis_not_normalized": "sum",
    "max_keepdims_ignored": "max",
    "transpose_grad_same_axes": "transpose",
    "index_repeats_dropped": "index",
    "tensor_div_denominator_sign": "div",
    "adam_no_bias_correction": _ADAM,
    "adam_step_off_by_one": _ADAM,
    "adam_eps_inside_sqrt": _ADAM,
    "adamw_decay_as_l2": "AdamW",
    "rmsprop_alpha_swapped": "RMSprop",
    "rmsprop_momentum_not_kept": "RMSprop",
    "rmsprop_eps_inside_sqrt": "RMSprop",
    "adagrad_eps_inside_sqrt": "Adagrad",
    "adagrad_initial_accumulator_ignored": "Adagrad",
    "sgd_dampening_first_step": "SGD",
    "maximize_after_weight_decay": "SGD",
    "adam_amsgrad_max_of_corrected": _ADAM,
    "adam_decoupled_ignored": _ADAM,
    "rmsprop_centered_average_not_kept": "RMSprop",
    "adagrad_lr_decay_off_by_one": "Adagrad",
    "step_lr_one_epoch_early": "StepLR",
    "lambda_lr_skips_epoch_zero": "LambdaLR",
    "conv_weight_grad_flipped": "conv2d",
    "conv_padding_one_side_backward": "conv2d",
    "conv_stride_ignored_backward": "conv2d",
    "conv_bias_grad_averaged": "conv2d",
    "max_pool_grad_whole_window": "max_pool2d and not split",
    "max_pool_zero_padding": "max_pool2d and not split",
    "avg_pool_counts_unpadded": "avg_pool2d",
    "linear_bias_grad_not_summed": "linear",
    "flatten_backward_wrong_order": "flatten",
    "linear_bias_grad_averaged_inner_axes": "leading_batch_axes",
    "flatten_layer_ignores_start_dim": "layer_agrees",
    "cross_entropy_no_max_subtraction": "cross_entropy",
    "bce_with_logits_unstable": "binary_cross_entropy",
    "mse_loss_summed": "mse_loss",
    "hinge_loss_no_margin": "hinge_loss",
    "bce_targets_grad_sign": "binary_cross_entropy",
    "mse_target_grad_missing_two": "mse_loss",
    "hinge_labels_grad_sign": "hinge_loss",
    "conv_layer_ignores_padding": "layer_agrees",
    "pool_default_stride_one": "avg_pool2d",
    # the random networks of quick (2 or 3 of them) may all have one layer with parameters,
    # where reversing the layers changes nothing; the digits CNN case always has four
    "sequential_parameters_reversed": "network_loss or digits_cnn",
}


def selection(bug: Bug) -> str:
    """The properties the bug's check runs (a pytest -k expression)."""
    area = AREA_PROPERTIES[bug.area]
    return f"({area}) and ({FOCUS[bug.name]})" if bug.name in FOCUS else area


def test_every_area_has_properties() -> None:
    areas = {bug.area for bug in BUGS}
    assert areas <= set(AREA_PROPERTIES), f"no properties named for {areas - set(AREA_PROPERTIES)}"
    unknown = set(FOCUS) - {bug.name for bug in BUGS}
    assert not unknown, f"FOCUS names no planted bug: {unknown}"


PROPERTY_MODULES = sorted(p.stem for p in PROPERTIES_DIR.glob("test_*.py"))


@pytest.mark.parametrize("module", PROPERTY_MODULES)
def test_quick_check_passes_the_clean_engine(module: str, tmp_path: Path) -> None:
    report = run_check(str(write_engine(None, tmp_path)), profile="quick", select=module)
    failures = [f"{c.nodeid}:\n{c.message}" for c in report.cases if c.outcome == "failed"]
    assert not failures and not report.errors, "\n\n".join(failures + report.errors)
    assert not report.limitations, report.limitations
    ran = {c.nodeid.split("::")[0] for c in report.cases if c.outcome == "passed"}
    assert f"properties/{module}.py" in ran, f"no property of {module} ran: {sorted(ran)}"


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_quick_check_fails_the_planted_bug(bug: Bug, tmp_path: Path) -> None:
    path = write_engine(bug, tmp_path)
    report = run_check(
        str(path),
        profile="quick",
        select=selection(bug),
        exitfirst=True,
        shrink=False,
        strict=True,  # a bug that makes a variant's backward raise is found as a limitation
    )
    assert not report.errors, f"{bug.name}: the check itself failed: {report.errors}"
    assert report.count("failed") > 0, (
        f"{bug.name} ({bug.description}) passed {report.count('passed')} properties unnoticed"
    )
    for case in report.cases:
        for message in case.failures:
            assert_snippet_reproduces(message, tmp_path)
