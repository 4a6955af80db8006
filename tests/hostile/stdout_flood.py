"""backward() prints 8 MB to stdout and stderr, ending with terminal control codes,
then exits with status 1."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

CLEAR_SCREEN = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


class Value(Micro):
    def backward(self):
        line = "flood " * 20 + "\n"
        for _ in range(8 * 2**20 // len(line)):
            sys.stdout.write(line)
            sys.stderr.write(line)
        sys.stdout.write(CLEAR_SCREEN + "the end of the flood\n")
        sys.stdout.flush()
        os._exit(1)
