"""SimMIMImputer: the masked model's reconstruction of hidden entries as a missing-value imputer."""

import warnings

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils._param_validation import MissingValues
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import BaseSimMIM, min_training_rows, store_parameters
from ._data import validate_rows


class SimMIMImputer(TransformerMixin, BaseSimMIM):
    """Missing-value imputation by masked modeling (SimMIM).

    Training hides a random ``mask_ratio`` of each row's observed tokens, on top of its
    missing entries (always hidden, never scored), and learns to reconstruct the hidden ones.
    ``transform`` encodes each row with its missing entries hidden, decodes it and fills
    the missing entries with the decoded values; observed entries come back unchanged.

    The network and its training are those of :class:`SimMIMTransformer`, with one change:
    the linear part of the representation is the posterior mean of a factor model
    (probabilistic PCA, started at PCA's maximum-likelihood fit) given the visible entries,
    so the linear estimate of a hidden entry is a Gaussian's conditional mean, which weighs
    each visible entry by what else is hidden; the nonlinear encoder and decoder correct it.
    Training hides single tokens on every layout (no spans on windows). The defaults
    differ where imputation needs it: ``depth``, ``mask_ratio``, ``unmasked_fraction``,
    ``visible_loss_weight``, ``consistency_weight``, ``early_stopping`` and
    ``n_iter_no_change`` (docs: How the defaults were chosen).

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Width of the representation that the missing entries are decoded from; ``"auto"``
        is 16 for every layout and encoder (all components have the factor model's linear
        part, and there are no block maxima). Raise it for rows with many correlated
        features.
    hidden_width : int, default=128
        Width of the encoder's hidden layers and of the decoder.
    depth : int or "auto", default=2
        Number of residual blocks in the encoder. ``"auto"`` is 2, except for the
        ``"conv"`` encoder on windows: one block per doubling of the dilation until the
        dilations span the window's tokens, at least 2 and at most 6 (as in
        :class:`SimMIMTransformer`).
    encoder : {"auto", "mlp", "conv", "transformer"}, default="auto"
        Encoder architecture (see :class:`SimMIMTransformer`); ``"auto"`` is ``"mlp"`` for
        tabular rows and ``"conv"`` for windows and images.
    input_shape : tuple of int, default=None
        Layout of a row: ``(C, L)`` for a C-channel window of length L (channel-major),
        ``(C, H, W)`` for an image, ``None`` for tabular features. With a window, gaps in
        a series are filled from the rest of the window.
    patch_size : int, tuple of int or "auto", default="auto"
        Token size along each axis of ``input_shape`` (see :class:`SimMIMTransformer`).
        A token with some entries missing is shown with those entries at the mean.
    mask_ratio : float, default=0.3
        Fraction of each row's observed tokens hidden at every training step, on top of
        its missing ones, and by the fixed evaluation mask of ``score`` and of the
        validation score; in (0, 1). Tokens are hidden one by one on every layout.
    unmasked_fraction : float, default=0.0
        Probability that a row of a training batch is shown with no token hidden beyond
        its missing ones. Every row that ``transform`` fills has hidden entries, so
        imputation needs none.
    loss : {"l1", "l2"}, default="l1"
        Reconstruction error, computed on standardised values; also the error of ``score``.
    visible_loss_weight : float, default=0.0
        Weight of the visible tokens' reconstruction error relative to the hidden ones;
        imputation only ever reads the hidden ones.
    consistency_weight : float or "auto", default=0.0
        Weight of the representation consistency term (see :class:`SimMIMTransformer`),
        which shapes features rather than reconstructions; 0 leaves it out, ``"auto"`` is 1
        for images and 0 otherwise.
    max_iter : int or "auto", default="auto"
        Maximum number of epochs; ``"auto"`` aims at 2,000 optimisation steps, for
        ``"conv"`` and ``"transformer"`` capped by the token budget of
        :class:`SimMIMTransformer`, rounded up to whole epochs, at least 5 and at most 500.
    batch_size : int or "auto", default="auto"
        Rows per optimisation step; ``"auto"`` is 256 (all rows when fewer).
    learning_rate_init : float, default=1e-3
        Peak learning rate of AdamW (warm-up, then cosine decay; constant in
        ``partial_fit``).
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when their masked
        reconstruction score, an imputation error, stops improving; the best weights are
        kept. Turn it off to train on every row for ``max_iter`` epochs (``n_iter_no_change``
        then watches the training loss).
    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping`` is set.
    n_iter_no_change : int, default=50
        Epochs without an improvement of at least ``tol`` (of the validation score with
        ``early_stopping``, else of the training loss) before training stops.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that resets the count.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``. ``transform`` computes where the fitted model is: on this device, or on
        the CPU after unpickling.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the training steps: ``"bfloat16"`` runs them in mixed precision
        (``torch.autocast``); weights and imputed values stay in float32 or float64.
    n_threads : int or "auto", default="auto"
        Torch's CPU threads for ``fit`` and ``transform``, chosen per call as in
        :class:`SimMIMTransformer`; torch's global setting is restored after each call.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, masking, shuffling and the validation split.
    verbose : int, default=0
        Show a progress bar with the training loss (and the validation loss with
        ``early_stopping``) when positive.
    warm_start : bool, default=False
        Continue training the current model on ``fit`` instead of starting anew.
    missing_values : int or float, default=np.nan
        The placeholder for missing values; all its occurrences are imputed. ``None`` and
        strings are not accepted. With a placeholder other than NaN, ``X`` must hold no NaN.
    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator` of the features that had
        missing values at fit to the output.
    keep_empty_features : bool, default=False
        Keep features that have no observed value at ``fit`` in the output, their missing
        entries filled with 0; by default they are dropped.
    log_dir : str or path-like, default=None
        Directory to write a TensorBoard log of the training to (see
        :class:`SimMIMTransformer`; needs ``pip install "simmim-sklearn[tensorboard]"``):
        per epoch the training loss, the validation loss with ``early_stopping`` and the
        learning rate, and for windows and images the first 4 rows with their hidden tokens
        and reconstructions every 10th epoch, except for 1-channel windows with the
        ``"mlp"`` encoder. ``None`` writes nothing and costs nothing.
    distributed : "auto" or bool, default="auto"
        Train one model together with the other processes of a ``torchrun`` job (or of
        a process group already initialised), data-parallel with
        ``DistributedDataParallel``: each process reads its share of the rows, and
        after ``fit`` every process holds the same model. ``"auto"`` does so where the
        environment says there are several processes and trains alone otherwise;
        ``False`` always trains alone (an independent model in each process); ``True``
        raises a ``ValueError`` where there is no other process. ``batch_size`` is the
        batch of all processes together (see the user guide, Training on several GPUs
        or machines).

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    n_iter_ : int
        Number of epochs run.
    world_size_ : int
        Number of processes that trained the model together in the last ``fit`` or
        ``partial_fit`` (1 without ``distributed`` training).
    loss_curve_ : list of float
        Training loss of each epoch.
    best_loss_ : float
        Lowest training loss reached.
    validation_scores_ : list of float
        Validation score (negative masked error) of each epoch; only with
        ``early_stopping``.
    best_validation_score_ : float
        Best validation score; only with ``early_stopping``.
    mean_ : ndarray of shape (n_features,)
        Mean used for the internal standardisation: per feature for tabular rows, per
        channel (repeated over its positions) for windows and images.
    scale_ : ndarray of shape (n_features,)
        Standard deviation used for the internal standardisation, per feature for tabular
        rows, per channel for windows and images.
    input_shape_ : tuple of int
        Layout of a row as ``(C, *spatial)``.
    patch_size_ : tuple of int
        Patch size along each spatial axis.
    encoder_ : str
        Encoder used.
    depth_ : int
        Number of encoder blocks (``depth`` with ``"auto"`` resolved).
    n_components_ : int
        Width of the representation (``n_components`` with ``"auto"`` resolved).
    mask_span_ : int
        Always 1: imputation hides single tokens, as gaps come in any shape.
    batch_size_ : int
        Rows of each optimisation step, ``batch_size`` resolved for the rows trained on.
    max_iter_ : int
        The last ``fit``'s epoch budget, ``max_iter`` resolved (1 for ``partial_fit``);
        early stopping, on by default, usually ends training sooner (``n_iter_``).
    consistency_weight_ : float
        Weight of the consistency term (``consistency_weight`` with ``"auto"`` resolved).
    device_ : str
        Device the model was trained on (``device`` with ``"auto"`` resolved);
        ``transform`` computes where the model is (on the CPU after unpickling).
    empty_features_ : ndarray of bool of shape (`n_features_in_`,)
        Features without any observed value at ``fit``.
    indicator_ : MissingIndicator or None
        The indicator appended to the output, when ``add_indicator``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Imputation by round-robin regression.
    sklearn.impute.KNNImputer : Imputation from the nearest complete rows.
    SimMIMTransformer : The same masked model as a representation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from simmim_sklearn import SimMIMImputer
    >>> X, _ = load_diabetes(return_X_y=True)
    >>> X_missing = X.copy()
    >>> X_missing[np.random.RandomState(0).rand(*X.shape) < 0.2] = np.nan
    >>> imputer = SimMIMImputer(max_iter=5, random_state=0).fit(X_missing)
    >>> X_filled = imputer.transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> observed = ~np.isnan(X_missing)
    >>> bool((X_filled[observed] == X_missing[observed]).all())
    True
    """

    # Imputation reads the hidden entries: their linear estimate should depend on which
    # entries are seen, as a Gaussian's conditional mean does.
    _purpose = "imputation"

    _parameter_constraints: dict = {
        **BaseSimMIM._parameter_constraints,
        "missing_values": [MissingValues(numeric_only=True)],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        hidden_width=128,
        depth=2,
        encoder="auto",
        input_shape=None,
        patch_size="auto",
        mask_ratio=0.3,
        unmasked_fraction=0.0,
        loss="l1",
        visible_loss_weight=0.0,
        consistency_weight=0.0,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        weight_decay=0.05,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=50,
        tol=1e-4,
        device="auto",
        precision="float32",
        n_threads="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        log_dir=None,
        distributed="auto",
    ):
        store_parameters(self, locals())

    # -- fitting ---------------------------------------------------------------------------

    def _validate_training_rows(self, X, reset):
        """Rows as the shared training reads them; on a first fit, also the empty features
        and the indicator (a failed fit restores the previous state, these included)."""
        X, missing = self._validate_with_mask(X, reset=reset,
                                              min_rows=min_training_rows(reset))
        if reset:
            self.empty_features_ = missing.all(axis=0)
            if self.empty_features_.any() and not self.keep_empty_features:
                warnings.warn(
                    f"Features {np.flatnonzero(self.empty_features_).tolist()} have no "
                    "observed value and are dropped from the output; set "
                    "keep_empty_features=True to keep them.",
                    UserWarning, stacklevel=5,
                )
            self.indicator_ = None
            if self.add_indicator:
                self.indicator_ = MissingIndicator(
                    missing_values=self.missing_values, error_on_new=False
                ).fit(X)
        return _network_input(X, missing, self.empty_features_)

    def _scored_rows(self, X):
        """Rows as the network reads them: entries equal to ``missing_values`` are hidden and
        never scored."""
        X, missing = self._validate_with_mask(X, reset=False)
        return _network_input(X, missing, self.empty_features_)

    def _validate_with_mask(self, X, reset, min_rows=1):
        """Validated ``X``, of at least ``min_rows`` rows, and its mask of missing entries."""
        nan_marks_missing = is_scalar_nan(self.missing_values)
        X = validate_rows(
            self, X, reset=reset, dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if nan_marks_missing else True,
            ensure_min_samples=min_rows,
        )
        missing = np.isnan(X) if nan_marks_missing else X == self.missing_values
        return X, missing

    # -- imputation ------------------------------------------------------------------------

    def transform(self, X):
        """Impute the missing entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to complete; entries equal to ``missing_values`` are imputed.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            ``X`` with its missing entries filled, without the empty features unless
            ``keep_empty_features``, followed by the missing indicator if
            ``add_indicator``; in the dtype of ``X`` (float32 or float64).
        """
        check_is_fitted(self)
        X, missing = self._validate_with_mask(X, reset=False)
        empty = self.empty_features_
        reconstruction = self._map_rows(
            "reconstruct", _network_input(X, missing, empty), self.n_features_in_
        )
        # Features never observed at fit have nothing learned: their gaps get 0, as in
        # scikit-learn's imputers.
        reconstruction[:, empty] = 0.0
        X_imputed = np.where(missing, reconstruction, X)
        if not self.keep_empty_features:
            X_imputed = X_imputed[:, ~empty]
        if self.add_indicator:
            X_imputed = np.hstack([X_imputed, self.indicator_.transform(X).astype(X.dtype)])
        return X_imputed

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the kept input features, then the indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; ``None`` uses ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Transformed feature names.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = _check_feature_names_in(self, input_features)
        names = input_features if self.keep_empty_features else (
            input_features[~self.empty_features_]
        )
        if self.add_indicator:
            names = np.concatenate([names, self.indicator_.get_feature_names_out(input_features)])
        return names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = is_scalar_nan(self.missing_values)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _network_input(X, missing, empty):
    """Rows as the network reads them: missing entries NaN, never-observed features 0."""
    X = np.where(missing, np.nan, X).astype(X.dtype, copy=False)
    X[:, empty] = 0.0
    return X
