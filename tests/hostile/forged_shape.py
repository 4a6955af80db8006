"""backward() replaces the worker's send with one that answers plain data of the wrong
form ({"ok": 5}, whatever the task): nothing but numbers, yet not an answer."""

import pickle
import sys
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

original_send = Connection.send_bytes


def forged_send(self, data, *args):
    original_send(self, pickle.dumps({"ok": 5}))


class Value(Micro):
    def backward(self):
        super().backward()
        Connection.send_bytes = forged_send
