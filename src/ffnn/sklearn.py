"""Estimators for the scikit-learn ecosystem: :class:`FFNNClassifier` and :class:`FFNNRegressor`.

They take MLPClassifier's / MLPRegressor's parameters with the same names and meanings, so that
switching is a one-line change::

    from sklearn.neural_network import MLPClassifier      # before
    from ffnn.sklearn import FFNNClassifier as MLPClassifier   # after

and train an ffnn :class:`~ffnn.core.graph.Network` with :func:`ffnn.train.fit` (the stochastic
solvers) or SciPy's L-BFGS-B on the flat θ (``solver="lbfgs"``). The trained network is
``network_``, for the lab tools; ``coefs_[l]`` and ``intercepts_[l]`` are views into its θ in
MLPClassifier's layout, ``coefs_[l] = W^(l+1)ᵀ: (n_l, n_{l+1})``.

What the shared parameters mean here (and where it differs from scikit-learn)
-----------------------------------------------------------------------------
alpha
    L2 penalty on the weights W (not the biases b), exactly as in scikit-learn: each step
    minimizes the minibatch objective 1/B Σ_{i∈B} ℓ_i + α/(2B) Σ_l ‖W^(l)‖²_F, i.e. the step
    adds α W / B to ∂L/∂W. B is the nominal batch size min(batch_size, n_train) (scikit-learn
    uses each batch's own size, which differs only for the last, shorter batch of an epoch).
    L-BFGS minimizes 1/n Σ_i ℓ_i + α/(2n) Σ_l ‖W^(l)‖²_F over the whole training set. With
    sample weights, n (and B) become Σ_i w_i (B·w̄ per step, w̄ the mean training weight).
batch_size
    "auto" is min(200, n_train); an int is clipped to [1, n_train] (with a warning); ``None``
    (an ffnn extension) is full-batch gradient descent.
tol, n_iter_no_change, early_stopping, validation_fraction
    scikit-learn's rule, after every epoch: without early stopping, stop when the training loss
    (``loss_curve_``, penalty included) has not fallen below ``best_loss_ - tol`` for more than
    ``n_iter_no_change`` epochs; with early stopping, a stratified ``validation_fraction`` is held
    out, the score (accuracy / R²) is recorded in ``validation_scores_``, training stops when it
    has not risen above ``best_validation_score_ + tol`` for more than ``n_iter_no_change``
    epochs, and the weights of the best epoch are restored.
learning_rate
    "constant", "invscaling" (η_t = η / (t + 1)^power_t with t the number of samples seen, updated
    after each epoch) and "adaptive" (divide η by 5 whenever the rule above fires; stop when
    η ≤ 1e-6) apply to ``solver="sgd"`` exactly as in scikit-learn, and are ignored by the other
    solvers (scikit-learn ignores them for "adam" too). Use ``schedule=`` for ffnn's schedules
    ("cosine", "warmup+cosine", "step", ...) with any stochastic solver.
solver
    "adam", "sgd" (with ``momentum`` and ``nesterovs_momentum`` as in scikit-learn) and "lbfgs",
    and ffnn's own: "gd" (plain SGD, no momentum), "momentum", "nesterov", "rmsprop", "adamw", or
    an :class:`ffnn.train.Optimizer` object (then it carries its own learning rate and schedule).
    Adam here puts ε outside the bias correction, m̂ / (√v̂ + ε); scikit-learn uses
    m / (√v + ε) times the corrected rate, a difference of order ε.
loss
    Classifier: "log_loss" (cross-entropy with a softmax output for multiclass; binary
    cross-entropy with one sigmoid output for binary and multi-label targets, as in
    scikit-learn) or "mse" (the notes' 1/n Σ‖y − f‖² on the one-hot targets, same outputs).
    Regressor: "squared_error" (scikit-learn's half squared error 1/(2n) Σ‖y − f‖²), "mse" (the
    notes' 1/n Σ‖y − f‖², twice that), "mae", "huber", and "poisson": scikit-learn's half
    Poisson deviance Σ_k y log(y/μ) − y + μ with the log link μ = exp(z) (``out_activation_`` is
    "exp"; ``network_`` computes z = log μ with an identity output; ``predict`` returns μ).
sample_weight (fit, partial_fit)
    As in scikit-learn: every batch's loss is the weighted mean Σ_{i∈B} w_i ℓ_i / Σ_{i∈B} w_i
    (so its δ^(L+1) is w_i ∂ℓ_i/∂z_i / Σ_B w), the penalty is divided by Σ w instead of n, the
    early-stopping split keeps each example's weight and the validation score is the weighted
    accuracy / R². An integer weight k is k copies of the example (exactly, for full-batch
    training and L-BFGS); weight 0 removes it. Weights must be finite, >= 0, not all 0.
dtype
    ``None`` (default): as scikit-learn, compute in float32 when X is float32, else in float64;
    "float32" (the speed choice: about twice as fast) or "float64" whatever X is. ``coefs_``,
    ``intercepts_`` and θ are in that dtype. Predictions (``predict`` of the regressor,
    ``predict_proba``, ``predict_log_proba``, ``decision_function``) are float64 in every mode,
    computed in float64 from θ (so they do not depend on how X is split into rows). In float32
    mode a finite X beyond float32's range (|x| > 3.4e38) is refused with an FFNNError.
Warnings and divergence
    ConvergenceWarning when max_iter ends the run before the tol rule, and when training
    diverges (a non-finite loss, gradient or θ): the run stops there and keeps the last finite
    weights (θ before the diverging step; with early stopping, the best validation epoch's).
    scikit-learn instead raises ValueError("Solver produced non-finite parameter weights").
predict, predict_proba, predict_log_proba
    ``predict_proba`` is exp(``predict_log_proba``), both from the float64 logits, so
    log(predict_proba) equals predict_log_proba wherever it is finite; ties in ``predict`` go
    to the first class of ``classes_`` (argmax), a binary p = 1/2 to ``classes_[0]``, as in
    scikit-learn.
coefs_, intercepts_
    Views into θ; ``est.coefs_[l] = W`` and ``est.coefs_ = [...]`` write into θ (shapes
    checked). Assigned before the first fit, they are kept and become the starting θ of the next
    fit or partial_fit that builds the network.
random_state
    An int seeds a ``numpy.random.Generator`` (``np.random.default_rng(random_state)``) that draws
    the initial θ, the validation split and the shuffling, in that order; a ``RandomState``
    instance gives that generator its seed (and is advanced, as scikit-learn's would be);
    ``None`` draws fresh entropy.

Beyond MLPClassifier
--------------------
``activation`` may be a list with one name per hidden layer (any ffnn activation; "logistic" is
"sigmoid"); ``init``: an :class:`ffnn.Init`, a scheme name such as "he", a number C_W, a dict,
or "auto", MLPClassifier's weight initialization: Glorot uniform, W ~ U(±√(6 / (n_in + n_out))),
with zero biases (scikit-learn draws them from the same uniform) and this variance for
"logistic" too (scikit-learn uses a third of it); ``parameterization`` ("standard" or "ntk");
``schedule``; ``optimizer_params`` (extra hyperparameters of the
ffnn optimizer: rho, weight_decay, clip_norm, ...); multi-output regression; ``network_`` and
``history_`` (the :class:`ffnn.train.History` of the last call).

Sparse X
    SciPy CSR/CSC matrices and arrays (e.g. a TfidfVectorizer's output) are accepted by fit,
    partial_fit and the predictions: X is kept sparse (CSR rows, batches are row slices), the
    first layer computes z^(1) = X Wᵀ + b and ∂L/∂W^(1) = δ^(1)ᵀ X by sparse products; results
    equal those of X.toarray() to float rounding.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import sklearn
from scipy import sparse, special
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ffnn.errors import FFNNError

try:
    from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
except ImportError:
    validate_data = None

from ffnn.core.graph import Network, mlp
from ffnn.core.init import Init, as_init
from ffnn.core.losses import MSE, Loss, get_loss
from ffnn.train.lbfgs import L2OnWeights, lbfgs
from ffnn.train.loop import fit as ffnn_fit
from ffnn.train.optimizers import Block, Optimizer, chain, get_optimizer
from ffnn.train.schedules import get_schedule
from ffnn.train.stopping import AdaptiveRate, NoImprovement, RateMultiplier
from ffnn.train.weights import check_weights


def _sklearn_floor(version: str, found_api: bool = True, floor=(1, 6)) -> None:
    """FFNNError unless scikit-learn ``version`` is at least ``floor`` (validate_data, tags)."""
    try:
        got = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        got = floor  # a development version string: the API check decides
    if got < floor or not found_api:
        raise FFNNError(
            f"ffnn.sklearn needs scikit-learn >= {floor[0]}.{floor[1]}, found {version}; "
            "upgrade it: pip install -U 'scikit-learn>=1.6'"
        )


_sklearn_floor(sklearn.__version__, found_api=validate_data is not None)

__all__ = ["FFNNClassifier", "FFNNRegressor", "HalfSquaredError"]

_SKLEARN_SOLVERS = ("adam", "sgd", "lbfgs")
_SPARSE = ("csr", "csc")  # SciPy sparse X (matrices and arrays): the first layer keeps it sparse
_FFNN_SOLVERS = ("gd", "momentum", "nesterov", "rmsprop", "adamw")


class HalfSquaredError(MSE):
    """scikit-learn's "squared_error": L = 1/(2n) Σ_i ‖y_i − f(x_i)‖² (half the notes' MSE).

    L and δ are MSE's, halved (exact in binary floating point: the same bits as computing the
    half directly)."""

    name = "half_squared_error"

    def elementwise(self, r):
        return 0.5 * r * r, r.copy()

    def value_and_delta(self, z, y, output):
        value, delta = _MSE.value_and_delta(z, y, output)
        delta *= 0.5
        return 0.5 * value, delta

    def value_and_delta_into(self, z, Y, output, out=None):
        """The fit loop's path (Y checked beforehand): MSE's, with δ in ``out``, halved."""
        value, delta = _MSE.value_and_delta_into(z, Y, output, out=out)
        delta *= 0.5
        return 0.5 * value, delta

    def d2_elementwise(self, r):
        return np.ones_like(r)

    def per_example(self, z, Y, output):
        """ℓ_i = ½ ‖y_i − f(x_i)‖² (n,) (for sample weights, :mod:`ffnn.train.weights`)."""
        r = output.apply(z) - Y
        return 0.5 * np.square(r).sum(axis=1, dtype=np.float64)


_MSE = MSE()


class HalfPoissonDeviance(Loss):
    """scikit-learn's "poisson": the half Poisson deviance with the log link, from z = log μ:
    ℓ = Σ_k y_k log(y_k / μ_k) − y_k + μ_k with μ = exp(z);  δ = (exp(z) − y) / n.

    The network's output stays the identity (it computes z = log μ); the estimator's
    predictions are μ = exp(z) (``out_activation_ = "exp"``, as in MLPRegressor). Targets y ≥ 0.
    """

    name = "half_poisson_deviance"
    outputs = ("identity",)

    def per_example(self, z, Y, output):
        mu = np.exp(z)
        ell = special.xlogy(Y, Y) - Y * z - Y + mu
        return ell.sum(axis=1, dtype=np.float64)

    def value_and_delta(self, z, y, output):
        self.check_output(output)
        y = self._target(z, y)
        n = z.shape[0]
        value = float(self.per_example(z, y, output).sum() / n)
        return value, (np.exp(z) - y) / n


class _ParamList(Sequence):
    """``coefs_`` / ``intercepts_`` of a fitted estimator: item l is a view into θ, and
    assigning an item (``est.coefs_[0] = W``) writes W into θ (shape checked)."""

    def __init__(self, views: list[np.ndarray], what: str):
        self._views, self._what = views, what

    def __len__(self) -> int:
        return len(self._views)

    def __getitem__(self, l):
        return self._views[l]

    def __setitem__(self, l: int, value) -> None:
        view = self._views[l]
        value = np.asarray(value)
        if value.shape != view.shape and not (value.size == view.size and view.ndim == 1):
            raise FFNNError(
                f"{self._what}[{l}] has shape {view.shape}; got an array of shape {value.shape}"
            )
        view[...] = value.reshape(view.shape)

    def __repr__(self) -> str:
        return repr(list(self._views))


def _l2_block(penalty: L2OnWeights, strength: list[float]) -> Block:
    """u ← u + λ W on the weight blocks of θ only (biases are not penalized); λ = strength[0]."""

    def init(theta):
        return {}

    def apply(u, st, theta, t, tmp):
        return penalty.add_gradient(u, theta, strength[0], tmp)

    return Block("l2_W", init, apply, {"alpha_over_batch": strength[0]})


def _predict_input(est, X):
    """X checked against the fitted estimator (features, names), float32/64, dense or sparse."""
    return validate_data(est, X, dtype=(np.float64, np.float32), accept_sparse=_SPARSE, reset=False)


def _generator(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(int(random_state))
    rs = check_random_state(random_state)
    return np.random.default_rng(int(rs.randint(np.iinfo(np.int32).max)))


class _EpochScore:
    """After each epoch: the estimator's bookkeeping (``n_iter_``, ``t_``, ``loss_`` with the
    penalty, ``loss_curve_``, ``validation_scores_``, invscaling η), and the score that
    scikit-learn's no-improvement rule reads (the validation score, else ``loss_``)."""

    def __init__(self, est, n: int, bs: float, Xv, yv, wv, rate: RateMultiplier | None):
        self.est, self.n, self.bs, self.Xv, self.yv, self.rate = est, n, bs, Xv, yv, rate
        self.wv = wv
        self.penalty = L2OnWeights(est.network_, est.alpha)
        self.invscaling = (
            est.solver == "sgd" and rate is not None and est.learning_rate == "invscaling"
        )

    def __call__(self, net, epoch, logs) -> float:
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n
        est.loss_ = float(logs["train_loss"]) + self.penalty.value(net.theta, self.bs)
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        score = est.loss_
        if self.Xv is not None:
            score = est._val_score(self.Xv, self.yv, self.wv)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
        if self.invscaling:
            self.rate.value = 1.0 / (est.t_ + 1) ** est.power_t
        return score


