"""SimMIMForecaster: direct multi-horizon forecasts from a window's lags and SimMIM features."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import TimeSeriesSplit, check_cv
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted

from .._data import validate_rows
from .._transformer import SimMIMTransformer
from ._level import LevelRegressor, check_input_shape, levelless_rows

__all__ = ["SimMIMForecaster"]

# Ridge penalties tried by default: on standardised features, from almost none to so much that
# only the intercept (the mean change from a window's level) is left.
DEFAULT_ALPHAS = np.logspace(-3, 6, 19)


class _LagsAndFeaturesRegressor(RegressorMixin, BaseEstimator):
    """Regress level-free targets on the windows' lags and SimMIM features.

    :class:`SimMIMForecaster` wraps it in a :class:`LevelRegressor`, which gives it the
    windows and targets relative to each window's level and adds the levels back to its
    predictions.

    Parameters
    ----------
    transformer : SimMIMTransformer
        The transformer giving the features, cloned into ``transformer_``.

    regressor : estimator object
        The regressor fitted on the weighted lags and features, cloned into ``regressor_``.

    feature_weight : float, default=0.1
        Square root of the SimMIM features' total variance relative to the lags'; see
        :class:`SimMIMForecaster`.

    Attributes
    ----------
    transformer_ : SimMIMTransformer
        The transformer fitted on the windows.

    lag_scaler_ : StandardScaler
        Standardises the lags (missing ones filled) before the regression.

    feature_scaler_ : StandardScaler
        Standardises the SimMIM features before they are scaled as a group.

    regressor_ : estimator object
        The fitted clone of `regressor`.

    n_features_in_ : int
        Number of features seen during ``fit``.
    """

    _parameter_constraints: dict = {
        "transformer": [HasMethods(["fit", "transform", "inverse_transform"])],
        "regressor": [HasMethods(["fit", "predict"])],
        "feature_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, transformer, regressor, feature_weight=0.1):
        self.transformer = transformer
        self.regressor = regressor
        self.feature_weight = feature_weight

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the transformer on the windows, then the regressor on lags and features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Level-free flat windows, in time order; NaN marks missing values.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Level-free targets of each window; finite.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_rows(self, X, y, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                             multi_output=True, y_numeric=True)
        self.transformer_ = clone(self.transformer).fit(X)
        lags, features = self._lags_and_features(X)
        self.lag_scaler_ = StandardScaler().fit(lags)
        self.feature_scaler_ = StandardScaler().fit(features)
        self.regressor_ = clone(self.regressor).fit(self._design(lags, features), y)
        return self

    def _lags_and_features(self, X):
        """The windows with their missing values filled by the transformer's reconstruction,
        and the transformer's features."""
        features = self.transformer_.transform(X)
        missing = np.isnan(X)
        if not missing.any():
            return X, features
        lags = X.copy()
        lags[missing] = self.transformer_.inverse_transform(features)[missing]
        return lags, features

    def _design(self, lags, features):
        """Standardised lags beside the standardised features scaled as one group."""
        group_scale = self.feature_weight * np.sqrt(lags.shape[1] / features.shape[1])
        return np.hstack([self.lag_scaler_.transform(lags),
                          group_scale * self.feature_scaler_.transform(features)])

    def predict(self, X):
        """Predict the level-free targets of each window.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Level-free flat windows; NaN marks missing values.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The regressor's predictions, shaped like the targets given to `fit`.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                          reset=False)
        return self.regressor_.predict(self._design(*self._lags_and_features(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.multi_output = get_tags(self.regressor).target_tags.multi_output
        return tags


class SimMIMForecaster(RegressorMixin, BaseEstimator):
    """Forecast from windows with ridge regression on their lags and SimMIM features.

    Each row is a flat window and its targets are the steps that follow it, as
    :func:`make_windows` cuts them. A :class:`LevelRegressor` takes every window and its
    targets relative to the window's level (:class:`WindowNormalizer`) and adds the levels
    back to the forecasts. A :class:`SimMIMTransformer` is fitted on the level-free windows;
    a ridge regression then maps the standardised lags (the window's own values, with
    missing values filled by the transformer's reconstruction) and the standardised SimMIM
    features to the level-free targets, its penalty chosen by time-series cross-validation.
    The SimMIM features enter as a group whose total variance is ``feature_weight ** 2``
    times that of the lags: a ridge penalty then trusts the lags first and the many features
    only as far as the data bear them out, so a few dozen windows do not overfit hundreds of
    features, and more windows let the features count for more.

    Parameters
    ----------
    input_shape : tuple of int (n_channels, window_length), default=None
        How the flat rows split into channels, channel-major, as :func:`make_windows` gives
        them (channels of the series, then exogenous channels). ``None`` is one channel
        spanning all features. Used for the levels and by the default transformer.

    transformer : SimMIMTransformer, default=None
        The transformer giving the features, cloned into ``transformer_``; ``None`` is
        ``SimMIMTransformer(input_shape=input_shape, kernel_features=0,
        random_state=random_state)``, with a single channel when ``input_shape`` is None:
        without the kernel bank, whose counts of where each shape occurs in a window were
        not measured on forecasting (the forecasts are those of the learned features). Give
        one to change its parameters (its ``input_shape`` should match).

    feature_weight : float, default=0.1
        Square root of the SimMIM features' total variance relative to the lags' (each
        feature standardised, then scaled by ``feature_weight * sqrt(n_lags / n_features)``).
        0 forecasts from the lags alone (the transformer still fills their missing
        values); larger values let the features count for more at the same penalty. Raise it
        where windows are many (thousands) and the series is far from linear.

    alphas : array-like of float, default=None
        Ridge penalties to choose from; ``None`` tries 19 values evenly spaced in log from
        1e-3 to 1e6.

    cv : int or cross-validation generator, default=5
        How the penalty is chosen: an int is the number of splits of a
        :class:`~sklearn.model_selection.TimeSeriesSplit`, which validates each candidate on
        windows later than those it was fitted on (leave-one-out over overlapping windows
        would let each window's neighbours give away its targets). Scored by the mean
        absolute error.

    exog_channels : int, default=0
        Number of trailing channels of ``input_shape`` that are covariates (``exog`` in
        :func:`make_windows`), without targets.

    method : {"last", "mean"}, default="last"
        The level each window and its targets are taken relative to; see
        :class:`WindowNormalizer`.

    random_state : int, RandomState instance or None, default=None
        Seeds the default transformer; ignored when ``transformer`` is given.

    Attributes
    ----------
    level_regressor_ : LevelRegressor
        The fitted level handling that :meth:`predict` delegates to; its ``regressor_``
        holds the transformer, the scalers and the ridge regression below.

    transformer_ : SimMIMTransformer
        The transformer fitted on the level-free windows.

    regressor_ : RidgeCV
        The ridge regression fitted on the weighted lags and features.

    alpha_ : float
        The penalty chosen by cross-validation.

    normalizer_ : WindowNormalizer
        The fitted transformer computing each window's level; that of ``level_regressor_``.

    lag_scaler_ : StandardScaler
        Standardises the level-free lags (missing ones filled) before the regression.

    feature_scaler_ : StandardScaler
        Standardises the SimMIM features before they are scaled as a group.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names
        that are all strings.

    See Also
    --------
    make_windows : Cut a series into windows and targets.
    LevelRegressor : Forecast relative to each window's level with any regressor.
    SimMIMTransformer : The features, for use in any pipeline.

    Notes
    -----
    The transformer is fitted once, on all the training windows, before the penalty is
    cross-validated: it learns from the windows alone, never from the targets, so each
    validation fold sees features learnt from its own windows but not its targets.

    Examples
    --------
    >>> import numpy as np
    >>> from simmim_sklearn import SimMIMForecaster, SimMIMTransformer, make_windows
    >>> rng = np.random.default_rng(0)
    >>> y = np.sin(np.arange(300) / 4) + 0.01 * np.arange(300) + 0.1 * rng.normal(size=300)
    >>> X, Y = make_windows(y, window_length=24, horizon=6)
    >>> transformer = SimMIMTransformer(input_shape=(1, 24), max_iter=5, random_state=0)
    >>> model = SimMIMForecaster(input_shape=(1, 24), transformer=transformer).fit(X, Y)
    >>> model.predict(X[-1:]).shape
    (1, 6)
    """

    _parameter_constraints: dict = {
        "input_shape": [tuple, list, None],
        "transformer": [HasMethods(["fit", "transform", "inverse_transform"]), None],
        "feature_weight": [Interval(Real, 0, None, closed="left")],
        "alphas": ["array-like", None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object"],
        "exog_channels": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions({"last", "mean"})],
        "random_state": ["random_state"],
    }

    def __init__(self, input_shape=None, transformer=None, feature_weight=0.1, alphas=None,
                 cv=5, exog_channels=0, method="last", random_state=None):
        self.input_shape = input_shape
        self.transformer = transformer
        self.feature_weight = feature_weight
        self.alphas = alphas
        self.cv = cv
        self.exog_channels = exog_channels
        self.method = method
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the transformer on the level-free windows, then the ridge regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major, in time order; NaN marks missing values. Windows
            whose series (a channel with targets) has no observed value are left out.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets of each window, channel-major (see :class:`LevelRegressor`); finite.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_rows(self, X, y, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                             multi_output=True, y_numeric=True)
        n_channels = check_input_shape(self.input_shape, X.shape[1])
        if isinstance(self.cv, Integral):
            # Checked before LevelRegressor leaves out the windows without a level, so that
            # the message can say how many of n_samples are left.
            n_observed = np.count_nonzero(~levelless_rows(X, n_channels, self.exog_channels))
            if n_observed <= self.cv:
                raise ValueError(
                    f"cv={self.cv} time-series splits need more than {self.cv} windows with "
                    f"an observed value of the series; got {n_observed} of "
                    f"n_samples={X.shape[0]}. Give more windows or a smaller cv."
                )
        transformer = self.transformer if self.transformer is not None else (
            SimMIMTransformer(input_shape=(n_channels, X.shape[1] // n_channels),
                              kernel_features=0, random_state=self.random_state))
        alphas = DEFAULT_ALPHAS if self.alphas is None else self.alphas
        cv = self.cv
        if isinstance(cv, Integral):
            cv = TimeSeriesSplit(cv)
        elif cv is not None:  # None stays RidgeCV's efficient leave-one-out
            # An iterable of splits becomes a list, which LevelRegressor's clone can copy.
            cv = check_cv(cv)
        ridge = RidgeCV(alphas=alphas, cv=cv, scoring="neg_mean_absolute_error")
        self.level_regressor_ = LevelRegressor(
            _LagsAndFeaturesRegressor(transformer, ridge, feature_weight=self.feature_weight),
            method=self.method, input_shape=self.input_shape, exog_channels=self.exog_channels,
        ).fit(X, y)
        fitted = self.level_regressor_.regressor_
        self.normalizer_ = self.level_regressor_.normalizer_
        self.transformer_ = fitted.transformer_
        self.lag_scaler_ = fitted.lag_scaler_
        self.feature_scaler_ = fitted.feature_scaler_
        self.regressor_ = fitted.regressor_
        self.alpha_ = float(self.regressor_.alpha_)
        return self

    def predict(self, X):
        """Forecast the targets of each window.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major; NaN marks missing values. Each channel with
            targets needs at least one observed value.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Forecasts on the original level, shaped like the targets given to `fit`.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                          reset=False)
        return self.level_regressor_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.multi_output = True
        return tags
