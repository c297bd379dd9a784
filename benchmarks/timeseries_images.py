"""Quality of SimMIMTransformer's default representation on time-series windows and images.

Run from the repository root: ``python benchmarks/timeseries_images.py``. Needs the ``bench``
extra (aeon for the bundled UCR/UEA sets and MiniRocket). Writes
``benchmarks/results/timeseries_images.json`` and ``.md``.

Protocol. Time series (GunPoint, ItalyPowerDemand, ArrowHead, BasicMotions, OSULeaf, and
ACSF1, which no tuning harness has seen, while aeon still ships it; all read from files inside
the aeon package; sockets are disabled while they load, so no download can happen): each
representation is fitted on the train split only, then probed with StandardScaler +
LogisticRegression and with StandardScaler + RBF SVM whose C is chosen by
5-fold CV on the train split; accuracy is on the test split. SimMIM runs with default
parameters (only ``input_shape`` and ``random_state`` given), and, to show what its training
buys, the same network trained for one epoch and left untrained (one epoch at a learning rate
of 1e-12: random encoder, linear path started at PCA). SimMIM and
MiniRocket run with each of ``MODEL_SEEDS`` as ``random_state``; their rows give the mean and
the standard deviation over those seeds, as a single seed can move a set of a few dozen
training windows by more than 0.1 (ArrowHead in the inductive tables of
``results/tune_window_defaults_architecture.md``).
Digits as (1, 8, 8) images: half of the 1,797 images (stratified) are the training images,
SimMIM and PCA are fitted on all of them, LogisticRegression sees 5 labelled images per class,
and the test accuracy on the other half is averaged over 5 label draws (and SimMIM's over
``MODEL_SEEDS``); SimMIM also runs for one epoch, untrained, without the consistency term
that its defaults add on images (``consistency_weight=0``) and without the averaging over
one-pixel shifts that its ``transform`` does on images (``average_shifts=False``). The
summary gives each method's mean over the window sets. The digits rows also give the
round-trip R² on the test half (``inverse_transform(transform(X))`` against ``X``, variance
weighted). Fits run on one torch thread; the timing row fits 200 random-walk windows of
length 427 on 2 threads.
"""

import json
import os
import socket
import sys
import time
from functools import partial
from pathlib import Path

import aeon.datasets
import numpy as np
import torch
from _digits import digits_halves, few_label_accuracy
from aeon.datasets import (
    load_arrow_head,
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_osuleaf,
)
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from simmim_sklearn import SimMIMTransformer

RESULTS = Path(__file__).parent / "results"
SEED = 0
# random_state of the models that have one: each row is their mean (and standard deviation).
MODEL_SEEDS = (0, 1, 2, 3, 4)
# TS2Vec (Yue et al., 2022), published UCR accuracies (RBF SVM on its representation).
TS2VEC = {"GunPoint": 0.980, "ItalyPowerDemand": 0.925, "ArrowHead": 0.857,
          "OSULeaf": 0.851, "ACSF1": 0.910}
SETS = {
    "GunPoint": load_gunpoint,
    "ItalyPowerDemand": load_italy_power_demand,
    "ArrowHead": load_arrow_head,
    "BasicMotions": load_basic_motions,
    "OSULeaf": load_osuleaf,
}
# Not among tune_window_defaults.py's sets: how the defaults do on a set never tuned on. aeon
# 1.6 deprecates this loader and its bundled file; later versions run without the row.
if hasattr(aeon.datasets, "load_acsf1"):
    SETS["ACSF1"] = aeon.datasets.load_acsf1


# The same network trained as the defaults train it, for one epoch, and not at all.
UNTRAINED = {"max_iter": 1, "learning_rate_init": 1e-12}
ABLATION = {"SimMIM (defaults)": {}, "SimMIM, one epoch": {"max_iter": 1},
            "SimMIM, untrained": UNTRAINED}
# Windows only: what the learned network gives without the fixed kernel bank, untrained.
WINDOW_ABLATION = {**ABLATION, "SimMIM, untrained, kernel_features=0":
                   {**UNTRAINED, "kernel_features": 0}}


class KernelBankAlone:
    """The kernel bank's columns of an untrained SimMIMTransformer's representation: what
    the windows' representation holds that no training touches."""

    def __init__(self, input_shape, random_state):
        self.model = SimMIMTransformer(input_shape=input_shape, random_state=random_state,
                                       **UNTRAINED)

    def fit(self, X):
        self.model.fit(X)
        return self

    def transform(self, X):
        return self.model.transform(X)[:, -self.model.kernel_features_:]


