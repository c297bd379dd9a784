"""Few labels on time-series windows (issue 39): SimMIMClassifier against MiniRocket recipes.

Run from the repository root: ``python benchmarks/bench_window_few_labels.py`` (needs the
``bench`` extra: aeon). Writes ``benchmarks/results/window_few_labels.json`` and ``.md``
(``--out DIR`` elsewhere). ``--quick`` (or ``SIMMIM_BENCH_QUICK=1``) checks the script end to
end: first set, seed 0, SimMIM trained for one epoch (pretraining and fine-tuning), written
to a temporary directory. ``--variant NAME=JSON`` adds a SimMIMClassifier row with those
parameters, ``--transformer-variant NAME=JSON`` a row of method (d) with those
SimMIMTransformer parameters; ``--sets``, ``--seeds`` and ``--methods`` select.

Protocol. The six sets of ``timeseries_images.py`` (read from aeon's installed files with
sockets disabled). For each set, the train and test splits are pooled; for each seed in
0..4, a stratified half is the pool and the other half the test half. In the pool, a
fraction (10%, and separately 5%) of each class is labeled, rounded, and at least one row
per class; the rest keep y = -1. The same seed draws both regimes from one permutation of
each class, so the 5% labels are among the 10% ones. Methods, all seeded with the seed:

(a) ``SimMIMClassifier(input_shape, random_state)`` with its defaults, fitted on the whole
    pool with y = -1 on unlabeled rows;
(b) MiniRocket (aeon) fitted on the whole pool (it reads no labels), StandardScaler fitted
    on the pool's features (a scaler fitted on the labeled rows alone, one or two per
    class, is unstable), then RidgeClassifierCV (alphas logspace(-3, 3, 10)) on the labeled
    rows;
(c) MiniRocket features of the pool, StandardScaler fitted on the pool, and
    LabelSpreading(kernel="knn", n_neighbors=7, max_iter=1000) over the pool: 7 is
    scikit-learn's default, fixed, so nothing is chosen by looking at the test half;
and, with ``--transformer-variant``, (d) ``SimMIMTransformer(input_shape, random_state)``
with the variant's parameters, fitted on the whole pool, then StandardScaler +
LogisticRegression on the labeled rows' representation.

Every SimMIM row passes only ``input_shape`` and ``random_state`` (and a variant's
parameters), so the figures follow the package's defaults of the day. Each table gives the
test-half accuracy, mean and standard deviation over seeds, and the fit seconds (everything
fitted on the pool, prediction excluded), mean over seeds. The summary gives each method's
mean over the sets and "better MiniRocket recipe": the higher of (b) and (c) in that mean.
Fits and predictions run on one torch thread (``torch.set_num_threads(1)``, set again before
each: MiniRocket's numba threads reset it): other work shares the machine.
"""

import sys
from pathlib import Path

import numpy as np
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.semi_supervised import LabelSpreading

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402
from _windows_bench import (  # noqa: E402
    build_methods,
    flat,
    machine_note,
    one_thread,
    over_seeds,
    parse_args,
    timed,
)
from timeseries_images import SETS, load_offline  # noqa: E402

from simmim_sklearn import SimMIMClassifier, SimMIMTransformer  # noqa: E402

REGIMES = {"10%": 0.10, "5%": 0.05}
MINIROCKET = ("MiniRocket + ridge (labeled rows)", "MiniRocket + LabelSpreading (pool)")

# A method is fit(X_pool, y_pool, shape, seed) -> predict, with X_pool (n, C, L) windows,
# y_pool integer classes and -1 on unlabeled rows, and predict(X_test) -> classes.


def simmim_classifier(**params):
    def fit(X_pool, y_pool, shape, seed):
        model = SimMIMClassifier(input_shape=shape, random_state=seed, **params)
        model.fit(flat(X_pool), y_pool)
        return lambda X: model.predict(flat(X))
    return fit


def simmim_transformer_logistic(**params):
    def fit(X_pool, y_pool, shape, seed):
        transformer = SimMIMTransformer(input_shape=shape, random_state=seed, **params)
        Z_pool = transformer.fit_transform(flat(X_pool))
        labeled = y_pool != -1
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        head.fit(Z_pool[labeled], y_pool[labeled])
        return lambda X: head.predict(transformer.transform(flat(X)))
    return fit


def minirocket_ridge(X_pool, y_pool, shape, seed):
    rocket = MiniRocket(random_state=seed)
    scaler = StandardScaler()
    F_pool = scaler.fit_transform(rocket.fit_transform(X_pool))
    labeled = y_pool != -1
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
    ridge.fit(F_pool[labeled], y_pool[labeled])
    return lambda X: ridge.predict(scaler.transform(rocket.transform(X)))


