"""The Hypothesis example database: a folder in vgrad's cache, or a Redis server shared by
several machines (``VGRAD_DATABASE=redis://HOST:PORT``, set by ``vgrad check --database``).

Either way each property's entry is keyed by its test id and the target
(`properties.running`), so machines checking the same target replay each other's
counterexamples first, and no target is replayed another's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

_REDIS = re.compile(r"redis://([^:/\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})(?:/([0-9]+))?")


def example_database(folder: Path) -> ExampleDatabase:
    """Redis when VGRAD_DATABASE names a server, else the folder `folder`."""
    url = os.environ.get("VGRAD_DATABASE")
    if not url:
        return DirectoryBasedExampleDatabase(folder)
    match = _REDIS.fullmatch(url)
    if not match:
        raise ValueError(f"VGRAD_DATABASE must be redis://HOST:PORT, got {url!r}")
    from hypothesis.extra.redis import RedisExampleDatabase  # needs hypothesis[redis]
    from redis import Redis

    host, port, db = match[1].strip("[]"), int(match[2]), int(match[3] or 0)
    return RedisExampleDatabase(Redis(host=host, port=port, db=db), key_prefix=b"vgrad:")
