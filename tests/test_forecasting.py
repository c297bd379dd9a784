"""Forecasting with window features: the windowing helper, SimMIM and skforecast together."""

import numpy as np
import pandas as pd
import pytest
from fast_settings import FAST_WINDOW_FEATURES as FAST
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from simmim_sklearn import LevelRegressor, SimMIMForecaster, SimMIMTransformer, make_windows

WINDOW = 12


def test_window_features_forecast_a_seasonal_series_with_time_series_split(seasonal_series):
    X, Y = make_windows(seasonal_series.iloc[:120].to_numpy(), window_length=WINDOW, horizon=3)
    model = LevelRegressor(
        make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge(alpha=1e-3))
    )
    scores = cross_val_score(model, X, Y, cv=TimeSeriesSplit(n_splits=3), scoring="r2")
    assert scores.min() > 0.9


def test_pandas_targets_keep_their_time_stamps_through_the_pipeline(seasonal_series):
    y = seasonal_series.iloc[:120]
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    model = make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge())
    predictions = model.fit(X, Y).predict(X)
    assert predictions.shape == Y.shape
    assert Y.index[0] == y.index[WINDOW]


def test_skforecast_recursive_forecaster_with_a_simmim_pipeline(seasonal_series):
    recursive = pytest.importorskip("skforecast.recursive")
    y = seasonal_series.iloc[:120]
    forecaster = recursive.ForecasterRecursive(
        estimator=make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge()),
        lags=WINDOW,
    )
    forecaster.fit(y=y[:108])
    forecast = forecaster.predict(steps=12)
    pd.testing.assert_index_equal(forecast.index, y.index[108:])
    # The seasonal swing is +-1: a forecaster that missed the season would err by ~0.6.
    assert np.abs(forecast.to_numpy() - y[108:].to_numpy()).mean() < 0.2


def forecaster(**params):
    transformer = SimMIMTransformer(input_shape=(1, WINDOW), encoder="conv", **FAST)
    return SimMIMForecaster(input_shape=(1, WINDOW), transformer=transformer, **params)


def test_forecaster_beats_the_last_value_on_a_seasonal_series(seasonal_series):
    y = seasonal_series.to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=3)
    model = forecaster().fit(X[:180], Y[:180])
    error = np.abs(model.predict(X[180:]) - Y[180:]).mean()
    naive = np.abs(X[180:, -1:] - Y[180:]).mean()
    assert error < 0.2 * naive
    assert model.alpha_ in model.regressor_.alphas


def test_forecaster_with_zero_feature_weight_is_ridge_on_the_lags(seasonal_series):
    y = seasonal_series.iloc[:200].to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    model = forecaster(feature_weight=0.0).fit(X, Y)
    level_free = X - X[:, -1:]
    scaled = (level_free - level_free.mean(0)) / np.where(level_free.std(0) > 0,
                                                          level_free.std(0), 1)
    ridge = Ridge(alpha=model.alpha_).fit(scaled, Y - X[:, -1:])
    np.testing.assert_allclose(model.predict(X), ridge.predict(scaled) + X[:, -1:], atol=1e-6)


def test_forecaster_predicts_through_the_level_regressor_it_composes(seasonal_series):
    y = seasonal_series.iloc[:200].to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    gappy = X.copy()
    gappy[::4, 3] = np.nan
    model = forecaster(method="mean").fit(gappy[:150], Y[:150])
    level_regressor = model.level_regressor_
    assert isinstance(level_regressor, LevelRegressor)
    check_is_fitted(level_regressor)
    assert level_regressor.normalizer_ is model.normalizer_
    assert model.normalizer_.method == "mean"
    np.testing.assert_array_equal(model.predict(gappy[150:]), level_regressor.predict(gappy[150:]))


def test_forecaster_fills_missing_lags_from_the_window_and_keeps_the_level(seasonal_series):
    y = seasonal_series.iloc[:200].to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    gappy = X.copy()
    gappy[::3, 2] = np.nan
    gappy[1::3, -1] = np.nan  # the level is then the last observed value
    model = forecaster().fit(gappy, Y)
    predictions = model.predict(gappy)
    assert np.isfinite(predictions).all()
    # Hiding one lag in some windows changes little: forecasts stay close to the truth.
    assert np.abs(predictions - Y).mean() < 0.2


def test_forecaster_leaves_out_windows_without_an_observed_value(seasonal_series):
    y = seasonal_series.iloc[:200].to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    blank = X.copy()
    blank[[10, 50, 90]] = np.nan  # no level: targets relative to 0 would be outliers
    model = forecaster().fit(blank, Y)
    kept = np.setdiff1d(np.arange(len(X)), [10, 50, 90])
    reference = forecaster().fit(X[kept], Y[kept])
    assert model.alpha_ == reference.alpha_
    np.testing.assert_allclose(model.predict(X), reference.predict(X), atol=1e-6)
    with pytest.raises(ValueError, match=r"rows \[10, 50, 90\] have no observed value"):
        model.predict(blank)


def test_level_regressor_leaves_out_windows_without_an_observed_value(seasonal_series):
    y = seasonal_series.iloc[:120].to_numpy()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    blank = X.copy()
    blank[[5, 40]] = np.nan
    weights = np.arange(1.0, len(X) + 1)
    model = LevelRegressor(Ridge()).fit(blank, Y, sample_weight=weights)
    kept = np.setdiff1d(np.arange(len(X)), [5, 40])
    reference = LevelRegressor(Ridge()).fit(X[kept], Y[kept], sample_weight=weights[kept])
    np.testing.assert_allclose(model.predict(X), reference.predict(X))
    with pytest.raises(ValueError, match=r"rows \[5, 40\] have no observed value"):
        model.predict(blank)


def test_forecaster_reads_covariate_channels():
    t = np.arange(240)
    driver = np.sin(2 * np.pi * t / 17)
    y = np.concatenate([[0.0], driver[:-1]])  # y follows the covariate one step later
    X, Y = make_windows(y, window_length=WINDOW, horizon=1, exog=driver)
    model = SimMIMForecaster(
        input_shape=(2, WINDOW), exog_channels=1,
        transformer=SimMIMTransformer(input_shape=(2, WINDOW), **FAST),
    ).fit(X[:200], Y[:200])
    assert np.abs(model.predict(X[200:]).ravel() - Y[200:, 0]).mean() < 0.05


@pytest.mark.parametrize(
    "params, X_rows, match",
    [
        ({"cv": 5}, 5, "n_samples=5"),
        ({"input_shape": (2, 5)}, 30, "input_shape"),
        ({"feature_weight": -1.0}, 30, "feature_weight"),
        ({"input_shape": (2, 6), "exog_channels": 2}, 30, "exog_channels"),
    ],
)
def test_forecaster_errors_name_the_problem(params, X_rows, match):
    X = np.random.default_rng(0).normal(size=(X_rows, WINDOW))
    model = SimMIMForecaster(transformer=SimMIMTransformer(**FAST), **params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, X[:, :2])
    assert not hasattr(model, "regressor_")
