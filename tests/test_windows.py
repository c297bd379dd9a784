import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from simmim_sklearn import LevelRegressor, WindowNormalizer, make_windows

# --- make_windows -------------------------------------------------------------------------


def test_univariate_values_and_shapes():
    X, Y = make_windows(np.arange(8), window_length=3, horizon=2)
    assert_array_equal(X, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    assert_array_equal(Y, [[3, 4], [4, 5], [5, 6], [6, 7]])


def test_step_and_horizon_one_gives_2d_targets():
    X, Y = make_windows(list(range(10)), window_length=3, step=3)
    assert_array_equal(X, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    assert_array_equal(Y, [[3], [6], [9]])


def test_multivariate_is_channel_major():
    y = np.column_stack([np.arange(6), 100 + np.arange(6)])
    X, Y = make_windows(y, window_length=2, horizon=2)
    assert_array_equal(X, [[0, 1, 100, 101], [1, 2, 101, 102], [2, 3, 102, 103]])
    assert_array_equal(Y, [[2, 3, 102, 103], [3, 4, 103, 104], [4, 5, 104, 105]])
    # The (C, L) view SimMIMTransformer takes recovers each channel's window.
    assert_array_equal(X.reshape(3, 2, 2)[1], [[1, 2], [101, 102]])


def test_exog_channels_follow_y_channels():
    y = np.arange(6)
    exog = np.column_stack([10 + np.arange(6), 20 + np.arange(6)])
    X, Y = make_windows(y, window_length=2, exog=exog)
    assert X.shape == (4, 6)
    assert_array_equal(X[0], [0, 1, 10, 11, 20, 21])
    assert_array_equal(X[3], [3, 4, 13, 14, 23, 24])
    assert_array_equal(Y, [[2], [3], [4], [5]])
    X1, _ = make_windows(y, window_length=2, exog=exog[:, 0])
    assert_array_equal(X1, X[:, :4])


@pytest.mark.parametrize("window_length, horizon, step", [(1, 1, 1), (3, 2, 1), (5, 4, 3)])
def test_no_look_ahead(window_length, horizon, step):
    # Values equal their time index, so they show which steps each row uses.
    X, Y = make_windows(np.arange(30), window_length, horizon=horizon, step=step)
    assert np.all(X.max(axis=1) < Y.min(axis=1))
    assert_array_equal(Y[:, 0], X[:, -1] + 1)
    assert_array_equal(X[:, 0], np.arange(len(X)) * step)
    assert len(X) == (30 - window_length - horizon) // step + 1


def test_series_keeps_target_index_and_names():
    index = pd.date_range("2024-01-01", periods=10, freq="h")
    s = pd.Series(np.arange(10.0), index=index)
    X, Y = make_windows(s, window_length=3, horizon=2, step=2)
    assert list(X.columns) == ["y_lag_3", "y_lag_2", "y_lag_1"]
    assert list(Y.columns) == ["y_step_1", "y_step_2"]
    assert_array_equal(Y.index, index[[3, 5, 7]])
    assert_array_equal(X.index, Y.index)
    # The first target of each row is the series value at the row's index.
    assert_array_equal(Y["y_step_1"], s.loc[Y.index])
    assert_array_equal(X["y_lag_1"], s.shift(1).loc[Y.index])


def test_dataframe_with_exog_names_and_values():
    df = pd.DataFrame({"a": np.arange(6.0), "b": -np.arange(6.0)})
    exog = pd.DataFrame({"temp": 50 + np.arange(6.0)})
    X, Y = make_windows(df, window_length=2, exog=exog)
    assert list(X.columns) == ["a_lag_2", "a_lag_1", "b_lag_2", "b_lag_1"] + [
        "temp_lag_2",
        "temp_lag_1",
    ]
    assert list(Y.columns) == ["a_step_1", "b_step_1"]
    X_np, Y_np = make_windows(df.to_numpy(), window_length=2, exog=exog.to_numpy())
    assert isinstance(X_np, np.ndarray) and isinstance(Y_np, np.ndarray)
    assert_array_equal(X, X_np)
    assert_array_equal(Y, Y_np)
    assert_array_equal(Y.index, df.index[2:])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"window_length": 0}, "window_length"),
        ({"window_length": 2, "horizon": 0}, "horizon"),
        ({"window_length": 2, "step": 0}, "step"),
        ({"window_length": 2.5}, "window_length"),
        ({"window_length": 2, "exog": np.arange(9)}, "exog has 9 time steps but y has 10"),
        (
            {"window_length": 8, "horizon": 3},
            r"y has 10 time steps; window_length=8 and horizon=3 need at least 11",
        ),
    ],
)
def test_make_windows_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_windows(np.arange(10), **kwargs)


def test_make_windows_rejects_3d():
    with pytest.raises(ValueError, match="y must be 1-D or 2-D"):
        make_windows(np.zeros((10, 2, 2)), window_length=2)
    with pytest.raises(ValueError, match="exog must be 1-D or 2-D"):
        make_windows(np.zeros(10), window_length=2, exog=np.zeros((10, 2, 2)))


def test_nan_passes_through_and_can_be_dropped():
    y = np.arange(8.0)
    y[1] = np.nan
    y[6] = np.nan
    X, Y = make_windows(y, window_length=2, horizon=1)
    assert len(X) == 6
    assert np.isnan(X[0, 1]) and np.isnan(X[1, 0])
    assert np.isnan(Y[4, 0])
    mask = ~np.isnan(Y).any(axis=1)
    assert_array_equal(Y[mask].ravel(), [2, 3, 4, 5, 7])


