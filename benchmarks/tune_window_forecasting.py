"""Whether ``block_features`` suits forecasting from windows, measured on training parts only.

``bench_forecasting.py`` fits on the first 75% of each series and forecasts the rest. Here
only that first 75% is used: it is split again at 75%, the models are fitted on the windows
whose targets lie in its first part, and forecast ``horizon`` steps ahead from every origin
in its last part (rolling origin, nothing refitted), so the benchmark's test part is never
looked at. Models, as in the benchmark and all wrapped in ``LevelRegressor(method="last")``:
Ridge on raw lags (the reference), ``Pipeline(SimMIM, Ridge)`` and raw lags + SimMIM features
into Ridge, SimMIM with ``block_features`` False (the default) and True, ``random_state`` 0,
1 and 2. Metric: MASE against the seasonal naive forecast on the fitting part.

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


def simmim_models(window_length, block_features, seed):
    def simmim():
        return SimMIMTransformer(input_shape=(1, window_length), block_features=block_features,
                                 random_state=seed)

    return {
        "Pipeline(SimMIM, Ridge)": make_pipeline(simmim(), RidgeCV(alphas=ALPHAS)),
        "raw lags + SimMIM features, Ridge": make_pipeline(
            FeatureUnion([("lags", FunctionTransformer()), ("simmim", simmim())]),
            RidgeCV(alphas=ALPHAS),
        ),
    }


def training_part_backtest(name, y, season, window_length, horizon):
    """MASE of each model and seed, within the first 75% of ``y``."""
    training_part = y[: int(0.75 * len(y))]
    fitting, X_fit, Y_fit, _, X_held, Y_held = rolling_origin_split(
        training_part, window_length, horizon)

    def score(regressor):
        model = LevelRegressor(regressor, method="last").fit(X_fit, Y_fit)
        return mase(model.predict(X_held) - Y_held, fitting, season)

    about = {"series": name, "windows": len(X_fit), "origins": len(X_held)}
    rows = [{**about, "model": "Ridge on raw lags", "block_features": "",
             "MASE": score(RidgeCV(alphas=ALPHAS))}]
    for block_features in (False, True):
        per_seed = {}
        for seed in SEEDS:
            for label, regressor in simmim_models(window_length, block_features, seed).items():
                per_seed.setdefault(label, []).append(score(regressor))
        for label, values in per_seed.items():
            rows.append({**about, "model": label, "block_features": block_features,
                         "MASE": float(np.mean(values)),
                         **{f"seed {s}": v for s, v in zip(SEEDS, values)}})
    print(rows, flush=True)
    return rows


def main():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    rows = [row for series in load_series() for row in training_part_backtest(*series)]
    summary = []
    for label in dict.fromkeys(row["model"] for row in rows if row["block_features"] != ""):
        by_setting = {
            setting: {row["series"]: row["MASE"] for row in rows
                      if row["model"] == label and row["block_features"] == setting}
            for setting in (False, True)
        }
        summary.append({
            "model": label,
            "mean MASE, block_features=False": float(np.mean(list(by_setting[False].values()))),
            "mean MASE, block_features=True": float(np.mean(list(by_setting[True].values()))),
            "series where True is better": sum(
                by_setting[True][s] < by_setting[False][s] for s in by_setting[False]),
            "series": len(by_setting[False]),
        })
    write_results(
        "tune_window_forecasting",
        {"training parts: MASE, mean over seeds (0, 1, 2)": rows,
         "summary: mean over the series": summary},
        notes="Each series' first 75% only (the part bench_forecasting.py fits on), split "
              "again at 75%: rolling-origin forecasts from windows, LevelRegressor(method="
              "'last') around every model, SimMIMTransformer defaults otherwise.",
    )


if __name__ == "__main__":
    main()
