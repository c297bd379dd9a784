"""Documents to the network's symbol ids: what ``SimMIMTokenTransformer`` and the token path
of ``SimMIMClassifier`` and ``SimMIMRegressor`` fit on their corpus and read every later
input with."""

import numpy as np

from .._distributed import from_rank_zero
from .._plan import vocabulary_limits
from ..nn._parallel import SINGLE
from ._analyzers import fit_subword_tokenizer, join_tokens, split_documents
from ._vocabulary import Vocabulary


class TokenCoder:
    """The tokenising settings of a fit, its sub-word model (if any) and its vocabulary.

    Built by ``fit``; it keeps the settings it was fitted with, so that a later
    ``set_params`` cannot change how fitted models read their input.

    Parameters
    ----------
    params : dict
        The estimator's parameters: ``analyzer``, ``kmer_size``, ``lowercase`` and
        ``padding_id`` are read.
    id_input : bool
        Whether the fit corpus was a 2-D integer array of token ids.
    owner : str
        The estimator's class name, for error messages.
    """

    def __init__(self, params, id_input, owner):
        self.analyzer = params["analyzer"]
        self.kmer_size = params["kmer_size"]
        self.lowercase = params["lowercase"]
        self.padding_id = params["padding_id"]
        self.id_input = id_input
        self.owner = owner
        self.tokenizer = None
        self.vocabulary = None

    @classmethod
    def fit(cls, documents, params, owner, world=SINGLE):
        """The coder of ``documents`` (checked by ``checked_documents``), with the
        vocabulary limits of ``params`` (``max_vocabulary``); returns it and the documents'
        token sequences. With several processes (``world``), every one reads its corpus
        with rank 0's sub-word model and vocabulary."""
        coder = cls(params, isinstance(documents, np.ndarray), owner)
        vocabulary_size, min_count = vocabulary_limits(params)
        if not coder.id_input:
            coder.tokenizer = from_rank_zero(fit_subword_tokenizer(
                coder.analyzer, documents, vocabulary_size, coder.lowercase), world)
        sequences = coder.sequences(documents)
        min_count = 1 if coder.id_input else min_count
        coder.vocabulary = from_rank_zero(
            Vocabulary.from_sequences(sequences, vocabulary_size, min_count), world)
        if not coder.vocabulary.tokens:
            # A network of the special symbols alone would learn nothing, silently.
            if any(sequences):
                reason = f"no token is seen at least {min_count} times"
            elif coder.id_input:
                reason = f"every id is the padding_id, {coder.padding_id}"
            else:
                reason = ("every document is empty, or has no token for "
                          f"analyzer={coder.analyzer!r}")
            raise ValueError(f"X has no token to learn from: {reason}.")
        return coder, sequences

    @property
    def tokens(self):
        """Ordinary token (string, or id of id input) to symbol id."""
        return {token: self.vocabulary.ids[token] for token in self.vocabulary.tokens}

    def sequences(self, documents):
        """Each document as its list of tokens (its ids without padding, for id input)."""
        if isinstance(documents, np.ndarray) != self.id_input:
            fitted = "a 2-D integer array of token ids" if self.id_input else "strings"
            raise ValueError(f"This {self.owner} was fitted on {fitted}; X must be of the "
                             "same kind.")
        if self.id_input:
            return [row[row != self.padding_id].tolist() for row in documents]
        return split_documents(documents, self.analyzer, self.kmer_size, self.lowercase,
                               self.tokenizer)

    def symbol_ids(self, documents, max_length):
        """Symbol ids of shape (n_documents, max_length) of checked ``documents``."""
        return self.vocabulary.encode(self.sequences(documents), max_length)

    def documents(self, symbols, max_length):
        """The documents that rows of symbol ids spell: strings, or for id input a 2-D
        array of ``max_length`` ids per row padded with ``padding_id``."""
        sequences = self.vocabulary.decode(symbols)
        if self.id_input:
            ids = np.full((len(sequences), max_length), self.padding_id, dtype=np.int64)
            for row, sequence in enumerate(sequences):
                ids[row, :len(sequence)] = sequence
            return ids
        return np.array([join_tokens(tokens, self.analyzer, self.tokenizer)
                         for tokens in sequences], dtype=object)