def minirocket_label_spreading(X_pool, y_pool, shape, seed):
    rocket = MiniRocket(random_state=seed)
    spreading = make_pipeline(
        StandardScaler(), LabelSpreading(kernel="knn", n_neighbors=7, max_iter=1000))
    spreading.fit(rocket.fit_transform(X_pool), y_pool)
    return lambda X: spreading.predict(rocket.transform(X))


def default_methods(finetuned, transformer):
    return {
        "SimMIMClassifier (defaults)": finetuned(),
        MINIROCKET[0]: minirocket_ridge,
        MINIROCKET[1]: minirocket_label_spreading,
    }


def label_rows(y_pool, fraction, seed):
    """y_pool with -1 outside ``fraction`` of each class (rounded, at least one row)."""
    rng = np.random.RandomState(seed)
    y_few = np.full_like(y_pool, -1)
    for label in np.unique(y_pool):
        rows = rng.permutation(np.flatnonzero(y_pool == label))
        keep = rows[:max(1, int(np.floor(fraction * len(rows) + 0.5)))]
        y_few[keep] = label
    return y_few


def set_runs(name, methods, seeds):
    (X_train, y_train), (X_test, y_test) = load_offline(SETS[name])
    X = np.concatenate([X_train, X_test]).astype(np.float32)
    y = LabelEncoder().fit_transform(np.concatenate([y_train, y_test]))
    shape = X.shape[1:]
    runs = {(regime, method): [] for regime in REGIMES for method in methods}
    for seed in seeds:
        pool, test = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y,
                                      random_state=seed)
        for regime, fraction in REGIMES.items():
            y_few = label_rows(y[pool], fraction, seed)
            for method, fit in methods.items():
                predict, seconds = timed(fit, X[pool], y_few, shape, seed)
                accuracy = float(np.mean(timed(predict, X[test])[0] == y[test]))
                runs[regime, method].append({
                    "accuracy": accuracy, "fit_seconds": seconds,
                    "labels": int(np.sum(y_few != -1))})
                print(name, seed, regime, method, f"{accuracy:.3f} {seconds:.1f}s",
                      flush=True)
    about = {"data": name, "shape": list(shape), "pool": len(pool),
             "classes": int(len(np.unique(y)))}
    return [{**about, "regime": regime, "method": method, **over_seeds(values)}
            for (regime, method), values in runs.items()]


def set_table(rows, regime):
    return [{"data (C, L)": f"{row['data']} {tuple(row['shape'])}", "pool": row["pool"],
             "classes": row["classes"], "labels": row["labels"], "method": row["method"],
             "accuracy": round(row["accuracy"], 3), "std": round(row["accuracy_std"], 3),
             "fit s": round(row["fit_seconds"], 1)}
            for row in rows if row["regime"] == regime]


def summary_table(rows, n_sets):
    table = []
    for regime in REGIMES:
        means = {}
        for method in dict.fromkeys(row["method"] for row in rows):
            own = [row for row in rows if row["regime"] == regime and row["method"] == method]
            means[method] = {key: float(np.mean([row[key] for row in own]))
                             for key in ("accuracy", "accuracy_std", "fit_seconds")}
            table.append({"regime": regime, "method": method, "sets": len(own),
                          "mean accuracy": round(means[method]["accuracy"], 3),
                          "mean std over seeds": round(means[method]["accuracy_std"], 3),
                          "mean fit s": round(means[method]["fit_seconds"], 1)})
        if all(method in means for method in MINIROCKET):
            best = max(MINIROCKET, key=lambda method: means[method]["accuracy"])
            table.append({"regime": regime, "method": f"better MiniRocket recipe: {best}",
                          "sets": n_sets, "mean accuracy": round(means[best]["accuracy"], 3),
                          "mean std over seeds": round(means[best]["accuracy_std"], 3),
                          "mean fit s": round(means[best]["fit_seconds"], 1)})
    return table


def main():
    args = parse_args(__doc__, SETS)
    one_thread()
    methods = build_methods(args, default_methods, simmim_classifier,
                            simmim_transformer_logistic)
    rows = [row for name in args.sets for row in set_runs(name, methods, args.seeds)]
    tables = {f"Labels {regime} of the pool: test-half accuracy": set_table(rows, regime)
              for regime in REGIMES}
    tables[f"Mean over the {len(args.sets)} sets"] = summary_table(rows, len(args.sets))
    notes = " ".join(__doc__.split("Protocol. ")[1].split()) + " " + machine_note(args)
    write_results("window_few_labels", tables, notes, directory=args.out,
                  extra={"rows": rows, "methods": list(methods), "seeds": list(args.seeds),
                         "quick": args.quick})


if __name__ == "__main__":
    main()
