"""The reference oracle: JAX (float64) and optax. Never imports `engine`."""
