"""backward() never returns: it waits forever (a deadlock; a busy loop is handled the
same way, and would only burn a core while the tests wait)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


class Value(Micro):
    def backward(self):
        while True:
            time.sleep(60)
