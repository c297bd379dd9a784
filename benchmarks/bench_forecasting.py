"""Forecasting backtests: SimMIM recipes against tuned baselines, on complete series, on
series with gaps, with covariates and across several series.

Protocol (every part). Each series is split at 75%: models are fitted once on the windows
whose targets all lie in the first 75%, then forecast ``horizon`` steps ahead from every
origin in the last 25% (rolling origin, nothing refitted, so no model sees the test part).
Windows are ``3 * max(season, 4)`` long (20 for the yearly nile) and the horizon is
``max(season, 4)`` (5 for nile). Metric: MASE, the mean absolute error over all forecasts
divided by the in-sample mean absolute error of the seasonal naive forecast on the training
part. The machine-learning models are wrapped in ``LevelRegressor(method="last")`` (each
window and its targets relative to the window's last observed value); ``SimMIMForecaster``
does the same itself. Ridge penalties are chosen by 5-fold time-series cross-validation on
the training windows (mean absolute error), over 1e-3 to 1e6, on standardised lags. No
parameter is chosen per series.

Parts (``python benchmarks/bench_forecasting.py [complete] [gaps] [gaps-ablation] [panel]``,
all by default; needs the ``bench`` extra), each writing its own results file:

- ``complete`` (``forecasting.*``): co2, airline, nile and log real GDP as they are.
  Anchors: seasonal naive, RidgeCV on raw lags, HistGradientBoosting on lags (one model per
  step, as skforecast's direct forecasters run it), ETS refitted at each origin. SimMIM:
  the plain ``Pipeline(SimMIMTransformer, RidgeCV)`` and ``SimMIMForecaster`` with their
  defaults, mean over ``SEEDS``.
- ``gaps`` (``forecasting_gaps.*``): the same series with 10% and 30% of the values removed,
  at random or in bursts of 5 to 20 steps (the first value is kept). Windows are cut from
  the gappy series and never filled from the future; the targets, for fitting and scoring,
  are the true values. Against last observation carried forward + RidgeCV on raw lags,
  ``SimMIMImputer`` (fitted on the gappy training windows, filling each window from its
  own values) + RidgeCV on raw lags, and HistGradientBoosting on the gappy lags (which
  takes NaN natively). Training windows with no observed value have no level and are left
  out for every model.
- ``gaps-ablation`` (``forecasting_gaps_ablation.*``): at 30% missing in bursts, what
  ``SimMIMForecaster``'s two parts buy: its reconstruction filling the lags (with
  ``feature_weight=0``) and its features, against it fed windows carried forward.
- ``panel`` (``forecasting_panel.*``): log real GDP with log real consumption and
  investment as covariates (``make_windows(..., exog=...)``); and one model fitted across
  several series (six logged macrodata columns; the twelve calendar months of the el nino
  sea temperatures, each a yearly series of 61 values) against one model per series. The
  shared models see every series' windows divided by that series' training-part standard
  deviation, in time order.
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import torch
from _results import write_results
from aeon.datasets import load_airline
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import TimeSeriesSplit
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from simmim_sklearn import (
    LevelRegressor,
    SimMIMForecaster,
    SimMIMImputer,
    SimMIMTransformer,
    make_windows,
)
from simmim_sklearn.forecasting._forecaster import DEFAULT_ALPHAS

SEEDS = (0, 1, 2)
# The gappy backtests fit two SimMIM models in each of 16 cases: one seed keeps them short.
GAP_SEEDS = (0,)
GAP_FRACTIONS = (0.1, 0.3)
GAP_PATTERNS = ("random", "bursts")
RAW_LAGS = "RidgeCV on raw lags"
PLAIN = "Pipeline(SimMIMTransformer, RidgeCV)"
FORECASTER = "SimMIMForecaster"


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


def ridge_cv():
    """RidgeCV as a careful user tunes it on windows: time-series CV, standardised lags."""
    return RidgeCV(alphas=DEFAULT_ALPHAS, cv=TimeSeriesSplit(5),
                   scoring="neg_mean_absolute_error")


def raw_lags():
    return LevelRegressor(make_pipeline(StandardScaler(), ridge_cv()))


def boosting():
    return LevelRegressor(MultiOutputRegressor(HistGradientBoostingRegressor(random_state=0)))


def plain_pipeline(window_length, seed):
    # Without the kernel bank, as SimMIMForecaster's default transformer.
    return LevelRegressor(make_pipeline(
        SimMIMTransformer(input_shape=(1, window_length), kernel_features=0,
                          random_state=seed), ridge_cv()))


def rolling_origin_split(y, window_length, horizon, inputs=None):
    """The first 75% of ``y``, its windows and their targets for fitting, and every later
    origin with its window and the ``horizon`` values of ``y`` that follow it.

    Windows are cut from ``inputs`` (``y`` by default): a gappy copy of ``y``, or ``y``
    with covariate columns (time x channels), flattened channel-major.
    """
    inputs = np.asarray(y if inputs is None else inputs, dtype=float)
    inputs = inputs.reshape(len(inputs), -1)
    split = int(0.75 * len(y))
    X_train, _ = make_windows(inputs[:split], window_length=window_length, horizon=horizon)
    _, Y_train = make_windows(y[:split], window_length=window_length, horizon=horizon)
    origins = range(split, len(y) - horizon + 1)
    X_test = np.stack([inputs[t - window_length:t].T.ravel() for t in origins])
    Y_test = np.stack([y[t:t + horizon] for t in origins])
    return y[:split], X_train, Y_train, origins, X_test, Y_test


def timed_fit(model, X, Y):
    start = time.perf_counter()
    model.fit(X, Y)
    return model, time.perf_counter() - start


def score(model, split, season):
    """MASE of ``model`` fitted on the split's training windows, and its fit seconds."""
    train, X_train, Y_train, _, X_test, Y_test = split
    model, seconds = timed_fit(model, X_train, Y_train)
    return mase(model.predict(X_test) - Y_test, train, season), seconds


