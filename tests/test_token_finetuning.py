"""SimMIMClassifier and SimMIMRegressor on token sequences (``analyzer`` set).

Like SimMIMTokenTransformer, the token path takes 1-D iterables of strings, which
scikit-learn's estimator checks do not feed; these tests check the same contract on strings:
fitted attributes, pickling, partial_fit, GridSearchCV, errors, a failed fit leaving no model.
"""

import pickle

import numpy as np
import pytest
from fast_settings import TINY_FINETUNED
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import simmim_sklearn._finetuned as finetuned
from simmim_sklearn import SimMIMClassifier, SimMIMRegressor

# A tiny network over characters: 8 wide, one block, 2 pretraining and 30 fine-tuning epochs.
TINY_TOKENS = dict(TINY_FINETUNED, analyzer="char")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@pytest.fixture(scope="module")
def gc_dna():
    """200 DNA strings of 30 nt: class 1 is GC-rich (70% G or C), class 0 AT-rich (30%)."""
    rng = np.random.default_rng(0)
    documents, labels = [], []
    for i in range(200):
        gc = 0.7 if i % 2 else 0.3
        documents.append("".join(rng.choice(list("GCAT"), 30,
                                            p=[gc / 2, gc / 2, (1 - gc) / 2, (1 - gc) / 2])))
        labels.append(i % 2)
    return documents, np.array(labels)


@pytest.fixture(scope="module")
def fitted(gc_dna):
    X, y = gc_dna
    return SimMIMClassifier(**TINY_TOKENS).fit(X[:150], y[:150])


def test_classifier_learns_a_toy_dna_task_and_publishes_its_plan(fitted, gc_dna):
    X, y = gc_dna
    assert fitted.score(X[150:], y[150:]) > 0.8  # chance is 0.5
    assert sorted(fitted.vocabulary_) == ["A", "C", "G", "T"] and fitted.tokenizer_ is None
    # depth 1 of width 8: the mean and max of one block.
    assert (fitted.max_length_, fitted.encoder_, fitted.depth_, fitted.n_components_) == (
        30, "transformer", 1, 16)
    assert fitted.n_pretrain_iter_ == fitted.pretrain_max_iter_ == 2
    assert list(fitted.classes_) == [0, 1]
    # Token sequences have no numeric layout.
    assert not hasattr(fitted, "n_features_in_") and not hasattr(fitted, "input_shape_")


def test_predictions_agree_with_probabilities(fitted, gc_dna):
    X = gc_dna[0][150:]
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    assert fitted.decision_function(X).shape == (50,)


def test_unlabeled_rows_are_pretrained_on(gc_dna):
    X, y = gc_dna
    # N appears in unlabeled rows only: the vocabulary, built for pretraining, has it.
    X = X[:100] + ["N" + document[1:] for document in X[100:]]
    y_few = np.where(np.arange(200) < 100, y, -1)
    clf = SimMIMClassifier(**TINY_TOKENS).fit(X, y_few)
    assert "N" in clf.vocabulary_
    # Their spread labels take no part in fine-tuning by default on sequences.
    assert clf.unlabeled_weight_ == 0.0
    labeled_only = SimMIMClassifier(**TINY_TOKENS).fit(X[:100], y[:100])
    assert "N" not in labeled_only.vocabulary_
    assert clf.score(gc_dna[0][100:], y[100:]) > 0.7


def test_regressor_pretrains_on_rows_whose_target_is_nan(gc_dna):
    X, _ = gc_dna
    gc_share = np.array([(d.count("G") + d.count("C")) / len(d) for d in X])
    targets = np.where(np.arange(200) < 120, gc_share, np.nan)
    X = X[:120] + ["N" + document[1:] for document in X[120:]]
    reg = SimMIMRegressor(**{**TINY_TOKENS, "early_stopping": False}).fit(X, targets)
    assert "N" in reg.vocabulary_
    prediction = reg.predict(X[120:])
    assert prediction.shape == (80,)
    # Better than the mean: the GC share is read off the tokens.
    assert np.corrcoef(prediction, gc_share[120:])[0, 1] > 0.5


def test_pickle_round_trip_gives_the_same_probabilities(fitted, gc_dna):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(gc_dna[0][:5]),
                                  fitted.predict_proba(gc_dna[0][:5]))


def test_params_clone_and_grid_search(gc_dna):
    X, y = gc_dna
    clf = SimMIMClassifier(**TINY_TOKENS)
    assert clf.get_params()["analyzer"] == "char"
    assert clone(clf).set_params(analyzer="kmer", kmer_size=2).get_params()["kmer_size"] == 2
    search = GridSearchCV(clf, {"analyzer": ["char", "kmer"]}, cv=2).fit(X[:80], y[:80])
    assert search.best_params_["analyzer"] in ("char", "kmer")
    assert search.predict(X[:3]).shape == (3,)