def load_offline(loader):
    """Load both splits with sockets disabled: the data must come from the installed files."""
    real_socket = socket.socket

    def no_network(*args, **kwargs):
        raise RuntimeError("a data set loader tried to open a network connection")

    socket.socket = no_network
    try:
        return loader(split="train"), loader(split="test")
    finally:
        socket.socket = real_socket


def probes(Z_train, Z_test, y_train, y_test):
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    svm = GridSearchCV(
        make_pipeline(StandardScaler(), SVC(kernel="rbf")),
        {"svc__C": np.logspace(-2, 3, 6)},
        cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
    )
    return {
        "logistic": logistic.fit(Z_train, y_train).score(Z_test, y_test),
        "svm": svm.fit(Z_train, y_train).score(Z_test, y_test),
    }


def timed_fit_transform(model, X_train, X_test):
    start = time.perf_counter()
    model.fit(X_train)
    seconds = time.perf_counter() - start
    return model.transform(X_train), model.transform(X_test), seconds


def round_trip_r2(model, Z_test, X_test):
    return r2_score(X_test, model.inverse_transform(Z_test), multioutput="variance_weighted")


def over_seeds(make_model, X_train, X_test, score, round_trip=False):
    """Mean, standard deviation and per-seed values over ``MODEL_SEEDS`` of the fit seconds
    of ``make_model(random_state=seed)``, of each figure of ``score(Z_train, Z_test)`` and,
    with ``round_trip``, of ``round_trip_r2`` on ``X_test``."""
    runs = []
    for seed in MODEL_SEEDS:
        # aeon's MiniRocket sets numba's threads, which raises torch's: back to one.
        torch.set_num_threads(1)
        model = make_model(random_state=seed)
        Z_train, Z_test, seconds = timed_fit_transform(model, X_train, X_test)
        runs.append({"fit_seconds": seconds, **score(Z_train, Z_test)})
        if round_trip:
            runs[-1]["round_trip_r2"] = round_trip_r2(model, Z_test, X_test)
    summary = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        summary.update({key: float(np.mean(values)), f"{key}_std": float(np.std(values)),
                        f"{key}_per_seed": values})
    return summary


def time_series_rows():
    rows = []
    for name, loader in SETS.items():
        (X3_train, y_train), (X3_test, y_test) = load_offline(loader)
        shape = X3_train.shape[1:]
        X_train, X_test = X3_train.reshape(len(X3_train), -1), X3_test.reshape(len(X3_test), -1)
        about = {"data": name, "shape": list(shape)}
        score = partial(probes, y_train=y_train, y_test=y_test)
        for method, params in WINDOW_ABLATION.items():
            rows.append({**about, "method": method, **over_seeds(
                partial(SimMIMTransformer, input_shape=shape, **params), X_train, X_test,
                score)})
        rows.append({**about, "method": "kernel bank alone", **over_seeds(
            partial(KernelBankAlone, input_shape=shape), X_train, X_test, score)})
        rows.append({**about, "method": "MiniRocket (aeon)",
                     **over_seeds(MiniRocket, X3_train, X3_test, score)})
        rows.append({**about, "method": "raw values", "fit_seconds": 0.0,
                     **score(X_train, X_test), "logistic_std": 0.0, "svm_std": 0.0})
        print(rows[-len(WINDOW_ABLATION) - 3:], flush=True)
    return rows


def digits_rows():
    X_train, X_test, y_train, y_test = digits_halves(SEED)
    score = partial(few_label_accuracy, y_train=y_train, y_test=y_test)
    simmim = {
        **ABLATION,
        "SimMIM, consistency_weight=0": {"consistency_weight": 0.0},
        "SimMIM, average_shifts=False": {"average_shifts": False},
    }
    rows = [{"method": method, **over_seeds(
        partial(SimMIMTransformer, input_shape=(1, 8, 8), **params), X_train, X_test, score,
        round_trip=True)}
        for method, params in simmim.items()]
    pca = PCA(n_components=16, random_state=SEED)
    Z_train, Z_test, seconds = timed_fit_transform(pca, X_train, X_test)
    rows.append({"method": "PCA (16 components)", "fit_seconds": seconds,
                 **score(Z_train, Z_test), "accuracy_std": 0.0,
                 "round_trip_r2": round_trip_r2(pca, Z_test, X_test)})
    rows.append({"method": "raw pixels", "fit_seconds": 0.0, **score(X_train, X_test),
                 "accuracy_std": 0.0, "round_trip_r2": 1.0})
    print(rows, flush=True)
    return rows


