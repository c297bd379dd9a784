"""Pretraining by masked modeling, then fine-tuning: what SimMIMClassifier and SimMIMRegressor
share."""

import copy
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import (
    INFERENCE_BATCH_SIZE,
    BaseSimMIM,
    TorchModelMixin,
    in_dtype_of,
    map_row_blocks,
    min_training_rows,
    new_network,
    record_history,
    restored_on_error,
    train_network,
    validation_split,
)
from ._data import TaskRows, validate_rows
from ._distributed import (
    check_same_data,
    failures_reported,
    from_rank_zero,
    resolve_world,
    shards,
    shared_random_state,
    training_device,
)
from ._linear_probe import solve_head
from ._plan import (
    Data,
    make_plan,
    probe_only,
    probe_start,
    publish,
    published,
    resolve_device,
    threads,
)
from ._tensorboard import tensorboard_log
from ._threads import torch_threads
from ._token_transformer import (
    SimMIMTokenTransformer,
    map_sequence_blocks,
    new_token_network,
    token_plan,
    train_token_network,
)
from ._transformer import SimMIMTransformer
from .nn._finetuning import TaskNetwork, TokenTaskNetwork, finetune
from .nn._parallel import SINGLE
from .tokens._analyzers import ANALYZERS
from .tokens._coder import TokenCoder
from .tokens._documents import checked_documents

# What the pretraining shares with SimMIMTransformer, passed on to it as is; the other
# pretraining parameters are SimMIMTransformer's defaults.
PRETRAINING_PARAMETERS = ("hidden_width", "depth", "encoder", "input_shape", "patch_size",
                          "mask_ratio", "device", "precision", "verbose", "log_dir",
                          "distributed")
# What the pretraining of token sequences (``analyzer`` set) shares with
# SimMIMTokenTransformer; its other parameters are SimMIMTokenTransformer's defaults.
TOKEN_PARAMETERS = ("analyzer", "kmer_size", "lowercase", "max_vocabulary", "max_length",
                    "padding_id")
TOKEN_PRETRAINING_PARAMETERS = ("hidden_width", "depth", "encoder", "mask_ratio", "device",
                                "precision", "n_threads", "verbose", "distributed",
                                *TOKEN_PARAMETERS)
# Parameters whose "auto" is the default of the pretraining transformer (SimMIMTransformer's
# for numeric rows, SimMIMTokenTransformer's for token sequences), which differ.
PRETRAINING_DEFAULTS = ("hidden_width", "mask_ratio")


# The fitted attributes that publish the plan of SimMIMClassifier and SimMIMRegressor: their
# docstrings hold "%(plan_attributes)s" where ``with_plan_attributes`` puts this text.
PLAN_ATTRIBUTES = """\
n_components_ : int
        Width of the pretrained representation that the head reads: for numeric rows
        before the encoder's block maxima (see :class:`SimMIMTransformer`); for token
        sequences the mean and max of every block's output, ``2 * hidden_width * depth_``.
    mask_span_ : int
        Length, in tokens, of the runs that pretraining hides (numeric rows only).
    average_shifts_ : bool
        Whether the pretrained representation is averaged over one-position shifts
        (images; see :class:`SimMIMTransformer`); ``SimMIMClassifier`` spreads its labels
        over it, while the head reads the unshifted representation (numeric rows only).
    kernel_features_ : int
        Number of kernel bank features that follow the pretrained representation on
        windows (see :class:`SimMIMTransformer`'s ``kernel_features``); the head reads them,
        computed once per row for fine-tuning. 0 without a bank (numeric rows only).
    pretrain_batch_size_ : int
        Rows per pretraining step.
    pretrain_max_iter_ : int
        Pretraining epochs planned (``pretrain_iter`` with ``"auto"`` resolved; 0 without
        pretraining).
    pretrain_consistency_weight_ : float
        Weight of pretraining's consistency term (SimMIMTransformer's ``"auto"`` resolved;
        numeric rows only).
    pretrain_latent_weight_ : float
        Weight of pretraining's latent term (SimMIMTransformer's ``"auto"`` resolved;
        numeric rows only).
    pretrain_view_weight_ : float
        Weight of pretraining's view term (numeric rows only).
    vocabulary_ : dict
        Token sequences only: ordinary token (string, or id of id input) to symbol id, as
        in :class:`SimMIMTokenTransformer`; ids 0, 1 and 2 are padding, the unknown token
        and the mask.
    tokenizer_ : tokenizers.Tokenizer or None
        Token sequences only: the sub-word model trained on the fit corpus (sub-word
        analyzers only).
    max_length_ : int
        Token sequences only: tokens read of each sequence (``max_length`` with ``"auto"``
        resolved); longer ones are truncated.
    batch_size_ : int
        Rows per fine-tuning step (``batch_size`` with ``"auto"`` resolved).
    max_iter_ : int
        Fine-tuning epochs planned by the last ``fit`` (``max_iter`` with ``"auto"``
        resolved; 1 for ``partial_fit``).
    device_ : str
        Device the model was trained on (``device`` with ``"auto"`` resolved); ``predict``
        computes where the model is (on the CPU after unpickling).
"""


