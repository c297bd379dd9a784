"""SimMIMTokenTransformer on DNA, proteins and text, against tuned bag-of-k-mers baselines.

Run from the repository root: ``python benchmarks/bench_tokens.py``; writes
``results/tokens.json`` and ``results/tokens.md``. Data (``benchmarks/data``, see its
README): UCI splice junctions (DNA, 3 classes, accuracy), modlAMP's antimicrobial peptides
against UniProt (proteins, 2 classes, accuracy), the SMS Spam Collection (text, macro-F1).

Protocol: a stratified 75/25 split (seed 0); two regimes, every training label, and 5% of
the training labels (stratified, seed 0) with the rest of the training part unlabeled.
Everything is chosen on the training part: the baselines' k (or n-gram ranges) and C by
cross-validation, the best baseline by its cross-validated score.

- Baselines: k-mer counts (k = 3..6) + LogisticRegression or LinearSVC, k and C by 3-fold CV
  (DNA, proteins); one-hot positions + LogisticRegressionCV (fixed-length DNA); TF-IDF word
  1-2-grams and char 2-5-grams + LogisticRegressionCV (text). With 5% of the labels: the
  best baseline refitted on the labeled rows, LabelSpreading (k-nearest neighbours) and
  SelfTrainingClassifier over its features.
- Ours: ``Pipeline(SimMIMTokenTransformer, StandardScaler, LogisticRegressionCV)``. The
  transformer is fitted once on every training sequence (it reads no label), so the same
  fit serves both regimes; only the logistic regression sees the labels. "untrained" is the
  same network at its random start (one epoch at a learning rate of 1e-12).
- Ours, fine-tuned: ``SimMIMClassifier(analyzer=...)`` with its defaults, the same analyzer
  as the transformer: pretrained by masked token modeling on every training sequence, then
  fine-tuned end to end; with 5% of the labels the other training sequences are given as
  unlabeled (``-1``): they take part in pretraining, and fine-tuning reads the labeled ones
  (``unlabeled_weight="auto"`` is 0 on sequences). Fitted once per regime (the fit reads
  the labels).

``python benchmarks/bench_tokens.py --classifier-only`` runs the SimMIMClassifier rows alone
and merges them into the existing results; the ``run`` column says which run gave each row.
The SimMIMClassifier rows were run so, on the same data, split and seeds as the "full" rows
(the token transformer's outputs were unchanged by the code that added them; the later
reading of sequences in length-sorted blocks changes them by rounding only), but while other
jobs loaded the shared 2 cores (load average 4 to 8): their fit seconds are wall-clock under
that load (a script run beside them took 200 s of wall-clock for 47 s of CPU) and not
comparable with the "full" rows' seconds.

Fit seconds are wall-clock on one torch thread of a shared 2-core machine (the ours rows
include the transformer's fit); throughput is ``transform`` on the test sequences.
"""

import argparse
import datetime
import json
import time
import warnings

import numpy as np
import torch
from _results import RESULTS, write_results
from _token_data import load_peptides, load_sms, load_splice
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import LinearSVC

from simmim_sklearn import SimMIMClassifier, SimMIMTokenTransformer
from simmim_sklearn._plan import Corpus, make_plan

SEED = 0
LABELED_FRACTION = 0.05
C_GRID = [0.01, 0.1, 1.0, 10.0]
KMER_SIZES = [3, 4, 5, 6]
SPEED_SEQUENCES, SPEED_LENGTH, SPEED_EPOCHS = 5000, 128, 3
CLASSIFIER_METHOD = "SimMIMClassifier (pretrained on every training sequence, fine-tuned)"
SETS = (("splice (DNA)", load_splice, "accuracy"),
        ("AMP vs UniProt (protein)", load_peptides, "accuracy"),
        ("SMS spam (text)", load_sms, "macro-F1"))
