"""backward() asks for a terabyte."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        self.buffer = bytearray(2**40)
