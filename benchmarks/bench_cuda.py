"""SimMIMTransformer on a CUDA GPU next to the same machine's CPU, in the same run.

Fits, each with ``device="cpu"`` (torch's default threads: all cores), ``device="cuda"``
and ``device="cuda", precision="bfloat16"``:

1. tabular: 50,000 x 64 float32 rows (bench_speed's model: width 128, depth 2, 16
   components), 2 epochs, with batch 256 and with batch 4,096;
2. windows: 200 random-walk windows of length 427, default parameters (the issue's timing
   case, ``timeseries_images.py``'s timing row);
3. digits as (1, 8, 8) images, default parameters and ``consistency_weight=0``, fitted on the
   training half and probed as in ``timeseries_images.py`` (5 labels per class, 5 draws), so
   that the devices' representations are compared by quality as well as by time.

Then ``transform`` of 1,000,000 x 64 rows with the tabular model, and the digits fit on CUDA
with each of the two forms of the consistency term (``nn/_training.py``): all rows weighted,
which CUDA uses, and only the rows with tokens hidden selected, which the CPU uses and which
makes the host wait for the GPU at every step. Each device first runs one
small untimed fit (CUDA context, kernel selection). Timed runs are interleaved over the
devices, ``REPEATS`` times; the fastest of each counts. Needs a CUDA device. The committed
``results/cuda.*`` predate ``average_shifts`` and the block maxima, which change the digits
probe's ``transform`` (not the fits timed here); a rerun probes with both, the defaults on
images.

Run: ``python benchmarks/bench_cuda.py`` (73 s on one H200 and 16 cores, `results/cuda.md`).
"""

import os
import platform
import time

import numpy as np
import torch
from _digits import digits_halves, few_label_accuracy
from _results import write_results

from simmim_sklearn import SimMIMTransformer
from simmim_sklearn.nn import _training

SEED = 0
REPEATS = 2
DEVICES = {
    # All of the machine's cores, as torch's default: the GPU is set against the whole CPU.
    "cpu": dict(device="cpu", n_threads=os.cpu_count()),
    "cuda": dict(device="cuda"),
    "cuda bfloat16": dict(device="cuda", precision="bfloat16"),
}
TABULAR_ROWS, TABULAR_FEATURES, TRANSFORM_ROWS = 50_000, 64, 1_000_000
TABULAR = dict(n_components=16, hidden_width=128, depth=2, max_iter=2, random_state=SEED)


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(function, *args):
    synchronize()
    start = time.perf_counter()
    result = function(*args)
    synchronize()
    return result, time.perf_counter() - start


def workloads():
    """{name: (X, y or None, SimMIMTransformer parameters)}."""
    rng = np.random.default_rng(SEED)
    tabular = rng.standard_normal((TABULAR_ROWS, TABULAR_FEATURES), dtype=np.float32)
    windows = np.cumsum(np.random.RandomState(SEED).normal(size=(200, 427)), axis=1)
    X_train, X_test, y_train, y_test = digits_halves(SEED)
    images = (X_train, (X_test, y_train, y_test))
    return {
        "tabular 50,000 x 64, batch 256": (tabular, None, dict(TABULAR, batch_size=256)),
        "tabular 50,000 x 64, batch 4096": (tabular, None, dict(TABULAR, batch_size=4096)),
        "windows 200 x 427, defaults": (windows, None, dict(input_shape=(1, 427),
                                                             random_state=SEED)),
        "digits (1, 8, 8), defaults": (*images, dict(input_shape=(1, 8, 8),
                                                     random_state=SEED)),
        "digits (1, 8, 8), consistency_weight=0": (*images, dict(
            input_shape=(1, 8, 8), consistency_weight=0.0, random_state=SEED)),
    }


def warm_up(device_params):
    X = np.random.default_rng(SEED).standard_normal((256, 64), dtype=np.float32)
    for input_shape in (None, (1, 64), (1, 8, 8)):
        SimMIMTransformer(input_shape=input_shape, max_iter=2, **device_params).fit(X)