# The transformer's settings per set: characters for DNA and proteins; for text a BPE
# vocabulary, which beat words with 5% of the labels on the training part and tied with all
# of them (tune_token_defaults.py sms-analyzer).
OURS = {
    "splice (DNA)": dict(analyzer="char"),
    "AMP vs UniProt (protein)": dict(analyzer="char"),
    "SMS spam (text)": dict(analyzer="bpe"),
}


def kmer_baseline():
    """k-mer counts and a linear classifier, k, the classifier and C by 3-fold CV."""
    pipe = make_pipeline(CountVectorizer(analyzer="char", lowercase=False),
                         LogisticRegression(max_iter=2000))
    grid = [{"countvectorizer__ngram_range": [(k, k) for k in KMER_SIZES],
             "logisticregression": [LogisticRegression(max_iter=2000)],
             "logisticregression__C": C_GRID},
            {"countvectorizer__ngram_range": [(k, k) for k in KMER_SIZES],
             "logisticregression": [LinearSVC()],
             "logisticregression__C": C_GRID}]
    return GridSearchCV(pipe, grid, cv=3, n_jobs=1)


def one_hot_baseline():
    """One-hot nucleotides at each position + LogisticRegressionCV (fixed-length DNA)."""
    return make_pipeline(FunctionTransformer(_characters), OneHotEncoder(handle_unknown="ignore"),
                         LogisticRegressionCV(Cs=C_GRID, max_iter=2000))


def _characters(X):
    """Strings of one length as a 2-D array of their characters."""
    return np.array([list(document) for document in X])


def tfidf_baseline(analyzer, ngram_range, scoring):
    return make_pipeline(TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range,
                                         sublinear_tf=True, min_df=2),
                         LogisticRegressionCV(Cs=C_GRID, max_iter=2000, scoring=scoring))


def baselines(name, scoring):
    if name.startswith("SMS"):
        return {"TF-IDF word 1-2-grams + LogisticRegressionCV":
                tfidf_baseline("word", (1, 2), scoring),
                "TF-IDF char 2-5-grams + LogisticRegressionCV":
                tfidf_baseline("char_wb", (2, 5), scoring)}
    found = {"k-mer counts (k, C by CV) + LogisticRegression / LinearSVC": kmer_baseline()}
    if name.startswith("splice"):
        found["one-hot positions + LogisticRegressionCV"] = one_hot_baseline()
    return found


def cv_score(model):
    """The cross-validated score of a fitted baseline on the training part."""
    if isinstance(model, GridSearchCV):
        return model.best_score_
    logistic = model[-1]
    return max(scores.mean(axis=0).max() for scores in logistic.scores_.values())


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def few_labels(y, rng_seed=SEED):
    """Indices of a stratified 5% of ``y``, at least 2 per class."""
    rng = np.random.default_rng(rng_seed)
    chosen = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        chosen.extend(rng.choice(rows, max(2, round(LABELED_FRACTION * len(rows))),
                                 replace=False))
    return np.sort(chosen)


def features_of(model, X_train, X_test):
    """The fitted baseline's features (everything before its classifier), dense for
    LabelSpreading's neighbour graph."""
    features = (model.best_estimator_ if isinstance(model, GridSearchCV) else model)[:-1]
    Z_train, Z_test = features.transform(X_train), features.transform(X_test)
    if sparse.issparse(Z_train):
        return Z_train, Z_test
    return np.asarray(Z_train, dtype=float), np.asarray(Z_test, dtype=float)


def macro_f1(y_true, y_pred):
    # A function of its own: LogisticRegressionCV 1.9 passes pos_label twice to the
    # "f1_macro" scorer of a binary task.
    return f1_score(y_true, y_pred, average="macro")


