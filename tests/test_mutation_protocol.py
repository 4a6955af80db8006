"""reports/mutation/protocol.py: which mutants change only what the protocol leaves open.

Each case is an original function and a mutant of it, as mutmut names and writes them in
its ``mutants/`` copy; the expected class is what the documented rule gives.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from reports.mutation.protocol import classify, outside_class
from reports.mutation.results import Mutant, build_report


def pair(original: str, mutant: str, name: str = "x_f") -> tuple[ast.AST, ast.AST]:
    def function(body: str, suffix: str) -> ast.AST:
        source = f"def {name}__mutmut_{suffix}(x, y, w):\n" + textwrap.indent(body, "    ")
        return ast.parse(source).body[0]

    return function(original, "orig"), function(mutant, "1")


RAISE = "if x.ndim != 2 or y.ndim != 1:\n    raise ValueError(f'bad {x}')\nreturn x\n"
CASES = [
    # messages and labels
    (RAISE, RAISE.replace("f'bad {x}'", "None"), "message"),
    (RAISE, RAISE.replace("bad", "XXbadXX"), "message"),
    ("return make_node(x, (y,), 'op', g)\n", "return make_node(x, (y,), 'OP', g)\n", "message"),
    ("return make_node(x, (y,), 'op', g)\n", "return make_node(x, (y,), None, g)\n", "message"),
    ("return _pair(x, 'stride', 1)\n", "return _pair(x, None, 1)\n", "message"),
    ("return _pair(x, 'stride', 1)\n", "return _pair(x, 1)\n", ""),  # arguments move
    ("return _pair(x, 'stride', 1)\n", "return _pair(x, 'stride', 2)\n", ""),
    ("return make_node(x, (y,), 'op', g)\n", "return make_node(x, (y,), 'op', None)\n", ""),
    # refusals made weaker: the mutant refuses a subset and accepts all the original does
    (RAISE, RAISE.replace(" or ", " and "), "refusal"),
    (
        "if not 0.0 <= x < 1.0:\n    raise ValueError(x)\n",
        "if not 0.0 <= x <= 1.0:\n    raise ValueError(x)\n",
        "refusal",
    ),
    (
        "if x and (y <= 0 or w != 0):\n    raise ValueError\n",
        "if x and (y < 0 or w != 0):\n    raise ValueError\n",
        "refusal",
    ),
    # ... and stronger or other refusals stay covered
    ("if x and y:\n    raise ValueError\n", "if x or y:\n    raise ValueError\n", ""),
    (
        "if not 0.0 <= x <= 1.0:\n    raise ValueError(x)\n",
        "if not 0.0 <= x < 1.0:\n    raise ValueError(x)\n",
        "",
    ),
    (RAISE, RAISE.replace("!= 2", "!= 3"), ""),
    ("if x > y:\n    raise ValueError\nreturn 1\n", "if x > y:\n    return 2\nreturn 1\n", ""),
    ("if x or y:\n    z = 1\n", "if x and y:\n    z = 1\n", ""),  # the body does not only raise
    # plain computation
    ("return x @ w.T + y\n", "return x @ w.T - y\n", ""),
    # no change at all (mutmut never makes one): not outside
    ("return x\n", "return x\n", ""),
]


@pytest.mark.parametrize(("original", "mutant", "expected"), CASES)
def test_the_rule_classifies_each_change(original: str, mutant: str, expected: str) -> None:
    a, b = pair(original, mutant)
    assert outside_class(a, b) == expected, (original, mutant)


def test_initial_weight_values_but_not_shapes() -> None:
    body = (
        "rng = np.random.default_rng(rng)\nbound = 1.0 / math.sqrt(x)\n"
        "self.weight = Tensor(rng.uniform(-bound, bound, (y, x)))\n"
    )
    name = "xǁLinearǁ__init__"
    for changed in ("default_rng(None)", "2.0 / math", "uniform(+bound"):
        old = {"default_rng(None)": "default_rng(rng)", "2.0 / math": "1.0 / math"}
        mutant = body.replace(old.get(changed, "uniform(-bound"), changed)
        assert outside_class(*pair(body, mutant, name)) == "initialisation", changed
    shape = body.replace("(y, x)", "(x, y)")
    assert outside_class(*pair(body, shape, name)) == "", "a weight of the wrong shape"
    elsewhere = body.replace("1.0 / math", "2.0 / math")
    assert outside_class(*pair(body, elsewhere)) == "", "not in a layer's __init__"


def test_classify_reads_mutmuts_copy_and_names_undescribed_functions(tmp_path: Path) -> None:
    source = tmp_path / "mutants" / "pkg" / "mod.py"
    source.parent.mkdir(parents=True)
    a, b = pair(RAISE, RAISE.replace("bad", "XXbadXX"))
    c, d = pair("return x\n", "return y\n", "x_g")
    source.write_text("\n".join(ast.unparse(n) for n in (a, b, c, d)))
    mutants = [
        Mutant("pkg.mod.x_f__mutmut_1", "pkg/mod.py", "pkg.mod", "f", "survived", 0),
        Mutant("pkg.mod.x_g__mutmut_1", "pkg/mod.py", "pkg.mod", "g", "killed", 1),
        Mutant(
            "pkg.mod.xǁNetǁ__repr____mutmut_1",
            "pkg/mod.py",
            "pkg.mod",
            "Net.__repr__",
            "no tests",
            33,
        ),
        Mutant("pkg.gone.x_h__mutmut_1", "pkg/gone.py", "pkg.gone", "h", "survived", 0),
    ]
    classify(tmp_path, mutants)
    assert [m.outside for m in mutants] == ["message", "", "undescribed", ""]
    report = build_report(mutants, command="vgrad mutate")
    assert report["counts"]["score"] == 1 / 4
    assert report["covered"]["total"] == 2 and report["covered"]["killed"] == 1
    assert report["outside"]["message"]["survived"] == 1
    assert report["outside"]["undescribed"]["no_tests"] == 1


ROOT = Path(__file__).resolve().parents[1]


def _pytest(cwd: Path, *args: str, under_test: str | None) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MUTANT_UNDER_TEST", None)
    if under_test is not None:
        env["MUTANT_UNDER_TEST"] = under_test
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(ROOT)]
    done = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    return done.stdout + done.stderr


def test_only_vgrad_mutates_plugin_collects_the_mutation_record(tmp_path: Path) -> None:
    folder = str(ROOT / "properties")
    plain = _pytest(tmp_path, "--collect-only", "-q", folder, under_test=None)
    plugin = _pytest(
        tmp_path, "-p", "reports.mutate", "--collect-only", "-q", folder, under_test=None
    )
    assert "mutation_record.py" not in plain, plain[-2000:]
    assert plugin.count("mutation_record.py::") == 1, plugin[-2000:]


def test_the_mutation_record_kills_a_mutant_that_offers_less(tmp_path: Path) -> None:
    test = str(ROOT / "properties" / "mutation_record.py")
    clean = _pytest(tmp_path, "-p", "reports.mutate", test, under_test="")
    assert "1 passed" in clean, clean[-2000:]
    record = tmp_path / "vgrad-capabilities.json"
    engine = json.loads(record.read_text())
    assert "functional.linear(nd)" in engine["capabilities"], engine
    same = _pytest(tmp_path, "-p", "reports.mutate", test, under_test="engine.x_f__mutmut_1")
    assert "1 passed" in same, same[-2000:]
    engine["capabilities"].append("functional.imagined")
    record.write_text(json.dumps(engine))
    less = _pytest(tmp_path, "-p", "reports.mutate", test, under_test="engine.x_f__mutmut_1")
    assert "1 failed" in less and "missing functional.imagined" in less, less[-2000:]