def fit_rows():
    runs, loads = {}, workloads()
    for device_params in DEVICES.values():
        warm_up(device_params)
    for repeat in range(REPEATS):
        for name, (X, _, params) in loads.items():
            for device, device_params in DEVICES.items():
                model, seconds = timed(SimMIMTransformer(**params, **device_params).fit, X)
                best = runs.get((name, device))
                if best is None or seconds < best["fit s"]:
                    runs[(name, device)] = {"model": model, "fit s": seconds}
                print(f"repeat {repeat} {name} {device}: {seconds:.2f} s", flush=True)
    rows, models = [], {}
    for (name, device), run in runs.items():
        model, (X, probe, _) = run["model"], loads[name]
        row = {"workload": name, "device": device, "fit s": run["fit s"],
               "epochs": model.n_iter_, "final loss": model.loss_curve_[-1],
               "cpu time / this": runs[(name, "cpu")]["fit s"] / run["fit s"]}
        if probe is not None:
            X_test, y_train, y_test = probe
            row["5-label accuracy"] = few_label_accuracy(
                model.transform(X), model.transform(X_test), y_train, y_test)["accuracy"]
        rows.append(row)
        models[(name, device)] = model
    return rows, models


def transform_rows(models):
    X = np.random.default_rng(SEED + 1).standard_normal(
        (TRANSFORM_ROWS, TABULAR_FEATURES), dtype=np.float32)
    name = "tabular 50,000 x 64, batch 256"
    times = {}
    for device in ("cpu", "cuda"):
        models[(name, device)].transform(X[:4096])  # warm-up
    for _ in range(REPEATS):
        for device in ("cpu", "cuda"):
            _, seconds = timed(models[(name, device)].transform, X)
            times[device] = min(seconds, times.get(device, np.inf))
    return [{"method": "transform", "rows": TRANSFORM_ROWS, "device": device,
             "seconds": seconds, "rows/s": TRANSFORM_ROWS / seconds,
             "cpu time / this": times["cpu"] / seconds} for device, seconds in times.items()]


def selected_rows_consistency(network, xs, z, hide):
    return _training._consistency_of_masked_rows(network, xs, z, hide.any(dim=1))


def consistency_form_rows():
    X_train, X_test, y_train, y_test = digits_halves(SEED)
    forms = {"all rows weighted (no host wait)": _training.consistency_error,
             "rows with tokens hidden selected": selected_rows_consistency}
    runs, default_form = {}, _training.consistency_error
    try:
        for _ in range(REPEATS):
            for form, function in forms.items():
                _training.consistency_error = function
                model, seconds = timed(SimMIMTransformer(
                    input_shape=(1, 8, 8), random_state=SEED, device="cuda").fit, X_train)
                if form not in runs or seconds < runs[form][1]:
                    runs[form] = (model, seconds)
    finally:
        _training.consistency_error = default_form
    all_rows_seconds = runs["all rows weighted (no host wait)"][1]
    return [{"consistency term": form, "fit s": seconds, "epochs": model.n_iter_,
             "this time / all rows weighted": seconds / all_rows_seconds,
             "5-label accuracy": few_label_accuracy(
                 model.transform(X_train), model.transform(X_test), y_train, y_test)["accuracy"]}
            for form, (model, seconds) in runs.items()]


def main():
    if not torch.cuda.is_available():
        raise SystemExit("bench_cuda.py needs a CUDA device.")
    start = time.perf_counter()
    fits, models = fit_rows()
    transforms = transform_rows(models)
    consistency = consistency_form_rows()
    notes = (
        f"GPU: {torch.cuda.get_device_name()}; CPU: {torch.get_num_threads()} torch threads "
        f"({platform.processor() or platform.machine()}). Fastest of {REPEATS} interleaved "
        "runs. The fit time includes copying the rows to the device and the per-epoch read "
        "of the loss. 5-label accuracy: digits test half, LogisticRegression on 5 labels "
        f"per class, mean of 5 draws. Total benchmark time {time.perf_counter() - start:.0f} s."
    )
    write_results("cuda", {"fit": fits, "transform: 1,000,000 x 64 float32": transforms,
                           "consistency term on CUDA: digits, defaults": consistency}, notes)


if __name__ == "__main__":
    main()
