"""scikit-learn's estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from simmim_sklearn import SimMIMImputer, SimMIMTransformer

# Tiny models keep the checks fast; the defaults are exercised in the other tests.
TINY = dict(n_components=3, hidden_width=8, depth=1, max_iter=3, random_state=0)


@parametrize_with_checks([SimMIMTransformer(**TINY), SimMIMImputer(**TINY)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
