"""A wrong tanh (one part in a million off), and builtins patched at import so that
every number compares equal and every absolute error is zero, print raises.

Were the suite's comparisons in this process, they would pass it; they are not."""

import builtins
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __le__ = __ge__ = __eq__

    def __ne__(self, other):
        return False

    __lt__ = __gt__ = __ne__
    __hash__ = float.__hash__


def no_print(*args, **kwargs):
    raise RuntimeError("print is disabled")


builtins.float = AlwaysEqual
builtins.abs = lambda x: 0.0
builtins.print = no_print


class Value(Micro):
    def tanh(self):
        t = math.tanh(self.data) * (1 + 1e-6)
        return self._new(t, (self,), (1 - t * t,))
