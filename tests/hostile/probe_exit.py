"""A correct engine that also takes a Value exponent, whose backward() raises SystemExit(0):
the suite's capability probe of v ** w runs backward while the target is being loaded."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def __pow__(self, other):
        if not isinstance(other, Value):
            return super().__pow__(other)
        x, y = self.data, other.data
        out = x**y
        return self._new(out, (self, other), (y * x ** (y - 1), out * math.log(x)))

    def backward(self):
        raise SystemExit(0)
