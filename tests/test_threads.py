"""Torch threads chosen per call (n_threads) and torch's global setting left as found."""

import numpy as np
import pytest
import torch
from fast_settings import TINY, TINY_FINETUNED

from simmim_sklearn import SimMIMClassifier, SimMIMTransformer, _threads
from simmim_sklearn.nn import _finetuning, _training


@pytest.fixture
def two_torch_threads():
    """Torch set to two threads for the test, then restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def record_training_threads(monkeypatch):
    """A list that receives torch's thread count each time a training loop starts (masked
    pretraining, fine-tuning)."""
    seen = []
    fit_epochs = _training.fit_epochs

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return fit_epochs(*args, **kwargs)

    monkeypatch.setattr(_training, "fit_epochs", recording)
    monkeypatch.setattr(_finetuning, "fit_epochs", recording)
    return seen


def test_fit_and_transform_use_the_threads_asked_for_and_restore_torchs_setting(
        two_torch_threads, monkeypatch):
    seen = record_training_threads(monkeypatch)
    X = np.random.RandomState(0).normal(size=(40, 6))
    model = SimMIMTransformer(n_threads=1, **TINY).fit(X)
    assert seen == [1] and model.n_threads_ == 1
    assert torch.get_num_threads() == 2
    model.transform(X), model.score(X), model.inverse_transform(model.transform(X))
    assert torch.get_num_threads() == 2


def test_auto_uses_one_thread_for_small_work_and_shares_large_work_on_free_cores(
        two_torch_threads, monkeypatch):
    X = np.random.RandomState(0).normal(size=(40, 6))
    assert SimMIMTransformer(**TINY).fit(X).n_threads_ == 1  # a tiny MLP step
    large = _threads.PARALLEL_WORK * 10
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    assert _threads.auto_threads(large) == 2
    # Busy cores: the other processes' load leaves one free.
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert _threads.auto_threads(large) == 1
    # Never more than torch's current limit (joblib's workers and threadpoolctl set it).
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    torch.set_num_threads(1)
    assert _threads.auto_threads(large) == 1


def test_a_fit_that_fails_while_training_restores_torchs_threads(two_torch_threads,
                                                                   monkeypatch):
    def failing_loop(*args, **kwargs):
        raise ValueError("the training loss became non-finite")

    monkeypatch.setattr(_training, "fit_epochs", failing_loop)
    X = np.random.RandomState(0).normal(size=(40, 6))
    with pytest.raises(ValueError, match="non-finite"):
        SimMIMTransformer(n_threads=1, **TINY).fit(X)
    assert torch.get_num_threads() == 2


def test_fine_tuned_estimators_pretrain_and_fine_tune_on_their_threads(two_torch_threads,
                                                                         monkeypatch):
    seen = record_training_threads(monkeypatch)
    X = np.random.RandomState(0).normal(size=(40, 6))
    y = np.tile([0, 1], 20)
    clf = SimMIMClassifier(**{**TINY_FINETUNED, "n_threads": 1}).fit(X, y)
    assert seen == [1, 1] and clf.pretrain_n_threads_ == 1 and clf.n_threads_ == 1
    clf.predict_proba(X)
    assert torch.get_num_threads() == 2
