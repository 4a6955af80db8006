"""The IR's elementwise functions in JAX, with the conventions of the target spec.

Shared by the compiled scalar interpreter and the per-graph tensor functions, so both
give the same numbers:

* ``relu(x) = where(x > 0, x, 0)``, so relu'(0) = 0 (``jnp.maximum`` would give 1/2);
* ``sigmoid`` is `jax.nn.sigmoid` (``lax.logistic``: no overflow for large |x|);
* ``power(x, p)`` is ``lax.pow``: an int exponent is passed as an int64, whose derivative
  rule is ``0 if p == 0 else p * x**(p-1)`` (d/dx x**0 = 0 at x = 0); a float exponent's
  rule is ``p * x**(p-1)``, which is nan for x = 0, p = 0.0.  With a traced exponent
  d/dy x**y = log(x) * x**y except that x = 0 gives 0 (JAX replaces log(0) by log(1)).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from oracle import _jax  # noqa: F401  (float64)


def relu(x: jax.Array) -> jax.Array:
    """max(x, 0) with derivative 0 at 0."""
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def sigmoid(x: jax.Array) -> jax.Array:
    """1 / (1 + exp(-x)), computed without overflow."""
    return jax.nn.sigmoid(x)


def int_exponent(p: Any) -> bool:
    """Whether `p` takes the integer-exponent rule: a Python int below 2**53 in size (one
    a float64 holds exactly)."""
    return type(p) is int and abs(p) < 2**53


def power(x: Any, p: Any) -> jax.Array:
    """x ** p; an `int_exponent` `p` uses the integer-exponent derivative rule."""
    if int_exponent(p):
        return lax.pow(jnp.asarray(x, jnp.float64), jnp.int64(p))
    x, p = jnp.broadcast_arrays(jnp.asarray(x, jnp.float64), jnp.asarray(p, jnp.float64))
    return lax.pow(x, p)


UNARY = {
    "neg": jnp.negative,
    "relu": relu,
    "tanh": jnp.tanh,
    "exp": jnp.exp,
    "log": jnp.log,
    "sigmoid": sigmoid,
}
BINARY = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": jnp.divide,
    "pow": power,
}