def split(X, y):
    """The stratified 75/25 split (documents as object arrays) and the indices of the 5%
    of training labels kept in the few-label regime."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SEED)
    X_train, X_test = np.array(X_train, dtype=object), np.array(X_test, dtype=object)
    return X_train, X_test, y_train, y_test, few_labels(y_train)


def scorer_of(metric):
    return macro_f1 if metric == "macro-F1" else accuracy_score


def table_row(name, metric, method, all_score, all_seconds, few_score, few_seconds):
    row = {"set": name, "metric": metric, "method": method,
           "all labels": all_score, "fit s (all)": round(all_seconds, 1),
           "5% labels": few_score, "fit s (5%)": round(few_seconds, 1)}
    print(row, flush=True)
    return row


def classifier_row(name, X, y, metric):
    """SimMIMClassifier fitted on every training sequence, with all labels, then with 5%
    of them and the rest marked -1."""
    score = scorer_of(metric)
    X_train, X_test, y_train, y_test, labeled = split(X, y)
    classes, codes = np.unique(y_train, return_inverse=True)
    few_codes = np.full(len(y_train), -1)
    few_codes[labeled] = codes[labeled]
    results = []
    for targets in (codes, few_codes):
        classifier = SimMIMClassifier(random_state=SEED, **OURS[name])
        _, seconds = timed(classifier.fit, list(X_train), targets)
        results += [score(y_test, classes[classifier.predict(list(X_test))]), seconds]
    return table_row(name, metric, CLASSIFIER_METHOD, *results)


def run_set(name, X, y, metric):
    score = scorer_of(metric)
    scoring = make_scorer(score)
    X_train, X_test, y_train, y_test, labeled = split(X, y)
    rows = []

    def row(*values):
        rows.append(table_row(name, metric, *values))

    fitted_baselines = {}
    for method, model in baselines(name, scoring).items():
        model, seconds = timed(model.fit, X_train, y_train)
        few_model, few_seconds = timed(clone(model).fit, X_train[labeled], y_train[labeled])
        fitted_baselines[method] = (model, few_model, few_seconds)
        row(method, score(y_test, model.predict(X_test)), seconds,
            score(y_test, few_model.predict(X_test)), few_seconds)
    best = max(fitted_baselines, key=lambda method: cv_score(fitted_baselines[method][0]))
    model, few_model, _ = fitted_baselines[best]
    classes, y_codes = np.unique(y_train, return_inverse=True)
    codes_partial = np.full(len(y_train), -1)
    codes_partial[labeled] = y_codes[labeled]
    (Z_train, Z_test), feature_seconds = timed(features_of, few_model, X_train, X_test)
    spreading, seconds = timed(LabelSpreading(kernel="knn").fit, Z_train, codes_partial)
    row(f"LabelSpreading over the best baseline's features ({best})", "", 0.0,
        score(y_test, classes[spreading.predict(Z_test)]), seconds + feature_seconds)
    base = few_model.best_estimator_ if isinstance(few_model, GridSearchCV) else few_model
    self_training, seconds = timed(
        SelfTrainingClassifier(_probabilistic(clone(base[-1]))).fit, Z_train, codes_partial)
    row(f"SelfTrainingClassifier over the best baseline's features ({best})", "", 0.0,
        score(y_test, classes[self_training.predict(Z_test)]), seconds + feature_seconds)

    details = {"set": name, "n_train": len(X_train), "n_test": len(X_test),
               "labeled (5%)": len(labeled), "best baseline (by CV)": best}
    for method, settings in (("SimMIMTokenTransformer + LogisticRegressionCV", {}),
                             ("same network untrained + LogisticRegressionCV",
                              dict(max_iter=1, learning_rate_init=1e-12))):
        transformer = SimMIMTokenTransformer(random_state=SEED, **{**OURS[name], **settings})
        _, transformer_seconds = timed(transformer.fit, list(X_train))
        Z_train, train_seconds = timed(transformer.transform, list(X_train))
        Z_test, test_seconds = timed(transformer.transform, list(X_test))
        results = []
        for rows_used in (slice(None), labeled):
            head = make_pipeline(StandardScaler(),
                                 LogisticRegressionCV(Cs=C_GRID, max_iter=2000, scoring=scoring))
            head, seconds = timed(head.fit, Z_train[rows_used], y_train[rows_used])
            results += [score(y_test, head.predict(Z_test)), transformer_seconds + seconds]
        row(method, *results)
        if not settings:
            details.update({
                "analyzer": transformer.analyzer, "vocabulary": len(transformer.vocabulary_),
                "max_length_": transformer.max_length_, "encoder_": transformer.encoder_,
                "depth_": transformer.depth_, "n_components_": transformer.n_components_,
                "epochs": transformer.n_iter_, "transformer fit s": round(transformer_seconds, 1),
                "transform sequences/s": round((len(X_train) + len(X_test))
                                               / (train_seconds + test_seconds)),
            })
    rows.append(classifier_row(name, X, y, metric))
    return rows, details


def _probabilistic(classifier):
    """``classifier``, or for LinearSVC, which gives no probabilities for
    SelfTrainingClassifier's threshold, LogisticRegression at the same C."""
    if isinstance(classifier, LinearSVC):
        return LogisticRegression(C=classifier.C, max_iter=2000)
    return classifier


