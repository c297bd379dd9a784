"""
DNA with few labels: SimMIMClassifier on splice junctions
=========================================================

The UCI splice-junction sequences are 60-nucleotide DNA strings, each an exon-intron
boundary ("EI"), an intron-exon boundary ("IE") or neither ("N"). Of the training part's
sequences only 5% carry a label; the others are marked ``-1``, as
:mod:`sklearn.semi_supervised` marks unlabeled rows.
:class:`simmim_sklearn.SimMIMClassifier` with ``analyzer="char"`` takes the strings as
they are: it pretrains :class:`~simmim_sklearn.SimMIMTokenTransformer`'s network by masked
token modeling on every training sequence, labeled or not, then fine-tunes the network and
a head on the labeled ones. The same estimator with
``pretrain_iter=0`` shows what pretraining is worth, and a logistic regression on one-hot
nucleotides, fitted on the labeled sequences, is the classical baseline. The classes hang on
the nucleotides at fixed positions around the boundary, which one-hot positions keep and the
pooled representation does not: on this set the baseline is hard to beat (see
``benchmarks/results/tokens.md`` for the defaults against tuned baselines: pretraining
gains most on proteins and text).

To stay fast the classifier here is smaller than its defaults: ``hidden_width=32``, and
10 epochs of pretraining (``pretrain_iter=10``) where ``"auto"`` gives 40;
``benchmarks/bench_tokens.py`` compares the defaults with tuned baselines.
The data is the copy in the repository's ``benchmarks/data`` (CC BY 4.0).

Runs in about 47 seconds of CPU time on one thread (measured as user time on a shared,
busy 2-core machine, where it took 200 seconds of wall-clock time).
"""

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from simmim_sklearn import SimMIMClassifier

# The docs build runs the examples from examples/; a reader may run them from the root.
DATA = next(path for path in (Path("../benchmarks/data"), Path("benchmarks/data"))
            if path.exists())
documents, labels = [], []
for line in (DATA / "splice.dat").read_text().splitlines():
    *bases, label = [field.strip() for field in line.split(",")]
    documents.append("".join(bases))
    labels.append(label)
X_train, X_test, y_train, y_test = train_test_split(
    np.array(documents, dtype=object), np.array(labels), test_size=0.25, stratify=labels,
    random_state=0)
print(f"{len(X_train)} training sequences such as {X_train[0]}")

rng = np.random.RandomState(0)
labeled = np.concatenate([
    rng.choice(np.flatnonzero(y_train == c), round(0.05 * np.sum(y_train == c)), replace=False)
    for c in np.unique(y_train)])
# The classes are strings; the integer -1 marks the unlabeled sequences.
y_few = np.full(len(y_train), -1, dtype=object)
y_few[labeled] = y_train[labeled]
print(f"{len(labeled)} labeled, {len(y_train) - len(labeled)} marked -1")

# %%
small = dict(analyzer="char", hidden_width=32, random_state=0)
one_hot = make_pipeline(
    FunctionTransformer(lambda X: np.array([list(document) for document in X])),
    OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=2000))
models = {
    "one-hot + LogisticRegression (labeled only)": (one_hot, labeled),
    "SimMIMClassifier, no pretraining": (SimMIMClassifier(pretrain_iter=0, **small), None),
    "SimMIMClassifier": (SimMIMClassifier(pretrain_iter=10, **small), None),
}
accuracy = {}
for name, (model, rows) in models.items():
    if rows is None:
        model.fit(list(X_train), y_few)
    else:
        model.fit(X_train[rows], y_train[rows])
    accuracy[name] = model.score(list(X_test), y_test)
    print(f"{name}: test accuracy {accuracy[name]:.3f}")

# %%
# The pretrained classifier's confusion between the three kinds of sequence.
clf = models["SimMIMClassifier"][0]
predicted = clf.predict(list(X_test))
classes = clf.classes_
confusion = np.array([[np.sum((y_test == true) & (predicted == guess)) for guess in classes]
                      for true in classes])
fig, (bars, matrix) = plt.subplots(1, 2, figsize=(10, 3),
                                   gridspec_kw={"width_ratios": [2, 1]})
bars.barh(list(accuracy), list(accuracy.values()))
bars.set_xlim(0.3, 1.0)
bars.set_xlabel("test accuracy (5% of the training labels)")
matrix.imshow(confusion, cmap="Blues")
matrix.set_xticks(range(len(classes)), classes)
matrix.set_yticks(range(len(classes)), classes)
matrix.set_xlabel("predicted")
matrix.set_ylabel("true")
for (i, j), count in np.ndenumerate(confusion):
    matrix.text(j, i, count, ha="center", va="center")
fig.tight_layout()
plt.show()