def seeded_rows(about, label, make_model, split, season, seeds=SEEDS):
    """One row: the mean MASE over ``seeds`` of ``make_model(seed)``, each seed's MASE."""
    results = [score(make_model(seed), split, season) for seed in seeds]
    values = [r[0] for r in results]
    return {**about, "model": label, "MASE": float(np.mean(values)),
            **{f"seed {s}": v for s, v in zip(seeds, values)},
            "fit s": float(np.mean([r[1] for r in results]))}


def complete_backtest(name, y, season, window_length, horizon):
    split = rolling_origin_split(y, window_length, horizon)
    origins = split[3]
    about = {"series": name, "windows": len(split[1]), "origins": len(origins)}
    rows = [{**about, "model": "seasonal naive", "MASE": mase(
        np.stack([seasonal_naive(y[:t], season, horizon) for t in origins]) - split[5],
        split[0], season), "fit s": 0.0}]
    for label, model in (("RidgeCV on raw lags", raw_lags()),
                         ("HistGradientBoosting on lags", boosting())):
        value, seconds = score(model, split, season)
        rows.append({**about, "model": label, "MASE": value, "fit s": seconds})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ets = np.stack([
            ExponentialSmoothing(
                y[:t], trend="add", seasonal="add" if season > 1 else None,
                seasonal_periods=season if season > 1 else None,
            ).fit().forecast(horizon)
            for t in origins
        ])
    rows.append({**about, "model": "ETS (statsmodels, refit per origin)",
                 "MASE": mase(ets - split[5], split[0], season),
                 "fit s": time.perf_counter() - start})
    rows.append(seeded_rows(about, PLAIN, lambda s: plain_pipeline(window_length, s),
                            split, season))
    rows.append(seeded_rows(about, FORECASTER, lambda s: SimMIMForecaster(
        input_shape=(1, window_length), random_state=s), split, season))
    print(rows, flush=True)
    return rows


def complete_summary(rows):
    out = []
    for name in dict.fromkeys(row["series"] for row in rows):
        by_model = {row["model"]: row["MASE"] for row in rows if row["series"] == name}
        out.append({
            "series": name,
            "SimMIMForecaster / raw lags": by_model[FORECASTER] / by_model[RAW_LAGS],
            "plain pipeline / raw lags": by_model[PLAIN] / by_model[RAW_LAGS],
            "SimMIMForecaster within 2% of raw lags":
                by_model[FORECASTER] <= 1.02 * by_model[RAW_LAGS],
            "SimMIMForecaster <= seasonal naive":
                by_model[FORECASTER] <= by_model["seasonal naive"],
        })
    return out


def remove_values(y, fraction, pattern, rng):
    """A copy of ``y`` with ``fraction`` of its values (never the first) set to NaN, at
    random or in bursts of 5 to 20 steps."""
    gappy = y.astype(float).copy()
    n_missing = int(round(fraction * len(y)))
    if pattern == "random":
        gappy[1 + rng.choice(len(y) - 1, n_missing, replace=False)] = np.nan
        return gappy
    while np.isnan(gappy).sum() < n_missing:
        start = int(rng.integers(1, len(y)))
        gappy[start:start + int(rng.integers(5, 21))] = np.nan
    return gappy


