"""vgrad's engine: scalar `Value`, `Tensor`, networks and optimizers. Pure Python + NumPy."""

from engine import nn, optim
from engine.tensor import Tensor, no_grad
from engine.value import Value

__all__ = ["Tensor", "Value", "nn", "no_grad", "optim"]
