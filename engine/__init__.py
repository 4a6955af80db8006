"""vgrad's engine: scalar `Value`, networks and optimizers. Pure Python + NumPy."""

from engine import nn
from engine.value import Value

__all__ = ["Value", "nn"]
