"""How SimMIMForecaster's ``feature_weight`` was chosen, on the series' training parts only.

``bench_forecasting.py`` fits on the first 75% of each series and forecasts the rest. Here
only that first 75% is used: it is split again at 75%, the models are fitted on the windows
whose targets lie in its first part and forecast ``horizon`` steps ahead from every origin
in its last part (rolling origin, nothing refitted), so the benchmark's test part is never
looked at. Rows: RidgeCV on raw lags (the reference, as in the benchmark), the plain
``Pipeline(SimMIMTransformer, RidgeCV)``, and ``SimMIMForecaster`` at each weight of
``WEIGHTS`` (0 is ridge on the lags alone) and, at the default weight, with a transformer
trained for one epoch only (what the training adds). Seed 0. Metric: MASE against the
seasonal naive forecast on the fitting part.

Run from the repository root with the ``bench`` extra:
``python benchmarks/tune_window_forecasting.py``. Writes
``benchmarks/results/tune_window_forecasting.json`` and ``.md``.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from bench_forecasting import (  # noqa: E402
    load_series,
    plain_pipeline,
    raw_lags,
    rolling_origin_split,
    score,
)

from simmim_sklearn import SimMIMForecaster, SimMIMTransformer  # noqa: E402

SEED = 0
WEIGHTS = (0.0, 0.1, 0.3, 1.0)


def variants(window_length):
    """(label, model) of every variant measured."""
    shape = (1, window_length)
    yield "RidgeCV on raw lags", raw_lags()
    yield "Pipeline(SimMIMTransformer, RidgeCV)", plain_pipeline(window_length, SEED)
    for weight in WEIGHTS:
        yield f"SimMIMForecaster, feature_weight={weight}", SimMIMForecaster(
            input_shape=shape, feature_weight=weight, random_state=SEED)
    yield "SimMIMForecaster, transformer trained one epoch", SimMIMForecaster(
        input_shape=shape, transformer=SimMIMTransformer(
            input_shape=shape, max_iter=1, random_state=SEED))


def training_part_rows(name, y, season, window_length, horizon):
    split = rolling_origin_split(y[: int(0.75 * len(y))], window_length, horizon)
    about = {"series": name, "windows": len(split[1]), "origins": len(split[4])}
    rows = []
    for label, model in variants(window_length):
        value, seconds = score(model, split, season)
        rows.append({**about, "model": label, "MASE": value, "fit s": seconds})
    print(rows, flush=True)
    return rows


def summary(rows):
    """Each variant's mean MASE, and its worst and mean ratio to raw lags over the series."""
    reference = {r["series"]: r["MASE"] for r in rows if r["model"] == "RidgeCV on raw lags"}
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        ratios = [r["MASE"] / reference[r["series"]] for r in rows if r["model"] == model]
        out.append({"model": model,
                    "mean MASE": float(np.mean([r["MASE"] for r in rows
                                                if r["model"] == model])),
                    "mean ratio to raw lags": float(np.mean(ratios)),
                    "worst ratio to raw lags": float(np.max(ratios))})
    return out


def main():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    rows = [row for series in load_series() for row in training_part_rows(*series)]
    write_results(
        "tune_window_forecasting",
        {"training parts: MASE, seed 0": rows, "summary over the 4 series": summary(rows)},
        notes="Each series' first 75% only (the part bench_forecasting.py fits on), split "
              "again at 75%: rolling-origin forecasts from windows, every model level-free "
              "(relative to each window's last value), ridge penalties by time-series CV.",
    )


if __name__ == "__main__":
    main()
