"""backward() reads address 0: the interpreter dies of SIGSEGV."""

import ctypes
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        ctypes.string_at(0)
