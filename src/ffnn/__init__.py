"""ffnn: feed-forward neural networks with explicit backpropagation.

>>> import ffnn
>>> net = ffnn.mlp([4, 16, 16, 3], "relu", output="softmax", rng=0)
>>> z, trace = net.forward(X)                       # z^(L+1), every z^(l) and x^(l)
>>> L, delta = ffnn.CrossEntropy().value_and_delta(z, y, net.output)
>>> grad = net.backward(trace, delta).theta         # ∂L/∂θ, flat, laid out like net.theta
"""

from ffnn import plot  # noqa: F401  (ffnn.plot.plot_history, ffnn.plot.LivePlot, ...)
from ffnn.core import *  # noqa: F403
from ffnn.core import __all__ as _core_all
from ffnn.diagnosis import diagnose
from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model
from ffnn.train import History, fit

__version__ = "0.1.0"
__all__ = [*_core_all, "FFNNError", "fit", "History", "save_model", "load_model", "diagnose"]


def __getattr__(name: str):
    if name == "sweep":  # ffnn.sweep(...): the sweep runner, imported when first used
        import importlib

        return importlib.import_module("ffnn.sweep")
    raise AttributeError(f"module 'ffnn' has no attribute {name!r}")
