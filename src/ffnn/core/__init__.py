"""The core: activations, layers, the graph engine with backprop, losses, init, gradient check."""

from ffnn.core.activations import (
    ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    Activation,
    OutputActivation,
    get_activation,
    get_output_activation,
)
from ffnn.core.gradcheck import GradCheck, gradient_check
from ffnn.core.graph import Backward, Network, Sequential, Trace, from_weights, mlp
from ffnn.core.init import Init
from ffnn.core.layers import Act, Add, Concat, Dense, Input, Layer, Node
from ffnn.core.losses import (
    LOSSES,
    MAE,
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    get_loss,
)

__all__ = [
    "ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "Activation",
    "OutputActivation",
    "get_activation",
    "get_output_activation",
    "GradCheck",
    "gradient_check",
    "Backward",
    "Network",
    "Sequential",
    "Trace",
    "from_weights",
    "mlp",
    "Init",
    "Act",
    "Add",
    "Concat",
    "Dense",
    "Input",
    "Layer",
    "Node",
    "LOSSES",
    "MAE",
    "MSE",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Huber",
    "Loss",
    "get_loss",
]
