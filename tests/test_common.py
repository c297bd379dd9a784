"""scikit-learn's estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from simmim_sklearn import SimMIMForecaster, SimMIMImputer, SimMIMTransformer

# Tiny models keep the checks fast; the defaults are exercised in the other tests.
TINY = dict(n_components=3, hidden_width=8, depth=1, max_iter=3, random_state=0)


# The checks change n_features between calls, which a fixed input_shape forbids by design;
# with input_shape=None, "conv" and "transformer" read a tabular row as a (1, n_features)
# sequence of single-feature tokens, so every check applies to them unchanged.
@parametrize_with_checks([
    SimMIMTransformer(**TINY),
    SimMIMTransformer(encoder="conv", **TINY),
    SimMIMTransformer(encoder="transformer", **TINY),
    SimMIMImputer(**TINY),
    # cv=2: some checks fit on a handful of rows, too few for five time-series splits.
    SimMIMForecaster(transformer=SimMIMTransformer(encoder="conv", **TINY), cv=2),
])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
