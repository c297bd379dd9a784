"""Quality of SimMIMClassifier and SimMIMRegressor: pretraining, then fine-tuning.

Run from the repository root: ``python benchmarks/bench_finetuning.py [digits]
[digits-layer-decay] [windows] [tabular]`` (all by default; each part writes its own
results). Needs the ``bench``
extra (aeon for the window sets and MiniRocket). Fits run on one torch thread.

- ``digits`` (``finetuning_digits``): the digits images as (1, 8, 8), a stratified half to
  train on (``_digits.digits_halves``), 5 labeled images per class and the rest of the half
  unlabeled, 5 label draws (draw ``d`` also seeds the models that have a seed); accuracy on
  the other half. SimMIMClassifier with its defaults, without pretraining
  (``pretrain_iter=0``: the same network fine-tuned from its random start, the labels still
  spread over its representation) and without the unlabeled rows in fine-tuning
  (``unlabeled_weight=0``); against LabelSpreading (k-nearest-neighbour graph, scikit-learn's
  default 7 neighbours, on standardised pixels), SelfTrainingClassifier around a
  standardised LogisticRegressionCV, and SimMIMTransformer fitted on the training half +
  LogisticRegression on the labeled rows.
- ``digits-layer-decay`` (``finetuning_digits_layer_decay``): the same protocol, the defaults
  against ``layer_decay=1`` (every layer at the head's learning rate).
- ``windows`` (``finetuning_windows``): GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf, ACSF1
  and BasicMotions from the files inside aeon, train and test splits, every training window
  labeled; SimMIMClassifier (defaults, and ``pretrain_iter=0``) and MiniRocket +
  RidgeClassifierCV, each with random_state 0 to 4; InceptionTime's published accuracies
  beside them.
- ``tabular`` (``finetuning_tabular``): diabetes (regression, R²), breast_cancer and wine
  (classification, accuracy), 5-fold CV (shuffled, seed 0); SimMIMRegressor / SimMIMClassifier
  with defaults and without pretraining, against HistGradientBoosting and a standardised
  MLPRegressor / MLPClassifier whose ``alpha`` is chosen by 3-fold CV within each training
  fold.
"""

import sys
import time

import numpy as np
import torch
from _digits import digits_halves
from _results import write_results
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, RidgeClassifierCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from timeseries_images import SETS, load_offline

from simmim_sklearn import SimMIMClassifier, SimMIMRegressor, SimMIMTransformer

DRAWS = (0, 1, 2, 3, 4)
PER_CLASS = 5
MODEL_SEEDS = (0, 1, 2, 3, 4)
# InceptionTime (Ismail Fawaz et al., 2020), published test accuracies.
INCEPTION_TIME = {"GunPoint": 1.000, "ItalyPowerDemand": 0.966, "ArrowHead": 0.863,
                  "OSULeaf": 0.921, "ACSF1": 0.910, "BasicMotions": 1.000}
WINDOW_SETS = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "BasicMotions")


