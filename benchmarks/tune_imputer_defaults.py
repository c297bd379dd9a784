"""How SimMIMImputer's defaults were chosen: one change at a time away from the defaults,
RMSE on entries hidden (30% MCAR) in a held-out quarter of each set's *training* split
(the split of bench_imputation.py), so the benchmark's test split is never looked at.

Each set's training split is cut into fit/validation quarters in ``INNER_SPLITS`` ways
(one for digits, the slowest) and the RMSE is averaged over them: on a few hundred rows a
single validation quarter is too noisy to choose between close variants. wine and iris,
which the benchmark does not use, check that a choice carries over to other sets.

Writes benchmarks/results/tune_imputer_defaults_validation_rmse.json and .md.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from bench_imputation import (  # noqa: E402
    DATASETS,
    ITERATIVE_MAX_ITER,
    SEED,
    hide_at_random,
    rmse_on_hidden,
)

from simmim_sklearn import SimMIMImputer  # noqa: E402

SETS = {**DATASETS, "wine": lambda: load_wine(return_X_y=True),
        "iris": lambda: load_iris(return_X_y=True)}
INNER_SPLITS = {"digits": 1}
DEFAULT_INNER_SPLITS = 3
RATE = 0.3


class FixedLinearMapImputer(SimMIMImputer):
    """The previous defaults: the linear representation is a fixed map of the zero-filled row,
    as in SimMIMTransformer, instead of the factor model's posterior mean."""

    _purpose = "representation"


REFERENCE = "reference: IterativeImputer"
VARIANTS = {
    "defaults": {},
    "fixed linear map (previous default)": "fixed",
    "loss=l2": {"loss": "l2"},
    "mask_ratio=0.5": {"mask_ratio": 0.5},
    "n_iter_no_change=100": {"n_iter_no_change": 100},
    "n_components=32": {"n_components": 32},
    REFERENCE: None,
}


def make_imputer(params, dataset):
    if params is None:
        return IterativeImputer(max_iter=ITERATIVE_MAX_ITER.get(dataset, 10), random_state=SEED)
    if params == "fixed":
        return FixedLinearMapImputer(random_state=SEED)
    return SimMIMImputer(random_state=SEED, **params)


def validation_rmse(dataset, split):
    """RMSE of every variant on one fit/validation cut of ``dataset``'s training split."""
    X, _ = SETS[dataset]()
    X_train, _ = train_test_split(X, test_size=0.25, random_state=SEED)
    X_fit, X_val = train_test_split(X_train, test_size=0.25, random_state=split)
    std = X_train.std(axis=0)
    X_fit_missing, _ = hide_at_random(X_fit, RATE, split)
    X_val_missing, hidden = hide_at_random(X_val, RATE, split + 1)
    scores = {}
    for variant, params in VARIANTS.items():
        imputer = make_imputer(params, dataset).fit(X_fit_missing)
        scores[variant] = rmse_on_hidden(X_val, imputer.transform(X_val_missing), hidden, std)
        print(dataset, split, variant, round(scores[variant], 4), flush=True)
    return scores


def main(names):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    rmse = {}
    for dataset in names:
        splits = range(INNER_SPLITS.get(dataset, DEFAULT_INNER_SPLITS))
        per_split = [validation_rmse(dataset, split) for split in splits]
        rmse[dataset] = {v: float(np.mean([s[v] for s in per_split])) for v in VARIANTS}
    rows = [{"variant": variant, **{d: rmse[d][variant] for d in names},
             "sets at or below IterativeImputer": sum(
                 rmse[d][variant] <= rmse[d][REFERENCE] for d in names)}
            for variant in VARIANTS]
    write_results("tune_imputer_defaults_validation_rmse", {
        f"RMSE on {RATE:.0%} MCAR entries of validation quarters of the training split "
        "(feature-std units, mean over the cuts; lower is better)": rows,
    }, notes=(
        "Produced by benchmarks/tune_imputer_defaults.py. Each set's training split (the 75% "
        "split of bench_imputation.py) is cut into fit and validation quarters "
        f"{DEFAULT_INNER_SPLITS} ways (digits: 1); random_state=0 for every imputer."
    ))


if __name__ == "__main__":
    main(sys.argv[1:] or list(SETS))
