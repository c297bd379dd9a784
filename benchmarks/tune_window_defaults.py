"""How SimMIMTransformer's window defaults were chosen: what the training objective buys.

On the *training* split of each of 8 time-series sets bundled with aeon, each of 5 stratified
folds fits its own representation on the other 4 folds (no labels) and probes the held-out
fold with StandardScaler + LogisticRegression and StandardScaler + RBF SVM (C chosen by an
inner 3-fold CV), so no test split is ever looked at and held-out windows are mapped by a
model that never saw them, as test windows are.

Rows: the defaults (masked modeling with the latent term, ``nn/_objectives.py``); the same
network trained for one epoch; the same network untrained (one epoch at a learning rate of
1e-12: random encoder, linear path started at PCA); the latent and view terms together
(``view_weight=1``); SimMIM's reconstruction loss alone (``latent_weight=0``, which also
restores the batches of up to 256 windows that loss trained with).
MiniRocket (aeon) under the same folds is the reference. The earlier runs of this harness,
which chose the layout, scaling, tokens, depth and width, are in
``results/tune_window_defaults_architecture.*``.

Run from the repository root with the ``bench`` extra: ``python
benchmarks/tune_window_defaults.py [variant ...]``; each variant's runs are kept in
``/tmp/tune_window_defaults/`` so that variants can run in parallel processes and an
interrupted run resumes; without arguments, every missing run is made and the tables are
written to ``benchmarks/results/tune_window_defaults.json`` and ``.md``.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from aeon.datasets import (
    load_arrow_head,
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    load_osuleaf,
    load_pickup_gesture_wiimoteZ,
    load_unit_test,
)
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402

from simmim_sklearn import SimMIMTransformer  # noqa: E402

SEEDS = (0,)
SETS = {
    "GunPoint": load_gunpoint, "ItalyPowerDemand": load_italy_power_demand,
    "ArrowHead": load_arrow_head, "BasicMotions": load_basic_motions,
    "UnitTest": load_unit_test, "OSULeaf": load_osuleaf,
    "JapaneseVowels": load_japanese_vowels, "PickupGestureWiimoteZ": load_pickup_gesture_wiimoteZ,
}
UNTRAINED = {"max_iter": 1, "learning_rate_init": 1e-12}
VARIANTS = {
    "defaults": {},
    "one epoch": {"max_iter": 1},
    "untrained (random encoder, PCA-started linear path)": UNTRAINED,
    "latent and view terms (view_weight=1)": {"view_weight": 1.0},
    "SimMIM's loss alone (latent_weight=0)": {"latent_weight": 0.0},
}
REFERENCE = "MiniRocket (aeon), reference"
PARTIAL = Path("/tmp") / "tune_window_defaults"


def padded(loader):
    """Load a training split as (n, C, L), padding unequal lengths with NaN."""
    X, y = loader(split="train")
    if isinstance(X, np.ndarray):
        return X, y
    length = max(x.shape[1] for x in X)
    out = np.full((len(X), X[0].shape[0], length), np.nan)
    for i, x in enumerate(X):
        out[i, :, : x.shape[1]] = x
    return out, y


def probes():
    """StandardScaler + LogisticRegression, and StandardScaler + RBF SVM with C by inner CV."""
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    svm = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": np.logspace(-2, 3, 6)},
                       cv=StratifiedKFold(3, shuffle=True, random_state=1))
    return logistic, svm


def inductive_accuracies(X3, y, fitted_transformer):
    """Mean (logistic, SVM) accuracy over the held-out folds, and the mean fit seconds.
    ``fitted_transformer(X3_train)`` returns a function from windows to their representation."""
    scores, seconds = [], []
    for train, held_out in StratifiedKFold(5, shuffle=True, random_state=0).split(X3, y):
        start = time.perf_counter()
        represent = fitted_transformer(X3[train])
        seconds.append(time.perf_counter() - start)
        Z_train, Z_held_out = represent(X3[train]), represent(X3[held_out])
        scores.append([probe.fit(Z_train, y[train]).score(Z_held_out, y[held_out])
                       for probe in probes()])
    return [*map(float, np.mean(scores, axis=0)), float(np.mean(seconds))]


def fitted_simmim(params, seed):
    def fit(X3):
        model = SimMIMTransformer(input_shape=X3.shape[1:], random_state=seed, **params)
        model.fit(X3.reshape(len(X3), -1))
        return lambda windows: model.transform(windows.reshape(len(windows), -1))
    return fit


def fitted_minirocket(X3):
    # MiniRocket needs equal lengths without NaN: the padding becomes zeros.
    model = MiniRocket(random_state=0).fit(np.nan_to_num(X3))
    return lambda windows: model.transform(np.nan_to_num(windows))


def run(variant, data):
    """{seed: {set: [logistic, SVM, fit seconds]}} for ``variant``, resumed from its file."""
    path = PARTIAL / f"{variant}.json"
    done = json.loads(path.read_text()) if path.exists() else {}
    for seed in SEEDS:
        for name, (X3, y) in data.items():
            if name in done.get(str(seed), {}):
                continue
            fit = (fitted_minirocket if variant == REFERENCE
                   else fitted_simmim(VARIANTS[variant], seed))
            done.setdefault(str(seed), {})[name] = inductive_accuracies(X3, y, fit)
            print(variant, seed, name, np.round(done[str(seed)][name], 3), flush=True)
            path.write_text(json.dumps(done))
    return done


def table(done, column):
    rows = []
    for variant, runs in done.items():
        row = {"variant": variant}
        for name in SETS:
            row[name] = float(np.mean([runs[str(s)][name][column] for s in SEEDS]))
        row["mean"] = float(np.mean([row[name] for name in SETS]))
        row["mean fit s"] = float(np.mean([runs[str(s)][name][2] for s in SEEDS
                                           for name in SETS]))
        rows.append(row)
    return rows


def main(variants):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)  # aeon's deprecated loaders
    PARTIAL.mkdir(exist_ok=True)
    data = {name: padded(loader) for name, loader in SETS.items()}
    done = {variant: run(variant, data) for variant in variants or (*VARIANTS, REFERENCE)}
    if variants:
        return
    tables = {f"{probe}, mean over seeds {SEEDS}: accuracy on held-out folds of the training "
              "split": table(done, column)
              for probe, column in (("LogisticRegression", 0), ("RBF SVM", 1))}
    write_results("tune_window_defaults", tables, notes=NOTES)


NOTES = (
    "Inductive (each fold's representation fitted on the other 4 folds of the "
    "training split; no test split is loaded), seed 0. Mean fit seconds per fold on one "
    "thread of a shared 2-core machine with another benchmark beside it (the 'latent and "
    "view terms' row ran beside a 2-thread one, so its seconds are inflated; on the same "
    "windows the view term about doubles a fit). The defaults (latent term) score 0.926 "
    "(logistic) and 0.933 (SVM): 0.021 / 0.025 above the same network trained for one "
    "epoch (0.905 / 0.908), 0.022 / 0.019 above it untrained (0.904 / 0.913) and 0.017 / "
    "0.021 above it trained with SimMIM's reconstruction loss alone (0.909 / 0.911). Adding "
    "the view term scores 0.913 / 0.926 at about twice the fit time, so it is off by "
    "default (view_weight=0). MiniRocket: 0.936 / 0.940. The previous defaults (reconstruction "
    "loss, single-token masks, no block maxima) scored 0.890 / 0.914 and with "
    "block_features=True 0.917 / 0.930 on the same folds "
    "(results/tune_window_defaults_architecture.md, seeds 0 and 1)."
)


if __name__ == "__main__":
    main(sys.argv[1:])
