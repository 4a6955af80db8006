"""Probes for the diagnosis (`properties.diagnosis`): small scripts run on the target.

A probe is a tiny graph (the worker's graph form, built with the target's own operators),
optional gradients assigned to its leaves first, then a script of steps: ``backward`` of
one output (directly, or weighted by an upstream gradient) and ``read`` (every output's
value and every leaf's gradient). The answers are numbers the suite compares with what
each hypothesis of its catalogue predicts; an exception ends that probe alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from properties.worker.execute import Graph, build, leaf, weighted_sum
from properties.worker.tasks import Phase, _data, _grad, described, target


def probe_graphs(probes: list[dict[str, Any]], phase: Phase) -> list[dict[str, Any]]:
    """Run each probe; per probe ``{"readings": [...]}`` or ``{"raised": ..., "step": k}``."""
    answers = []
    for k, probe in enumerate(probes):
        readings: list[dict[str, Any]] = []
        step = -1
        try:
            g = Graph(*probe["graph"])
            leaves = {n: leaf(target(), g.kind, probe["inputs"][n]) for n in g.input_names}
            for name, value in probe.get("preset", {}).items():
                leaves[name].grad = value if g.kind == "scalar" else np.array(value, dtype=float)
            nodes = build(g, leaves, lambda text, k=k: phase(f"probe {k}: {text}"))
            outs = [nodes[i] for i in g.outputs]
            for action, *args in probe["script"]:
                step += 1
                if action == "backward":
                    out, upstream = outs[args[0]], args[1]
                    phase(f"probe {k}: backward of output {args[0]}")
                    loss = out if upstream is None else weighted_sum(g.kind, [out], [upstream])
                    loss.backward()
                else:
                    readings.append(
                        {
                            "outputs": [_data(o) for o in outs],
                            "grads": {n: _grad(v) for n, v in leaves.items()},
                        }
                    )
            answers.append({"readings": readings})
        except BaseException as error:  # the target's exception, SystemExit too, is data
            answers.append({"raised": described(error), "step": step, "readings": readings})
    return answers


PROBE_TASKS = {"probe_graphs": probe_graphs}
