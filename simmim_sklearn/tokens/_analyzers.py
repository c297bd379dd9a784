"""Cutting documents into tokens, and joining tokens back into documents.

``"char"`` reads each character as a token (DNA and protein alphabets, ambiguity codes
included); ``"kmer"`` reads non-overlapping runs of ``kmer_size`` characters, the last one
shorter where the length is not a multiple (overlapping k-mers would give away a hidden
token through its neighbours); ``"word"`` uses scikit-learn's ``CountVectorizer`` analyzer;
``"bpe"``, ``"wordpiece"`` and ``"unigram"`` are sub-word vocabularies trained on the fit
corpus by the optional ``tokenizers`` library.
"""

from sklearn.feature_extraction.text import CountVectorizer

ANALYZERS = ("char", "kmer", "word", "bpe", "wordpiece", "unigram")
SUBWORD_ANALYZERS = ("bpe", "wordpiece", "unigram")
# The trained sub-word models' own unknown token; the vocabulary maps it to its unknown id.
SUBWORD_UNKNOWN = "[UNK]"


def fit_subword_tokenizer(analyzer, documents, vocabulary_size, lowercase):
    """A ``tokenizers.Tokenizer`` of ``analyzer`` trained on ``documents`` with at most
    ``vocabulary_size`` tokens, or None for the analyzers that need no training."""
    if analyzer not in SUBWORD_ANALYZERS:
        return None
    try:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    except ImportError as error:
        raise ImportError(
            f"analyzer={analyzer!r} trains a sub-word vocabulary with the optional "
            "'tokenizers' package: pip install \"simmim-sklearn[tokens]\"."
        ) from error
    settings = dict(vocab_size=vocabulary_size, special_tokens=[SUBWORD_UNKNOWN],
                    show_progress=False)
    if analyzer == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=SUBWORD_UNKNOWN))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(**settings)
    else:
        # SentencePiece's convention: spaces become part of the tokens, so that decoding
        # gives the document back as it was.
        if analyzer == "bpe":
            tokenizer = Tokenizer(models.BPE(unk_token=SUBWORD_UNKNOWN))
            trainer = trainers.BpeTrainer(**settings)
        else:
            tokenizer = Tokenizer(models.Unigram())
            trainer = trainers.UnigramTrainer(**settings, unk_token=SUBWORD_UNKNOWN)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
    if lowercase:
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.train_from_iterator(documents, trainer=trainer, length=len(documents))
    return tokenizer


def split_documents(documents, analyzer, kmer_size, lowercase, tokenizer=None):
    """Each document of ``documents`` as its list of token strings."""
    if analyzer in SUBWORD_ANALYZERS:
        return [encoding.tokens for encoding in tokenizer.encode_batch(documents)]
    if analyzer == "word":
        split = CountVectorizer(lowercase=lowercase).build_analyzer()
        return [split(document) for document in documents]
    if lowercase:
        documents = [document.lower() for document in documents]
    if analyzer == "char":
        return [list(document) for document in documents]
    return [[document[start:start + kmer_size] for start in range(0, len(document), kmer_size)]
            for document in documents]


def join_tokens(tokens, analyzer, tokenizer=None):
    """The document that the token strings ``tokens`` spell."""
    if analyzer in SUBWORD_ANALYZERS:
        return tokenizer.decoder.decode(tokens)
    return (" " if analyzer == "word" else "").join(tokens)
