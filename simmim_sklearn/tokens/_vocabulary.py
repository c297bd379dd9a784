"""The vocabulary: token strings (or integer ids) to the network's symbol ids and back."""

from collections import Counter

import numpy as np

from ..nn._token_model import MASK_ID, N_SPECIAL_IDS, PADDING_ID, UNKNOWN_ID
from ._analyzers import SUBWORD_UNKNOWN


class Vocabulary:
    """The ordinary tokens of a corpus, numbered from ``N_SPECIAL_IDS`` on: the ids below
    are padding, the unknown token and the mask (``nn._token_model``).

    Parameters
    ----------
    tokens : list
        The ordinary tokens (strings, or the integer ids of id input), most frequent first.
    """

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.ids = {token: N_SPECIAL_IDS + i for i, token in enumerate(self.tokens)}
        # The sub-word models' own unknown token is this vocabulary's unknown id.
        self.ids[SUBWORD_UNKNOWN] = UNKNOWN_ID

    @classmethod
    def from_sequences(cls, sequences, max_size, min_count):
        """The at most ``max_size`` most frequent tokens of ``sequences`` (lists of tokens)
        seen at least ``min_count`` times; ties keep their first appearance's order."""
        counts = Counter(token for sequence in sequences for token in sequence)
        counts.pop(SUBWORD_UNKNOWN, None)
        kept = [token for token, count in counts.most_common(max_size) if count >= min_count]
        return cls(kept)

    def __len__(self):
        """Number of symbol ids, the special ones included."""
        return N_SPECIAL_IDS + len(self.tokens)

    def encode(self, sequences, max_length):
        """Symbol ids of shape (n_sequences, max_length): each sequence's first
        ``max_length`` tokens, unknown ones as ``UNKNOWN_ID``, then padding."""
        ids = np.full((len(sequences), max_length), PADDING_ID, dtype=np.int64)
        lookup = self.ids.get
        for row, sequence in enumerate(sequences):
            kept = sequence[:max_length]
            ids[row, :len(kept)] = [lookup(token, UNKNOWN_ID) for token in kept]
        return ids

    def decode(self, ids):
        """The tokens of each row of symbol ids, up to its first padding; the unknown id and
        the mask, which no token spells, are left out."""
        sequences = []
        for row in ids:
            ends = np.flatnonzero(row == PADDING_ID)
            row = row[:ends[0]] if len(ends) else row
            sequences.append([self.tokens[i - N_SPECIAL_IDS] for i in row
                              if i not in (UNKNOWN_ID, MASK_ID)])
        return sequences