def speed():
    """Fit and transform time on 5,000 SMS messages read as up to 128 characters: 3 epochs
    timed, and the epochs that max_iter="auto" plans for them (from the plan, unfitted)."""
    documents = load_sms()[0][:SPEED_SEQUENCES]
    model = SimMIMTokenTransformer(max_length=SPEED_LENGTH, max_iter=SPEED_EPOCHS,
                                   random_state=SEED)
    _, seconds = timed(model.fit, documents)
    _, transform_seconds = timed(model.transform, documents)
    lengths = np.minimum([len(document) for document in documents], SPEED_LENGTH)
    auto_epochs = make_plan(model.get_params() | {"max_iter": "auto"},
                            Corpus(len(documents), lengths, len(model.vocabulary_)),
                            "tokens").training.n_epochs
    return [{"sequences": len(documents), "max_length_": model.max_length_,
             "epochs timed": SPEED_EPOCHS, "fit s": round(seconds, 1),
             "s per epoch": round(seconds / SPEED_EPOCHS, 1),
             'epochs of max_iter="auto"': auto_epochs,
             'fit s of max_iter="auto" (projected)': round(seconds / SPEED_EPOCHS * auto_epochs),
             "transform sequences/s": round(len(documents) / transform_seconds)}]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classifier-only", action="store_true",
                        help="run the SimMIMClassifier rows alone and merge them into the "
                             "existing results/tokens.json and tokens.md")
    classifier_only = parser.parse_args().classifier_only
    torch.set_num_threads(1)
    # scikit-learn 1.9 announces LogisticRegressionCV's changes of 1.10 at every fit.
    warnings.filterwarnings("ignore", category=FutureWarning)
    if classifier_only:
        merge_classifier_rows()
        return
    tables_rows, details = [], []
    for name, loader, metric in SETS:
        X, y = loader()
        rows, set_details = run_set(name, X, y, metric)
        tables_rows += rows
        details.append(set_details)
    for row in tables_rows:
        row["run"] = "full"
    write_results("tokens", {"test scores": tables_rows, "sets": details,
                             "speed: 5,000 SMS as up to 128 characters": speed()},
                  notes=__doc__)


def merge_classifier_rows():
    """Rerun the SimMIMClassifier rows and put them in the saved results, each after its
    set's other rows, replacing those of an earlier run; the rows of other runs keep their
    ``run`` (``"full"`` where a full run wrote them). The results are written after each
    set, so that an interrupted run keeps the sets it finished."""
    saved = json.loads((RESULTS / "tokens.json").read_text())
    tables = saved["tables"]
    run = f"classifier-only, {datetime.date.today().isoformat()}"
    rows = [row for row in tables["test scores"] if row["method"] != CLASSIFIER_METHOD]
    for row in rows:
        row.setdefault("run", "full")
    for name, loader, metric in SETS:
        X, y = loader()
        new_row = {**classifier_row(name, X, y, metric), "run": run}
        last = max(i for i, row in enumerate(rows) if row["set"] == name)
        rows.insert(last + 1, new_row)
        tables["test scores"] = rows
        write_results("tokens", tables, notes=__doc__)


if __name__ == "__main__":
    main()
