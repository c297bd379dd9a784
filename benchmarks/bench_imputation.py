"""Imputation quality of SimMIMImputer against scikit-learn's imputers.

For breast_cancer, digits and diabetes (sklearn.datasets) with 10%, 30% and 50% of the
entries hidden completely at random (fixed seed), each imputer is fitted on a 75% train
split (with its own hidden entries) and the RMSE is measured on the hidden entries of the
25% test split, in units of each feature's training std (constant features left out).
"Transductive" is the RMSE on the train split's own hidden entries after fit_transform.
Downstream: 5-fold cross-validated score of imputer -> StandardScaler -> Ridge
(diabetes, R^2) or LogisticRegression (accuracy) on the whole set with 30% hidden.

IterativeImputer runs with its defaults (BayesianRidge, max_iter=10) except on digits,
where max_iter is capped at 5 to keep the run short (it does not reach its tolerance within
10 iterations there either). The (dataset, rate) and (dataset, imputer) jobs run in parallel
processes, each with one torch thread; fit times are comparable within a run, not
absolute.

Writes benchmarks/results/bench_imputation.json and .md (through _results.write_results).
"""

import time
import warnings

import numpy as np
import torch
from _results import write_results
from joblib import Parallel, delayed
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simmim_sklearn import SimMIMImputer

SEED = 0
RATES = (0.1, 0.3, 0.5)
DOWNSTREAM_RATE = 0.3
DATASETS = {
    # digits first: its jobs are the slowest, so the parallel workers finish together.
    "digits": lambda: load_digits(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "diabetes": lambda: load_diabetes(return_X_y=True),
}
ITERATIVE_MAX_ITER = {"digits": 5}
N_JOBS = 4
IMPUTERS = {
    "SimpleImputer(mean)": lambda dataset: SimpleImputer(),
    "KNNImputer": lambda dataset: KNNImputer(),
    "IterativeImputer": lambda dataset: IterativeImputer(
        max_iter=ITERATIVE_MAX_ITER.get(dataset, 10), random_state=SEED),
    "SimMIMImputer": lambda dataset: SimMIMImputer(random_state=SEED),
}


def hide_at_random(X, rate, seed):
    """Copy of ``X`` with ``rate`` of its entries set to NaN (MCAR), and the hidden mask."""
    hidden = np.random.RandomState(seed).rand(*X.shape) < rate
    X_missing = X.astype(float)
    X_missing[hidden] = np.nan
    return X_missing, hidden


def rmse_on_hidden(X_true, X_imputed, hidden, std):
    """RMSE over hidden entries of non-constant features, in units of each feature's std."""
    scored = hidden & (std > 0)
    error = (X_imputed - X_true) / np.where(std > 0, std, 1.0)
    return float(np.sqrt(np.mean(error[scored] ** 2)))


def imputation_quality(dataset, rate):
    _quiet_worker()
    X, _ = DATASETS[dataset]()
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=SEED)
    std = X_train.std(axis=0)
    rows = []
    X_train_missing, train_hidden = hide_at_random(X_train, rate, SEED)
    X_test_missing, test_hidden = hide_at_random(X_test, rate, SEED + 1)
    for name, make in IMPUTERS.items():
        imputer = make(dataset)
        start = time.perf_counter()
        X_train_imputed = imputer.fit_transform(X_train_missing)
        fit_time = time.perf_counter() - start
        rows.append({
            "rate": rate, "imputer": name, "fit_time_s": fit_time,
            "rmse_test": rmse_on_hidden(
                X_test, imputer.transform(X_test_missing), test_hidden, std),
            "rmse_transductive": rmse_on_hidden(X_train, X_train_imputed, train_hidden, std),
        })
        print(dataset, rows[-1], flush=True)
    return rows


def downstream_score(dataset, name):
    """5-fold CV score of imputer -> scaler -> linear model; ``name=None``: no missing values."""
    _quiet_worker()
    X, y = DATASETS[dataset]()
    model = Ridge() if dataset == "diabetes" else LogisticRegression(max_iter=2000)
    if name is None:
        pipeline = make_pipeline(StandardScaler(), model)
    else:
        X, _ = hide_at_random(X, DOWNSTREAM_RATE, SEED)
        pipeline = make_pipeline(IMPUTERS[name](dataset), StandardScaler(), model)
    score = float(cross_val_score(pipeline, X, y, cv=5).mean())
    print(dataset, name, score, flush=True)
    return score


def _quiet_worker():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def tables(results):
    """The result tables, one row per dataset (and missing rate), one column per imputer."""
    def by_name(result, rate):
        return {r["imputer"]: r for r in result["quality"] if r["rate"] == rate}

    def rmse_rows(key):
        return [{"dataset": dataset, "missing": f"{rate:.0%}",
                 **{n: by_name(result, rate)[n][key] for n in IMPUTERS}}
                for dataset, result in results.items() for rate in RATES]

    return {
        "RMSE on hidden test entries (feature-std units; lower is better)":
            rmse_rows("rmse_test"),
        "Transductive RMSE: fit_transform on the train split, its own hidden entries":
            rmse_rows("rmse_transductive"),
        "Fit time (s, fit_transform on the train split, 30% missing)": [
            {"dataset": dataset, **{n: by_name(result, 0.3)[n]["fit_time_s"] for n in IMPUTERS}}
            for dataset, result in results.items()],
        f"Downstream: 5-fold CV score, {DOWNSTREAM_RATE:.0%} missing (R^2 for diabetes with "
        "Ridge, accuracy with LogisticRegression otherwise)": [
            {"dataset": dataset, **result["downstream"]} for dataset, result in results.items()],
    }


def main():
    start = time.perf_counter()
    quality_jobs = [(dataset, rate) for dataset in DATASETS for rate in RATES]
    downstream_jobs = [(dataset, name) for dataset in DATASETS for name in [*IMPUTERS, None]]
    jobs = ([delayed(imputation_quality)(*job) for job in quality_jobs]
            + [delayed(downstream_score)(*job) for job in downstream_jobs])
    outputs = Parallel(n_jobs=N_JOBS)(jobs)
    results = {dataset: {"quality": [], "downstream": {}} for dataset in DATASETS}
    for (dataset, _), rows in zip(quality_jobs, outputs[:len(quality_jobs)]):
        results[dataset]["quality"] += rows
    for (dataset, name), score in zip(downstream_jobs, outputs[len(quality_jobs):]):
        results[dataset]["downstream"][name or "no missing values"] = score
    write_results("bench_imputation", tables(results), notes=(
        "Produced by benchmarks/bench_imputation.py: 75/25 train/test split, entries hidden "
        f"completely at random (seed {SEED}), RMSE in units of each feature's training std; "
        f"total run {time.perf_counter() - start:.0f} s, {N_JOBS} parallel jobs of one "
        "torch thread each."
    ))

if __name__ == "__main__":
    main()
