"""micrograd 0.1.0 from PyPI, exactly as it is, as a vgrad target.

Nothing is added or fixed here: what micrograd lacks (tanh, exp, log, sigmoid, `Value`
exponents, tensors, optimizers) is reported as skipped, and what it gets wrong fails.
"""

from micrograd import nn
from micrograd.engine import Value

__all__ = ["Value", "nn"]
