"""vgrad's engine: scalar `Value`, `Tensor`, networks and optimizers. Pure Python + NumPy."""

from engine import nn, optim
from engine.draw import Drawing, draw_dot
from engine.explain import explain_backward
from engine.tensor import Tensor, no_grad
from engine.value import Value

__all__ = ["Drawing", "Tensor", "Value", "draw_dot", "explain_backward", "nn", "no_grad", "optim"]
