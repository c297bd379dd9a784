"""Forecasting with window features: the windowing helper, SimMIM and skforecast together."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from simmim_sklearn import LevelRegressor, SimMIMTransformer, make_windows

WINDOW = 12
FAST = dict(n_components=4, hidden_width=16, max_iter=5, random_state=0)


def seasonal_series(n=120):
    t = np.arange(n)
    return pd.Series(
        10 + 0.05 * t + np.sin(2 * np.pi * t / 12),
        index=pd.date_range("2000-01", periods=n, freq="MS"), name="y",
    )


def test_window_features_forecast_a_seasonal_series_with_time_series_split():
    X, Y = make_windows(seasonal_series().to_numpy(), window_length=WINDOW, horizon=3)
    model = LevelRegressor(
        make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge(alpha=1e-3))
    )
    scores = cross_val_score(model, X, Y, cv=TimeSeriesSplit(n_splits=3), scoring="r2")
    assert scores.min() > 0.9


def test_pandas_targets_keep_their_time_stamps_through_the_pipeline():
    y = seasonal_series()
    X, Y = make_windows(y, window_length=WINDOW, horizon=2)
    model = make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge())
    predictions = model.fit(X, Y).predict(X)
    assert predictions.shape == Y.shape
    assert Y.index[0] == y.index[WINDOW]


def test_skforecast_recursive_forecaster_with_a_simmim_pipeline():
    recursive = pytest.importorskip("skforecast.recursive")
    y = seasonal_series()
    forecaster = recursive.ForecasterRecursive(
        estimator=make_pipeline(SimMIMTransformer(input_shape=(1, WINDOW), **FAST), Ridge()),
        lags=WINDOW,
    )
    forecaster.fit(y=y[:108])
    forecast = forecaster.predict(steps=12)
    pd.testing.assert_index_equal(forecast.index, y.index[108:])
    # The seasonal swing is +-1: a forecaster that missed the season would err by ~0.6.
    assert np.abs(forecast.to_numpy() - y[108:].to_numpy()).mean() < 0.2
