"""SimMIMClassifier and SimMIMRegressor: pretraining, fine-tuning, unlabeled rows, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
from fast_settings import FINETUNING as TINY
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from simmim_sklearn import SimMIMClassifier, SimMIMRegressor
from simmim_sklearn.nn._finetuning import layerwise_parameter_groups


@pytest.fixture(scope="module")
def digits(labeled_digits):
    """conftest's labeled digits (X, y, X_test, y_test), under this file's name for them."""
    return labeled_digits


def few_labels(y, per_class, seed=0):
    rng = np.random.RandomState(seed)
    y_semi = np.full(len(y), -1)
    for c in np.unique(y):
        chosen = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        y_semi[chosen] = y[chosen]
    return y_semi


def test_classifier_learns_from_few_labels_and_the_unlabeled_rows_count(digits):
    X, y, X_test, y_test = digits
    y_semi = few_labels(y, 5)
    params = {**TINY, "pretrain_iter": 5, "learning_rate_init": 3e-3}
    with_unlabeled = SimMIMClassifier(input_shape=(1, 8, 8), **params).fit(X, y_semi)
    labeled_only = SimMIMClassifier(input_shape=(1, 8, 8), unlabeled_weight=0.0,
                                    **params).fit(X, y_semi)
    assert with_unlabeled.score(X_test, y_test) > 0.3  # chance is 0.1
    assert not np.allclose(with_unlabeled.predict_proba(X_test),
                           labeled_only.predict_proba(X_test))
    assert with_unlabeled.n_pretrain_iter_ == 5 and len(with_unlabeled.pretrain_loss_curve_) == 5


def test_pretrain_iter_zero_skips_pretraining(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**{**TINY, "pretrain_iter": 0}).fit(X, y)
    assert clf.n_pretrain_iter_ == 0 and clf.pretrain_loss_curve_ == []
    assert clf.score(X, y) > 0.8


def test_probabilities_decisions_and_predictions_agree(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**TINY).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    decision = clf.decision_function(X)
    assert decision.shape == (len(X),)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(decision > 0).astype(int)])


def test_string_labels_with_unlabeled_rows(tabular):
    X, y = tabular
    labels = np.array(["no", "yes"], dtype=object)[y]
    labels[::3] = -1
    clf = SimMIMClassifier(**TINY).fit(X, labels)
    assert list(clf.classes_) == ["no", "yes"]
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_class_weight_changes_the_fit():
    X, y = make_classification(n_samples=200, n_features=6, weights=[0.9], random_state=0)
    plain = SimMIMClassifier(**TINY).fit(X, y)
    balanced = SimMIMClassifier(class_weight="balanced", **TINY).fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_early_stopping_scores_labeled_validation_rows(tabular):
    X, y = tabular
    clf = SimMIMClassifier(early_stopping=True, n_iter_no_change=3, **TINY).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_warm_start_continues_fine_tuning_without_pretraining(tabular):
    X, y = tabular
    clf = SimMIMClassifier(warm_start=True, **TINY).fit(X, y)
    pretraining = list(clf.pretrain_loss_curve_)
    before = clf.predict_proba(X)
    clf.fit(X, y)
    assert clf.pretrain_loss_curve_ == pretraining
    assert not np.allclose(before, clf.predict_proba(X))


def test_partial_fit_runs_one_epoch_per_call_and_needs_classes(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**TINY)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    clf.partial_fit(X[100:], y[100:])
    assert clf.n_iter_ == 2 and clf.n_pretrain_iter_ == 0


def test_failed_partial_fit_keeps_the_last_good_model(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**TINY).partial_fit(X, y, classes=[0, 1])
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes_"):
        clf.partial_fit(X, np.full(len(y), 7))
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == 1


def test_partial_fit_validates_the_parameters():
    X, y = make_regression(n_samples=40, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="layer_decay"):
        SimMIMRegressor(layer_decay=2.0).partial_fit(X, y)


def test_no_labeled_row_is_a_clear_error(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**TINY)
    with pytest.raises(ValueError, match="no labeled rows"):
        clf.fit(X, np.full(len(y), -1))
    assert not hasattr(clf, "module_")
    with pytest.raises(ValueError, match="no rows with a target"):
        SimMIMRegressor(**TINY).fit(X, np.full(len(y), np.nan))


def test_regressor_multi_output_with_missing_targets():
    X, Y = make_regression(n_samples=200, n_features=6, n_targets=2, noise=1.0,
                           random_state=0)
    Y_gappy = Y.copy()
    Y_gappy[:40] = np.nan            # unlabeled rows: pretraining only
    Y_gappy[40:60, 1] = np.nan       # one target missing: left out of the loss alone
    reg = SimMIMRegressor(**{**TINY, "max_iter": 60}).fit(X, Y_gappy)
    prediction = reg.predict(X)
    assert prediction.shape == (200, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.5
    single = SimMIMRegressor(**TINY).fit(X, Y[:, 0])
    assert single.predict(X).shape == (200,)


def test_pickle_round_trip_and_pandas_input(tabular):
    X, y = tabular
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = SimMIMClassifier(**TINY).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(frame), clf.predict_proba(frame))


def test_grid_search_over_pretraining():
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    search = GridSearchCV(SimMIMRegressor(**TINY),
                          {"pretrain_iter": [0, 2], "hidden_width": [8, 16]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4 and np.isfinite(search.best_score_)
    assert search.best_estimator_.n_pretrain_iter_ == search.best_params_["pretrain_iter"]


def test_window_classifier_with_missing_values():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 6, 48)
    y = rng.randint(0, 2, 120)
    X = np.sin(t * (1 + y[:, None])) + 0.1 * rng.normal(size=(120, 48))
    X[::7, 10:20] = np.nan
    clf = SimMIMClassifier(input_shape=(1, 48), batch_size=120, learning_rate_init=1e-2,
                           **{**TINY, "max_iter": 30}).fit(X, y)
    assert clf.encoder_ == "conv"
    assert clf.score(X, y) > 0.8


def test_layerwise_learning_rates_decay_towards_the_input(tabular):
    X, y = tabular
    clf = SimMIMClassifier(input_shape=(1, 8), encoder="conv", hidden_width=8, depth=2,
                           pretrain_iter=1, max_iter=1, random_state=0).fit(X, y)
    groups = layerwise_parameter_groups(clf.module_, layer_decay=0.5)
    assert [group["lr_scale"] for group in groups] == [0.125, 0.25, 0.5, 1.0]
    grouped = {id(p) for group in groups for p in group["params"]}
    trainable = {id(p) for p in clf.module_.parameters() if p.requires_grad}
    assert grouped == trainable
    embedding = clf.module_.backbone.encoder.embedding.projection.weight
    assert any(p is embedding for p in groups[0]["params"])
    assert any(p is clf.module_.head[-1].weight for p in groups[-1]["params"])


@pytest.mark.parametrize("labels", [np.array([1, 2]), np.array(["no", "yes"], dtype=object)])
def test_class_weight_dict_keys_are_class_labels(tabular, labels):
    X, y = tabular
    y_labels = labels[y]
    y_labels[::5] = -1
    first, second = labels
    favour_first = SimMIMClassifier(class_weight={first: 20}, **TINY).fit(X, y_labels)
    favour_second = SimMIMClassifier(class_weight={second: 20}, **TINY).fit(X, y_labels)
    assert (favour_first.predict(X) == first).sum() > (favour_second.predict(X) == first).sum()
    with pytest.raises(ValueError, match="not in class_weight"):
        SimMIMClassifier(class_weight={3: 5}, **TINY).fit(X, y_labels)


def test_minus_one_as_a_class_asks_to_recode_the_labels(tabular):
    X, y = tabular
    y_signs = np.where(y == 1, 1, -1)
    clf = SimMIMClassifier(**TINY)
    with pytest.raises(ValueError, match="recode the labels"):
        clf.fit(X, y_signs)
    assert not hasattr(clf, "module_")
    with pytest.raises(ValueError, match="recode the labels"):
        clf.partial_fit(X, y_signs, classes=[-1, 1])
    assert not hasattr(clf, "module_")
    # With -1 and two classes besides, -1 still marks unlabeled rows.
    assert list(clf.fit(X, np.where(np.arange(len(y)) % 4 == 0, -1, y)).classes_) == [0, 1]


def test_partial_fit_with_other_classes_raises_and_keeps_the_model(tabular):
    X, y = tabular
    clf = SimMIMClassifier(**TINY).partial_fit(X, y, classes=[0, 1])
    before = clf.predict_proba(X)
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes in another order
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2\]` is not the same as on last"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1] and clf.n_iter_ == 2
    assert not np.allclose(clf.predict_proba(X), before)
    after_second_call = clf.predict_proba(X)
    with pytest.raises(ValueError, match="is not the same as on last"):
        clf.partial_fit(X, y, classes=[0, 2])
    np.testing.assert_array_equal(clf.predict_proba(X), after_second_call)


def test_task_rows_shuffle_rows_targets_and_weights_together():
    import torch

    from simmim_sklearn._data import TaskRows, TensorRows

    X = np.arange(20.0).reshape(10, 2)
    targets, weight = X[:, :1] * 10, X[:, 0] / 2
    device = torch.device("cpu")
    task_rows = TaskRows(X, targets, weight, device)
    batches = list(task_rows.batches(4, torch.Generator().manual_seed(0)))
    plain = list(TensorRows(X, device).batches(4, torch.Generator().manual_seed(0)))
    assert [len(batch.x) for batch in batches] == [4, 4, 2] == [len(xb) for xb in plain]
    for batch, xb in zip(batches, plain):
        # The same shuffle as plain rows, each row still with its own target and weight.
        torch.testing.assert_close(batch.x, xb)
        torch.testing.assert_close(batch.targets[:, 0], batch.x[:, 0] * 10)
        torch.testing.assert_close(batch.weight, batch.x[:, 0] / 2)
    assert sorted(torch.cat([batch.x[:, 0] for batch in batches]).tolist()) == X[:, 0].tolist()


def test_validation_reads_the_held_out_rows_in_blocks(tabular, monkeypatch):
    import torch

    from simmim_sklearn.nn import _finetuning

    X, y = tabular
    params = {**TINY, "early_stopping": True, "validation_fraction": 0.2, "max_iter": 3}
    whole = SimMIMClassifier(**params).fit(X, y)
    validation_rows = []

    def recorded_task_loss_terms(network, batch, classification):
        if not torch.is_grad_enabled():
            validation_rows.append(len(batch.x))
        return task_loss_terms(network, batch, classification)

    task_loss_terms = _finetuning.task_loss_terms
    monkeypatch.setattr(_finetuning, "task_loss_terms", recorded_task_loss_terms)
    monkeypatch.setattr(_finetuning, "VALIDATION_BATCH_ROWS", 16)
    blocks = SimMIMClassifier(**params).fit(X, y)
    assert validation_rows == [16, 16, 8] * 3  # 40 held-out rows, three epochs
    np.testing.assert_allclose(blocks.validation_scores_, whole.validation_scores_, rtol=1e-5)