# --- WindowNormalizer ---------------------------------------------------------------------

X_HAND = np.array(
    [
        [1.0, 2.0, np.nan, 10.0, np.nan, 30.0],
        [np.nan, np.nan, np.nan, 4.0, 5.0, 6.0],
    ]
)


@pytest.mark.parametrize(
    "method, offsets",
    [("last", [[2.0, 30.0], [0.0, 6.0]]), ("mean", [[1.5, 20.0], [0.0, 5.0]])],
)
def test_window_normalizer_hand_computed(method, offsets):
    normalizer = WindowNormalizer(method=method, input_shape=(2, 3)).fit(X_HAND)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_allclose(normalizer.offsets(X_HAND), offsets)
        Xt = normalizer.transform(X_HAND)
    assert_allclose(Xt, X_HAND - np.repeat(offsets, 3, axis=1))
    assert_array_equal(np.isnan(Xt), np.isnan(X_HAND))


def test_window_normalizer_single_channel_default():
    Xt = WindowNormalizer().fit_transform(np.array([[1.0, 4.0, 2.0], [5.0, 7.0, np.nan]]))
    assert_allclose(Xt, [[-1.0, 2.0, 0.0], [-2.0, 0.0, np.nan]])


def test_window_normalizer_preserves_float32():
    X = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert WindowNormalizer(method="mean").fit_transform(X).dtype == np.float32
    assert WindowNormalizer().fit(X).offsets(X).dtype == np.float32


@pytest.mark.parametrize("input_shape", [(2, 4), (6,), (0, 6), [3, 2.0]])
def test_window_normalizer_bad_input_shape(input_shape):
    with pytest.raises(ValueError, match="input_shape"):
        WindowNormalizer(input_shape=input_shape).fit(np.zeros((2, 6)))


def test_window_normalizer_bad_method():
    with pytest.raises(ValueError, match="method"):
        WindowNormalizer(method="median").fit(np.zeros((2, 6)))


def test_window_normalizer_pandas_output():
    X = pd.DataFrame(X_HAND, columns=[f"c{i}" for i in range(6)])
    normalizer = WindowNormalizer(input_shape=[2, 3]).set_output(transform="pandas")
    Xt = normalizer.fit_transform(X)
    assert list(Xt.columns) == list(X.columns)
    assert_array_equal(normalizer.get_feature_names_out(), X.columns)
    assert_allclose(Xt.iloc[0, 0], -1.0)


# --- LevelRegressor -----------------------------------------------------------------------


def test_level_regressor_adds_channel_offsets_back():
    # A regressor predicting 0 on level-free targets returns exactly the offsets.
    X = np.array([[1.0, 2.0, 10.0, 20.0], [3.0, np.nan, 5.0, 6.0]])
    Y = np.arange(8.0).reshape(2, 4)
    zero = DummyRegressor(strategy="constant", constant=np.zeros(4))
    model = LevelRegressor(zero, input_shape=(2, 2)).fit(X, Y)
    assert_allclose(model.predict(X), [[2.0, 2.0, 20.0, 20.0], [3.0, 3.0, 6.0, 6.0]])
    assert_allclose(model.regressor_.constant, 0.0)


def test_level_regressor_1d_target_and_feature_names():
    X = pd.DataFrame([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]], columns=["lag_2", "lag_1"])
    y = np.array([3.0, 6.0, 5.0])
    model = LevelRegressor(DummyRegressor(), method="mean").fit(X, y)
    assert_array_equal(model.feature_names_in_, ["lag_2", "lag_1"])
    pred = model.predict(X)
    assert pred.shape == (3,)
    # Level-free targets are 1.5, 2, 1 (mean 1.5), added to the row means 1.5, 4, 4.
    assert_allclose(pred, [3.0, 5.5, 5.5])


def test_level_regressor_rejects_targets_not_channel_major():
    with pytest.raises(ValueError, match="not a multiple of the 2 channels"):
        LevelRegressor(Ridge(), input_shape=(2, 2)).fit(np.ones((4, 4)), np.ones((4, 3)))


def test_level_regressor_forecasts_trend_beyond_training_levels(trend_windows):
    X, Y = trend_windows
    cut = int(0.7 * len(X))

    def holdout_mse(model):
        model.fit(X[:cut], Y[:cut])
        return np.mean((model.predict(X[cut:]) - Y[cut:]) ** 2)

    # Nearest neighbours cannot extrapolate levels, but level-free windows repeat.
    plain = holdout_mse(KNeighborsRegressor())
    leveled = holdout_mse(LevelRegressor(KNeighborsRegressor()))
    assert leveled < 0.01
    assert plain > 100 * leveled


def test_level_regressor_with_time_series_split(trend_windows):
    X, Y = trend_windows
    scores = cross_val_score(LevelRegressor(Ridge()), X, Y, cv=TimeSeriesSplit(n_splits=5))
    assert len(scores) == 5
    assert np.all(scores > 0.99)


@parametrize_with_checks(
    [
        WindowNormalizer(),
        WindowNormalizer(method="mean"),
        LevelRegressor(Ridge()),
        LevelRegressor(Ridge(), method="mean"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
