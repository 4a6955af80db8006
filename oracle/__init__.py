"""The reference oracle: JAX (float64) and optax. Never imports `engine`.

The IR (`oracle.ir`, `oracle.snippet`) and the optimizer configurations
(`oracle.optim_config`) are importable without JAX.  The evaluators
(`oracle.evaluate`), optimizer and training references (`oracle.optim`,
`oracle.training`), the JAX-free second opinion (`oracle.second_opinion`) and the
error model (`oracle.tolerance`) are imported from their modules.
"""

from oracle.ir import SCALAR, TENSOR, Graph, GraphBuilder, Node, from_json, to_json
from oracle.snippet import to_python

__all__ = ["SCALAR", "TENSOR", "Graph", "GraphBuilder", "Node", "from_json", "to_json", "to_python"]
