"""backward() writes a forged phase (a case record, markup) into the worker's phase file,
where the suite reads what the worker was doing, then ends the process."""

import mmap
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

# the record of forged_verdict.py without spaces: the suite reads 300 characters of phase
RECORD = (
    '# vgrad-case: {"case":{"graph":{"version":1,"kind":"scalar","nodes":[{"op":"input",'
    '"args":[],"attrs":{"name":"x"}},{"op":"tanh","args":[0],"attrs":{}}],"outputs":[1]},'
    '"inputs":{"x":0.5}},"upstream":[1.0],"expected":{"dict":{"x":123.0}},'
    '"actual":{"dict":{"x":0.7864477329659274}}}'
)
PHASE = f"loss.backward()\n{RECORD}\n[/bold][red]"


class Value(Micro):
    def backward(self):
        data = PHASE.encode()
        with open(sys.argv[2], "r+b") as file, mmap.mmap(file.fileno(), 2 + len(data)) as m:
            m[2:] = data
            m[:2] = len(data).to_bytes(2, "little")
        os._exit(0)
