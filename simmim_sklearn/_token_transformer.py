"""SimMIMTokenTransformer: masked token modeling, from strings to features."""

import copy
from numbers import Integral

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import (
    INFERENCE_BATCH_SIZE,
    BaseSimMIM,
    TorchModelMixin,
    map_row_blocks,
    record_history,
    restored_on_error,
    store_parameters,
    validation_split,
)
from ._distributed import failures_reported, resolve_world, shards, shared_random_state
from ._plan import Corpus, make_plan, publish, published, threads
from ._threads import torch_threads
from .nn._parallel import SINGLE
from .nn._token_model import (
    MASK_ID,
    PADDING_ID,
    UNKNOWN_ID,
    MaskedTokenNetwork,
    evaluation_cross_entropy,
    train_tokens,
)
from .tokens._analyzers import ANALYZERS
from .tokens._coder import TokenCoder
from .tokens._documents import checked_documents

# Sequences per block of ``transform``, read in order of length: small enough that a block's
# lengths are close (each block is cut to its longest), large enough to keep the matrix
# products efficient.
LENGTH_BLOCK_ROWS = 256


class SimMIMTokenTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TorchModelMixin,
                             BaseEstimator):
    """Features of sequences of symbols (DNA, proteins, text) learned by masked token modeling.

    Takes an iterable of strings, as scikit-learn's text vectorizers do, cuts each into
    tokens (``analyzer``), numbers them by a vocabulary built on the fit corpus and trains a
    network to predict hidden tokens from the others, as BERT does: each step picks
    ``mask_ratio`` of each sequence's tokens, replaces 80% of them by a mask symbol and 10%
    by a random symbol, keeps the rest, and scores the prediction of all of them by
    cross-entropy. ``transform`` returns a fixed-width representation of each sequence: the
    mean and the max, over its tokens, of every encoder block's output.

    Sequences longer than ``max_length_`` tokens are truncated to their first
    ``max_length_`` tokens. Tokens not in the vocabulary (unseen at fit, or too rare) are
    read as one unknown symbol. An empty string (or one with no token) has no token to pool:
    its representation is all zeros.

    A 2-D integer array of token ids (one row per sequence, ``padding_id`` where a sequence
    has no token) is accepted in place of strings; ``analyzer`` is then ignored and the
    vocabulary is the ids seen at fit.

    Parameters
    ----------
    analyzer : {"char", "kmer", "word", "bpe", "wordpiece", "unigram"}, default="char"
        How documents are cut into tokens. ``"char"``: one token per character (DNA and
        protein alphabets; ambiguity codes such as N or R are ordinary tokens).
        ``"kmer"``: non-overlapping runs of ``kmer_size`` characters, the last one shorter
        where the length is not a multiple of ``kmer_size``. ``"word"``: the words of
        :class:`~sklearn.feature_extraction.text.CountVectorizer`'s analyzer (punctuation
        dropped). ``"bpe"``, ``"wordpiece"``, ``"unigram"``: a sub-word vocabulary trained on
        the fit corpus, which needs the optional ``tokenizers`` package
        (``pip install "simmim-sklearn[tokens]"``).
    kmer_size : int, default=3
        Characters per token with ``analyzer="kmer"``.
    lowercase : bool, default=False
        Lower-case documents before cutting them into tokens.
    max_vocabulary : int or "auto", default="auto"
        Most ordinary tokens kept, the most frequent first; the others are unknown.
        ``"auto"``: 8,192, of which words must be seen at least twice in the fit corpus
        (characters and k-mers once); the size the sub-word models are trained to, 2,000.
    max_length : int or "auto", default="auto"
        Tokens read of each sequence; longer ones are truncated. ``"auto"``: the 99th
        percentile of the fit corpus's lengths in tokens, at most 256.
    padding_id : int, default=0
        The id that marks absent positions in a 2-D integer array of token ids.
    hidden_width : int, default=64
        Width of the symbol embedding and of every encoder block.
    depth : int or "auto", default="auto"
        Encoder blocks. ``"auto"``: for ``"conv"``, one block per doubling of the dilation
        until the dilations span ``max_length_`` tokens, at least 2 and at most 6; 2 for
        ``"transformer"``.
    encoder : {"auto", "conv", "transformer"}, default="auto"
        ``"conv"``: dilated residual convolutions over the tokens; ``"transformer"``: a
        pre-norm transformer (the blocks of :class:`SimMIMTransformer`'s encoders).
        ``"auto"`` is ``"transformer"``.
    mask_ratio : float, default=0.15
        Share of each sequence's tokens predicted at every training step and by the fixed
        evaluation mask of ``score`` (at least one token left as it is); in (0, 1).
    max_iter : int or "auto", default="auto"
        Maximum number of epochs. ``"auto"``: about 1,500 optimisation steps, fewer where
        steps x sequences per batch x ``max_length_`` x blocks would pass 50 million, in
        whole epochs, at least 3 and at most 300.
    batch_size : int or "auto", default="auto"
        Sequences per optimisation step; ``"auto"`` is 64 (all when fewer).
    learning_rate_init : float, default=1e-3
        Peak learning rate of AdamW, after a warm-up and before cosine decay
        (``partial_fit`` keeps it constant).
    weight_decay : float, default=0.01
        AdamW's decoupled weight decay.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences, stop when their ``score`` stops
        improving and keep the best weights.
    validation_fraction : float, default=0.1
        Share of the sequences held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before training stops.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that resets the count.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the training steps (see :class:`SimMIMTransformer`).
    n_threads : int or "auto", default="auto"
        Torch's CPU threads for this estimator's ``fit``, ``transform`` and ``score``
        (see :class:`SimMIMTransformer`); torch's global setting is restored after each call.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, masking, shuffling and the validation split.
    verbose : int, default=0
        Show a progress bar with the training loss when positive.
    distributed : "auto" or bool, default="auto"
        Train one model together with the other processes of a ``torchrun`` job (see
        :class:`SimMIMTransformer`): every process is given the whole corpus, builds the
        vocabulary of rank 0 and trains on its share of each batch. ``False`` trains an
        independent model in each process.

    Attributes
    ----------
    vocabulary_ : dict
        Ordinary token (string, or id of id input) to symbol id; ids 0, 1 and 2 are
        padding, the unknown token and the mask.
    tokenizer_ : tokenizers.Tokenizer or None
        The sub-word model trained on the fit corpus (sub-word analyzers only).
    module_ : torch.nn.Module
        The trained network.
    max_length_ : int
        Tokens read of each sequence (``max_length`` with ``"auto"`` resolved).
    encoder_ : str
        Encoder used.
    depth_ : int
        Encoder blocks (``depth`` with ``"auto"`` resolved).
    n_components_ : int
        Width of the representation, ``2 * hidden_width * depth_``.
    batch_size_ : int
        Sequences per optimisation step (``batch_size`` with ``"auto"`` resolved).
    max_iter_ : int
        Epochs planned by the last ``fit`` (1 for ``partial_fit``).
    device_ : str
        Device the model was trained on; ``transform`` computes where the model is (on the
        CPU after unpickling).
    n_iter_ : int
        Epochs run.
    world_size_ : int
        Number of processes that trained the model together in the last ``fit`` or
        ``partial_fit`` (1 without ``distributed`` training).
    loss_curve_ : list of float
        Training loss of each epoch: the masked tokens' mean cross-entropy plus that of the
        decoder that ``inverse_transform`` uses.
    best_loss_ : float
        Lowest training loss reached.
    validation_scores_ : list of float
        Validation score of each epoch; only with ``early_stopping``.
    best_validation_score_ : float
        Best validation score; only with ``early_stopping``.

    See Also
    --------
    sklearn.feature_extraction.text.TfidfVectorizer : Sparse counts of words or n-grams.
    SimMIMTransformer : Masked-modeling features of numeric rows.

    Examples
    --------
    >>> from simmim_sklearn import SimMIMTokenTransformer
    >>> dna = ["ACGTTGCA", "TTGACCAN", "GGGCCCAT", "ACGTACGT"] * 8
    >>> model = SimMIMTokenTransformer(hidden_width=8, max_iter=2, random_state=0).fit(dna)
    >>> model.transform(dna).shape
    (32, 32)
    >>> sorted(model.vocabulary_)
    ['A', 'C', 'G', 'N', 'T']
    >>> len(model.inverse_transform(model.transform(dna[:2])))
    2
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions(set(ANALYZERS))],
        "kmer_size": [Interval(Integral, 1, None, closed="left")],
        "lowercase": ["boolean"],
        "max_vocabulary": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_length": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "padding_id": [Integral],
        "encoder": [StrOptions({"auto", "conv", "transformer"})],
        **{name: BaseSimMIM._parameter_constraints[name] for name in (
            "hidden_width", "depth", "mask_ratio", "max_iter", "batch_size",
            "learning_rate_init", "weight_decay", "early_stopping", "validation_fraction",
            "n_iter_no_change", "tol", "device", "precision", "n_threads", "random_state",
            "verbose", "distributed",
        )},
    }

    def __init__(
        self,
        analyzer="char",
        *,
        kmer_size=3,
        lowercase=False,
        max_vocabulary="auto",
        max_length="auto",
        padding_id=0,
        hidden_width=64,
        depth="auto",
        encoder="auto",
        mask_ratio=0.15,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        weight_decay=0.01,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        precision="float32",
        n_threads="auto",
        random_state=None,
        verbose=0,
        distributed="auto",
    ):
        store_parameters(self, locals())

    # -- fitting ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the vocabulary of ``X`` and train the masked token model on it.

        Parameters
        ----------
        X : iterable of str, or ndarray of int of shape (n_samples, n_tokens)
            Documents, or token ids padded with ``padding_id``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with restored_on_error(self), failures_reported(resolve_world(self.distributed)):
            self._train(X, continuing=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current model.

        The first call builds the vocabulary and sets ``max_length_`` from its documents;
        later calls read tokens outside that vocabulary as unknown. A call that fails leaves
        the model of the last successful call in place.

        Parameters
        ----------
        X : iterable of str, or ndarray of int of shape (n_samples, n_tokens)
            A chunk of documents, or of token ids.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        with restored_on_error(self), failures_reported(resolve_world(self.distributed)):
            self._train(X, continuing=hasattr(self, "module_"), incremental=True)
        return self

    def _train(self, X, continuing, incremental=False):
        documents = checked_documents(X)
        params = self.get_params()
        world = resolve_world(self.distributed)
        if continuing:
            sequences = self._coder.sequences(documents)
        else:
            self._coder, sequences = TokenCoder.fit(documents, params, type(self).__name__,
                                                    world)
            self.tokenizer_ = self._coder.tokenizer
            self.vocabulary_ = self._coder.tokens
        rng = self._rng_ if continuing else shared_random_state(self.random_state, world)
        train_rows, val_rows = validation_split(self, len(sequences), rng, incremental)
        n_rows = len(sequences) if train_rows is None else len(train_rows)
        plan = token_plan(params, sequences, len(self._coder.vocabulary), n_rows, incremental,
                          self._plan.network if continuing else None)
        ids = self._coder.vocabulary.encode(sequences, plan.network.max_length)
        with torch_threads(plan.n_threads):
            network = (copy.deepcopy(self.module_) if continuing
                       else new_token_network(plan.network, rng))
            history = train_token_network(network, ids, plan, rng, train_rows, val_rows,
                                          self._optimizer_state if continuing else None,
                                          world)
        self.module_ = network
        self._plan = plan
        self._rng_ = rng
        self._optimizer_state = history.optimizer_state
        network_values, loop_values = published(plan)
        publish(self, {**network_values, **loop_values})
        record_history(self, history, incremental and continuing)

    def _symbol_ids(self, X):
        """Symbol ids of shape (n_samples, max_length_) of the documents ``X``."""
        check_is_fitted(self)
        return self._coder.symbol_ids(checked_documents(X), self.max_length_)

    # -- transforming and scoring ----------------------------------------------------------

    def transform(self, X):
        """Return the representation of each document.

        Parameters
        ----------
        X : iterable of str, or ndarray of int of shape (n_samples, n_tokens)
            Documents, or token ids, of the kind ``fit`` was given.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out), float32
            The mean and max over each document's tokens of every encoder block's output
            (``n_components_`` columns); zeros for documents without a token.
        """
        ids = self._symbol_ids(X)
        network = self.module_
        with self._inference_threads(len(ids)):
            return map_sequence_blocks(network, ids, self.n_components_,
                                         network.head[-1].weight.device)

    def _inference_threads(self, n_rows):
        """Torch threads for passes of ``n_rows`` documents, in blocks, through the
        network (``n_threads``)."""
        return torch_threads(threads(self.n_threads, self._plan.network,
                                     min(n_rows, INFERENCE_BATCH_SIZE)))

    def inverse_transform(self, X):
        """Decode representations into documents, most likely token by token.

        Each position gets its most likely token, up to the first position most likely to
        be padding; the unknown token and the mask are never chosen.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Representations, as returned by ``transform`` (``n_components_`` columns).

        Returns
        -------
        documents : ndarray of str of shape (n_samples,), or of int of shape \
                (n_samples, max_length) for id input
            The decoded documents: tokens joined without separator (``"char"``,
            ``"kmer"``), with spaces (``"word"``), or by the sub-word model's decoder; for
            id input, ``max_length_`` ids per row, padded with ``padding_id``.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"{self.n_components_} features as input (n_components_)."
            )
        network = self.module_
        with self._inference_threads(len(Z)):
            symbols = map_row_blocks(self._most_likely_symbols, Z, self.max_length_,
                                     network.head[-1].weight.device, dtype=np.int64)
        return self._coder.documents(symbols, self.max_length_)

    def _most_likely_symbols(self, z):
        logits = self.module_.decode(z)
        logits[..., [UNKNOWN_ID, MASK_ID]] = -torch.inf
        return logits.argmax(dim=-1)

    def score(self, X, y=None):
        """Negative mean cross-entropy of the masked tokens of ``X`` (higher is better).

        The tokens predicted, and their corruption, are fixed by an evaluation seed, so the
        score is repeatable and unsupervised model selection (``GridSearchCV``) compares
        models on the same tokens.

        Parameters
        ----------
        X : iterable of str, or ndarray of int of shape (n_samples, n_tokens)
            Documents to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Negative masked-token cross-entropy, in nats.
        """
        ids = self._symbol_ids(X)
        network = self.module_
        ids = torch.from_numpy(ids).to(network.head[-1].weight.device)
        with self._inference_threads(len(ids)):
            return -evaluation_cross_entropy(network, ids, self._plan.training.mask_ratio,
                                             INFERENCE_BATCH_SIZE)

    @property
    def _n_features_out(self):
        # Read by ClassNamePrefixFeaturesOutMixin to name the output columns.
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As scikit-learn's text vectorizers: a 1-D iterable of strings.
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = []
        return tags


