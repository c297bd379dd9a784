"""What each part of SimMIMTransformer's window representation buys: training objectives,
pooling of the encoder's blocks, and the fixed kernel bank.

Run from the repository root: ``python benchmarks/ablation_window_parts.py``. Needs the
``bench`` extra (aeon). Writes ``benchmarks/results/ablation_window_parts.json`` and ``.md``.

Protocol: the 6 window sets of ``timeseries_images.py`` (train split to fit, test split to
score), ``random_state=0``, one torch thread. Each objective is a SimMIMTransformer fit with
the defaults except the parameters named: the defaults (reconstruction and the latent term),
reconstruction alone (``latent_weight=0``), the defaults plus the view term
(``view_weight=1``), and the same network untrained (one epoch at a learning rate of 1e-12).
From each fitted network, the representation is read in parts:

- ``learned, block max``: the learned components and every block's max over the window
  (the columns before the kernel bank in ``transform``);
- ``learned, block PPV + MPV``: the learned components and, instead of the maxima, every
  block's share of positive values and mean of the positive values over the window
  (MultiRocket's pooling), each block's output normalised as for the maxima;
- ``learned + kernel bank``: what ``transform`` returns (block max, then the bank);
- ``kernel bank alone``: the bank's columns (the same for every objective).

Each part is probed with StandardScaler + LogisticRegression and StandardScaler +
RidgeClassifierCV on the test split. Fit seconds are the SimMIMTransformer fit's.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F
from _results import write_results
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from timeseries_images import SETS, UNTRAINED, load_offline

from simmim_sklearn import SimMIMTransformer

SEED = 0
OBJECTIVES = {
    "defaults (reconstruction + latent)": {},
    "reconstruction alone (latent_weight=0)": {"latent_weight": 0.0},
    "defaults + view term (view_weight=1)": {"view_weight": 1.0},
    "untrained": UNTRAINED,
}
PARTS = {
    "learned, block max": ("learned", "max"),
    "learned, block PPV + MPV": ("learned", "ppv", "mpv"),
    "learned + kernel bank": ("learned", "max", "bank"),
    "kernel bank alone": ("bank",),
}


@torch.no_grad()
def representation_parts(model, X):
    """The learned components, each block's max, share of positive values (PPV) and mean of
    positive values (MPV) over the window, and the kernel bank's features, of rows ``X``."""
    network = model.module_
    xs = network.standardize(torch.as_tensor(X, dtype=torch.float32))
    tokens, missing_entries, missing = network.tokens(xs)
    outputs = network.encoder.block_outputs(tokens, missing, missing)
    learned = network.representation(network.encoder.pool(outputs, missing), tokens,
                                     missing_entries, missing)
    normed = [F.layer_norm(h, h.shape[-1:]) for h in outputs]
    positive = [(h > 0).float() for h in normed]
    return {
        "learned": learned.numpy(),
        "max": torch.cat([h.amax(dim=1) for h in normed], dim=1).numpy(),
        "ppv": torch.cat([p.mean(dim=1) for p in positive], dim=1).numpy(),
        "mpv": torch.cat([(h * p).sum(dim=1) / p.sum(dim=1).clamp(min=1)
                          for h, p in zip(normed, positive)], dim=1).numpy(),
        "bank": network.bank_features(xs).numpy(),
    }


def probes(Z_train, Z_test, y_train, y_test):
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    ridge = make_pipeline(StandardScaler(), RidgeClassifierCV(np.logspace(-3, 3, 10)))
    return {"logistic": logistic.fit(Z_train, y_train).score(Z_test, y_test),
            "ridge": ridge.fit(Z_train, y_train).score(Z_test, y_test)}


def set_rows(name, loader):
    (X3_train, y_train), (X3_test, y_test) = load_offline(loader)
    shape = X3_train.shape[1:]
    X_train, X_test = X3_train.reshape(len(X3_train), -1), X3_test.reshape(len(X3_test), -1)
    rows = []
    for objective, params in OBJECTIVES.items():
        torch.set_num_threads(1)
        start = time.perf_counter()
        model = SimMIMTransformer(input_shape=shape, random_state=SEED, **params).fit(X_train)
        seconds = time.perf_counter() - start
        train_parts = representation_parts(model, X_train)
        test_parts = representation_parts(model, X_test)
        for part, keys in PARTS.items():
            if part == "kernel bank alone" and objective != "untrained":
                continue  # nothing in the bank is trained
            Z_train = np.hstack([train_parts[key] for key in keys])
            Z_test = np.hstack([test_parts[key] for key in keys])
            rows.append({"data": name, "objective": objective, "part": part,
                         "width": Z_train.shape[1], "fit_seconds": round(seconds, 1),
                         **probes(Z_train, Z_test, y_train, y_test)})
            print(rows[-1], flush=True)
    return rows


def means(rows):
    out = []
    for objective, part in dict.fromkeys((row["objective"], row["part"]) for row in rows):
        own = [row for row in rows if (row["objective"], row["part"]) == (objective, part)]
        out.append({"objective": objective, "part": part, "sets": len(own),
                    **{key: round(float(np.mean([row[key] for row in own])), 4)
                       for key in ("logistic", "ridge", "fit_seconds")}})
    return out


def main():
    torch.set_num_threads(1)
    rows = [row for name, loader in SETS.items() for row in set_rows(name, loader)]
    write_results(
        "ablation_window_parts",
        {"Mean test accuracy over the window sets": means(rows), "Per set": rows},
        notes=__doc__.split("\n\n", 1)[1].strip(),
    )


if __name__ == "__main__":
    main()