def with_observed_windows(split):
    """The split without the training windows that are all NaN: they have no level, and a
    careful user drops them (SimMIMForecaster does so itself)."""
    train, X_train, Y_train, origins, X_test, Y_test = split
    kept = ~np.isnan(X_train).all(axis=1)
    return train, X_train[kept], Y_train[kept], origins, X_test, Y_test


def gaps_backtest(name, y, season, window_length, horizon):
    rows = []
    for fraction in GAP_FRACTIONS:
        for pattern in GAP_PATTERNS:
            gappy = remove_values(y, fraction, pattern, np.random.default_rng(0))
            about = {"series": name, "missing": fraction, "pattern": pattern}
            carried = pd.Series(gappy).ffill().to_numpy()
            locf = rolling_origin_split(y, window_length, horizon, carried)
            value, seconds = score(raw_lags(), locf, season)
            rows.append({**about, "model": "last value carried forward + " + RAW_LAGS,
                         "MASE": value, "fit s": seconds})
            split = with_observed_windows(rolling_origin_split(y, window_length, horizon, gappy))
            value, seconds = score(boosting(), split, season)
            rows.append({**about, "model": "HistGradientBoosting on gappy lags",
                         "MASE": value, "fit s": seconds})
            rows.append(seeded_rows(about, "SimMIMImputer + " + RAW_LAGS, lambda s: (
                LevelRegressor(make_pipeline(
                    SimMIMImputer(input_shape=(1, window_length), random_state=s),
                    StandardScaler(), ridge_cv()))), split, season, GAP_SEEDS))
            rows.append(seeded_rows(about, FORECASTER + " on gappy windows", lambda s: (
                SimMIMForecaster(input_shape=(1, window_length), random_state=s)),
                split, season, GAP_SEEDS))
            print(rows[-4:], flush=True)
    return rows


def gaps_ablation_rows(name, y, season, window_length, horizon):
    """At 30% missing in bursts: what SimMIMForecaster's fills and features each buy."""
    gappy = remove_values(y, 0.3, "bursts", np.random.default_rng(0))
    carried = pd.Series(gappy).ffill().to_numpy()
    split = with_observed_windows(rolling_origin_split(y, window_length, horizon, gappy))
    locf = rolling_origin_split(y, window_length, horizon, carried)
    shape = (1, window_length)
    variants = [
        ("last value carried forward + " + RAW_LAGS, lambda s: raw_lags(), locf),
        (FORECASTER + " on gappy windows", lambda s: SimMIMForecaster(
            input_shape=shape, random_state=s), split),
        (FORECASTER + ", feature_weight=0 (lags filled by its reconstruction only)",
         lambda s: SimMIMForecaster(input_shape=shape, feature_weight=0, random_state=s),
         split),
        (FORECASTER + " on windows carried forward", lambda s: SimMIMForecaster(
            input_shape=shape, random_state=s), locf),
    ]
    about = {"series": name, "missing": 0.3, "pattern": "bursts"}
    return [seeded_rows(about, label, make, data, season, GAP_SEEDS)
            for label, make, data in variants]


def gaps_summary(rows):
    out = []
    for fraction in GAP_FRACTIONS:
        for pattern in GAP_PATTERNS:
            cases = [r for r in rows if r["missing"] == fraction and r["pattern"] == pattern]
            for name in dict.fromkeys(r["series"] for r in cases):
                by_model = {r["model"]: r["MASE"] for r in cases if r["series"] == name}
                locf = by_model["last value carried forward + " + RAW_LAGS]
                mine = by_model[FORECASTER + " on gappy windows"]
                out.append({"missing": fraction, "pattern": pattern, "series": name,
                            "SimMIMForecaster": mine, "LOCF + raw lags": locf,
                            "ratio": mine / locf, "SimMIM better": mine < locf})
    return out


def macro_series():
    data = sm.datasets.macrodata.load_pandas().data
    columns = ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi"]
    return {f"log {c}": np.log(data[c].to_numpy()) for c in columns}


def elnino_series():
    data = sm.datasets.elnino.load_pandas().data
    return {month.lower(): data[month].to_numpy(dtype=float) for month in data.columns[1:]}