class _BaseFFNN(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the solvers."""

    # --- parameters -------------------------------------------------------------------------
    def _keep(self, given: dict) -> None:
        """Store every ``__init__`` parameter as given (scikit-learn's rule: ``__init__`` keeps
        its arguments unchanged; ``fit`` checks them), from the ``locals()`` of ``__init__``."""
        for name in self._get_param_names():
            setattr(self, name, given[name])

    def _hidden(self) -> list[int]:
        h = self.hidden_layer_sizes
        h = [h] if not hasattr(h, "__iter__") else list(h)
        if any(not isinstance(k, (int, np.integer)) or k <= 0 for k in h):
            raise FFNNError(f"hidden_layer_sizes must be positive integers, got {h}")
        return [int(k) for k in h]

    def _activations(self, n_hidden: int) -> list[str]:
        a = self.activation
        acts = [a] * n_hidden if isinstance(a, str) else list(a)
        if len(acts) != n_hidden:
            raise FFNNError(
                f"activation has {len(acts)} entries for {n_hidden} hidden layers; give one name "
                "or one per hidden layer"
            )
        return ["sigmoid" if x == "logistic" else x for x in acts]

    def _init(self) -> Init:
        spec = self.init
        if isinstance(spec, str) and spec == "auto":
            init = Init(scheme="glorot", distribution="uniform")
        else:
            init = as_init(spec)
            if init is None:
                raise FFNNError("init must be 'auto', an Init, a scheme name, a number or a dict")
        if self.parameterization is not None:
            init = Init(**{**init.to_dict(), "parameterization": self.parameterization})
        return init

    def _check_params(self) -> None:
        def positive(name, value, allow_zero=False):
            ok = isinstance(value, (int, float, np.integer, np.floating)) and (
                value >= 0 if allow_zero else value > 0
            )
            if not ok:
                bound = ">= 0" if allow_zero else "> 0"
                raise FFNNError(f"{name} must be a number {bound}, got {value!r}")

        positive("alpha", self.alpha, allow_zero=True)
        positive("learning_rate_init", self.learning_rate_init)
        positive("tol", self.tol, allow_zero=True)
        positive("power_t", self.power_t, allow_zero=True)
        positive("epsilon", self.epsilon)
        v = self.n_iter_no_change
        if not (v == np.inf or (isinstance(v, (int, np.integer)) and not isinstance(v, bool))) or (
            v < 1
        ):
            raise FFNNError(f"n_iter_no_change must be an integer >= 1 or np.inf, got {v!r}")
        for name in ("max_iter", "max_fun"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise FFNNError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0 < self.validation_fraction < 1:
            raise FFNNError(
                f"validation_fraction must lie in (0, 1), got {self.validation_fraction!r}"
            )
        if not 0 <= self.momentum <= 1:
            raise FFNNError(f"momentum must lie in [0, 1], got {self.momentum!r}")
        for name in ("beta_1", "beta_2"):
            if not 0 <= getattr(self, name) < 1:
                raise FFNNError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise FFNNError(
                f"learning_rate must be 'constant', 'invscaling' or 'adaptive', got "
                f"{self.learning_rate!r}; ffnn's schedules go in schedule=..."
            )
        bs = self.batch_size
        if not (
            bs is None
            or (isinstance(bs, str) and bs == "auto")
            or (isinstance(bs, (int, np.integer)) and not isinstance(bs, bool))
        ):
            raise FFNNError(f"batch_size must be 'auto', an integer or None, got {bs!r}")
        s = self.solver
        if not isinstance(s, Optimizer) and s not in _SKLEARN_SOLVERS + _FFNN_SOLVERS:
            raise FFNNError(
                f"unknown solver {s!r}; choose one of {', '.join(_SKLEARN_SOLVERS + _FFNN_SOLVERS)}"
                " or pass an ffnn.train.Optimizer"
            )
        if s == "lbfgs" and self.schedule is not None:
            raise FFNNError("schedule applies to the stochastic solvers, not to solver='lbfgs'")
        if s == "sgd" and self.schedule is not None and self.learning_rate != "constant":
            raise FFNNError(
                f"pass either learning_rate={self.learning_rate!r} (scikit-learn's rule) or "
                "schedule=... (an ffnn schedule), not both"
            )
        if self.optimizer_params is not None and not isinstance(self.optimizer_params, dict):
            raise FFNNError(
                f"optimizer_params must be a dict or None, got {type(self.optimizer_params)}"
            )
        if self.dtype is not None:
            try:
                np_dtype = np.dtype(self.dtype)
            except TypeError:
                np_dtype = None
            if np_dtype not in (np.float32, np.float64):
                raise FFNNError(
                    f"dtype must be None (follow X), 'float32' or 'float64', got {self.dtype!r}"
                )

    # --- the network ------------------------------------------------------------------------
    def _dtype_for(self, X) -> np.dtype:
        """The network's dtype: ``dtype`` if given, else X's (float32 X → float32, else float64)."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)

    def _new_network(self, n_in: int, n_out: int, output: str, rng, dtype) -> Network:
        hidden = self._hidden()
        acts = self._activations(len(hidden))
        return mlp(
            [n_in, *hidden, n_out],
            acts,
            output=output,
            init=self._init(),
            rng=rng,
            dtype=dtype,
        )

    @property
    def coefs_(self) -> _ParamList:
        """W^(l)ᵀ: (n_{l-1}, n_l) for l = 1..L+1: views into ``network_.theta``; assigning an
        item or the whole list writes into θ. Before fit, assigned lists are kept and become
        the starting point of the next fit or partial_fit that builds the network."""
        if "network_" not in self.__dict__ and "_coefs_given" in self.__dict__:
            return self._coefs_given
        check_is_fitted(self, "network_")
        return _ParamList([W.T for W, _ in self.network_.params], "coefs_")

    @coefs_.setter
    def coefs_(self, values) -> None:
        if "network_" not in self.__dict__:
            self._coefs_given = [np.array(v) for v in values]
            return
        target = self.coefs_
        values = list(values)
        if len(values) != len(target):
            raise FFNNError(f"coefs_ needs {len(target)} arrays, got {len(values)}")
        for l, v in enumerate(values):
            target[l] = v

    @property
    def intercepts_(self) -> _ParamList:
        """b^(l): (n_l,) for l = 1..L+1: views into ``network_.theta`` (assignable as coefs_)."""
        if "network_" not in self.__dict__ and "_intercepts_given" in self.__dict__:
            return self._intercepts_given
        check_is_fitted(self, "network_")
        return _ParamList([b for _, b in self.network_.params], "intercepts_")

    @intercepts_.setter
    def intercepts_(self, values) -> None:
        if "network_" not in self.__dict__:
            self._intercepts_given = [np.array(v) for v in values]
            return
        target = self.intercepts_
        values = list(values)
        if len(values) != len(target):
            raise FFNNError(f"intercepts_ needs {len(target)} arrays, got {len(values)}")
        for l, v in enumerate(values):
            target[l] = v

    def _use_given_params(self) -> None:
        """Write coefs_/intercepts_ assigned before the network existed into its θ."""
        coefs = self.__dict__.pop("_coefs_given", None)
        intercepts = self.__dict__.pop("_intercepts_given", None)
        if coefs is not None:
            self.coefs_ = coefs
        if intercepts is not None:
            self.intercepts_ = intercepts

    def _batch(self, n: int) -> int:
        bs = self.batch_size
        if bs is None:
            return n
        if isinstance(bs, str):
            return min(200, n)
        if bs < 1 or bs > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=3,
            )
        return int(np.clip(bs, 1, n))

    def _optimizer(
        self, steps_per_epoch: int
    ) -> tuple[Optimizer, RateMultiplier | None, list[float]]:
        """The ffnn optimizer: L2 on W (α/B, set per call), then the solver's chain."""
        strength = [0.0]
        l2 = _l2_block(L2OnWeights(self.network_, self.alpha), strength)
        s = self.solver
        if isinstance(s, Optimizer):
            return chain(l2, s, name=s.name), None, strength
        name, hyper = self._solver_hyper()
        sched = None
        if self.schedule is not None:
            sched = get_schedule(
                self.schedule,
                total_steps=self.max_iter * steps_per_epoch,
                steps_per_epoch=steps_per_epoch,
            )
        rate = RateMultiplier(sched)
        base = get_optimizer(name, self.learning_rate_init, rate, **hyper)
        return chain(l2, base, name=name), rate, strength

    def _solver_hyper(self) -> tuple[str, dict]:
        """The ffnn optimizer's name and hyperparameters for a solver named by a string."""
        s, hyper = self.solver, {}
        if s == "sgd":
            name = "nesterov" if self.nesterovs_momentum else "momentum"
            if self.momentum == 0:
                name = "sgd"
            if name != "sgd":
                hyper["momentum"] = self.momentum
        else:
            name = s
            if s in ("momentum", "nesterov"):
                hyper["momentum"] = self.momentum
            elif s in ("adam", "adamw"):
                hyper.update(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
            elif s == "rmsprop":
                hyper["eps"] = self.epsilon
        hyper.update(self.optimizer_params or {})
        return name, hyper

    # --- fitting ----------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, incremental: bool):
        self._check_params()
        if incremental and self.solver == "lbfgs":
            raise FFNNError("partial_fit needs a stochastic solver, not solver='lbfgs'")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        w = None
        if sample_weight is not None:
            w = check_weights(_check_sample_weight(sample_weight, X, dtype=np.float64), X.shape[0])
        n_features, n_out = X.shape[1], Y.shape[1]
        loss, output = self._loss_and_output()
        if first_pass:
            self._start(n_features, n_out, output, self._dtype_for(X))
        else:
            widths = [n_features, *self._hidden(), n_out]
            dtype = self.network_.dtype if self.dtype is None else np.dtype(self.dtype)
            if self.network_.widths != widths or self.network_.dtype != dtype:
                raise FFNNError(
                    f"warm start / partial_fit needs the same architecture: the fitted network "
                    f"has widths {self.network_.widths} ({self.network_.dtype}), the parameters "
                    f"now give {widths} ({dtype}); set warm_start=False to refit"
                )
            if not incremental:
                self._rng = _generator(self.random_state)
        X = self._in_range(X)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, w, loss)
        else:
            self._fit_stochastic(X, Y, w, loss, incremental)
        return self

    def _start(self, n_features: int, n_out: int, output: str, dtype) -> None:
        """A new network (θ from coefs_/intercepts_ assigned before, if any) and bookkeeping."""
        self._rng = _generator(self.random_state)
        self.network_ = self._new_network(n_features, n_out, output, self._rng, dtype)
        self._use_given_params()
        self.n_outputs_ = n_out
        self.n_layers_ = len(self._hidden()) + 2
        self.out_activation_ = self._out_activation(output)
        self.n_iter_ = 0
        self.t_ = 0
        self._state = None
        self._lr_scale = 1.0
        self._no_improvement_count = 0
        self.loss_curve_ = []
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _out_activation(self, output: str) -> str:
        return {"sigmoid": "logistic"}.get(output, output)

    def _in_range(self, X):
        """X in the network's dtype; FFNNError when a finite X overflows it (float32 mode)."""
        dtype = self.network_.dtype
        if X.dtype != dtype and X.size:
            top = float(abs(X).max())  # (a sparse X too)
            if top > float(np.finfo(dtype).max):
                raise FFNNError(
                    f"X holds values up to {top:.3g}, beyond the range of {dtype} "
                    f"({np.finfo(dtype).max:.3g}): use dtype='float64' (or None, to follow X) "
                    "or scale X, e.g. with a StandardScaler"
                )
        return X if X.dtype == dtype else X.astype(dtype)

    def _split(self, X, Y, w):
        """(X, Y, w, Xv, yv, wv): scikit-learn's stratified validation split (sample weights
        split alongside) when early stopping."""
        if not self.early_stopping:
            return X, Y, w, None, None, None
        seed = int(self._rng.integers(np.iinfo(np.int32).max))
        arrays = (X, Y) if w is None else (X, Y, w)
        parts = train_test_split(
            *arrays, random_state=seed, test_size=self.validation_fraction,
            stratify=self._stratify(Y),
        )  # fmt: skip
        X, Xv, Y, Yv = parts[:4]
        w, wv = (None, None) if w is None else parts[4:]
        if Xv.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        return X, Y, w, Xv, self._decode(Yv), wv

    def _fit_stochastic(self, X, Y, w, loss: Loss, incremental: bool) -> None:
        X, Y, w, Xv, yv, wv = self._split(X, Y, w)
        n = X.shape[0]
        bs = self._batch(n)
        opt, rate, strength = self._optimizer(-(-n // bs))
        scale = bs * (1.0 if w is None else float(w.mean()))  # α/(B w̄): α/Σw on a full batch
        strength[0] = self.alpha / scale
        if not incremental or self._state is None:
            self._state = None
            self._lr_scale = 1.0
        if rate is not None:
            rate.value = self._lr_scale
        rule = self._no_improvement(_EpochScore(self, n, scale, Xv, yv, wv, rate), rate)
        self.n_iter_ = 0
        with warnings.catch_warnings():  # divergence is reported below, as ConvergenceWarning
            warnings.filterwarnings("ignore", "training diverged", RuntimeWarning)
            hist = ffnn_fit(
                self.network_, X, Y, loss, optimizer=opt, batch_size=bs,
                epochs=1 if incremental else self.max_iter, callbacks=[rule], rng=self._rng,
                progress=False, state=self._state, shuffle=bool(self.shuffle), sample_weight=w,
            )  # fmt: skip
        self._after_stochastic(hist, rule, rate, incremental)

    def _after_stochastic(self, hist, rule: NoImprovement, rate, incremental: bool) -> None:
        """Keep the optimizer state and the rule's counts; restore the best θ (early
        stopping); ConvergenceWarning on divergence or when max_iter ran out."""
        self.history_ = hist
        self._state = {
            "optimizer": {
                k: v for k, v in hist.state["optimizer"].items() if not k.startswith("_")
            },
            "epoch": hist.state["epoch"],
        }
        if rate is not None:
            self._lr_scale = rate.value
        self._no_improvement_count = rule.count
        if self.early_stopping:
            self.best_validation_score_ = rule.best
            rule.restore(self.network_)
        else:
            self.best_loss_ = rule.best
        if hist.diverged:
            kept = "of the best validation score" if self.early_stopping else "before that step"
            warnings.warn(
                f"Stochastic Optimizer: {hist.message}. The weights are the last finite ones "
                f"({kept}); lower learning_rate_init or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        elif (
            not incremental
            and rule.message is None
            and self.n_iter_ == self.max_iter
            and hist.stop_reason == "max_epochs"
        ):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _no_improvement(self, score, rate) -> NoImprovement:
        """scikit-learn's rule on the training loss, or on the validation score (keeping the
        best θ) with early stopping; adaptive η for solver="sgd"."""
        early = self.early_stopping
        adaptive = None
        if self.solver == "sgd" and rate is not None and self.learning_rate == "adaptive":
            adaptive = AdaptiveRate(rate, self.learning_rate_init)
        return NoImprovement(
            score, self.tol, self.n_iter_no_change, maximize=early,
            best=self.best_validation_score_ if early else self.best_loss_,
            count=self._no_improvement_count, keep_best=self.network_.theta if early else None,
            adaptive=adaptive, verbose=self.verbose,
        )  # fmt: skip

    def _fit_lbfgs(self, X, Y, w, loss: Loss) -> None:
        net = self.network_
        X = X if sparse.issparse(X) else np.ascontiguousarray(X, dtype=net.dtype)
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        curve: list[float] = []
        last_finite = net.theta.copy()

        def on_iteration(L: float) -> None:
            curve.append(L)
            if np.isfinite(L) and np.isfinite(net.theta).all():
                np.copyto(last_finite, net.theta)
            if self.verbose:
                print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

        res = lbfgs(
            net, X, Y, loss, penalty=L2OnWeights(net, self.alpha), max_iter=self.max_iter,
            max_fun=self.max_fun, gtol=self.tol, callback=on_iteration, sample_weight=w,
        )  # fmt: skip
        self.n_iter_ = int(res.nit)
        self.loss_ = float(res.fun)
        self.loss_curve_ = curve
        self.t_ += X.shape[0] * self.n_iter_
        self.history_ = None
        if not np.isfinite(net.theta).all() or not np.isfinite(self.loss_):
            np.copyto(net.theta, last_finite)
            warnings.warn(
                "lbfgs: the loss or the weights became non-finite; the weights are those of "
                "the last finite iteration. Scale the data or increase alpha.",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif res.status == 1:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status=1): "
                f"{res.message}. Increase the number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _output(self, X) -> np.ndarray:
        """z^(L+1)(X): (n, n_out), computed in float64 from θ (a float32 θ is exact in float64),
        in chunks of rows: predictions do not depend on how X is split into batches."""
        net = self.network_
        net = net if net.dtype == np.float64 else net.astype(np.float64)
        X = X.tocsr() if sparse.issparse(X) else X  # row chunks of a sparse X
        out = np.empty((X.shape[0], net.output_node.dim), dtype=np.float64)
        for a in range(0, X.shape[0], 8192):
            out[a : a + 8192] = net.z_out(X[a : a + 8192])
        return out

    # --- pickling: θ and the architecture, so θ and its W, b views survive ------------------
    def __getstate__(self):
        state = super().__getstate__()
        net = state.get("network_")
        if isinstance(net, Network):
            state = dict(state)
            state["network_"] = {"ffnn_config": net.config(), "theta": net.theta.copy()}
        return state

    def __setstate__(self, state):
        net = state.get("network_")
        if isinstance(net, dict) and "ffnn_config" in net:
            state = dict(state)
            rebuilt = Network.from_config(net["ffnn_config"])
            rebuilt.theta[...] = net["theta"]
            state["network_"] = rebuilt
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _partial_fit_available(self) -> bool:
        return self.solver != "lbfgs"


# --- the docstrings' shared sections ------------------------------------------------------------
# Both estimators take MLPClassifier's and MLPRegressor's common parameters and have the same
# fitted attributes: written once here, put into each class docstring by ``_shared_docs``.
_DOCS = {
    "parameters": """hidden_layer_sizes : int or sequence of int, default (100,)
        The hidden widths n_1, …, n_L; the ith element is the number of units of the ith
        hidden layer. The input width n_0 and output width n_{L+1} come from the data.
    activation : str or sequence of str, default "relu"
        σ of the hidden layers: "identity", "logistic" (= "sigmoid"), "tanh", "relu", or any
        ffnn activation ("leaky_relu", "elu", "gelu", "softplus", "erf", …); a list gives one
        name per hidden layer (ffnn extension).
    solver : str or ffnn.train.Optimizer, default "adam"
        "adam", "sgd" (with ``momentum`` and ``nesterovs_momentum``) or "lbfgs" (SciPy's
        L-BFGS-B on the flat θ, full batch), as in scikit-learn; ffnn adds "gd" (plain SGD, no
        momentum), "momentum", "nesterov", "rmsprop" and "adamw", or an Optimizer object that
        carries its own learning rate and schedule.
    alpha : float, default 1e-4
        Strength of the L2 penalty on the weights W^(l) (not the biases): each step adds
        α W / B to ∂L/∂W, B the nominal batch size, as in scikit-learn.
    batch_size : int, "auto" or None, default "auto"
        Examples per step: "auto" is min(200, n_train); an int is clipped to [1, n_train] (with
        a warning); None is full-batch gradient descent (ffnn extension). Unused by "lbfgs".
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The step-size rule for ``solver="sgd"``, exactly as in scikit-learn: constant η;
        η_t = η / (t + 1)^power_t with t the samples seen; or η divided by 5 each time the
        stopping rule fires (stop when η ≤ 1e-6). Ignored by the other solvers; ``schedule``
        gives any solver a schedule.
    learning_rate_init : float, default 1e-3
        The initial step size η (not used by "lbfgs").
    power_t : float, default 0.5
        The exponent of "invscaling".
    max_iter : int, default 200
        The maximum number of epochs (stochastic solvers) or of iterations ("lbfgs").
    shuffle : bool, default True
        Draw a new order of the training examples every epoch.
    random_state : int, numpy.random.RandomState or None, default None
        An int seeds the ``numpy.random.Generator`` that draws the initial θ, the validation
        split and the shuffling, in that order, so a fit is reproducible; a RandomState gives
        that generator its seed; None draws fresh entropy.
    tol : float, default 1e-4
        Tolerance of the stopping rule: without early stopping, stop when the training loss has
        not fallen below ``best_loss_ - tol`` for more than ``n_iter_no_change`` epochs; with
        it, when the validation score has not risen above ``best_validation_score_ + tol``.
        For "lbfgs", the gradient tolerance.
    verbose : bool, default False
        Print the loss (and validation score) after every epoch.
    warm_start : bool, default False
        ``fit`` continues from the previous ``network_`` (same architecture) instead of a new
        initialization.
    momentum : float, default 0.9
        Momentum of ``solver="sgd"``, in [0, 1].
    nesterovs_momentum : bool, default True
        Nesterov's momentum for ``solver="sgd"`` when ``momentum > 0``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified by class for the
        classifier), stop when its score stops improving (see ``tol``) and restore the weights
        of the best epoch.
    validation_fraction : float, default 0.1
        The share held out for early stopping, in (0, 1).
    beta_1, beta_2 : float, default 0.9 and 0.999
        Adam's decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float, default 1e-8
        Adam's ε (here outside the bias correction, m̂ / (√v̂ + ε)).
    n_iter_no_change : int, default 10
        Epochs without an improvement of more than ``tol`` before stopping.
    max_fun : int, default 15000
        The maximum number of loss evaluations of "lbfgs".""",
    "ffnn_parameters": """schedule : str, dict, callable or None, default None
        An ffnn schedule s(t) multiplying η at step t ("cosine", "warmup+cosine", "step",
        "exponential", …; see :func:`ffnn.train.get_schedule`), for any stochastic solver.
    init : "auto", str, float, dict or ffnn.Init, default "auto"
        The initialization of W and b: "auto" is MLPClassifier's (Glorot uniform,
        W ~ U(±√(6 / (n_in + n_out))), zero biases); a scheme name ("he", "lecun", "glorot"),
        a number C_W (Var W = C_W / n_in), a dict of :class:`ffnn.Init` fields, or an Init.
    parameterization : {"standard", "ntk"} or None, default None
        The NTK parameterization scales each layer's output by 1/√n_in instead of the weights
        (the lab's infinite-width theory); None keeps the one of ``init``.
    dtype : {"float32", "float64"} or None, default None
        The float type of θ and of the computation: None follows X (float32 when X is float32,
        else float64), as scikit-learn does; "float32" is about twice as fast. Predictions are
        float64 in every mode.
    optimizer_params : dict or None, default None
        Further hyperparameters of the ffnn optimizer (rho, weight_decay, clip_norm, …).""",
    "attributes": """n_features_in_ : int
        The number of input columns n_0 seen by ``fit``.
    feature_names_in_ : ndarray of str, shape (n_0,)
        The column names of X, when X had string column names (a DataFrame).
    network_ : ffnn.Network
        The trained network: ``network_(X)`` is f(x), and every lab tool applies to it.
    history_ : ffnn.History
        The per-epoch records of the last ``fit`` or ``partial_fit`` (loss, validation score,
        gradient norm, step size, time).
    coefs_ : list of ndarray
        ``coefs_[l]`` is W^(l+1)ᵀ: (n_l, n_{l+1}), scikit-learn's layout; a view into θ.
    intercepts_ : list of ndarray
        ``intercepts_[l]`` is b^(l+1): (n_{l+1},); a view into θ.
    loss_ : float
        The training loss of the last epoch (penalty included, scikit-learn's definition).
    loss_curve_ : list of float
        The training loss of every epoch (stochastic solvers).
    best_loss_ : float or None
        The lowest training loss seen (None with early stopping).
    validation_scores_ : list of float or None
        The validation score of every epoch, with early stopping (else None).
    best_validation_score_ : float or None
        The best validation score, with early stopping (else None).
    n_iter_ : int
        The number of epochs (or L-BFGS iterations) run.
    t_ : int
        The number of training samples seen (epochs × n_train for the stochastic solvers).
    n_outputs_ : int
        n_{L+1}, the number of outputs.
    n_layers_ : int
        L + 2: the input, the hidden and the output layer.""",
}


def _shared_docs(cls):
    """The class with ``%(parameters)s``, ``%(ffnn_parameters)s`` and ``%(attributes)s`` in
    its docstring replaced by the shared sections (``python -OO`` strips docstrings: kept None)."""
    if cls.__doc__:
        cls.__doc__ = cls.__doc__ % _DOCS
    return cls


@_shared_docs
class FFNNClassifier(ClassifierMixin, _BaseFFNN):
    """A feed-forward network classifier with MLPClassifier's parameters, trained by ffnn.

    The network is z^(1) = W^(1) x + b^(1), x^(l) = σ(z^(l)), …, f(x) = φ_out(z^(L+1)) with
    the hidden widths ``hidden_layer_sizes``. Multiclass targets get a softmax output and
    cross-entropy; binary and multi-label targets one sigmoid output per label and binary
    cross-entropy, as in scikit-learn. Labels may be any hashable values (``classes_`` holds them
    sorted); y may be a 2-D 0/1 indicator matrix for multi-label classification. Training is
    :func:`ffnn.fit` for the stochastic solvers, or SciPy's L-BFGS-B on the flat θ.

    Every parameter of :class:`sklearn.neural_network.MLPClassifier` is accepted with the same
    name, default and meaning, so ``from ffnn.sklearn import FFNNClassifier as MLPClassifier``
    is a one-line switch; the parameters after ``max_fun`` are ffnn's additions.

    Parameters
    ----------
    %(parameters)s
    loss : {"log_loss", "mse"}, default "log_loss"
        "log_loss" is cross-entropy (softmax, multiclass) or binary cross-entropy (sigmoid
        outputs); "mse" is the notes' 1/n Σ‖y − f‖² on the one-hot targets, same outputs.
    %(ffnn_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,), or list of such arrays for multi-label y
        The class labels, sorted.
    %(attributes)s
    out_activation_ : str
        φ_out: "softmax", "logistic" or "identity".

    See Also
    --------
    FFNNRegressor : the regressor with MLPRegressor's parameters.
    sklearn.neural_network.MLPClassifier : scikit-learn's classifier, with the same parameters.

    Notes
    -----
    X may be dense or SciPy sparse (CSR/CSC, kept sparse in the first layer), and ``fit`` and
    ``partial_fit`` take ``sample_weight`` as scikit-learn's estimators do. Differences from
    scikit-learn: the Glorot-uniform ``init`` of "auto" draws zero biases and uses the same
    variance for "logistic" (scikit-learn draws biases too and uses a third of the variance for
    the logistic); Adam's ε sits outside the bias correction; a diverging run warns and keeps
    the last finite weights instead of raising. The module documentation of
    :mod:`ffnn.sklearn` details each shared parameter.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from ffnn.sklearn import FFNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = FFNNClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    >>> clf.predict_proba(X_test[:2]).shape
    (2, 10)
    >>> clf.network_.widths
    [64, 64, 10]
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str | Optimizer = "adam",
        alpha: float = 0.0001,
        batch_size: int | str | None = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state=None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        loss: str = "log_loss",
        schedule=None,
        init="auto",
        parameterization: str | None = None,
        dtype=None,
        optimizer_params: dict | None = None,
    ):
        self._keep(locals())

    # --- targets ----------------------------------------------------------------------------
    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32),
            accept_sparse=_SPARSE, reset=reset,
        )  # fmt: skip
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(np.float64)
        return X, Y

    def _loss_and_output(self) -> tuple[Loss, str]:
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        output = "softmax" if multiclass else "sigmoid"
        if self.loss in ("log_loss", "cross_entropy"):
            return get_loss("cross_entropy" if multiclass else "binary_cross_entropy"), output
        if self.loss == "mse":
            return get_loss("mse"), output
        raise FFNNError(f"loss must be 'log_loss' or 'mse' for a classifier, got {self.loss!r}")

    def _stratify(self, Y):
        return Y if Y.shape[1] == 1 or self._label_binarizer.y_type_ == "multiclass" else None

    def _decode(self, F: np.ndarray):
        """Labels from outputs (probabilities) or binarized targets F: (n, n_out)."""
        if F.shape[1] == 1:
            F = F.ravel()
        return self._label_binarizer.inverse_transform(F)

    def _val_score(self, Xv, yv, wv=None) -> float:
        F = self._probabilities(self._output(Xv))
        return float(accuracy_score(yv, self._decode(F), sample_weight=wv))

    def _log_f(self, z: np.ndarray) -> np.ndarray:
        """log φ_out(z) from the float64 logits z: (n, n_out), stably: log softmax(z) =
        z − logsumexp(z), log σ(z) = −softplus(−z) (finite where φ_out rounds to 0 or 1)."""
        if self.network_.output.name == "softmax":
            return z - special.logsumexp(z, axis=1, keepdims=True)
        return -np.logaddexp(0.0, -z)

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        """φ_out(z) = exp(log φ_out(z)): (n, n_out) in float64 (softmax rows or sigmoids)."""
        return np.exp(self._log_f(z))

    # --- API --------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on X: (n, n_features) and y: labels (n,) or a 0/1 indicator matrix (n, K).

        ``sample_weight`` (n,): weights w_i >= 0; each batch's loss is Σ w_i ℓ_i / Σ w_i (see
        the module doc). A new network unless ``warm_start`` (then training continues from
        ``network_`` with a fresh optimizer state, as in scikit-learn). Returns self.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._partial_fit_available())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y) (weighted by ``sample_weight``), continuing the optimizer
        state of the previous calls.

        ``classes`` (all labels that will ever be seen) is required on the first call, unless y is
        a multi-label indicator matrix.
        """
        if not hasattr(self, "classes_"):
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer = LabelBinarizer().fit(y)
            elif classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            else:
                self._label_binarizer = LabelBinarizer().fit(np.asarray(classes))
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), np.sort(self.classes_)
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                f"{self.classes_!r}"
            )
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_X(self, X):
        check_is_fitted(self, "network_")
        return _predict_input(self, X)

    def decision_function(self, X) -> np.ndarray:
        """The logits z^(L+1): (n,) for a binary problem, else (n, n_classes)."""
        z = self._output(self._check_X(X))
        return z.ravel() if z.shape[1] == 1 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, n_classes) in float64, in the order of ``classes_`` (for
        multi-label targets: each label's probability, (n, n_labels)), from the logits in
        float64: exp of :meth:`predict_log_proba` (so log of them equals it wherever finite)."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """log of :meth:`predict_proba`, computed from the float64 logits (finite where the
        probability rounds to 0 or 1): log softmax(z) = z − logsumexp(z), log σ(z) = −softplus(−z).
        """
        z = self._output(self._check_X(X))
        if z.shape[1] == 1:
            z = np.hstack([-z, z])  # log(1 − σ(z)) = log σ(−z)
        return self._log_f(z)

    def predict(self, X):
        """The most probable class of each row (labels of ``classes_``; ties go to the first
        class, as scikit-learn's argmax; a binary p = 1/2 gives classes_[0]); for multi-label
        targets the indicator matrix of the labels with probability > 1/2."""
        return self._decode(self._probabilities(self._output(self._check_X(X))))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_shared_docs
class FFNNRegressor(RegressorMixin, _BaseFFNN):
    """A feed-forward network regressor with MLPRegressor's parameters, trained by ffnn.

    The network is z^(1) = W^(1) x + b^(1), x^(l) = σ(z^(l)), …, f(x) = z^(L+1) (an identity
    output per target), with the hidden widths ``hidden_layer_sizes``. y may be (n,) or
    (n, n_outputs) for multi-output regression. Training is :func:`ffnn.fit` for the stochastic
    solvers, or SciPy's L-BFGS-B on the flat θ.

    Every parameter of :class:`sklearn.neural_network.MLPRegressor` is accepted with the same
    name, default and meaning, so ``from ffnn.sklearn import FFNNRegressor as MLPRegressor`` is
    a one-line switch; the parameters after ``max_fun`` are ffnn's additions.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "mse", "mae", "huber"}, default "squared_error"
        "squared_error" is scikit-learn's half squared error 1/(2n) Σ‖y − f‖²; "poisson"
        scikit-learn's half Poisson deviance with the log link μ = exp(z) (targets y ≥ 0);
        "mse" the notes' 1/n Σ‖y − f‖² (twice that); "mae" and "huber" are ffnn's.
    %(parameters)s
    %(ffnn_parameters)s

    Attributes
    ----------
    %(attributes)s
    out_activation_ : str
        φ_out: "identity", or "exp" for ``loss="poisson"`` (``predict`` returns μ = exp(z)).

    See Also
    --------
    FFNNClassifier : the classifier with MLPClassifier's parameters.
    sklearn.neural_network.MLPRegressor : scikit-learn's regressor, with the same parameters.

    Notes
    -----
    The score is R² (as for every scikit-learn regressor). Differences from scikit-learn are
    those listed for :class:`FFNNClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from ffnn.sklearn import FFNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (200, 2)); y = np.sin(3 * X[:, 0]) * X[:, 1]
    >>> reg = FFNNRegressor(hidden_layer_sizes=(32, 32), learning_rate_init=1e-2,
    ...                     max_iter=300, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str | Optimizer = "adam",
        alpha: float = 0.0001,
        batch_size: int | str | None = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state=None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        schedule=None,
        init="auto",
        parameterization: str | None = None,
        dtype=None,
        optimizer_params: dict | None = None,
    ):
        self._keep(locals())

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            accept_sparse=_SPARSE,
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if self.loss == "poisson" and (np.asarray(Y) < 0).any():
            raise FFNNError(
                "loss='poisson' needs targets y >= 0 (counts or rates); some are negative"
            )
        return X, np.asarray(Y, dtype=np.float64)

    def _loss_and_output(self) -> tuple[Loss, str]:
        if self.loss == "squared_error":
            return HalfSquaredError(), "identity"
        if self.loss in ("mse", "mae", "huber"):
            return get_loss(self.loss), "identity"
        if self.loss == "poisson":
            return HalfPoissonDeviance(), "identity"
        raise FFNNError(
            f"loss must be 'squared_error', 'poisson', 'mse', 'mae' or 'huber' for a regressor, "
            f"got {self.loss!r}"
        )

    def _out_activation(self, output: str) -> str:
        return "exp" if self.loss == "poisson" else output

    def _mean(self, z: np.ndarray) -> np.ndarray:
        """The prediction from z^(L+1) (float64): exp(z) for loss='poisson', else z."""
        return np.exp(z) if self.out_activation_ == "exp" else z

    def _stratify(self, Y):
        return None

    def _decode(self, F):
        return F.ravel() if F.shape[1] == 1 else F

    def _val_score(self, Xv, yv, wv=None) -> float:
        return float(r2_score(yv, self._decode(self._mean(self._output(Xv))), sample_weight=wv))

    def fit(self, X, y, sample_weight=None):
        """Train on X: (n, n_features) and y: (n,) or (n, n_outputs), each example weighted by
        ``sample_weight`` (n,) if given (see the module doc). Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._partial_fit_available())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the optimizer state of the previous calls."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """f(X) in float64: (n,) for one output, else (n, n_outputs); exp(z) for 'poisson'."""
        check_is_fitted(self, "network_")
        X = _predict_input(self, X)
        return self._decode(self._mean(self._output(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