@torch.inference_mode()
def map_sequence_blocks(apply, ids, width, device):
    """``apply`` (a ``MaskedTokenNetwork``, or a network that reads its symbol ids) on rows
    of symbol ids, to float32 outputs of ``width``: the rows sorted by length and read in
    blocks of ``LENGTH_BLOCK_ROWS``, each cut to its longest row. Padding is trailing and takes no
    part in the encoders (masked from attention, zeroed as a convolution's border), so the
    cut changes no output; it saves the work of every padded position."""
    lengths = (ids != PADDING_ID).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    out = np.empty((len(ids), width), dtype=np.float32)
    for start in range(0, len(ids), LENGTH_BLOCK_ROWS):
        rows = order[start:start + LENGTH_BLOCK_ROWS]
        longest = max(1, int(lengths[rows[-1]]))
        block = torch.from_numpy(np.ascontiguousarray(ids[rows, :longest])).to(device)
        out[rows] = apply(block).cpu().numpy()
    return out


def token_plan(params, sequences, vocabulary_size, n_rows, incremental=False, fitted=None):
    """The plan (purpose "tokens") of a fit on ``sequences`` (lists of tokens) that trains on
    ``n_rows`` of them, for ``params`` with every "auto" unresolved; ``fitted`` is the
    network plan of a model being continued."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    return make_plan(params, Corpus(n_rows, lengths, vocabulary_size, incremental, fitted),
                     "tokens")


def new_token_network(plan, rng):
    """A ``MaskedTokenNetwork`` built by the network ``plan``, seeded from ``rng``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.randint(2**31 - 1)))
        return MaskedTokenNetwork(plan.vocabulary_size, plan.max_length, plan.encoder,
                                  plan.hidden_width, plan.depth)


def train_token_network(network, ids, plan, rng, train_rows=None, val_rows=None,
                        optimizer_state=None, world=SINGLE):
    """Train ``network`` in place by masked token modeling on the symbol ids ``ids`` (an
    ndarray) at ``train_rows`` (all if None), as ``plan`` says, on its device; the rows at
    ``val_rows`` score early stopping. A seed drawn from ``rng`` seeds the masks and the
    shuffling; with several processes (``world``), each trains on its share of every batch.
    Returns the ``TrainingHistory``."""
    network.to(plan.device)
    ids = torch.from_numpy(ids).to(plan.device)
    shard, generator = shards(int(rng.randint(2**31 - 1)), world, plan.device)
    return train_tokens(network, ids if train_rows is None else ids[train_rows],
                        plan.training, generator, None if val_rows is None else ids[val_rows],
                        optimizer_state, shard)
