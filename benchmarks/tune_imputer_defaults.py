"""How SimMIMImputer's defaults were chosen: one parameter at a time away from the defaults,
RMSE on entries hidden (30% MCAR) in a held-out quarter of each set's *training* split
(the split of bench_imputation.py), so the benchmark's test split is never looked at.

Writes benchmarks/results/tune_imputer_defaults_last_run.json and .md.
"""

import json
import sys
from pathlib import Path

import torch
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from bench_imputation import DATASETS, SEED, hide_at_random, rmse_on_hidden  # noqa: E402

from simmim_sklearn import SimMIMImputer  # noqa: E402

VARIANTS = {
    "defaults": {},
    "early_stopping=False": {"early_stopping": False},
    "mask_ratio=0.3": {"mask_ratio": 0.3},
    "visible_loss_weight=0.5": {"visible_loss_weight": 0.5},
    "n_components=32": {"n_components": 32},
    "reference: IterativeImputer": None,
}


def main(names):
    torch.set_num_threads(1)
    results = {}
    for name in names:
        X, _ = DATASETS[name]()
        X_train, _ = train_test_split(X, test_size=0.25, random_state=SEED)
        X_fit, X_val = train_test_split(X_train, test_size=0.25, random_state=SEED)
        std = X_train.std(axis=0)
        X_fit_missing, _ = hide_at_random(X_fit, 0.3, SEED)
        X_val_missing, hidden = hide_at_random(X_val, 0.3, SEED + 1)
        for variant, params in VARIANTS.items():
            imputer = (IterativeImputer(random_state=SEED) if params is None
                       else SimMIMImputer(random_state=SEED, **params)).fit(X_fit_missing)
            rmse = rmse_on_hidden(X_val, imputer.transform(X_val_missing), hidden, std)
            results.setdefault(variant, {})[name] = rmse
            print(name, variant, round(rmse, 4), flush=True)
    out = Path(__file__).parent / "results"
    (out / "tune_imputer_defaults_last_run.json").write_text(json.dumps(results, indent=2))
    lines = ["| variant | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {v} | " + " | ".join(f"{r[n]:.3f}" for n in names) + " |"
              for v, r in results.items()]
    (out / "tune_imputer_defaults_last_run.md").write_text(
        "RMSE (feature-std units) on 30% MCAR entries of a validation quarter of the "
        "training split.\n\n" + "\n".join(lines) + "\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:] or list(DATASETS))
