"""Regression on time-series windows (issue 39): SimMIM against ridge on raw values and MiniRocket.

Run from the repository root: ``python benchmarks/bench_window_regression.py`` (needs the
``bench`` extra: aeon). Writes ``benchmarks/results/window_regression.json`` and ``.md``
(``--out DIR`` elsewhere). ``--quick`` (or ``SIMMIM_BENCH_QUICK=1``) checks the script end to
end: first set, seed 0, SimMIM trained for one epoch (pretraining and fine-tuning), written
to a temporary directory. ``--variant NAME=JSON`` adds a SimMIMRegressor row with those
parameters, ``--transformer-variant NAME=JSON`` a SimMIMTransformer + RidgeCV row with those
SimMIMTransformer parameters; ``--sets``, ``--seeds`` and ``--methods`` select.

Protocol. The regression sets that aeon bundles inside the package: Covid3Month (1, 84) and
CardanoSentiment (2, 24), read with sockets disabled (aeon 1.6 ships no other regression
set: ``load_regression`` reads these two from the package too and would download any
other name). The given train/test splits. Methods:
StandardScaler + RidgeCV (alphas logspace(-3, 3, 13)) on the raw values; MiniRocket (aeon) +
StandardScaler + RidgeCV; SimMIMTransformer + StandardScaler + RidgeCV; SimMIMRegressor.
The SimMIM rows pass only ``input_shape`` and ``random_state`` (and a variant's
parameters), so the figures follow the package's defaults of the day. Test RMSE is in the
target's units (the table gives the test targets' standard deviation for scale) and as a
ratio to the RMSE of RidgeCV on raw values; the random methods give the mean and standard
deviation over the model seeds 0..4, the deterministic ridge on raw values runs once. Fit
seconds are the mean over seeds of the fit on the train split. Gaps: unequal-length series
would be padded at the end with NaN to the longest; NaN go as they are to the SimMIM
estimators, which mask them, and are filled for ridge and MiniRocket by linear interpolation
along time within each channel (the end values carried outward; an all-NaN channel is 0).
Both bundled sets are equal-length with no NaN (the rows count the NaN). The summary gives
each method's mean ratio over the sets. Fits and predictions run on one torch thread
(``torch.set_num_threads(1)``, set again before each: MiniRocket's numba threads reset it):
other work shares the machine.
"""

import sys
from pathlib import Path

import numpy as np
from aeon.datasets import load_cardano_sentiment, load_covid_3month
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from _windows_bench import (  # noqa: E402
    build_methods,
    flat,
    machine_note,
    one_thread,
    over_seeds,
    parse_args,
    timed,
)
from timeseries_images import load_offline  # noqa: E402

from simmim_sklearn import SimMIMRegressor, SimMIMTransformer  # noqa: E402

SETS = {"Covid3Month": load_covid_3month, "CardanoSentiment": load_cardano_sentiment}
RAW = "RidgeCV on raw values"
DETERMINISTIC = {RAW}


def ridge():
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def as_windows(X):
    """(n, C, L) float array; unequal-length series (a list of (C, L_i)) padded with NaN."""
    if isinstance(X, np.ndarray):
        return X.astype(np.float64)
    length = max(x.shape[-1] for x in X)
    out = np.full((len(X), X[0].shape[0], length), np.nan)
    for i, x in enumerate(X):
        out[i, :, :x.shape[-1]] = x
    return out


def fill_gaps(X3):
    """NaN interpolated along time within each channel (ends carried, all-NaN channel 0)."""
    if not np.isnan(X3).any():
        return X3
    out = X3.copy()
    steps = np.arange(X3.shape[-1])
    for series in out:
        for channel in series:
            known = ~np.isnan(channel)
            channel[:] = (np.interp(steps, steps[known], channel[known]) if known.any()
                          else 0.0)
    return out


# A method is fit(X_train, y_train, shape, seed) -> predict, with X_train (n, C, L) windows
# (NaN where missing) and predict(X_test) -> targets.


def raw_ridge(X_train, y_train, shape, seed):
    model = ridge().fit(flat(fill_gaps(X_train)), y_train)
    return lambda X: model.predict(flat(fill_gaps(X)))


