"""backward() forks a child that keeps the worker's channel open and sleeps (its pid in
the file $HOSTILE_CHILD_PID), while the worker itself exits."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        with open(os.environ["HOSTILE_CHILD_PID"], "a") as file:
            file.write(f"{pid}\n")
        os._exit(0)
