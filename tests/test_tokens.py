"""SimMIMTokenTransformer: strings in, features out.

It is not in test_common.py's ``parametrize_with_checks``: scikit-learn yields no check at
all for an estimator tagged ``input_tags.two_d_array=False``, as its text vectorizers are
(``_yield_all_checks`` warns "Can't test estimator ..." and returns), and its checks feed
2-D float arrays, which a transformer of strings rejects by design. The tests below check
the same contract on strings: fitted attributes, pickling, partial_fit, set_output,
GridSearchCV, errors, a failed fit leaving no model.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simmim_sklearn import SimMIMTokenTransformer

# A tiny network: 8 wide, one block, 2 epochs.
TINY_TOKENS = dict(hidden_width=8, depth=1, max_iter=2, random_state=0)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@pytest.fixture(scope="module")
def motif_dna():
    """160 random DNA strings of 24 nt; class 1 holds the motif GATTACA somewhere."""
    rng = np.random.default_rng(0)
    documents, labels = [], []
    for i in range(160):
        sequence = "".join(rng.choice(list("ACGT"), 24))
        if i % 2:
            start = rng.integers(0, 24 - 7)
            sequence = sequence[:start] + "GATTACA" + sequence[start + 7:]
        documents.append(sequence)
        labels.append(i % 2)
    return documents, np.array(labels)


@pytest.fixture(scope="module")
def fitted(motif_dna):
    return SimMIMTokenTransformer(**TINY_TOKENS).fit(motif_dna[0])


def test_transform_shape_and_fitted_values(fitted, motif_dna):
    Z = fitted.transform(motif_dna[0])
    # depth 1: the mean and the max of one block of width 8.
    assert Z.shape == (160, 16) and Z.dtype == np.float32
    assert fitted.n_components_ == 16
    assert sorted(fitted.vocabulary_) == ["A", "C", "G", "T"]
    assert fitted.max_length_ == 24
    assert (fitted.encoder_, fitted.depth_, fitted.batch_size_, fitted.max_iter_) == (
        "transformer", 1, 64, 2)
    assert fitted.device_ == "cpu" or fitted.device_.startswith(("cuda", "mps"))
    assert len(fitted.loss_curve_) == fitted.n_iter_ == 2
    assert list(fitted.get_feature_names_out()[:2]) == ["simmimtokentransformer0",
                                                        "simmimtokentransformer1"]


def test_pipeline_learns_a_motif_above_chance(motif_dna):
    X, y = motif_dna
    # The dilated convolutions' max over positions finds a motif wherever it is, even from
    # 120 sequences.
    pipe = make_pipeline(
        SimMIMTokenTransformer(encoder="conv", hidden_width=16, max_iter=5, random_state=0),
        StandardScaler(), LogisticRegression(C=0.1, max_iter=1000),
    )
    pipe.fit(X[:120], y[:120])
    assert pipe.score(X[120:], y[120:]) > 0.7


def test_pickle_round_trip_gives_the_same_features(fitted, motif_dna):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(motif_dna[0][:5]),
                                  fitted.transform(motif_dna[0][:5]))


def test_partial_fit_keeps_the_vocabulary_and_counts_epochs(motif_dna):
    X = motif_dna[0]
    model = SimMIMTokenTransformer(**TINY_TOKENS)
    model.partial_fit(X[:80])
    before = model.transform(X[:3])
    model.partial_fit(X[80:] + ["ACGTXX"])
    assert model.n_iter_ == 2 and model.max_iter_ == 1
    assert sorted(model.vocabulary_) == ["A", "C", "G", "T"]
    assert not np.allclose(model.transform(X[:3]), before)


def test_inverse_transform_gives_strings_of_the_alphabet(motif_dna):
    X = motif_dna[0]
    model = SimMIMTokenTransformer(hidden_width=16, depth=1, max_iter=20,
                                   random_state=0).fit(X)
    decoded = model.inverse_transform(model.transform(X[:10]))
    assert decoded.shape == (10,)
    assert all(isinstance(document, str) and set(document) <= set("ACGT")
               for document in decoded)
    # Trained long enough, the decoder has learnt the length of every sequence.
    assert all(len(document) == 24 for document in decoded)


def test_unknown_tokens_and_empty_strings(fitted):
    # Unseen symbols are one unknown symbol: a string of them encodes alike whatever they are.
    Z = fitted.transform(["ACGTXY", "ACGTQQ", "", "ACGT"])
    np.testing.assert_allclose(Z[0], Z[1])
    # An empty string has no token to pool: zeros.
    np.testing.assert_array_equal(Z[2], 0.0)
    assert not np.allclose(Z[0], Z[3])


def test_longer_sequences_are_truncated(fitted):
    tail_a, tail_b = "A" * 30, "C" * 30
    Z = fitted.transform(["GATTACA" * 4 + tail_a, "GATTACA" * 4 + tail_b])
    # max_length_ is 24: both read the same first 24 tokens.
    np.testing.assert_allclose(Z[0], Z[1])


def test_set_output_pandas_names_columns_and_keeps_index(fitted):
    documents = pd.Series(["ACGT", "GGCA"], index=[10, 20])
    Z = clone(fitted).set_output(transform="pandas").fit(["ACGTACGT"] * 8).transform(documents)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.index) == [10, 20]
    assert Z.columns[0] == "simmimtokentransformer0"


def test_grid_search_by_score(motif_dna):
    search = GridSearchCV(SimMIMTokenTransformer(**TINY_TOKENS),
                          {"hidden_width": [4, 8]}, cv=2).fit(motif_dna[0][:40])
    assert search.best_params_["hidden_width"] in (4, 8)
    assert np.isfinite(search.best_score_)


def test_score_is_repeatable_and_improves_with_training(motif_dna):
    X = motif_dna[0]
    short = SimMIMTokenTransformer(**dict(TINY_TOKENS, max_iter=1)).fit(X)
    longer = SimMIMTokenTransformer(**dict(TINY_TOKENS, max_iter=30, hidden_width=16)).fit(X)
    assert short.score(X) == short.score(X)
    assert longer.score(X) > short.score(X)
    # Four equally likely bases: a fitted model does no worse than chance, log 4 nats.
    assert -longer.score(X) < np.log(4) + 0.05


def test_word_analyzer_lowercases_and_keeps_words_seen_twice():
    documents = ["Hello world!", "hello there", "World peace"]
    model = SimMIMTokenTransformer("word", lowercase=True, **TINY_TOKENS).fit(documents)
    # "there" and "peace" are seen once: unknown.
    assert set(model.vocabulary_) == {"hello", "world"}
    assert model.transform(documents).shape == (3, model.n_components_)


def test_kmers_do_not_overlap_and_decode_to_strings():
    model = SimMIMTokenTransformer("kmer", kmer_size=3, **TINY_TOKENS).fit(["ACGTTGA"] * 4)
    # ACG, TTG and the shorter last one, A.
    assert set(model.vocabulary_) == {"ACG", "TTG", "A"}
    assert isinstance(model.inverse_transform(model.transform(["ACG"]))[0], str)


@pytest.mark.parametrize("analyzer", ["bpe", "wordpiece", "unigram"])
def test_subword_analyzers(analyzer):
    pytest.importorskip("tokenizers")
    documents = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5
    model = SimMIMTokenTransformer(analyzer, max_vocabulary=60, **TINY_TOKENS).fit(documents)
    assert model.tokenizer_ is not None and 0 < len(model.vocabulary_) <= 60
    assert model.transform(documents[:2]).shape == (2, model.n_components_)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(documents[:2]),
                                  model.transform(documents[:2]))
    assert all(isinstance(d, str) for d in model.inverse_transform(model.transform(["cat"])))


def test_token_id_input_round_trips_as_ids():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 6, size=(30, 10))
    ids[:, 7:] = 0  # padding
    model = SimMIMTokenTransformer(**TINY_TOKENS).fit(ids)
    assert set(model.vocabulary_) == {1, 2, 3, 4, 5}
    assert model.max_length_ == 7
    decoded = model.inverse_transform(model.transform(ids[:4]))
    assert decoded.shape == (4, 7) and decoded.dtype.kind == "i"
    assert set(np.unique(decoded)) <= {0, 1, 2, 3, 4, 5}
    with pytest.raises(ValueError, match="fitted on a 2-D integer array"):
        model.transform(["ACGT"])


@pytest.mark.parametrize("X, message", [
    ("ACGT", "Iterable over raw text documents expected, string object received."),
    (["ACGT", None], "Document 1 is None"),
    (["ACGT", "AC", np.nan], "Document 2 is NaN"),
    ([b"ACGT"], "Document 0 is bytes"),
    (["ACGT", 3], "Document 1 is a int"),
    ([], "Found 0 documents"),
    (pd.DataFrame({"text": ["ACGT"]}), "got a DataFrame"),
])
def test_bad_documents_raise_and_leave_no_model(X, message):
    model = SimMIMTokenTransformer(**TINY_TOKENS)
    with pytest.raises(ValueError, match=message):
        model.fit(X)
    assert not hasattr(model, "module_") and not hasattr(model, "vocabulary_")


def test_failed_partial_fit_keeps_the_last_model(fitted):
    model = pickle.loads(pickle.dumps(fitted))
    before = model.transform(["ACGT"])
    with pytest.raises(ValueError, match="Document 1 is None"):
        model.partial_fit(["ACGT", None])
    np.testing.assert_array_equal(model.transform(["ACGT"]), before)
    assert model.n_iter_ == fitted.n_iter_


def test_missing_tokenizers_raises_a_clear_import_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_tokenizers(name, *args, **kwargs):
        if name == "tokenizers":
            raise ImportError("No module named 'tokenizers'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_tokenizers)
    with pytest.raises(ImportError, match=r"simmim-sklearn\[tokens\]"):
        SimMIMTokenTransformer("bpe", **TINY_TOKENS).fit(["a b c"] * 4)


def test_tags_say_strings_as_the_text_vectorizers():
    tags = SimMIMTokenTransformer().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


def test_max_length_auto_is_a_high_quantile_of_the_lengths_capped():
    documents = ["ACGTACGTAC"] * 100 + ["A" * 1000]
    assert SimMIMTokenTransformer(**TINY_TOKENS).fit(documents).max_length_ == 10
    assert SimMIMTokenTransformer(**TINY_TOKENS).fit(["ACGT" * 100] * 4).max_length_ == 256


def test_conv_encoder_blocks_span_the_sequence():
    model = SimMIMTokenTransformer(encoder="conv", hidden_width=8, max_iter=1,
                                   random_state=0).fit(["ACGTACGTACGTACGT"] * 4)
    # Dilations 1, 2, 4, 8 span 16 tokens: 4 blocks, each pooled to a mean and a max.
    assert model.depth_ == 4 and model.transform(["ACGT"]).shape == (1, 64)


@pytest.mark.parametrize("encoder", ["transformer", "conv"])
def test_transform_in_length_blocks_matches_the_padded_pass(encoder):
    import torch

    # Lengths 0 to 40 over more than one block: transform sorts them and cuts each block's
    # padding, which must change nothing but rounding.
    rng = np.random.default_rng(0)
    documents = ["".join(rng.choice(list("ACGT"), n)) for n in rng.integers(0, 41, 600)]
    model = SimMIMTokenTransformer(encoder=encoder, max_length=40, **TINY_TOKENS).fit(documents)
    with torch.inference_mode():
        padded = model.module_(torch.from_numpy(model._symbol_ids(documents))).numpy()
    np.testing.assert_allclose(model.transform(documents), padded, atol=1e-5)