def timed_fit(model, *data):
    """``model`` fitted on ``data`` on one torch thread, and the seconds the fit took; the
    thread count is set again before every fit, as aeon's MiniRocket raises it."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    model.fit(*data)
    return model, time.perf_counter() - start


def summary(method, scores, seconds, **extra):
    return {"method": method, **extra, "accuracy": float(np.mean(scores)),
            "std": float(np.std(scores)), "fit_seconds": float(np.mean(seconds)),
            "per_run": [round(float(s), 4) for s in scores]}


# -- digits: few labels, many unlabeled rows ----------------------------------------------

def digits_methods(shape):
    return {
        "SimMIMClassifier (defaults)": lambda seed: SimMIMClassifier(
            input_shape=shape, random_state=seed),
        "SimMIMClassifier, no pretraining": lambda seed: SimMIMClassifier(
            input_shape=shape, pretrain_iter=0, random_state=seed),
        "SimMIMClassifier, labeled rows only": lambda seed: SimMIMClassifier(
            input_shape=shape, unlabeled_weight=0.0, random_state=seed),
        "LabelSpreading (kNN graph)": lambda seed: make_pipeline(
            StandardScaler(), LabelSpreading(kernel="knn")),
        "SelfTrainingClassifier(LogisticRegressionCV)": lambda seed: SelfTrainingClassifier(
            make_pipeline(StandardScaler(), LogisticRegressionCV(max_iter=5000))),
    }


def few_labels(y_train, draw):
    """The indices of ``PER_CLASS`` labeled rows per class of label draw ``draw``, and the
    training labels with every other row marked -1."""
    rng = np.random.RandomState(draw)
    labeled = np.concatenate([
        rng.choice(np.flatnonzero(y_train == c), PER_CLASS, replace=False)
        for c in np.unique(y_train)])
    y_semi = np.full(len(y_train), -1)
    y_semi[labeled] = y_train[labeled]
    return labeled, y_semi


def digits():
    X_train, X_test, y_train, y_test = digits_halves(0)
    results = {}
    for draw in DRAWS:
        labeled, y_semi = few_labels(y_train, draw)
        for name, make in digits_methods((1, 8, 8)).items():
            model, seconds = timed_fit(make(draw), X_train, y_semi)
            results.setdefault(name, []).append((model.score(X_test, y_test), seconds))
            print(draw, name, results[name][-1], flush=True)
        transformer, seconds = timed_fit(
            SimMIMTransformer(input_shape=(1, 8, 8), random_state=draw), X_train)
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(
            transformer.transform(X_train[labeled]), y_train[labeled])
        name = "SimMIMTransformer + LogisticRegression"
        results.setdefault(name, []).append(
            (probe.score(transformer.transform(X_test), y_test), seconds))
    rows = [summary(name, [a for a, _ in runs], [s for _, s in runs])
            for name, runs in results.items()]
    default = np.array(rows[0]["per_run"])
    untrained = np.array(rows[1]["per_run"])
    write_results("finetuning_digits", {"digits, 5 labels per class": rows}, notes=(
        f"Pretraining is worth {np.mean(default - untrained):+.3f} accuracy "
        f"(defaults minus pretrain_iter=0, paired over the {len(DRAWS)} draws)."))


def digits_layer_decay():
    """The digits protocol with the defaults against one learning rate for every layer."""
    X_train, X_test, y_train, y_test = digits_halves(0)
    methods = {"layer_decay=0.75 (default)": {}, "layer_decay=1 (no decay)": {"layer_decay": 1.0}}
    results = {}
    for draw in DRAWS:
        _, y_semi = few_labels(y_train, draw)
        for name, params in methods.items():
            model, seconds = timed_fit(SimMIMClassifier(
                input_shape=(1, 8, 8), random_state=draw, **params), X_train, y_semi)
            results.setdefault(name, []).append((model.score(X_test, y_test), seconds))
            print(draw, name, results[name][-1], flush=True)
    rows = [summary(name, [a for a, _ in runs], [s for _, s in runs])
            for name, runs in results.items()]
    write_results("finetuning_digits_layer_decay", {"digits, 5 labels per class": rows})


# -- windows: every training window labeled -----------------------------------------------

def window_methods(shape):
    return {
        "SimMIMClassifier (defaults)": lambda seed: SimMIMClassifier(
            input_shape=shape, random_state=seed),
        "SimMIMClassifier, no pretraining": lambda seed: SimMIMClassifier(
            input_shape=shape, pretrain_iter=0, random_state=seed),
        "MiniRocket + RidgeClassifierCV": lambda seed: make_pipeline(
            MiniRocket(random_state=seed), StandardScaler(),
            RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))),
    }


def windows():
    rows = []
    for name in WINDOW_SETS:
        (X3, y), (X3_test, y_test) = load_offline(SETS[name])
        X, X_test = X3.reshape(len(X3), -1), X3_test.reshape(len(X3_test), -1)
        shape = X3.shape[1:]
        for method, make in window_methods(shape).items():
            # MiniRocket reads (n, C, L) arrays; the estimators flat rows.
            train, test = (X3, X3_test) if method.startswith("MiniRocket") else (X, X_test)
            runs = [timed_fit(make(seed), train, y) for seed in MODEL_SEEDS]
            scores = [model.score(test, y_test) for model, _ in runs]
            rows.append(summary(method, scores, [s for _, s in runs], data=name))
            print(rows[-1], flush=True)
        rows.append({"method": "InceptionTime (published)", "data": name,
                     "accuracy": INCEPTION_TIME[name]})
    means = []
    for method in dict.fromkeys(row["method"] for row in rows):
        chosen = [row for row in rows if row["method"] == method]
        means.append({"method": method, "sets": len(chosen),
                      "accuracy": float(np.mean([row["accuracy"] for row in chosen])),
                      "fit_seconds": float(np.mean([row.get("fit_seconds", np.nan)
                                                    for row in chosen]))})
    write_results("finetuning_windows", {"test accuracy per set": rows, "mean over sets": means})


# -- tabular: reported, no bar ------------------------------------------------------------

def tuned_mlp(estimator):
    """A standardised MLP whose L2 penalty is chosen by 3-fold CV on the training folds."""
    return GridSearchCV(
        make_pipeline(StandardScaler(), estimator(max_iter=2000, random_state=0)),
        {f"{estimator.__name__.lower()}__alpha": np.logspace(-4, 1, 6)}, cv=3)


def tabular():
    rows = []
    sets = {
        "diabetes": (load_diabetes, False), "breast_cancer": (load_breast_cancer, True),
        "wine": (load_wine, True),
    }
    for name, (loader, classification) in sets.items():
        X, y = loader(return_X_y=True)
        if classification:
            cv = StratifiedKFold(5, shuffle=True, random_state=0)
            methods = {
                "SimMIMClassifier (defaults)": SimMIMClassifier(random_state=0),
                "SimMIMClassifier, no pretraining": SimMIMClassifier(pretrain_iter=0,
                                                                     random_state=0),
                "HistGradientBoostingClassifier": HistGradientBoostingClassifier(
                    random_state=0),
                "MLPClassifier (alpha by CV)": tuned_mlp(MLPClassifier),
            }
        else:
            cv = KFold(5, shuffle=True, random_state=0)
            methods = {
                "SimMIMRegressor (defaults)": SimMIMRegressor(random_state=0),
                "SimMIMRegressor, no pretraining": SimMIMRegressor(pretrain_iter=0,
                                                                   random_state=0),
                "HistGradientBoostingRegressor": HistGradientBoostingRegressor(random_state=0),
                "MLPRegressor (alpha by CV)": tuned_mlp(MLPRegressor),
            }
        for method, model in methods.items():
            scores = cross_validate(model, X, y, cv=cv)
            rows.append({"data": name, "method": method,
                         "metric": "accuracy" if classification else "R²",
                         "score": float(np.mean(scores["test_score"])),
                         "std": float(np.std(scores["test_score"])),
                         "fit_seconds": float(np.mean(scores["fit_time"]))})
            print(rows[-1], flush=True)
    write_results("finetuning_tabular", {"5-fold CV": rows})


if __name__ == "__main__":
    torch.set_num_threads(1)
    parts = sys.argv[1:] or ["digits", "digits-layer-decay", "windows", "tabular"]
    for part in parts:
        {"digits": digits, "digits-layer-decay": digits_layer_decay, "windows": windows,
         "tabular": tabular}[part]()
