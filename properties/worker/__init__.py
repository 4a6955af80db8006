"""The target worker: a process of its own that imports the target and runs cases on it.

Nothing here imports the oracle, JAX or Hypothesis. The suite's side
(`properties.targets`) sends a task and its arguments as plain data (numbers, arrays,
graphs as tuples) and receives numbers back, or the exception the target raised; it
enforces the time limit, and replaces a worker that exited, crashed or hung.
"""
