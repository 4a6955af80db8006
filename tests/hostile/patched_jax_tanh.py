"""A wrong tanh, x / (1 + |x|), with JAX's tanh patched at import to match it.

Were the oracle in this process, it would agree with the target; it is not."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))
from micro import Value as Micro


def wrong_tanh(x):
    return x / (1 + abs(x))


jnp.tanh = wrong_tanh
jax.lax.tanh = wrong_tanh
jax.nn.tanh = wrong_tanh


class Value(Micro):
    def tanh(self):
        x = self.data
        return self._new(x / (1 + abs(x)), (self,), (1 / (1 + abs(x)) ** 2,))
