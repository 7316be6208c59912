"""The five checks of lecture 11's practical issues, each turning measurements into a Finding.

    I  cost per iteration O(p·n), against this machine's matrix-multiply limit
    T  convergence: late slope of L, the gradient norm's trend, η·λ_max against 2 (GD's stability)
    S  saturation: per layer the share of σ'(z) ≈ 0, and the signal's scale against the init's
    L  local minima: at the end point ‖∇L‖ and λ_min, λ_max — a minimum, a saddle, or still moving
    O  overfitting: the train/validation gap, the best validation epoch, restore, p against n

Every threshold is a module constant, printed in the finding it decides.
"""

from __future__ import annotations

import math

import numpy as np

from ffnn.diagnosis.measure import Curvatures
from ffnn.diagnosis.report import Finding

__all__ = ["check_cost", "check_convergence", "check_saturation", "check_minimum", "check_overfit"]

LIMIT_WATCH = 0.05  # fraction of the matmul limit below which the per-step overhead dominates
SLOPE_WATCH = 0.005  # relative decrease of L per epoch at the end that means "still converging"
SATURATED_WATCH, SATURATED_PROBLEM = 0.2, 0.4  # share of pairs with σ' ≈ 0, above its init share
DEAD_WATCH, DEAD_PROBLEM = 0.25, 0.5  # share of units flat on every example
SCALE_WATCH = 10.0  # RMS of z against a fresh init: outside [1/10, 10] is suspicious
STATIONARY = 0.05  # ‖∇L‖ below this fraction of its reference counts as a critical point
NEGATIVE = 0.02  # λ_min < −NEGATIVE·λ_max is negative curvature (a trained net's bulk is ~0)
PLATEAU = 0.1  # a saddle plateau: L still above this fraction of its value at the start
GAP_WATCH, GAP_PROBLEM = 0.1, 0.25  # validation loss above its best, relative


def _stability_bound(optimizer: str, momentum: float | None) -> tuple[float | None, str]:
    """GD's stability bound on η·λ_max (2; 2(1+β) with heavy-ball momentum), or None."""
    if optimizer in ("gd", "sgd"):
        return 2.0, "GD/SGD is stable at a minimum only for η·λ_max < 2 (notes 004)"
    if optimizer in ("momentum", "nesterov"):
        beta = 0.9 if momentum is None else momentum
        return 2.0 * (1 + beta), f"with momentum β = {beta:g} the bound is η·λ_max < 2(1+β)"
    return None, f"{optimizer} rescales each coordinate, so η·λ_max < 2 is a rough guide only"