def test_partial_fit_builds_the_vocabulary_once_and_counts_epochs(gc_dna):
    X, y = gc_dna
    clf = SimMIMClassifier(**TINY_TOKENS)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    before = clf.predict_proba(X[:3])
    clf.partial_fit(X[100:] + ["ACGTXX"], np.append(y[100:], 1))
    assert clf.n_iter_ == 2 and clf.max_iter_ == 1 and clf.n_pretrain_iter_ == 0
    assert sorted(clf.vocabulary_) == ["A", "C", "G", "T"]
    assert not np.allclose(clf.predict_proba(X[:3]), before)


def test_token_id_input(gc_dna):
    X, y = gc_dna
    codes = {"A": 1, "C": 2, "G": 3, "T": 4}
    ids = np.array([[codes[base] for base in document] for document in X])
    ids[:, 25:] = 0  # padding
    clf = SimMIMClassifier(**TINY_TOKENS).fit(ids[:150], y[:150])
    assert set(clf.vocabulary_) == {1, 2, 3, 4} and clf.max_length_ == 25
    assert clf.score(ids[150:], y[150:]) > 0.7
    with pytest.raises(ValueError, match="fitted on a 2-D integer array"):
        clf.predict(X[:2])


@pytest.mark.parametrize("X, message", [
    ("ACGT", "Iterable over raw text documents expected, string object received."),
    (["ACGT", None, "GGCA"], "Document 1 is None"),
    (["ACGT", "GGCA", np.nan], "Document 2 is NaN"),
    ([b"ACGT", "GGCA", "TTAA"], "Document 0 is bytes"),
    (["ACGT", 3, "GGCA"], "Document 1 is a int"),
    (["", "", ""], "X has no token to learn from: every document is empty"),
])
def test_bad_documents_raise_and_leave_no_model(X, message):
    clf = SimMIMClassifier(**TINY_TOKENS)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, [0, 1, 0])
    assert not hasattr(clf, "module_") and not hasattr(clf, "vocabulary_")


def test_strings_without_analyzer_say_to_set_it():
    with pytest.raises(ValueError, match="X holds strings, but analyzer=None"):
        SimMIMClassifier(**TINY_FINETUNED).fit(["ACGT", "GGCA"], [0, 1])


@pytest.mark.parametrize("settings, message", [
    (dict(input_shape=(1, 4)), "input_shape and patch_size lay out numeric rows"),
    (dict(encoder="mlp"), "encoder='mlp' reads numeric rows"),
])
def test_numeric_settings_with_an_analyzer_raise(gc_dna, settings, message):
    with pytest.raises(ValueError, match=message):
        SimMIMClassifier(**TINY_TOKENS, **settings).fit(gc_dna[0][:10], gc_dna[1][:10])


def test_a_fit_that_fails_in_training_leaves_no_model(gc_dna, monkeypatch):
    def failing_training(*args, **kwargs):
        raise RuntimeError("training failed")

    monkeypatch.setattr(finetuned, "train_token_network", failing_training)
    clf = SimMIMClassifier(**TINY_TOKENS)
    with pytest.raises(RuntimeError, match="training failed"):
        clf.fit(*gc_dna)
    # The vocabulary was built before training failed: it is gone with the rest.
    assert not any(name.endswith("_") for name in vars(clf))


def test_warm_start_cannot_switch_between_numbers_and_tokens(fitted, gc_dna):
    clf = pickle.loads(pickle.dumps(fitted)).set_params(warm_start=True, analyzer=None)
    with pytest.raises(ValueError, match="refit with warm_start=False"):
        clf.fit(np.zeros((4, 3)), [0, 1, 0, 1])


def test_numeric_auto_defaults_are_the_former_defaults(tabular):
    X, y = tabular
    y_few = np.where(np.arange(len(y)) < 100, y, -1)
    auto = SimMIMClassifier(**{**TINY_FINETUNED, "hidden_width": "auto"}).fit(X, y_few)
    explicit = SimMIMClassifier(**{**TINY_FINETUNED, "hidden_width": 128, "mask_ratio": 0.5,
                                   "unlabeled_weight": 1.0}).fit(X, y_few)
    assert auto.unlabeled_weight_ == 1.0
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))


def test_tags_say_strings_with_an_analyzer():
    assert SimMIMClassifier(analyzer="char").__sklearn_tags__().input_tags.string
    assert SimMIMRegressor().__sklearn_tags__().input_tags.two_d_array


def test_subword_analyzer_pickles_with_its_tokenizer():
    pytest.importorskip("tokenizers")
    documents = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 6
    y = np.array([0, 1, 0] * 6)
    clf = SimMIMClassifier(**{**TINY_TOKENS, "analyzer": "bpe", "max_vocabulary": 60})
    clf.fit(documents, y)
    assert clf.tokenizer_ is not None and 0 < len(clf.vocabulary_) <= 60
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(documents[:3]),
                                  clf.predict_proba(documents[:3]))


def test_string_classes_with_minus_one_for_unlabeled(gc_dna):
    X, y = gc_dna
    names = np.array(["AT-rich", "GC-rich"], dtype=object)[y]
    y_few = np.where(np.arange(200) < 60, names, -1)
    clf = SimMIMClassifier(**TINY_TOKENS).fit(X, y_few)
    assert list(clf.classes_) == ["AT-rich", "GC-rich"]
    assert set(clf.predict(X[:10])) <= {"AT-rich", "GC-rich"}
