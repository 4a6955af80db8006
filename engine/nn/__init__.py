"""Networks: micrograd-compatible scalar ones, and tensor layers and losses."""

from engine.nn.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from engine.nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from engine.nn.module import Module
from engine.nn.scalar import MLP, Layer, Neuron

__all__ = [
    "MLP",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Layer",
    "Linear",
    "MaxPool2d",
    "Module",
    "Neuron",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "mse_loss",
]