def covariate_rows():
    """Log real GDP forecast from its own windows, and with two covariates' windows."""
    macro = macro_series()
    y = macro["log realgdp"]
    exog = np.column_stack([macro["log realcons"], macro["log realinv"]])
    season, window_length, horizon = 4, 16, 8
    rows = []
    for inputs, channels, label in ((None, 1, "log real GDP alone"),
                                    (np.column_stack([y, exog]), 3,
                                     "with log real consumption and investment")):
        split = rolling_origin_split(y, window_length, horizon, inputs)
        shape = (channels, window_length)
        about = {"series": "log real GDP", "inputs": label}
        value, seconds = score(
            LevelRegressor(make_pipeline(StandardScaler(), ridge_cv()), input_shape=shape,
                           exog_channels=channels - 1),
            split, season)
        rows.append({**about, "model": RAW_LAGS, "MASE": value, "fit s": seconds})
        rows.append(seeded_rows(about, FORECASTER, lambda s, shape=shape: SimMIMForecaster(
            input_shape=shape, exog_channels=shape[0] - 1, random_state=s), split, season))
    print(rows, flush=True)
    return rows


def shared_rows(group, series, season, window_length, horizon):
    """One model per series against one model fitted on every series' windows."""
    splits = {name: rolling_origin_split(y, window_length, horizon)
              for name, y in series.items()}
    scales = {name: np.std(split[0]) for name, split in splits.items()}
    # Shared training windows, in time order (window i of every series, then i + 1, ...),
    # each series divided by its own training-part scale.
    n_windows = len(next(iter(splits.values()))[1])
    X_all = np.concatenate([np.stack([splits[n][1][i] / scales[n] for n in splits])
                            for i in range(n_windows)])
    Y_all = np.concatenate([np.stack([splits[n][2][i] / scales[n] for n in splits])
                            for i in range(n_windows)])
    makers = {RAW_LAGS: lambda seed: raw_lags(),
              FORECASTER: lambda seed: SimMIMForecaster(input_shape=(1, window_length),
                                                        random_state=seed)}
    rows = []
    for label, make in makers.items():
        seeds = SEEDS if label == FORECASTER else SEEDS[:1]
        per_series, shared, seconds = {}, {}, []
        for seed in seeds:
            for name, split in splits.items():
                value, fit_s = score(make(seed), split, season)
                per_series.setdefault(name, []).append(value)
                seconds.append(fit_s)
            model, fit_s = timed_fit(make(seed), X_all, Y_all)
            for name, (train, _, _, _, X_test, Y_test) in splits.items():
                forecasts = model.predict(X_test / scales[name]) * scales[name]
                shared.setdefault(name, []).append(mase(forecasts - Y_test, train, season))
        for name in splits:
            rows.append({"group": group, "series": name, "model": label,
                         "one model per series": float(np.mean(per_series[name])),
                         "one shared model": float(np.mean(shared[name]))})
        rows.append({"group": group, "series": "mean", "model": label,
                     "one model per series": float(np.mean(list(per_series.values()))),
                     "one shared model": float(np.mean(list(shared.values()))),
                     "shared fit s": fit_s})
    print(rows[-1], rows[len(splits)], flush=True)
    return rows


def main(parts):
    torch.set_num_threads(1)  # fit seconds on one thread, whatever else shares the machine
    warnings.filterwarnings("ignore", category=FutureWarning)
    common = ("MASE on the last 25% of each series (rolling origin, nothing refitted); "
              f"SimMIM rows are the mean over random_state {SEEDS}, all with default "
              "parameters besides input_shape. Protocol: the docstring of "
              "benchmarks/bench_forecasting.py.")
    if "complete" in parts:
        rows = [row for series in load_series() for row in complete_backtest(*series)]
        write_results("forecasting", {"backtests": rows, "summary": complete_summary(rows)},
                      notes=common)
    if "gaps" in parts:
        rows = [row for series in load_series() for row in gaps_backtest(*series)]
        write_results(
            "forecasting_gaps",
            {"backtests with values removed": rows,
             "summary: SimMIMForecaster against last value carried forward": gaps_summary(rows)},
            notes=common.replace(f"random_state {SEEDS}", f"random_state {GAP_SEEDS}")
            + " Values removed with numpy seed 0; targets are the true values.")
    if "gaps-ablation" in parts:
        write_results(
            "forecasting_gaps_ablation",
            {"30% missing in bursts": [row for series in load_series()
                                       for row in gaps_ablation_rows(*series)]},
            notes=common.replace(f"random_state {SEEDS}", f"random_state {GAP_SEEDS}")
            + " Values removed as in forecasting_gaps (numpy seed 0).")
    if "panel" in parts:
        write_results(
            "forecasting_panel",
            {"covariates": covariate_rows(),
             "several series": (shared_rows("macrodata", macro_series(), 4, 16, 8)
                                + shared_rows("el nino months", elnino_series(), 1, 12, 4))},
            notes=common)


if __name__ == "__main__":
    main(sys.argv[1:] or ["complete", "gaps", "gaps-ablation", "panel"])
