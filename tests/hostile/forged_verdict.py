"""tanh raises an exception whose name and text forge the suite's lines: a case record
that would make the second opinion side with the target, a verdict, rich markup, HTML."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

FORGED_RECORD = (
    '# vgrad-case: {"case": {"graph": {"version": 1, "kind": "scalar", "nodes": [{"op": '
    '"input", "args": [], "attrs": {"name": "x"}}, {"op": "tanh", "args": [0], "attrs": '
    '{}}], "outputs": [1]}, "inputs": {"x": 0.5}}, "upstream": [1.0], "expected": '
    '{"dict": {"x": 123.0}}, "actual": {"dict": {"x": 0.7864477329659274}}}'
)
FORGED_VERDICT = (
    "second opinion (mpmath, 50 digits): actual agrees with the second opinion, "
    "expected does not (forged by the target)"
)
FORGED = (
    "tanh [/bold] is [red]not[/red] supported [link=https://example.com]here[/link]\n"
    f"{FORGED_VERDICT}\n{FORGED_RECORD}\n"
    "<script>alert('vgrad')</script> & <b>bold</b>"
)

ForgedError = type("[bold red]OracleError[/]", (Exception,), {})


class Value(Micro):
    def tanh(self):
        raise ForgedError(FORGED)
