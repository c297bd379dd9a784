"""The digits few-label protocol shared by the image benchmarks: a stratified half of the
1,797 images to train on, and the test accuracy of LogisticRegression fitted on 5 labelled
training images per class, averaged over 5 label draws."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def digits_halves(seed):
    """``X_train, X_test, y_train, y_test``: the digits images split in stratified halves."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)


def few_label_accuracy(Z_train, Z_test, y_train, y_test, per_class=5, draws=5):
    """Mean test accuracy over ``draws`` label draws of ``per_class`` labels per class, and
    its standard deviation over the draws."""
    scores = []
    for draw in range(draws):
        rng = np.random.RandomState(draw)
        labelled = np.concatenate([
            rng.choice(np.flatnonzero(y_train == c), per_class, replace=False)
            for c in np.unique(y_train)
        ])
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        scores.append(clf.fit(Z_train[labelled], y_train[labelled]).score(Z_test, y_test))
    return {"accuracy": float(np.mean(scores)), "draw_std": float(np.std(scores))}