def timing_row():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        X = np.cumsum(np.random.RandomState(SEED).normal(size=(200, 427)), axis=1)
        model = SimMIMTransformer(input_shape=(1, 427), n_threads=2, random_state=SEED)
        start = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    return {"rows": 200, "length": 427, "encoder": model.encoder_,
            "patch_size": list(model.patch_size_), "epochs": model.n_iter_,
            "fit_seconds_2_threads": seconds}


def window_means(rows):
    """Each method's mean over the window sets of its logistic and SVM accuracy and fit
    seconds."""
    means = []
    for method in dict.fromkeys(row["method"] for row in rows):
        own = [row for row in rows if row["method"] == method]
        means.append({"method": method, "sets": len(own),
                      **{key: float(np.mean([row[key] for row in own]))
                         for key in ("logistic", "svm", "fit_seconds")}})
    return means


def markdown(results):
    lines = ["# timeseries_images", "",
             "## Time series: test accuracy (fit on the train split only)", "",
             f"SimMIM and MiniRocket: mean +- standard deviation over random_state in "
             f"{MODEL_SEEDS}.", "",
             "| data (C, L) | method | logistic | RBF SVM | TS2Vec (published) | fit s |",
             "|---|---|---|---|---|---|"]
    for row in results["time_series"]:
        ts2vec = TS2VEC.get(row["data"])
        ts2vec = f"{ts2vec:.3f}" if ts2vec and row["method"].startswith("SimMIM") else ""
        lines.append(
            f"| {row['data']} {tuple(row['shape'])} | {row['method']} "
            f"| {row['logistic']:.3f} +- {row['logistic_std']:.3f} "
            f"| {row['svm']:.3f} +- {row['svm_std']:.3f} | {ts2vec} | {row['fit_seconds']:.1f} |"
        )
    lines += ["", f"## Mean over the {len(SETS)} window sets", "",
              "| method | logistic | RBF SVM | fit s |", "|---|---|---|---|"]
    lines += [f"| {row['method']} | {row['logistic']:.3f} | {row['svm']:.3f} "
              f"| {row['fit_seconds']:.1f} |" for row in results["window_means"]]
    lines += ["", "## Digits as (1, 8, 8) images: 5 labels per class, mean of 5 draws", ""]
    if results.get("digits_from_earlier_run"):
        lines += ["These rows come from the last full run (``--windows-only`` kept them).", ""]
    lines += [
              f"SimMIM: mean over random_state in {MODEL_SEEDS}; std over seeds, and the mean "
              "over seeds of the std over label draws.", "",
              "| method | accuracy | std over seeds | std over label draws | round-trip R² "
              "| fit s |",
              "|---|---|---|---|---|---|"]
    for row in results["digits"]:
        lines.append(f"| {row['method']} | {row['accuracy']:.3f} | {row['accuracy_std']:.3f} "
                     f"| {row['draw_std']:.3f} | {row['round_trip_r2']:.3f} "
                     f"| {row['fit_seconds']:.1f} |")
    t = results["timing"]
    lines += ["", f"Fit of 200 windows of length 427 (encoder {t['encoder']}, patch "
              f"{t['patch_size'][0]}, {t['epochs']} epochs) on 2 threads: "
              f"{t['fit_seconds_2_threads']:.1f} s.",
              f"Machine load average at the end (1, 5, 15 min) on {results['cpus']} CPUs: "
              f"{', '.join(f'{x:.1f}' for x in results['load_average_1_5_15_min'])}.", ""]
    return "\n".join(lines)


def main():
    # One thread per fit: other benchmarks may share the machine, and oversubscribed threads
    # slow every fit; the timing row sets its own.
    torch.set_num_threads(1)
    # ``--windows-only`` reruns the windows and the timing row and keeps the digits rows of
    # the last full run (a change that touches only windows leaves them as they were).
    windows_only = "--windows-only" in sys.argv
    time_series = time_series_rows()
    if windows_only:
        digits = json.loads((RESULTS / "timeseries_images.json").read_text())["digits"]
    else:
        digits = digits_rows()
    results = {"time_series": time_series, "window_means": window_means(time_series),
               "digits": digits, "digits_from_earlier_run": windows_only,
               "timing": timing_row(), "torch_threads": torch.get_num_threads(),
               "load_average_1_5_15_min": list(os.getloadavg()), "cpus": os.cpu_count()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "timeseries_images.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "timeseries_images.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
