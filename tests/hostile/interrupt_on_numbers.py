"""+ raises KeyboardInterrupt when either operand is a plain number: the suite's probe of
plain-number operands, run while the target is being loaded, meets it first."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def __add__(self, other):
        if not isinstance(other, Value):
            raise KeyboardInterrupt
        return super().__add__(other)

    def __radd__(self, other):
        raise KeyboardInterrupt
