"""Diagnosis of a training run against the notes' practical issues (lecture 11, notes 004).

``ffnn.diagnose(net, X, y, loss, history)`` measures, on the user's own network and data,

    I  the cost per iteration O(p·n) and the time per epoch against the matmul limit
    T  convergence: the loss curve's late slope, the gradient norm, η·λ_max against 2, plateaus
    S  saturation: σ'(z) ≈ 0 per layer, the signal's scale against the initialization's
    L  the end point: a minimum, a saddle, or still moving (‖∇L‖, λ_min, λ_max by Lanczos)
    O  overfitting: the train/validation gap, the best validation epoch, p against n

and returns a :class:`Diagnosis` with a verdict per issue ("fine", "watch", "problem") and what to
try. :class:`DiagnoseCallback` takes the same measurements during ``fit``.
"""

from ffnn.diagnosis.callback import DiagnoseCallback
from ffnn.diagnosis.figures import diagnosis_figure, save_figure
from ffnn.diagnosis.report import Diagnosis, Finding
from ffnn.diagnosis.run import diagnose

__all__ = [
    "diagnose",
    "Diagnosis",
    "Finding",
    "DiagnoseCallback",
    "diagnosis_figure",
    "save_figure",
]
