"""Per-window levels: WindowNormalizer and LevelRegressor take windows and targets relative to
them, so that regressors which cannot extrapolate can forecast trending series."""

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_method_params,
    check_is_fitted,
)

from .._data import validate_rows

__all__ = ["LevelRegressor", "WindowNormalizer"]


def _window_offsets(X, method, n_channels):
    """Per-row, per-channel level of flat channel-major windows; 0 where a channel is all NaN."""
    windows = X.reshape(X.shape[0], n_channels, -1)
    observed = ~np.isnan(windows)
    if method == "last":
        # argmax over the reversed mask finds the last observed position of each channel.
        last = windows.shape[2] - 1 - np.argmax(observed[:, :, ::-1], axis=2)
        offsets = np.take_along_axis(windows, last[:, :, None], axis=2)[:, :, 0]
        return np.where(observed.any(axis=2), offsets, 0).astype(X.dtype, copy=False)
    # nansum / count instead of nanmean: an all-NaN channel gets 0 without a RuntimeWarning.
    count = observed.sum(axis=2)
    total = np.nansum(windows, axis=2)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def check_input_shape(input_shape, n_features):
    """Return the number of channels described by ``input_shape`` for ``n_features`` columns."""
    if input_shape is None:
        return 1
    if (
        len(input_shape) != 2
        or not all(isinstance(v, Integral) and v >= 1 for v in input_shape)
        or input_shape[0] * input_shape[1] != n_features
    ):
        raise ValueError(
            f"input_shape must be (n_channels, window_length) with positive integers whose "
            f"product is n_features={n_features}; got {input_shape!r}."
        )
    return int(input_shape[0])


def levelless_rows(X, n_channels, exog_channels=0):
    """Mask of the rows in which a channel with targets (all but the last ``exog_channels``)
    has no observed value, so that the row has no level to forecast from."""
    windows = X.reshape(X.shape[0], n_channels, -1)[:, :n_channels - exog_channels]
    return np.isnan(windows).all(axis=2).any(axis=1)


def check_levels(X, n_channels, exog_channels=0):
    """Raise a ValueError naming the rows of ``X`` that have no level to forecast from."""
    levelless = levelless_rows(X, n_channels, exog_channels)
    if levelless.any():
        raise ValueError(
            f"X rows {np.flatnonzero(levelless)[:10].tolist()} have no observed value of "
            "the series (only NaN in a channel with targets): there is no level to "
            "forecast from."
        )


