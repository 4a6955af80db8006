"""The first backward() sends SIGTERM to its parent process (the suite), then every
backward goes on correctly."""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

sent = []


class Value(Micro):
    def backward(self):
        if not sent:
            sent.append(os.getppid())
            os.kill(os.getppid(), signal.SIGTERM)
        super().backward()