# The parameters of the token path, shared by the docstrings of SimMIMClassifier and
# SimMIMRegressor, where "%(token_parameters)s" stands.
TOKEN_PARAMETER_DOCS = """\
analyzer : str or None, default=None
        ``None`` reads ``X`` as rows of numbers. ``"char"``, ``"kmer"``, ``"word"``,
        ``"bpe"``, ``"wordpiece"`` or ``"unigram"`` read ``X`` as token sequences, as
        :class:`SimMIMTokenTransformer` does: an iterable of strings, cut into tokens by
        this analyzer (``"char"`` for DNA and proteins; ``"kmer"``; ``"word"``; or a
        sub-word vocabulary trained on the fit corpus, which needs the optional
        ``tokenizers`` package), or a 2-D integer array of token ids padded with
        ``padding_id`` (the analyzer is then not used). Pretraining is then masked token
        modeling with :class:`SimMIMTokenTransformer`'s network, and the head reads its
        representation; ``input_shape`` and ``patch_size`` must be left at their defaults
        and ``encoder`` cannot be ``"mlp"``.
    kmer_size : int, default=3
        Characters per token with ``analyzer="kmer"``.
    lowercase : bool, default=False
        Lower-case documents before cutting them into tokens (token sequences only).
    max_vocabulary : int or "auto", default="auto"
        Most ordinary tokens kept, the most frequent first, the others read as unknown
        (token sequences only; ``"auto"`` as in :class:`SimMIMTokenTransformer`).
    max_length : int or "auto", default="auto"
        Tokens read of each sequence, longer ones truncated (token sequences only).
        ``"auto"``: the 99th percentile of the fit corpus's lengths in tokens, at most 256.
        Lower it to fit faster when a sequence's start is what tells its class.
    padding_id : int, default=0
        The id that marks absent positions in a 2-D integer array of token ids.
"""


def with_plan_attributes(cls):
    """Put ``PLAN_ATTRIBUTES`` in the Attributes section of ``cls``'s docstring, and
    ``TOKEN_PARAMETER_DOCS`` in its Parameters section."""
    cls.__doc__ = (cls.__doc__.replace("%(plan_attributes)s\n", PLAN_ATTRIBUTES)
                   .replace("%(token_parameters)s\n", TOKEN_PARAMETER_DOCS))
    return cls


