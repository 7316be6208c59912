"""scikit-learn's own estimator checks on FFNNClassifier and FFNNRegressor."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from ffnn.sklearn import FFNNClassifier, FFNNRegressor

FLOAT32_MULTIOUTPUT = (
    "predictions come in the network's dtype, float32 by default (the arithmetic is float32); "
    "this check demands float64 multi-output predictions. With dtype='float64' it passes."
)


def _expected_failed(estimator) -> dict[str, str]:
    if isinstance(estimator, FFNNRegressor) and estimator.dtype == "float32":
        return {"check_regressor_multioutput": FLOAT32_MULTIOUTPUT}
    return {}


ESTIMATORS = [
    FFNNClassifier(random_state=0),
    FFNNRegressor(random_state=0),
    FFNNClassifier(random_state=0, dtype="float64"),
    FFNNRegressor(random_state=0, dtype="float64"),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=_expected_failed,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
