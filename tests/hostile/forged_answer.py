"""backward() replaces the worker's send with one that answers a pickle which, loaded
by a plain unpickler, would run a command: touch the file $HOSTILE_PWNED."""

import os
import pickle
import sys
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

MARKER = os.environ.get("HOSTILE_PWNED", "/tmp/vgrad-hostile-pwned")


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


original_send = Connection.send_bytes


def forged_send(self, data, *args):
    original_send(self, pickle.dumps({"ok": Payload()}))


class Value(Micro):
    def backward(self):
        super().backward()
        Connection.send_bytes = forged_send
