"""How the head of SimMIMClassifier and SimMIMRegressor on windows was chosen (issue 39).

Run from the repository root: ``python benchmarks/tune_window_head.py`` (needs the
``bench`` extra: aeon). Writes ``benchmarks/results/tune_window_head.json`` and ``.md``
(``--out DIR`` elsewhere); ``--quick`` checks the script end to end on one set and seed
with one epoch of pretraining, written to a temporary directory.

Protocol: training splits only. Every set's given train split is cut, for each seed in
0..2, into a stratified half (the pool; the half for regression) and the other half, which
scores; the test splits are never read. Classification: the six window sets of
``timeseries_images.py``; in the pool, 10% and 5% of each class labeled (as
``bench_window_few_labels.py`` draws them) or all. Regression: the train splits of
Covid3Month and CardanoSentiment, RMSE as a ratio to StandardScaler + RidgeCV on the raw
values of the same half. Each SimMIM variant passes ``input_shape``, ``random_state`` and
its parameters:

- the defaults: the head standardises each column over every row and is solved in closed
  form (ridge, penalty by leave-one-out), no fine-tuning, no spread labels;
- ``+ spread labels``: ``unlabeled_weight=1``, the labels spread over the representation
  join the ridge (few labels only);
- ``+ fine-tuning``: ``max_iter`` set to the epochs that ``"auto"`` plans elsewhere (about
  600 steps of 64 rows, between 5 and 300 epochs), so that the network and head are then
  trained end to end from the closed-form start.

MiniRocket (aeon) + StandardScaler (fitted on the pool) + RidgeClassifierCV on the labeled
rows is given for scale. Fits run on one torch thread.
"""

import math
import sys
from pathlib import Path

import numpy as np
from aeon.datasets import load_cardano_sentiment, load_covid_3month
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from _windows_bench import flat, machine_note, over_seeds, parse_args, timed  # noqa: E402
from bench_window_few_labels import label_rows  # noqa: E402
from timeseries_images import SETS, load_offline  # noqa: E402

from simmim_sklearn import SimMIMClassifier, SimMIMRegressor  # noqa: E402

SEEDS = (0, 1, 2)
REGIMES = {"10%": 0.10, "5%": 0.05, "all": 1.0}
REGRESSION_SETS = {"Covid3Month": load_covid_3month, "CardanoSentiment": load_cardano_sentiment}
# What max_iter="auto" plans where fine-tuning runs: about this many steps of this batch.
FINETUNE_STEPS, FINETUNE_BATCH, MIN_EPOCHS, MAX_EPOCHS = 600, 64, 5, 300


def finetuning_epochs(n_rows):
    steps_per_epoch = math.ceil(n_rows / min(FINETUNE_BATCH, n_rows))
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(FINETUNE_STEPS / steps_per_epoch)))


def classification_variants(n_labeled, regime):
    variants = {"defaults (closed-form head)": {},
                "+ fine-tuning": {"max_iter": finetuning_epochs(n_labeled)}}
    if regime != "all":
        variants["+ spread labels"] = {"unlabeled_weight": 1.0}
    return variants


