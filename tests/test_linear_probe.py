"""The closed-form head of SimMIMClassifier and SimMIMRegressor on windows (_linear_probe)."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.linear_model import RidgeCV

from simmim_sklearn import SimMIMClassifier, SimMIMRegressor
from simmim_sklearn._linear_probe import PROBE_ALPHAS

WINDOWS = dict(input_shape=(2, 24), hidden_width=8, depth=1, pretrain_iter=2,
               random_state=0)


def _windows(n_rows=60, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n_rows) % 3
    X = rng.normal(size=(n_rows, 2, 24)) + y[:, None, None] * np.linspace(0, 1, 24)
    return X.reshape(n_rows, -1).astype(np.float32), y


def _standardized_head_input(model, X):
    """The representation the head reads, standardised over ``X`` as the head does."""
    with torch.no_grad():
        features = model.module_.features(torch.from_numpy(X)).numpy().astype(np.float64)
    scale = features.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return (features - features.mean(axis=0)) / scale


def test_classifier_on_windows_is_the_ridge_classifier_of_its_representation():
    X, y = _windows()
    y_few = np.where(np.arange(len(y)) < 30, y, -1)
    clf = SimMIMClassifier(**WINDOWS).fit(X, y_few)
    # No fine-tuning epoch, no validation rows held out, no spread labels.
    assert clf.max_iter_ == 0 and clf.n_iter_ == 0 and clf.loss_curve_ == []
    assert clf.best_loss_ is None and not hasattr(clf, "validation_scores_")
    assert clf.unlabeled_weight_ == 0.0
    Z = _standardized_head_input(clf, X)
    coded = np.where(y[:30, None] == np.arange(3), 1.0, -1.0)
    ridge = RidgeCV(alphas=PROBE_ALPHAS).fit(Z[:30], coded)
    assert_allclose(clf.decision_function(X), ridge.predict(Z), rtol=1e-3, atol=1e-3)
    assert clf.score(X, y) > 0.8


def test_regressor_on_windows_is_ridge_regression_of_its_representation():
    X, y = _windows()
    target = y + 0.1 * np.random.RandomState(1).normal(size=len(y))
    reg = SimMIMRegressor(**WINDOWS).fit(X, target)
    assert reg.max_iter_ == 0 and reg.n_iter_ == 0
    Z = _standardized_head_input(reg, X)
    standardized = (target - target.mean()) / target.std()
    ridge = RidgeCV(alphas=PROBE_ALPHAS).fit(Z, standardized)
    expected = ridge.predict(Z) * target.std() + target.mean()
    assert_allclose(reg.predict(X), expected, rtol=1e-3, atol=1e-3)


def test_regressor_probe_leaves_out_unknown_targets_of_each_output():
    X, y = _windows()
    Y = np.column_stack([y, -y]).astype(float)
    Y[:10, 1] = np.nan
    reg = SimMIMRegressor(**WINDOWS).fit(X, Y)
    assert np.isfinite(reg.predict(X)).all()
    assert np.corrcoef(reg.predict(X)[:, 1], -y)[0, 1] > 0.9


def test_fine_tuning_from_the_probe_when_max_iter_is_set():
    X, y = _windows()
    probe = SimMIMClassifier(**WINDOWS).fit(X, y)
    tuned = SimMIMClassifier(**WINDOWS, max_iter=3).fit(X, y)
    assert tuned.n_iter_ == 3 and len(tuned.loss_curve_) == 3
    assert not np.allclose(probe.decision_function(X), tuned.decision_function(X))


@pytest.mark.parametrize("estimator", [SimMIMClassifier, SimMIMRegressor])
def test_max_iter_zero_keeps_the_random_head_on_tabular_rows(estimator):
    X, y = _windows()
    model = estimator(hidden_width=8, depth=1, pretrain_iter=2, max_iter=0,
                      random_state=0).fit(X, y)
    assert model.n_iter_ == 0 and model.best_loss_ is None
    # Tabular rows have no kernel bank, so no closed-form start: the head is layer norm.
    assert type(model.module_.head[0]).__name__ == "LayerNorm"


def test_partial_fit_on_windows_trains_one_epoch_from_the_probe():
    X, y = _windows()
    clf = SimMIMClassifier(**WINDOWS).partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 1
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