def check_cost(c: dict, n: int, batch: int | None, step: tuple | None, epoch_recorded=None):
    """I: p, multiply-adds per example and per epoch, a step's time against the matmul limit.

    ``step``: (seconds of one forward + backward step, seconds of its matrix products) from
    :func:`~ffnn.diagnosis.measure.step_seconds`; ``epoch_recorded``: seconds per epoch in the
    history (optimizer and validation included), shown for reference.
    """
    per = c["forward"] + c["backward"]
    m = {
        "p": c["p"],
        "forward multiply-adds per example": c["forward"],
        "backward multiply-adds per example": c["backward"],
        "n": n,
        "multiply-adds per epoch": n * per,
        "per epoch / (p·n)": per / max(c["p"], 1),
    }
    verdict, summary, tips = "fine", f"one epoch is {n * per:.3g} multiply-adds = O(p·n)", []
    if epoch_recorded:
        m["seconds per epoch (history)"] = epoch_recorded
    if step is not None and n:
        steps = -(-n // (batch or n))
        frac = step[1] / step[0]
        m |= {"batch": batch or n, "seconds per step": step[0], "matmul seconds per step": step[1]}
        m |= {"seconds per epoch (forward + backward)": step[0] * steps}
        m["fraction of the limit"] = frac
        summary += f"; a step runs at {frac:.0%} of the matmul limit at its shapes"
        if frac < LIMIT_WATCH:
            verdict = "watch"
            tips.append("most time is per-step overhead: try a larger --batch-size")
    return Finding(
        "I",
        verdict,
        summary,
        m,
        "forward and backward each cost about p multiply-adds per example, so an epoch costs "
        "O(p·n); what a step spends beyond its matrix products is overhead",
        [
            f"watch if a step (one BLAS thread) runs below {LIMIT_WATCH:.0%} of its matrix "
            "products' time"
        ],
        tips,
    )


def _late_slope(losses: list[float]) -> float | None:
    """Relative decrease of L per epoch over the last fifth of training (≥ 5 epochs)."""
    vals = [v for v in losses if v is not None and v > 0 and math.isfinite(v)]
    k = max(5, len(vals) // 5)
    if len(vals) < k + 1:
        return None
    tail = np.log(vals[-k:])
    return float(-np.polyfit(np.arange(k), tail, 1)[0])


def check_convergence(hist, curv: Curvatures | None, lr, optimizer, momentum) -> Finding:
    """T: is training still converging, did it plateau at a saddle, is η stable at this λ_max?"""
    m, rules, tips, verdict, said = {}, [], [], "fine", []
    if hist is not None and len(hist):
        slope = _late_slope(hist["train_loss"])
        m["late relative decrease of L per epoch"] = slope
        gn = [g for g in (hist["grad_norm"] if "grad_norm" in hist else []) if g is not None]
        if gn:
            m["grad norm first, min, last"] = [gn[0], min(gn), gn[-1]]
        rules.append(f"watch if L still falls by > {SLOPE_WATCH:.1%} per epoch at max_epochs")
        if slope is not None and slope > SLOPE_WATCH and hist.stop_reason == "max_epochs":
            verdict = "watch"
            said.append("the loss was still falling when the epochs ran out")
            tips.append("train longer: raise --epochs")
    if curv is not None and lr:
        bound, why = _stability_bound(optimizer or "sgd", momentum)
        r = lr * curv.lambda_max
        m |= {
            "lambda_max": curv.lambda_max,
            "lr": lr,
            "lr * lambda_max": r,
            "2/lambda_max": 2 / curv.lambda_max if curv.lambda_max > 0 else math.inf,
        }
        rules.append(why)
        if bound is not None and r > bound:
            verdict = "problem"
            said.append(f"η·λ_max = {r:.3g} exceeds {bound:g}: the step is unstable here")
            tips.append(f"lower --lr below {bound / curv.lambda_max:.3g}")
        elif bound is not None and r > 0.9 * bound and verdict == "fine":
            verdict = "watch"
            said.append(f"η·λ_max = {r:.3g} is at the edge of stability")
    if (
        curv is not None
        and _stationary(curv, hist)
        and curv.lambda_min < -NEGATIVE * abs(curv.lambda_max)
    ):
        verdict = "problem"
        said.append("‖∇L‖ ≈ 0 with λ_min < 0: a plateau at a saddle, not a minimum")
        tips.append("escape the saddle: a larger --lr, another --seed, or a larger init scale")
    if not m:
        return Finding("T", "unknown", "no history and no learning rate to judge convergence")
    return Finding(
        "T",
        verdict,
        "; ".join(said) or "converging normally",
        m,
        "GD contracts the error by max|1 − ηλ| per step near a minimum and diverges for "
        "η > 2/λ_max; a flat loss with a tiny gradient can be a saddle",
        rules,
        tips,
    )


def check_saturation(layers: list, at_init: list, scales: list[dict]) -> Finding:
    """S: σ'(z) ≈ 0 per hidden layer against a fresh init (dead ReLUs, flat sigmoid/tanh), and
    the signal's scale. ``layers``/``at_init``: :func:`ffnn.lab.saturation.saturation` of the
    network and of a freshly initialized copy, on the same data."""
    m, said, verdict = {}, [], "fine"
    for s, s0 in zip(layers, at_init, strict=True):
        excess = s.fraction - s0.fraction
        m[f"{s.name} ({s.activation}) saturated, at init, dead"] = [s.fraction, s0.fraction, s.dead]
        v = _grade(excess, SATURATED_WATCH, SATURATED_PROBLEM)
        v = max(v, _grade(s.dead, DEAD_WATCH, DEAD_PROBLEM), key=_RANK.__getitem__)
        if v != "fine":
            said.append(
                f"{s.name}: {s.fraction:.0%} of σ' ≈ 0 ({s0.fraction:.0%} at init), "
                f"{s.dead:.0%} of units dead"
            )
        verdict = max(verdict, v, key=_RANK.__getitem__)
    for r in scales:
        m[f"{r['node']} RMS z / at init"] = r["ratio"]
        if not 1 / SCALE_WATCH <= r["ratio"] <= SCALE_WATCH:
            said.append(f"{r['node']}: signal {r['ratio']:.3g}× its initial scale")
            verdict = max(verdict, "watch", key=_RANK.__getitem__)
    tips = []
    if verdict != "fine":
        tips = [
            "standardize the inputs (drop --no-standardize)",
            "use an initialization matched to σ (He for ReLU, Glorot/LeCun for tanh/sigmoid)",
            "try --activation relu or leaky_relu, or a smaller --lr (large steps kill ReLUs)",
        ]
    return Finding(
        "S",
        verdict,
        "; ".join(said) or "units pass gradient",
        m,
        "backprop multiplies by σ'(z^(l)) at every layer; where σ' ≈ 0 the unit stops learning "
        "(a ReLU has σ' = 0 on about half its inputs at any healthy point: counted against init)",
        [
            f"watch/problem if the saturated share exceeds its value at init by "
            f"{SATURATED_WATCH:.0%}/{SATURATED_PROBLEM:.0%}, or dead units pass "
            f"{DEAD_WATCH:.0%}/{DEAD_PROBLEM:.0%}; watch if RMS z leaves [1/{SCALE_WATCH:g}, "
            f"{SCALE_WATCH:g}]× its init"
        ],
        tips,
    )


_RANK = {"fine": 0, "unknown": 1, "watch": 2, "problem": 3}


def _grade(x: float, watch: float, problem: float) -> str:
    return "problem" if x > problem else "watch" if x > watch else "fine"


def _grad_reference(curv: Curvatures, hist) -> float:
    """The scale ‖∇L‖ is judged against: the larger of its largest value in training and
    √(2 λ_max L), the largest gradient a quadratic bowl of curvature λ_max allows at loss L above
    a floor of 0 (‖∇L‖² ≤ 2 λ_max (L − L*))."""
    gn = [g for g in (hist["grad_norm"] if hist is not None and "grad_norm" in hist else [])
          if g is not None]  # fmt: skip
    bowl = math.sqrt(max(2 * abs(curv.lambda_max) * max(curv.loss, 0.0), 1e-300))
    return max([bowl, *gn])


def _stationary(curv: Curvatures, hist) -> bool:
    return curv.grad_norm <= STATIONARY * _grad_reference(curv, hist)


def _saddle(curv: Curvatures, hist) -> bool:
    """‖∇L‖ ≈ 0, λ_min clearly negative, and L not yet down near the floor it started from."""
    negative = curv.lambda_min < -NEGATIVE * abs(curv.lambda_max)
    losses = [v for v in (hist["train_loss"] if hist is not None and len(hist) else []) if v]
    high = not losses or curv.loss > PLATEAU * losses[0]
    return _stationary(curv, hist) and negative and high


def check_minimum(curv: Curvatures | None, hist) -> Finding:
    """L: what the end point is — a minimum, a saddle, or a point still moving."""
    if curv is None:
        return Finding("L", "unknown", "no data to measure the gradient and the Hessian")
    ref = _grad_reference(curv, hist)
    m = {
        "loss": curv.loss,
        "grad norm": curv.grad_norm,
        "grad norm reference": ref,
        "lambda_min": curv.lambda_min,
        "lambda_max": curv.lambda_max,
        "examples": curv.n_examples,
    }
    restored = (
        hist is not None and hist.best_epoch is not None and hist.stop_reason in ("early_stopping",)
    )
    if not _stationary(curv, hist):
        kind = "still moving"
        verdict = "fine" if restored else "watch"
        summary = "still moving: ‖∇L‖ is not small" + (
            " (expected: early stopping restored an earlier epoch)" if restored else ""
        )
        tips = [] if restored else ["train longer (--epochs) or with a smaller --lr"]
    elif _saddle(curv, hist):
        kind, verdict, summary = "saddle", "problem", "a saddle: ‖∇L‖ ≈ 0 but λ_min < 0"
        tips = ["a saddle is escaped along its eigenvector: larger --lr, another --seed"]
    else:
        kind, verdict, summary = (
            "minimum",
            "fine",
            "a (local) minimum: ‖∇L‖ ≈ 0 and no clearly negative λ",
        )
        tips = []
    m["kind"] = kind
    return Finding(
        "L",
        verdict,
        summary,
        m,
        "at a critical point the Hessian's signs decide: all λ ≥ 0 a minimum, some λ < 0 a saddle",
        [
            f"critical point if ‖∇L‖ < {STATIONARY:g}× its reference; a saddle if also "
            f"λ_min < −{NEGATIVE:g}·λ_max and L > {PLATEAU:g}× its value at the start"
        ],
        tips,
        label=kind,
    )


def check_overfit(hist, p: int, n: int, restored: bool | None) -> Finding:
    """O: the train/validation gap along training, where validation was best, and capacity."""
    m = {"p": p, "n": n, "p / n": p / max(n, 1)}
    rule = [
        f"watch/problem if the final validation loss exceeds its best by {GAP_WATCH:.0%}/"
        f"{GAP_PROBLEM:.0%} and the best weights were not restored"
    ]
    if hist is None or "val_loss" not in hist:
        return Finding(
            "O",
            "unknown",
            "no validation loss in the history: the gap cannot be measured",
            m,
            "overfitting shows as a validation loss that rises while the training loss falls",
            rule,
            ["hold out a validation split (--validation 0.1) with early stopping"],
        )
    val = [v for v in hist["val_loss"]]
    tr = hist["train_loss"]
    best = int(np.nanargmin(np.array([np.nan if v is None else v for v in val], dtype=float)))
    final_gap = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
    m |= {
        "best validation epoch": best + 1,
        "epochs": len(val),
        "best val_loss": val[best],
        "final val_loss": val[-1],
        "final train_loss": tr[-1],
        "final val above best": final_gap,
        "restored best": bool(restored),
    }
    verdict, tips = "fine", []
    if restored:
        summary = f"validation was best at epoch {best + 1}, and those weights were restored"
    else:
        verdict = _grade(final_gap, GAP_WATCH, GAP_PROBLEM)
        summary = f"validation loss ends {final_gap:.0%} above its best (epoch {best + 1})" + (
            "" if verdict == "fine" else ": overfitting"
        )
        if verdict != "fine":
            tips = [
                "stop early: --patience 20 restores the best validation epoch",
                "fewer parameters (--hidden) or --weight-decay",
            ]
    return Finding(
        "O",
        verdict,
        summary,
        m,
        "with p ≫ n a network can fit the training set exactly; the validation loss says "
        "whether it still generalizes",
        rule,
        tips,
    )