def classification_rows(name, seeds, quick):
    (X, y), _ = load_offline(SETS[name])
    X, y = X.astype(np.float32), LabelEncoder().fit_transform(y)
    runs = {}
    for seed in seeds:
        pool, held = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y,
                                      random_state=seed)
        for regime, fraction in REGIMES.items():
            y_pool = y[pool] if regime == "all" else label_rows(y[pool], fraction, seed)
            labeled = y_pool != -1
            rocket = MiniRocket(random_state=seed)
            scaler = StandardScaler()
            F = scaler.fit_transform(rocket.fit_transform(X[pool]))
            ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(F[labeled],
                                                                           y_pool[labeled])
            predicted = ridge.predict(scaler.transform(rocket.transform(X[held])))
            runs.setdefault((regime, "MiniRocket + ridge"), []).append(
                {"accuracy": np.mean(predicted == y[held]), "fit_seconds": 0.0})
            for variant, params in classification_variants(labeled.sum(), regime).items():
                if quick:
                    params = {**params, "pretrain_iter": 1}
                model = SimMIMClassifier(input_shape=X.shape[1:], random_state=seed, **params)
                _, seconds = timed(model.fit, flat(X[pool]), y_pool)
                accuracy = model.score(flat(X[held]), y[held])
                runs.setdefault((regime, variant), []).append(
                    {"accuracy": accuracy, "fit_seconds": seconds})
                print(name, seed, regime, variant, f"{accuracy:.3f}", flush=True)
    return [{"data": name, "regime": regime, "method": method, **over_seeds(values)}
            for (regime, method), values in runs.items()]


def regression_rows(name, seeds, quick):
    X, y = REGRESSION_SETS[name](split="train")
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=float)
    runs = {}
    for seed in seeds:
        fit_rows, held = train_test_split(np.arange(len(y)), test_size=0.5, random_state=seed)
        raw = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
        raw.fit(flat(X[fit_rows]), y[fit_rows])
        reference = np.sqrt(np.mean((raw.predict(flat(X[held])) - y[held]) ** 2))
        for variant, params in {"defaults (closed-form head)": {},
                                "+ fine-tuning": {"max_iter": finetuning_epochs(
                                    len(fit_rows))}}.items():
            if quick:
                params = {**params, "pretrain_iter": 1}
            model = SimMIMRegressor(input_shape=X.shape[1:], random_state=seed, **params)
            _, seconds = timed(model.fit, flat(X[fit_rows]), y[fit_rows])
            rmse = np.sqrt(np.mean((model.predict(flat(X[held])) - y[held]) ** 2))
            runs.setdefault(variant, []).append(
                {"rmse_ratio": rmse / reference, "fit_seconds": seconds})
            print(name, seed, variant, f"{rmse / reference:.3f}", flush=True)
    return [{"data": name, "method": method, **over_seeds(values)}
            for method, values in runs.items()]


def mean_table(rows, key, group):
    table = []
    for keys in dict.fromkeys(tuple(row[name] for name in group) for row in rows):
        own = [row for row in rows if tuple(row[name] for name in group) == keys]
        table.append({**dict(zip(group, keys)), "sets": len(own),
                      f"mean {key}": round(float(np.mean([row[key] for row in own])), 3),
                      "mean fit s": round(float(np.mean([row["fit_seconds"] for row in own])),
                                          1)})
    return table


def main():
    args = parse_args(__doc__, SETS, seeds=SEEDS)
    classification = [row for name in args.sets
                      for row in classification_rows(name, args.seeds, args.quick)]
    regression = [row for name in ([next(iter(REGRESSION_SETS))] if args.quick
                                   else REGRESSION_SETS)
                  for row in regression_rows(name, args.seeds, args.quick)]
    tables = {
        "Classification on the train splits' held-out halves: mean accuracy over the sets":
            mean_table(classification, "accuracy", ("regime", "method")),
        "Classification per set": [
            {"data": row["data"], "regime": row["regime"], "method": row["method"],
             "accuracy": round(row["accuracy"], 3), "std": round(row["accuracy_std"], 3)}
            for row in classification],
        "Regression on the train splits' held-out halves: RMSE / ridge on raw values": [
            {"data": row["data"], "method": row["method"],
             "ratio": round(row["rmse_ratio"], 3), "std": round(row["rmse_ratio_std"], 3),
             "fit s": round(row["fit_seconds"], 1)} for row in regression],
    }
    notes = " ".join(__doc__.split("Protocol: ")[1].split()) + " " + machine_note(args)
    write_results("tune_window_head", tables, notes, directory=args.out,
                  extra={"classification": classification, "regression": regression})


if __name__ == "__main__":
    main()
