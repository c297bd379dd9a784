"""Whether the window defaults suit forecasting from windows, measured on training parts only.

``bench_forecasting.py`` fits on the first 75% of each series and forecasts the rest. Here
only that first 75% is used: it is split again at 75%, the models are fitted on the windows
whose targets lie in its first part, and forecast ``horizon`` steps ahead from every origin
in its last part (rolling origin, nothing refitted), so the benchmark's test part is never
looked at. Models, as in the benchmark and all wrapped in ``LevelRegressor(method="last")``:
Ridge on raw lags (the reference), ``Pipeline(SimMIM, Ridge)`` and raw lags + SimMIM features
into Ridge, SimMIM with its defaults and ``random_state`` 0, 1 and 2 (``VARIANTS`` lists the
settings measured). Metric: MASE against the seasonal naive forecast on the fitting
part. ``PREVIOUS`` holds the figures of the defaults before the self-supervised terms
(this script's results at commit 5bce0df, same protocol and seeds), which the new defaults
must not be worse than.

Run from the repository root with the ``bench`` extra:
``python benchmarks/tune_window_forecasting.py``. Writes
``benchmarks/results/tune_window_forecasting.json`` and ``.md``.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from bench_forecasting import ALPHAS, load_series, mase, rolling_origin_split  # noqa: E402

from simmim_sklearn import LevelRegressor, SimMIMTransformer  # noqa: E402

SEEDS = (0, 1, 2)
MODELS = ("Pipeline(SimMIM, Ridge)", "raw lags + SimMIM features, Ridge")
# SimMIMTransformer parameters of each variant measured.
VARIANTS = {"defaults": {}}
# Mean MASE over SEEDS of the defaults before the self-supervised terms (block_features off).
PREVIOUS = {
    "co2 (monthly mean)": {MODELS[0]: 0.3979, MODELS[1]: 0.3967},
    "airline": {MODELS[0]: 2.015, MODELS[1]: 1.190},
    "nile": {MODELS[0]: 0.7866, MODELS[1]: 1.674},
    "log real GDP": {MODELS[0]: 0.5436, MODELS[1]: 0.5436},
}


def simmim_models(window_length, params, seed):
    def simmim():
        return SimMIMTransformer(input_shape=(1, window_length), random_state=seed, **params)

    return {
        MODELS[0]: make_pipeline(simmim(), RidgeCV(alphas=ALPHAS)),
        MODELS[1]: make_pipeline(
            FeatureUnion([("lags", FunctionTransformer()), ("simmim", simmim())]),
            RidgeCV(alphas=ALPHAS),
        ),
    }


def training_part_backtest(name, y, season, window_length, horizon):
    """MASE of each model, variant and seed, within the first 75% of ``y``."""
    training_part = y[: int(0.75 * len(y))]
    fitting, X_fit, Y_fit, _, X_held, Y_held = rolling_origin_split(
        training_part, window_length, horizon)

    def score(regressor):
        model = LevelRegressor(regressor, method="last").fit(X_fit, Y_fit)
        return mase(model.predict(X_held) - Y_held, fitting, season)

    about = {"series": name, "windows": len(X_fit), "origins": len(X_held)}
    rows = [{**about, "model": "Ridge on raw lags", "variant": "",
             "MASE": score(RidgeCV(alphas=ALPHAS))}]
    for model in MODELS:
        rows.append({**about, "model": model, "variant": "previous defaults (5bce0df)",
                     "MASE": PREVIOUS[name][model]})
    for variant, params in VARIANTS.items():
        per_seed = {}
        for seed in SEEDS:
            for label, regressor in simmim_models(window_length, params, seed).items():
                per_seed.setdefault(label, []).append(score(regressor))
        for label, values in per_seed.items():
            rows.append({**about, "model": label, "variant": variant,
                         "MASE": float(np.mean(values)),
                         **{f"seed {s}": v for s, v in zip(SEEDS, values)}})
    print(rows, flush=True)
    return rows


def summary(rows):
    """Mean MASE over the series of each model and variant, and on how many series each
    variant is no worse than the previous defaults."""
    out = []
    for model in MODELS:
        previous = {r["series"]: r["MASE"] for r in rows
                    if r["model"] == model and r["variant"].startswith("previous")}
        for variant in ("previous defaults (5bce0df)", *VARIANTS):
            mine = {r["series"]: r["MASE"] for r in rows
                    if r["model"] == model and r["variant"] == variant}
            out.append({
                "model": model, "variant": variant,
                "mean MASE": float(np.mean(list(mine.values()))),
                "series no worse than before": sum(mine[s] <= previous[s] + 1e-9
                                                   for s in previous),
                "series": len(previous),
            })
    return out


def main():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    rows = [row for series in load_series() for row in training_part_backtest(*series)]
    write_results(
        "tune_window_forecasting",
        {f"training parts: MASE, mean over seeds {SEEDS}": rows,
         "summary: mean over the series": summary(rows)},
        notes="Each series' first 75% only (the part bench_forecasting.py fits on), split "
              "again at 75%: rolling-origin forecasts from windows, LevelRegressor(method="
              "'last') around every model, SimMIMTransformer defaults otherwise. The "
              "previous defaults' rows are this script's figures at commit 5bce0df.",
    )


if __name__ == "__main__":
    main()