def target_offsets(offsets, n_outputs, exog_channels=0):
    """Repeat the offset of each channel that has targets (all but the last
    ``exog_channels``) over its ``n_outputs // n_target_channels`` target columns."""
    n_channels = offsets.shape[1] - exog_channels
    if n_channels < 1:
        raise ValueError(
            f"exog_channels={exog_channels} leaves no channel with targets out of the "
            f"{offsets.shape[1]} channels given by input_shape."
        )
    if n_outputs % n_channels:
        raise ValueError(
            f"y has {n_outputs} columns, which is not a multiple of the {n_channels} "
            "channels with targets (input_shape's channels less exog_channels); targets "
            "must be channel-major."
        )
    return np.repeat(offsets[:, :n_channels], n_outputs // n_channels, axis=1)


class WindowNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Subtract each window's own level, per channel.

    Forecasting a trending or otherwise non-stationary series works better on windows that
    all start from the same level. Each row is a flat window (see :func:`make_windows`); for
    every row and channel this transformer subtracts an offset computed from that row alone,
    so it learns nothing in :meth:`fit` besides the input shape and stores nothing from
    :meth:`transform`. Use :meth:`offsets` to get the subtracted levels, or
    :class:`LevelRegressor` to forecast relative to them and add them back.

    Parameters
    ----------
    method : {"last", "mean"}, default="last"
        ``"last"`` subtracts the channel's last observed (non-NaN) value in the row;
        ``"mean"`` subtracts the mean of its observed values. A channel with no observed
        value in a row gets offset 0.

    input_shape : tuple of int (n_channels, window_length), default=None
        How the flat rows split into channels, channel-major: the first ``window_length``
        columns are channel 0, and so on. ``None`` means a single channel spanning all
        features.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names
        that are all strings.

    n_channels_ : int
        Number of channels each row is split into.

    See Also
    --------
    make_windows : Build the windows this transformer expects.
    LevelRegressor : Fit a regressor on level-free windows and targets.

    Notes
    -----
    NaN values pass through unchanged and are ignored when computing the offsets.

    Examples
    --------
    >>> import numpy as np
    >>> from simmim_sklearn import WindowNormalizer
    >>> X = np.array([[1.0, 2.0, 4.0, 10.0, 20.0, np.nan]])
    >>> normalizer = WindowNormalizer(input_shape=(2, 3)).fit(X)
    >>> normalizer.offsets(X)
    array([[ 4., 20.]])
    >>> normalizer.transform(X)
    array([[ -3.,  -2.,   0., -10.,   0.,  nan]])
    >>> WindowNormalizer(method="mean").fit_transform(X[:, :3])
    array([[-1.33333333, -0.33333333,  1.66666667]])
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"last", "mean"})],
        "input_shape": [tuple, list, None],
    }

    def __init__(self, method="last", input_shape=None):
        self.method = method
        self.input_shape = input_shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the input shape of `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        self.n_channels_ = check_input_shape(self.input_shape, X.shape[1])
        return self

    def offsets(self, X):
        """Return the level subtracted from each row and channel.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major.

        Returns
        -------
        offsets : ndarray of shape (n_samples, `n_channels_`)
            The offset of each row's channels; 0 for a channel with no observed value.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False)
        return _window_offsets(X, self.method, self.n_channels_)

    def transform(self, X):
        """Subtract each row's per-channel offset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features)
            The windows minus their offsets, in the dtype of `X` (float32 or float64).
        """
        check_is_fitted(self)
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False)
        offsets = _window_offsets(X, self.method, self.n_channels_)
        return X - np.repeat(offsets, X.shape[1] // self.n_channels_, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class LevelRegressor(RegressorMixin, BaseEstimator):
    """Regress on windows and targets taken relative to each window's level.

    For every row, the per-channel offset of :class:`WindowNormalizer` is subtracted from
    the window and from the targets; the wrapped regressor is fitted on what remains, and
    :meth:`predict` adds each row's offsets back. The targets must be channel-major like the
    output of :func:`make_windows`: with ``C`` channels, ``Y`` has ``C * horizon`` columns
    and channel ``c``'s offset applies to its ``horizon`` columns; with one channel it
    applies to all columns. Covariate channels (``exog`` in :func:`make_windows`) come last
    and have no targets: ``exog_channels`` says how many there are. This lets a regressor
    that cannot extrapolate forecast trending series, e.g.
    ``LevelRegressor(HistGradientBoostingRegressor())``. To forecast from SimMIM features,
    prefer :class:`SimMIMForecaster`, which does the same and weighs the features against
    the lags: with a few dozen windows, a regressor on the features alone overfits.

    Parameters
    ----------
    regressor : estimator object
        The regressor fitted on the level-free windows and targets; cloned into
        ``regressor_``.

    method : {"last", "mean"}, default="last"
        How the level of each window is computed; see :class:`WindowNormalizer`.

    input_shape : tuple of int (n_channels, window_length), default=None
        How the flat rows split into channels; see :class:`WindowNormalizer`.

    exog_channels : int, default=0
        Number of trailing channels that are covariates, without targets; their windows are
        taken relative to their own levels too.

    Attributes
    ----------
    regressor_ : estimator object
        The fitted clone of `regressor`.

    normalizer_ : WindowNormalizer
        The fitted transformer computing the offsets.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names
        that are all strings.

    See Also
    --------
    make_windows : Build windows and channel-major targets.
    SimMIMForecaster : Forecast from a window's lags and SimMIM features.
    WindowNormalizer : The level removal applied to the windows.
    sklearn.compose.TransformedTargetRegressor : Transform the targets with a fixed function.

    Notes
    -----
    NaN values in `X` pass through to the wrapped regressor, which must accept them if they
    occur. The targets must be finite. A window whose series (a channel with targets) has no
    observed value has no level: :meth:`fit` leaves it out (with its entries of sample-aligned
    ``fit_params``) and :meth:`predict` raises a ValueError naming it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from simmim_sklearn import LevelRegressor, make_windows
    >>> y = np.arange(30.0) + np.tile([0.0, 1.0, -1.0], 10)
    >>> X, Y = make_windows(y, window_length=6, horizon=2)
    >>> model = LevelRegressor(LinearRegression()).fit(X[:-3], Y[:-3])
    >>> Y[-3:]
    array([[25., 27.],
           [27., 29.],
           [29., 28.]])
    >>> np.allclose(model.predict(X[-3:]), Y[-3:])
    True
    """

    _parameter_constraints: dict = {
        "regressor": [HasMethods(["fit", "predict"])],
        "method": [StrOptions({"last", "mean"})],
        "input_shape": [tuple, list, None],
        "exog_channels": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, regressor, method="last", input_shape=None, exog_channels=0):
        self.regressor = regressor
        self.method = method
        self.input_shape = input_shape
        self.exog_channels = exog_channels

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit the regressor on level-free windows and targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, channel-major (see the class description).

        **fit_params : dict
            Passed to the ``fit`` method of the regressor.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_rows(
            self,
            X,
            y,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            multi_output=True,
            y_numeric=True,
        )
        normalizer = WindowNormalizer(self.method, self.input_shape).fit(X)
        # A window whose series has no observed value has no level to forecast from.
        kept = np.flatnonzero(~levelless_rows(X, normalizer.n_channels_, self.exog_channels))
        fit_params = _check_method_params(X, fit_params, indices=kept)
        X, y = X[kept], y[kept]
        self.normalizer_ = normalizer
        offsets = self.normalizer_.offsets(X)
        y_2d = y.reshape(len(y), -1)
        y_level_free = y_2d - target_offsets(offsets, y_2d.shape[1], self.exog_channels)
        y_level_free = y_level_free.reshape(y.shape)
        self.regressor_ = clone(self.regressor).fit(
            self.normalizer_.transform(X), y_level_free, **fit_params
        )
        return self

    def predict(self, X):
        """Predict with the regressor and add each row's offsets back.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat windows, channel-major.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Forecasts on the original level, shaped like the targets given to `fit`.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False)
        check_levels(X, self.normalizer_.n_channels_, self.exog_channels)
        pred = self.regressor_.predict(self.normalizer_.transform(X))
        pred_2d = pred.reshape(len(pred), -1)
        offsets = target_offsets(self.normalizer_.offsets(X), pred_2d.shape[1],
                                 self.exog_channels)
        return (pred_2d + offsets).reshape(pred.shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        regressor_tags = get_tags(self.regressor)
        # NaN reaches the wrapped regressor untouched, so NaN support is the regressor's.
        tags.input_tags.allow_nan = regressor_tags.input_tags.allow_nan
        tags.target_tags.multi_output = regressor_tags.target_tags.multi_output
        tags.target_tags.single_output = regressor_tags.target_tags.single_output
        return tags