def minirocket_ridge(X_train, y_train, shape, seed):
    rocket = MiniRocket(random_state=seed)
    model = ridge().fit(rocket.fit_transform(fill_gaps(X_train)), y_train)
    return lambda X: model.predict(rocket.transform(fill_gaps(X)))


def simmim_regressor(**params):
    def fit(X_train, y_train, shape, seed):
        model = SimMIMRegressor(input_shape=shape, random_state=seed, **params)
        model.fit(flat(X_train), y_train)
        return lambda X: model.predict(flat(X))
    return fit


def simmim_transformer_ridge(**params):
    def fit(X_train, y_train, shape, seed):
        model = make_pipeline(
            SimMIMTransformer(input_shape=shape, random_state=seed, **params), ridge())
        model.fit(flat(X_train), y_train)
        return lambda X: model.predict(flat(X))
    return fit


def default_methods(finetuned, transformer):
    return {RAW: raw_ridge, "MiniRocket + RidgeCV": minirocket_ridge,
            "SimMIMTransformer + RidgeCV": transformer(),
            "SimMIMRegressor (defaults)": finetuned()}


def set_rows(name, methods, seeds):
    (X_train, y_train), (X_test, y_test) = load_offline(SETS[name])
    X_train, X_test = as_windows(X_train), as_windows(X_test)
    shape = X_train.shape[1:]
    about = {"data": name, "shape": list(shape), "train": len(y_train), "test": len(y_test),
             "y_test_std": float(np.std(y_test)),
             "nan": int(np.isnan(X_train).sum() + np.isnan(X_test).sum())}
    rows = []
    for method, fit in methods.items():
        runs = []
        for seed in seeds[:1] if method in DETERMINISTIC else seeds:
            predict, seconds = timed(fit, X_train, y_train, shape, seed)
            rmse = float(np.sqrt(mean_squared_error(y_test, timed(predict, X_test)[0])))
            runs.append({"rmse": rmse, "fit_seconds": seconds})
            print(name, seed, method, f"{rmse:.4g} {seconds:.1f}s", flush=True)
        rows.append({**about, "method": method, "seeds": len(runs), **over_seeds(runs)})
    raw = next((row["rmse"] for row in rows if row["method"] == RAW), None)
    for row in rows:
        if raw:
            row["rmse_ratio_to_raw_ridge"] = row["rmse"] / raw
            row["rmse_ratio_to_raw_ridge_std"] = row["rmse_std"] / raw
    return rows


def set_table(rows):
    return [{"data (C, L)": f"{row['data']} {tuple(row['shape'])}",
             "train/test": f"{row['train']}/{row['test']}", "NaN": row["nan"],
             "y test std": float(f"{row['y_test_std']:.4g}"), "method": row["method"],
             "seeds": row["seeds"], "RMSE": float(f"{row['rmse']:.4g}"),
             "std": float(f"{row['rmse_std']:.2g}"),
             "ratio to raw ridge": round(row.get("rmse_ratio_to_raw_ridge", np.nan), 3),
             "fit s": round(row["fit_seconds"], 1)} for row in rows]


def summary_table(rows):
    table = []
    for method in dict.fromkeys(row["method"] for row in rows):
        own = [row for row in rows if row["method"] == method]
        ratios = [row["rmse_ratio_to_raw_ridge"] for row in own
                  if "rmse_ratio_to_raw_ridge" in row]
        table.append({"method": method, "sets": len(own),
                      "mean ratio to raw ridge": round(float(np.mean(ratios)), 3)
                      if ratios else "",
                      "mean fit s": round(float(np.mean([r["fit_seconds"] for r in own])), 1)})
    return table


def main():
    args = parse_args(__doc__, SETS)
    one_thread()
    methods = build_methods(args, default_methods, simmim_regressor, simmim_transformer_ridge)
    rows = [row for name in args.sets for row in set_rows(name, methods, args.seeds)]
    tables = {"Test RMSE (target units) and ratio to RidgeCV on raw values": set_table(rows),
              f"Mean over the {len(args.sets)} sets": summary_table(rows)}
    notes = " ".join(__doc__.split("Protocol. ")[1].split()) + " " + machine_note(args)
    write_results("window_regression", tables, notes, directory=args.out,
                  extra={"rows": rows, "methods": list(methods), "seeds": list(args.seeds),
                         "quick": args.quick})


if __name__ == "__main__":
    main()
