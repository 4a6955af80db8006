"""A correct engine that turns JAX's float64 off at import: no false alarm."""

import sys
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro

jax.config.update("jax_enable_x64", False)


class Value(Micro):
    pass