class BaseFineTuned(TorchModelMixin, BaseEstimator):
    """Masked pretraining of a ``SimMIMTransformer``'s network on every row of ``X``, then
    fine-tuning of that network with a head (``nn._finetuning``) on the labeled rows.

    Subclasses say how targets are encoded (``_encode_targets``), which rows without a
    target take part in fine-tuning and with what target (``_unlabeled_targets``), and how
    outputs are read.
    """

    # Cross-entropy on class indices (True) or squared error on standardised targets.
    _classification = False

    _parameter_constraints: dict = {
        **{name: BaseSimMIM._parameter_constraints[name] for name in (
            *PRETRAINING_PARAMETERS, "batch_size", "learning_rate_init", "weight_decay",
            "early_stopping", "validation_fraction", "n_iter_no_change", "tol",
            "random_state", "warm_start",
        )},
        "pretrain_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "layer_decay": [Interval(Real, 0, 1, closed="right")],
        "hidden_width": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "mask_ratio": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "analyzer": [None, StrOptions(set(ANALYZERS))],
        **{name: SimMIMTokenTransformer._parameter_constraints[name]
           for name in TOKEN_PARAMETERS if name != "analyzer"},
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain on every row of ``X``, then fine-tune on the rows that have a target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Training rows, labeled and unlabeled; NaN marks missing values. With
            ``analyzer`` set: documents, or token ids padded with ``padding_id``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; see the class description for how unlabeled rows are marked.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continuing = self.warm_start and hasattr(self, "module_")
        world = resolve_world(self.distributed)
        with restored_on_error(self), failures_reported(world):
            self._fit(X, y, continuing=continuing, incremental=False, world=world)
        return self

    def _partial_fit(self, X, y, classes=None):
        """One epoch of fine-tuning at a constant learning rate on ``X``, continuing from the
        current model; a first call starts from the network untrained (``fit`` pretrains)."""
        world = resolve_world(self.distributed)
        with restored_on_error(self), failures_reported(world):
            self._fit(X, y, continuing=hasattr(self, "module_"), incremental=True,
                      classes=classes, world=world)
        return self

    def _fit(self, X, y, continuing, incremental, classes=None, world=SINGLE):
        if continuing and (self.analyzer is None) != (self._coder is None):
            raise ValueError(
                f"analyzer={self.analyzer!r} reads another kind of X than the fitted model; "
                "refit with warm_start=False."
            )
        X, y = self._validate_rows_and_targets(X, y, reset=not continuing)
        check_same_data(X, world)
        targets, weights, labeled = self._encode_targets(y, reset=not continuing,
                                                         classes=classes)
        device = resolve_device(self.device)
        rng = self._rng_ if continuing else shared_random_state(self.random_state, world)
        labeled_rows = np.flatnonzero(labeled)
        _, val_labeled = validation_split(self, len(labeled_rows), rng, incremental)
        if continuing:
            network = copy.deepcopy(self.module_)
            optimizer_state = self._optimizer_state if incremental else None
            X = self._network_input(X)
        else:
            backbone, self._network_plan, X = self._pretrained_network(
                X, rng, pretrain=not incremental)
            n_outputs = len(self.classes_) if self._classification else targets.shape[1]
            task_network = TaskNetwork if self._coder is None else TokenTaskNetwork
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                network = task_network(backbone, n_outputs,
                                       column_scaling=probe_start(self._network_plan))
            optimizer_state = None
        device = training_device(device, world, self.device)
        network.to(device)

        probe = probe_start(self._network_plan) and not (continuing and incremental)
        if probe_only(self.get_params(), self._network_plan, incremental) or self.max_iter == 0:
            # Without fine-tuning epochs there is nothing to stop early: the closed-form
            # head reads every labeled row.
            val_labeled = None
        # The validation rows are labeled rows held out of fine-tuning altogether.
        held_out = np.zeros(len(X), dtype=bool)
        val_rows = None
        if val_labeled is not None:
            held_out[labeled_rows[val_labeled]] = True
            val_rows = self._task_rows(network, X, targets, weights, np.flatnonzero(held_out),
                                       device)
        with self._inference_threads(len(X)):
            targets, weights, fine_tuned = self._unlabeled_targets(
                network, X, targets, weights, labeled & ~held_out, ~labeled, device)
        # Every process must fine-tune on the same rows: rank 0's, should its arithmetic
        # differ from the others' (another GPU).
        targets, weights, fine_tuned = from_rank_zero((targets, weights, fine_tuned), world)
        features = None
        with self._inference_threads(len(X)):
            if probe:
                features = head_features(network, X, device)
                solve_head(network, features, np.flatnonzero(fine_tuned), targets, weights,
                           self._classification, rng)
            rows = self._task_rows(network, X, targets, weights, np.flatnonzero(fine_tuned),
                                   device, features)
        plan = make_plan(self.get_params(), Data(len(rows), X.shape[1], incremental,
                                                 self._network_plan), "finetuning")
        shard, generator = shards(int(rng.randint(2**31 - 1)), world, device)
        if shard is not None:
            rows.shard = shard
            if val_rows is not None:
                val_rows.shard = replace(shard, generator=None)
        first_epoch = self.n_iter_ if continuing and incremental else 0
        log_dir = self.log_dir if world.rank == 0 else None
        with (tensorboard_log(log_dir, "finetune", first_epoch) as on_epoch,
              torch_threads(plan.n_threads)):
            history = finetune(network, rows, self._classification,
                               self.layer_decay, plan.training, generator, device, val_rows,
                               optimizer_state, on_epoch)
        self.module_ = network
        self._rng_ = rng
        self._optimizer_state = history.optimizer_state
        publish(self, published(plan)[1])
        record_history(self, history, incremental and continuing)

    def _pretrained_network(self, X, rng, pretrain):
        """The masked model's network, as ``SimMIMTransformer`` (or, with ``analyzer`` set,
        ``SimMIMTokenTransformer``) with this estimator's shared parameters builds it,
        trained on every row of ``X`` (``pretrain_iter`` epochs), or untrained where
        ``pretrain_iter=0`` or ``pretrain`` is false; publishes its plan: the layout
        unprefixed, the training as ``pretrain_*``. Returns the network, its plan and the
        network's input: ``X`` itself, or the symbol ids of the documents ``X``."""
        pretraining_rng = check_random_state(int(rng.randint(2**31 - 1)))
        trained = pretrain and self.pretrain_iter != 0
        self.n_pretrain_iter_, self.pretrain_loss_curve_ = 0, []
        if self.analyzer is None:
            self._coder = None
            network, plan, network_plan = self._pretrained_row_network(X, pretraining_rng,
                                                                       trained)
        else:
            network, plan, X = self._pretrained_token_network(X, pretraining_rng, trained)
            network_plan = plan.network
        layout_values, training_values = published(plan)
        training_values["max_iter"] = training_values["max_iter"] if trained else 0
        publish(self, layout_values)
        publish(self, training_values, prefix="pretrain_")
        return network, network_plan, X

    def _pretraining_params(self, transformer, shared):
        """The parameters of the pretraining ``transformer`` (an unfitted instance): its
        defaults, with the ``shared`` parameters of this estimator (but the "auto" of
        ``PRETRAINING_DEFAULTS``, which keeps the transformer's default) and
        ``pretrain_iter`` as its ``max_iter``."""
        params = transformer.get_params()
        for name in shared:
            value = getattr(self, name)
            if not (name in PRETRAINING_DEFAULTS and value == "auto"):
                params[name] = value
        params["max_iter"] = self.pretrain_iter or "auto"
        return params

    def _pretrained_row_network(self, X, rng, trained):
        """``_pretrained_network`` for numeric rows: the network, the pretraining plan and
        the network's own plan (without the self-supervised heads where untrained)."""
        params = self._pretraining_params(SimMIMTransformer(), PRETRAINING_PARAMETERS)
        plan = make_plan(params, Data(len(X), X.shape[1]))
        network_plan = plan.network
        if not trained:
            network_plan = replace(network_plan, self_supervised=False)
        with torch_threads(plan.n_threads):
            network, _, _ = new_network(network_plan, X, rng, plan.world)
            network.average_shifts = plan.average_shifts
            if trained:
                history = train_network(network, X, plan, rng, log_dir=self.log_dir)
                self.n_pretrain_iter_, self.pretrain_loss_curve_ = (history.n_epochs,
                                                                    history.loss_curve)
            # Fine-tuning trains the encoder by the task alone.
            network.drop_self_supervised_heads()
        return network, plan, network_plan

    def _pretrained_token_network(self, documents, rng, trained):
        """``_pretrained_network`` for token sequences: fits the vocabulary
        (``vocabulary_``, ``tokenizer_``) on ``documents``; returns the network, its plan
        and the documents' symbol ids."""
        self._check_token_settings()
        params = self._pretraining_params(SimMIMTokenTransformer(), TOKEN_PRETRAINING_PARAMETERS)
        world = resolve_world(self.distributed)
        self._coder, sequences = TokenCoder.fit(documents, params, type(self).__name__, world)
        self.vocabulary_ = self._coder.tokens
        self.tokenizer_ = self._coder.tokenizer
        plan = token_plan(params, sequences, len(self._coder.vocabulary), len(sequences))
        ids = self._coder.vocabulary.encode(sequences, plan.network.max_length)
        with torch_threads(plan.n_threads):
            network = new_token_network(plan.network, rng)
            if trained:
                history = train_token_network(network, ids, plan, rng, world=world)
                self.n_pretrain_iter_, self.pretrain_loss_curve_ = (history.n_epochs,
                                                                    history.loss_curve)
        return network, plan, ids

    def _check_token_settings(self):
        """Raise where a parameter of numeric rows is set with ``analyzer``."""
        if self.input_shape is not None or self.patch_size != "auto":
            raise ValueError(
                "input_shape and patch_size lay out numeric rows; with "
                f"analyzer={self.analyzer!r} X holds token sequences, which have neither: "
                "leave them at None and 'auto'."
            )
        if self.encoder not in ("auto", "conv", "transformer"):
            raise ValueError(
                f"encoder={self.encoder!r} reads numeric rows; with analyzer="
                f"{self.analyzer!r} the encoder is 'auto', 'conv' or 'transformer'."
            )

    def _network_input(self, X):
        """What the fitted network reads of checked ``X``: the rows themselves, or the
        symbol ids of the documents (``max_length_`` per row)."""
        if self._coder is None:
            return X
        return self._coder.symbol_ids(X, self.max_length_)

    def _validate_rows_and_targets(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._checked_input(X, reset=reset, ensure_min_samples=min_training_rows(reset))
        y = self._check_targets(y)
        if len(y) != len(X):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(X)} and {len(y)}."
            )
        return X, y

    def _checked_input(self, X, reset, ensure_min_samples=1):
        """``X`` validated: documents (a list of strings or a 2-D integer array of ids) with
        ``analyzer`` set, else numeric rows, where strings raise saying to set it."""
        if self.analyzer is not None:
            return checked_documents(X)
        try:
            return validate_rows(self, X, reset=reset, dtype=[np.float64, np.float32],
                                 ensure_all_finite="allow-nan",
                                 ensure_min_samples=ensure_min_samples)
        except ValueError as error:
            if _holds_strings(X):
                raise ValueError(
                    "X holds strings, but analyzer=None reads rows of numbers; set analyzer "
                    "(e.g. 'char' for DNA or proteins, 'word' or 'bpe' for text) to read "
                    "token sequences."
                ) from error
            raise

    def _unlabeled_targets(self, network, X, targets, weights, labeled, unlabeled, device):
        """Targets, weights and the flags of the rows to fine-tune on: by default the
        labeled rows only (unlabeled ones take part in pretraining)."""
        return targets, weights, labeled

    @staticmethod
    def _task_rows(network, X, targets, weights, indices, device, features=None):
        """The fine-tuning rows at ``indices``: each row, its targets, its weight and, where
        the ``network``'s backbone has a kernel bank, its bank features, computed once here
        rather than at every epoch (they have no parameter to train), or read from the
        last columns of ``features``, the head's input of every row of ``X``, if given."""
        backbone = network.backbone
        bank = None
        # Token networks have no bank.
        kernel_bank = getattr(backbone, "kernel_bank", None)
        if kernel_bank is not None and features is not None:
            bank = features[indices, -kernel_bank.n_features:]
        elif kernel_bank is not None:
            with torch.no_grad():
                bank = map_row_blocks(
                    lambda rows: backbone.bank_features(backbone.standardize(rows.float())),
                    X[indices], backbone.kernel_bank.n_features, device, dtype=np.float32)
        return TaskRows(X[indices], targets[indices], weights[indices], device,
                        bank_features=bank)

    def _outputs(self, X):
        """The head's outputs (class scores or standardised targets) for ``X``, computed in
        its dtype (float32 or float64)."""
        check_is_fitted(self)
        if self._coder is not None:
            ids = self._coder.symbol_ids(checked_documents(X), self.max_length_)
            network = self.module_
            with self._inference_threads(len(ids)):
                return map_sequence_blocks(network, ids, network.head[-1].out_features,
                                           network.head[-1].weight.device)
        X = validate_rows(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        with self._inference_threads(len(X)):
            network = in_dtype_of(X, self.module_)
            return map_row_blocks(network, X, network.head[-1].out_features,
                                  network.backbone.center.device)

    def _inference_threads(self, n_rows):
        """Torch threads for passes of ``n_rows`` rows, in blocks, through the network."""
        return torch_threads(threads(self.n_threads, self._network_plan,
                                     min(n_rows, INFERENCE_BATCH_SIZE)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.analyzer is not None:
            # As scikit-learn's text vectorizers: a 1-D iterable of strings.
            tags.input_tags.string = True
            tags.input_tags.two_d_array = False
            tags.input_tags.allow_nan = False
        return tags


def representation(network, X, device):
    """``SimMIMTransformer.transform``'s representation of ``X`` by the ``TaskNetwork``'s
    backbone, float32: on images averaged over one-pixel shifts, as ``transform`` does, which
    is what the labels spread over; the head reads the unshifted one, one encoding per row.
    For symbol ids, ``SimMIMTokenTransformer.transform``'s representation."""
    backbone = network.backbone.to(device)
    width = network.head[-1].in_features
    if X.dtype.kind in "iu":
        return map_sequence_blocks(backbone, X, width, device)
    return map_row_blocks(backbone, np.asarray(X, dtype=np.float32), width, device)


def head_features(network, X, device):
    """What the ``TaskNetwork``'s head reads of every row of ``X``, float32."""
    network = network.to(device)
    width = network.head[-1].in_features
    if X.dtype.kind in "iu":
        return map_sequence_blocks(network.features, X, width, device)
    return map_row_blocks(lambda rows: network.features(rows.float()), X, width, device,
                          dtype=np.float32)


def _holds_strings(X):
    """Whether ``X`` is a string or a 1-D iterable whose first item is one (documents)."""
    if isinstance(X, (str, bytes)):
        return True
    if hasattr(X, "columns") or not hasattr(X, "__iter__"):
        return False
    first = next(iter(X), None)
    return isinstance(first, (str, bytes))
