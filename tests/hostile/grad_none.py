"""After a correct backward pass every leaf's .grad is None (as torch leaves unreached ones)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        super().backward()
        for node in self.nodes():
            if not node._prev:
                node.grad = None
