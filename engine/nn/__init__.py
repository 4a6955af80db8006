"""Networks: micrograd-compatible scalar ones, and tensor layers and losses."""

from engine.nn.module import Module
from engine.nn.scalar import MLP, Layer, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron"]
