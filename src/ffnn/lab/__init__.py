"""The lab: theory tools and experiments (``ffnn lab NAME``).

Each experiment module registers itself with :func:`ffnn.lab._registry.experiment` when imported;
import new experiment modules here.
"""

from ffnn.lab._registry import EXPERIMENTS, Experiment, ExperimentResult, experiment, get_experiment

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentResult", "experiment", "get_experiment"]

# part 1, representation, initialization and the NTK: importing registers the experiments
from ffnn.lab import exp_p1_init, exp_p1_ntk, exp_p1_represent  # noqa: E402, F401, I001

# part 2, the geometry of training: importing the modules registers their experiments
from ffnn.lab import (  # noqa: E402, F401
    exp_p2_convergence,
    exp_p2_implicit,
    exp_p2_minima,
    exp_p2_spectrum,
)
