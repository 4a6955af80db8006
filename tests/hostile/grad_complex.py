"""After a correct backward pass every .grad is a complex number (imaginary part 0)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        super().backward()
        for node in self.nodes():
            node.grad = complex(node.grad, 0.0)
