"""Tabular quality of SimMIMTransformer with default parameters.

1. digits: fit on one half, reconstruct the other through ``transform`` then
   ``inverse_transform``; R² next to PCA's at the same width.
2. diabetes (Ridge) and breast_cancer (LogisticRegression): 5-fold cross-validated score of
   a pipeline on raw features, on PCA features and on SimMIM features.

Run: ``python benchmarks/bench_core.py``.
"""

import time

import numpy as np
from _results import write_results
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simmim_sklearn import SimMIMTransformer

SEED = 0


def reconstruction_rows():
    X = load_digits().data
    X_train, X_test = train_test_split(X, test_size=0.5, random_state=SEED)
    rows = []
    for width in (4, 8, 16, 32):
        start = time.perf_counter()
        model = SimMIMTransformer(n_components=width, random_state=SEED).fit(X_train)
        seconds = time.perf_counter() - start
        pca = PCA(n_components=width, random_state=SEED).fit(X_train)
        ours = model.inverse_transform(model.transform(X_test))
        theirs = pca.inverse_transform(pca.transform(X_test))
        rows.append({
            "n_components": width,
            "PCA R² (uniform)": r2_score(X_test, theirs),
            "SimMIM R² (uniform)": r2_score(X_test, ours),
            "PCA R² (variance-weighted)": r2_score(X_test, theirs, multioutput="variance_weighted"),
            "SimMIM R² (variance-weighted)": r2_score(
                X_test, ours, multioutput="variance_weighted"
            ),
            "SimMIM fit s": seconds,
        })
    return rows


def downstream_rows():
    tasks = [
        ("diabetes", load_diabetes, RidgeCV(alphas=np.logspace(-3, 3, 13)), "r2",
         KFold(5, shuffle=True, random_state=SEED)),
        ("breast_cancer", load_breast_cancer, LogisticRegression(max_iter=5000), "accuracy",
         StratifiedKFold(5, shuffle=True, random_state=SEED)),
    ]
    rows = []
    for name, loader, head, metric, cv in tasks:
        X, y = loader(return_X_y=True)
        candidates = {
            "raw features": make_pipeline(StandardScaler(), head),
            "PCA(8)": make_pipeline(StandardScaler(), PCA(8), head),
            "SimMIM(8)": make_pipeline(
                StandardScaler(), SimMIMTransformer(8, random_state=SEED), head
            ),
            "SimMIM (defaults, 16)": make_pipeline(
                StandardScaler(), SimMIMTransformer(random_state=SEED), head
            ),
        }
        for label, pipe in candidates.items():
            start = time.perf_counter()
            scores = cross_val_score(pipe, X, y, cv=cv, scoring=metric)
            rows.append({
                "data set": name, "features": label, "metric": metric,
                "mean": scores.mean(), "std": scores.std(),
                "seconds (5 folds)": time.perf_counter() - start,
            })
    return rows


if __name__ == "__main__":
    write_results(
        "core",
        {
            "digits reconstruction (fit on half, R² on the other half)": reconstruction_rows(),
            "downstream, 5-fold cross-validation": downstream_rows(),
        },
        notes="SimMIMTransformer with default parameters except n_components; random_state=0.",
    )
