"""The lab: theory tools and experiments (``ffnn lab NAME``).

Each experiment is a subclass of :class:`Experiment` registered with :func:`register` when its
module is imported (import new experiment modules here). Run one with :func:`run`::

    ffnn.lab.run("ntk-lazy", params={"widths": [8, 64, 512]}, seed=3, out_dir="runs/lazy")
"""

from ffnn.lab._registry import (
    EXPERIMENTS,
    Experiment,
    ExperimentResult,
    Param,
    Params,
    experiment,
    get_experiment,
    register,
    run,
)

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "Param",
    "Params",
    "experiment",
    "get_experiment",
    "register",
    "run",
]

# part 1, representation, initialization and the NTK: importing registers the experiments
from ffnn.lab import exp_p1_init, exp_p1_ntk, exp_p1_represent  # noqa: E402, F401, I001

# part 2, the geometry of training: importing the modules registers their experiments
from ffnn.lab import (  # noqa: E402, F401
    exp_p2_convergence,
    exp_p2_implicit,
    exp_p2_minima,
    exp_p2_spectrum,
)

# part 3, what the notes claim beyond parts 1 and 2 (issue 15): capacity and generalization,
# convexity, SGD's noise, steps to a tolerance, representation
from ffnn.lab import (  # noqa: E402, F401
    exp_p3_convexity,
    exp_p3_generalization,
    exp_p3_represent,
    exp_p3_sgd,
    exp_p3_steps,
)
