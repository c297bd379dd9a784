"""Forecasting backtests: SimMIM window features against raw lags, seasonal naive and ETS.

Each series is split at 75%: models are fitted once on windows whose targets all lie in the
first 75%, then forecast ``horizon`` steps ahead from every origin in the last 25% (rolling
origin, refitting nothing, so no model sees the test part). ETS is refitted at each origin on
the history up to it, as a classical forecaster would be used. Metric: MASE, the mean absolute
error over all forecasts divided by the in-sample mean absolute error of the seasonal naive
forecast on the training part.

Run: ``python benchmarks/bench_forecasting.py`` (needs the ``bench`` extra).
"""

import time
import warnings

import numpy as np
import statsmodels.api as sm
import torch
from _results import write_results
from aeon.datasets import load_airline
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from simmim_sklearn import LevelRegressor, SimMIMTransformer, make_windows

SEED = 0
ALPHAS = np.logspace(-3, 3, 13)


def load_series():
    """(name, values, season length, window length, horizon) of each series."""
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    nile = sm.datasets.nile.load_pandas().data["volume"]
    gdp = np.log(sm.datasets.macrodata.load_pandas().data["realgdp"])
    return [
        ("co2 (monthly mean)", co2.to_numpy(), 12, 36, 12),
        ("airline", np.asarray(load_airline(), dtype=float), 12, 36, 12),
        ("nile", nile.to_numpy(dtype=float), 1, 20, 5),
        ("log real GDP", gdp.to_numpy(), 4, 16, 8),
    ]


def seasonal_naive(history, season, horizon):
    last_season = history[-season:]
    return np.array([last_season[k % season] for k in range(horizon)])


def mase(errors, train, season):
    scale = np.mean(np.abs(train[season:] - train[:-season]))
    return float(np.mean(np.abs(errors)) / scale)


def ml_models(window_length):
    def simmim():
        return SimMIMTransformer(input_shape=(1, window_length), random_state=SEED)

    return {
        "Ridge on raw lags": RidgeCV(alphas=ALPHAS),
        "Pipeline(SimMIM, Ridge)": make_pipeline(simmim(), RidgeCV(alphas=ALPHAS)),
        "raw lags + SimMIM features, Ridge": make_pipeline(
            FeatureUnion([("lags", FunctionTransformer()), ("simmim", simmim())]),
            RidgeCV(alphas=ALPHAS),
        ),
    }


def rolling_origin_split(y, window_length, horizon):
    """The first 75% of ``y``, its windows and their targets for fitting, and every later
    origin with its window and the ``horizon`` values that follow it."""
    split = int(0.75 * len(y))
    train = y[:split]
    X_train, Y_train = make_windows(train, window_length=window_length, horizon=horizon)
    origins = range(split, len(y) - horizon + 1)
    X_test = np.stack([y[t - window_length:t] for t in origins])
    Y_test = np.stack([y[t:t + horizon] for t in origins])
    return train, X_train, Y_train, origins, X_test, Y_test


def backtest(name, y, season, window_length, horizon):
    train, X_train, Y_train, origins, X_test, Y_test = rolling_origin_split(
        y, window_length, horizon)

    rows = []

    def record(model, forecasts, seconds):
        rows.append({
            "series": name, "model": model, "MASE": mase(forecasts - Y_test, train, season),
            "fit s": seconds, "windows": len(X_train), "origins": len(X_test),
            "horizon": horizon,
        })

    record("seasonal naive", np.stack([seasonal_naive(y[:t], season, horizon)
                                       for t in origins]), 0.0)
    for label, regressor in ml_models(window_length).items():
        start = time.perf_counter()
        model = LevelRegressor(regressor, method="last").fit(X_train, Y_train)
        seconds = time.perf_counter() - start
        record(label, model.predict(X_test), seconds)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ets = [
            ExponentialSmoothing(
                y[:t], trend="add", seasonal="add" if season > 1 else None,
                seasonal_periods=season if season > 1 else None,
            ).fit().forecast(horizon)
            for t in origins
        ]
    record("ETS (statsmodels, refit per origin)", np.stack(ets), time.perf_counter() - start)
    return rows


if __name__ == "__main__":
    torch.set_num_threads(1)  # fit seconds on one thread, whatever else shares the machine
    rows = [row for series in load_series() for row in backtest(*series)]
    summary = []
    for name in dict.fromkeys(row["series"] for row in rows):
        by_model = {row["model"]: row["MASE"] for row in rows if row["series"] == name}
        best_simmim = min(v for k, v in by_model.items() if "SimMIM" in k)
        summary.append({
            "series": name,
            "best SimMIM variant MASE": best_simmim,
            "Ridge on raw lags MASE": by_model["Ridge on raw lags"],
            "seasonal naive MASE": by_model["seasonal naive"],
            "SimMIM <= raw-lag Ridge": best_simmim <= by_model["Ridge on raw lags"],
            "SimMIM < seasonal naive": best_simmim < by_model["seasonal naive"],
        })
    write_results(
        "forecasting",
        {"backtests (last 25% of each series, rolling origin)": rows, "summary": summary},
        notes="All ML models are wrapped in LevelRegressor(method='last'): each window and its "
              "targets are expressed relative to the window's last value. Default "
              "SimMIMTransformer parameters with input_shape=(1, window_length).",
    )
