"""Choices for SimMIMTokenTransformer made on the training parts of bench_tokens.py's sets only.

Run from the repository root: ``python benchmarks/tune_token_defaults.py [encoder]
[sms-analyzer] [unlabeled-weight]`` (all by default; each part writes its own results).
The training part of bench_tokens.py's split (stratified 75%, seed 0) is split again, 70% to
fit on and 30% to score on (stratified, seed 1); the test part is never read. The
transformer is fitted on the 70%, then a standardised LogisticRegressionCV on all their
labels or on 5% of them; accuracy on the 30%. One torch thread.

- ``encoder`` (``tune_token_defaults``): the default encoder, on the splice junctions; each
  encoder with its defaults, and the same network untrained (one epoch at a learning rate of
  1e-12).
- ``sms-analyzer`` (``tune_token_analyzer_sms``): words or a BPE vocabulary for the SMS
  messages in bench_tokens.py.
- ``unlabeled-weight`` (``tune_token_unlabeled_weight``): SimMIMClassifier's
  ``unlabeled_weight`` on token sequences, on the splice junctions with 5% of the labels
  (the rest of the 70% marked -1): whether the labels spread over the pretrained
  representation should weigh in fine-tuning.
"""

import sys
import warnings

import numpy as np
import torch
from _results import write_results
from _token_data import load_sms, load_splice
from bench_tokens import C_GRID, SEED, few_labels, timed
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simmim_sklearn import SimMIMClassifier, SimMIMTokenTransformer


def inner_split(X, y):
    """The 70% to fit on and the 30% to score on of the training part of (X, y)."""
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=SEED)
    return train_test_split(X_train, y_train, test_size=0.3, stratify=y_train, random_state=1)


def probe(settings, X_fit, X_val, y_fit, y_val):
    """The transformer with ``settings`` fitted on ``X_fit``, and the accuracy on ``X_val`` of
    a logistic regression on its features, with all labels and with 5%."""
    labeled = few_labels(y_fit)
    model = SimMIMTokenTransformer(random_state=SEED, **settings)
    _, seconds = timed(model.fit, X_fit)
    Z_fit, Z_val = model.transform(X_fit), model.transform(X_val)
    scores = {}
    for regime, used in (("all labels", slice(None)), ("5% labels", labeled)):
        head = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=C_GRID, max_iter=2000))
        head.fit(Z_fit[used], y_fit[used])
        scores[regime] = head.score(Z_val, y_val)
    return {"depth_": model.depth_, "max_length_": model.max_length_, "epochs": model.n_iter_,
            "fit s": round(seconds, 1), **scores}


def encoder():
    X_fit, X_val, y_fit, y_val = inner_split(*load_splice())
    rows = []
    for name in ("transformer", "conv"):
        for pretrained, settings in ((True, {}),
                                     (False, dict(max_iter=1, learning_rate_init=1e-12))):
            rows.append({"encoder": name, "pretrained": pretrained,
                         **probe(dict(encoder=name, **settings), X_fit, X_val, y_fit, y_val)})
            print(rows[-1], flush=True)
    write_results("tune_token_defaults", {"splice, training part: 70% fit, 30% scored": rows},
                  notes=__doc__)


def sms_analyzer():
    X_fit, X_val, y_fit, y_val = inner_split(*load_sms())
    rows = []
    for settings in (dict(analyzer="word", lowercase=True), dict(analyzer="bpe")):
        rows.append({**settings, **probe(settings, X_fit, X_val, y_fit, y_val)})
        print(rows[-1], flush=True)
    write_results("tune_token_analyzer_sms",
                  {"SMS, training part: 70% fit, 30% scored (accuracy)": rows}, notes=__doc__)


def unlabeled_weight():
    X_fit, X_val, y_fit, y_val = inner_split(*load_splice())
    labeled = few_labels(y_fit)
    y_few = np.full(len(y_fit), -1, dtype=object)
    y_few[labeled] = y_fit[labeled]
    rows = []
    for weight in (1.0, 0.0):
        model = SimMIMClassifier(analyzer="char", unlabeled_weight=weight, random_state=SEED)
        _, seconds = timed(model.fit, X_fit, y_few)
        rows.append({"unlabeled_weight": weight, "labeled": len(labeled),
                     "unlabeled (-1)": len(y_fit) - len(labeled),
                     "fine-tuning epochs": model.n_iter_, "fit s": round(seconds, 1),
                     "5% labels": model.score(X_val, y_val)})
        print(rows[-1], flush=True)
    write_results("tune_token_unlabeled_weight",
                  {"splice, training part: 70% fit (5% labeled), 30% scored": rows},
                  notes=__doc__)


PARTS = {"encoder": encoder, "sms-analyzer": sms_analyzer, "unlabeled-weight": unlabeled_weight}


def main(parts):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    for part in parts or PARTS:
        PARTS[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
