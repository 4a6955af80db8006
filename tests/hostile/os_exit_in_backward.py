"""os._exit(0) in backward(): the process ends at once, status 0, no cleanup."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        os._exit(0)
