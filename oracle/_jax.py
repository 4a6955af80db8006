"""JAX as the oracle uses it: float64 everywhere and a persistent compilation cache.

Importing this module turns on ``jax_enable_x64`` and, unless a cache directory is
already configured (``JAX_COMPILATION_CACHE_DIR``), caches compiled programs under
``$XDG_CACHE_HOME/vgrad/jax`` (default ``~/.cache/vgrad/jax``) so later processes skip
XLA compilation.  The cache is not size-limited (JAX's LRU eviction rescans the whole
directory on every write and fails on entries written without it); deleting the
directory at any time is safe.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)


def ensure_x64() -> None:
    """Refuse to answer in anything but float64 (nothing in the suite's process may turn
    it off; targets run in workers of their own, but a check costs nothing)."""
    if not jax.config.jax_enable_x64:
        raise RuntimeError("the oracle needs jax_enable_x64, and something turned it off")


# For the oracle's many small programs, each run a few times: LLVM's -O0 halves XLA's
# compile time and costs little at run time (not for the scalar interpreter, which runs
# millions of times).  XLA's classic CPU emitters compile small programs about twice as
# fast again as its MLIR fusion emitters, with the same accuracy (tests/oracle check every
# op against closed forms; exp, log, tanh, sigmoid measured within the same ulps).
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


def cache_dir() -> Path:
    """The directory of the persistent compilation cache."""
    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vgrad" / "jax"


def _enable_cache() -> None:
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_enable_cache()
