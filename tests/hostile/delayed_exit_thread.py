"""A correct engine with a thread, started at import, that ends the process with
os._exit(0) during the third backward pass (which waits for it)."""

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

THIRD = threading.Event()


def exit_later():
    THIRD.wait()
    os._exit(0)


threading.Thread(target=exit_later, daemon=True).start()
passes = []


class Value(Micro):
    def backward(self):
        super().backward()
        passes.append(1)
        if len(passes) == 3:
            THIRD.set()
            time.sleep(5)  # the thread ends the process meanwhile
