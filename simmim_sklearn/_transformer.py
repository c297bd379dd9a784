"""SimMIMTransformer: masked-modeling representations as a scikit-learn transformer."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSimMIM, store_parameters
from ._data import validate_rows
from ._onnx import export_transform_onnx
from .nn._masking import random_token_mask


class SimMIMTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseSimMIM):
    """Self-supervised representation learned by masked modeling (SimMIM).

    Each row is cut into tokens (single features, or patches of a time-series window or an
    image, as ``input_shape`` and ``patch_size`` say). Training hides a random
    ``mask_ratio`` of the tokens behind a learnable mask token and learns to reconstruct
    them through an ``n_components``-wide representation. ``transform`` returns that
    representation and ``inverse_transform`` decodes it back to input units.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Width of the representation, which ``inverse_transform`` decodes. With the
        ``"conv"`` and ``"transformer"`` encoders, ``transform`` appends to it the max over
        the row of every encoder block's output (``hidden_width * max(1, depth_)`` more
        columns, not counted here), and on windows the kernel bank's features
        (``kernel_features``). ``"auto"`` is 16 for tabular rows; for images, as many
        as the encoder pools: ``2 * hidden_width`` (256 by default) with ``"conv"`` and
        ``"transformer"``, ``hidden_width`` with ``"mlp"``; for windows, 8 components, a
        linear map of the window started at PCA and corrected by the encoder, with
        ``"conv"`` and ``"transformer"`` (their block maxima hold the rest), and
        ``8 + hidden_width`` with ``"mlp"``, which has no block maxima. On windows at most
        the first 8 components have the linear path. Lower it for a more compact
        representation, raise it for a closer ``inverse_transform(transform(X))``.
    hidden_width : int, default=128
        Width of the encoder's hidden layers, of the decoder and of each block's maxima.
    depth : int or "auto", default="auto"
        Number of residual blocks in the encoder. ``"auto"`` is 2, except for the ``"conv"``
        encoder on windows: one block per doubling of the dilation (1, 2, 4, ...) until
        the dilations span the window's tokens, at least 2 and at most 6.
    encoder : {"auto", "mlp", "conv", "transformer"}, default="auto"
        Encoder architecture. All embed each token by a shared linear projection and a
        learned position embedding, with a learnable mask token in place of hidden tokens.
        ``"mlp"`` is a residual MLP over the whole row; ``"conv"`` stacks dilated residual
        1-D (windows) or 2-D (images) convolutions over the token grid; ``"transformer"`` is
        a pre-norm transformer over the tokens. ``"conv"`` and ``"transformer"`` pool the
        mean and max over the tokens that are present, so NaN padding takes no part.
        ``"auto"`` is ``"mlp"`` for tabular rows and ``"conv"`` for windows and images.
    input_shape : tuple of int, default=None
        Layout of a row: ``(C, L)`` for a C-channel window of length L (channel-major,
        ``X3d.reshape(n, -1)``), ``(C, H, W)`` for an image, ``None`` for tabular features.
    patch_size : int, tuple of int or "auto", default="auto"
        Token size along each axis of ``input_shape``; for tabular rows, the number of
        adjacent features grouped into one token. ``"auto"`` uses single features for
        tabular rows, the shortest patch that cuts a window into at most 128 tokens (single
        time steps up to length 128) and the square root of each axis (floored) for images.
        Axes that the patch does not divide are padded with hidden, unscored values.
        Series of unequal length are given padded with NaN to a common length: tokens with
        no value are missing, which ``"conv"`` and ``"transformer"`` leave out entirely.
    mask_ratio : float, default=0.5
        Fraction of each row's tokens (those with a value) hidden at every training step,
        at least one left visible, and by the fixed evaluation mask of ``score``; in (0, 1).
        On windows tokens are hidden in runs of about 1/32 of the window's tokens (at least
        one), so that a hidden token is rarely next to a visible one; tabular rows and
        images hide single tokens. Raise it when hidden tokens are easily guessed from
        their neighbours.
    unmasked_fraction : float, default=0.5
        Probability that a row of a training batch is shown whole, with no token hidden,
        and trained to reconstruct itself (weighted by ``visible_loss_weight``); each row
        is drawn on its own, so the share varies from batch to batch. ``transform`` sees
        whole rows, so this teaches the representation the identity that
        ``inverse_transform(transform(X))`` asks for; 0 is SimMIM's plain masking.
    loss : {"l1", "l2"}, default="l1"
        Reconstruction error, computed on standardised values; also the error of ``score``.
    visible_loss_weight : float, default=0.5
        Weight of the visible tokens' reconstruction error relative to the hidden ones
        (weight 1); 0 is SimMIM's hidden-only loss.
    consistency_weight : float or "auto", default="auto"
        Weight of a consistency term added to the loss: the representation of a row with
        tokens hidden is pulled towards that of the same row whole (held fixed as the
        target, both layer-normalised), so that what a part of the row shows predicts the
        representation ``transform`` gives the whole. ``"auto"`` is 1 for images and 0 for
        tabular rows and windows (see How the defaults were chosen). Each step with a
        positive weight also encodes its masked rows whole, one more forward pass without
        gradients; set it to 0 on images to train by reconstruction alone.
    average_shifts : bool or "auto", default="auto"
        Whether ``transform`` returns, for each row, half its own representation plus half
        the mean representation of its copies shifted by one position (pixel or time step)
        either way along each spatial axis, positions shifted in counting as missing: a
        representation that changes little when the content moves by a pixel. Training is
        unchanged; ``transform`` encodes each row ``1 + 2 * len(input_shape[1:])`` times,
        and ``inverse_transform`` decodes the averaged representation, so its images come
        out smoother. ``"auto"`` is True for images and False for windows and tabular
        rows; True needs an ``input_shape``. Set it to False where reconstruction matters
        more than the features.
    latent_weight : float or "auto", default="auto"
        Weight of the latent term added to the loss, for the ``"conv"`` and
        ``"transformer"`` encoders: for each hidden token, a light head predicts from the
        encoder's output what a teacher (a copy of the encoder that follows it as an
        exponential moving average) computes at that token from the whole row, as data2vec
        does. ``"auto"`` is 1 for windows with the ``"conv"`` or ``"transformer"`` encoder
        and 0 otherwise. Where this or ``view_weight`` is positive, these terms alone train
        the encoder, the reconstruction trains what decodes its features (so
        ``inverse_transform`` stays faithful), and ``batch_size="auto"`` takes smaller
        batches. Set it to 0 to train windows with the reconstruction loss alone.
    view_weight : float, default=0.0
        Weight of the view term added to the loss, for the ``"conv"`` and ``"transformer"``
        encoders: each row with tokens hidden and a random crop of it, with other tokens
        hidden, must encode alike and unlike the other rows of the batch (InfoNCE, as in
        TS2Vec and SimCLR). It about doubles the fit time (see How the defaults were
        chosen). Try 1 where rows are many and crops of a row keep its class.
    kernel_features : int or "auto", default="auto"
        Number of features from a fixed bank of 84 convolution kernels of 9 taps at
        exponentially spaced dilations (MiniRocket's), appended by ``transform`` on windows
        with the ``"conv"`` or ``"transformer"`` encoder: for each kernel, dilation and bias,
        the share of the window's steps where the kernel's response exceeds the bias, the
        biases being quantiles of the training windows' responses. The kernels sum to zero
        and the shares ignore the window's scale, so these features count where each shape
        occurs, at every scale of time. Nothing in them is trained: the masked model learns
        the columns before them, and fine-tuning (``SimMIMClassifier``) reads both. On a few
        dozen training windows they carry most of the accuracy of a linear classifier (see
        How the defaults were chosen). ``"auto"`` is 10,000 on windows (rounded down to a
        multiple of 84 per dilation: 9,996) and 0 elsewhere; 0 leaves the learned columns
        alone, which ``inverse_transform`` reads either way. Lower it for a narrower
        representation or a faster ``transform``.
    max_iter : int or "auto", default="auto"
        Maximum number of epochs. ``"auto"`` aims at 2,000 optimisation steps, so that the
        cost follows the amount of data; for ``"conv"`` and ``"transformer"`` the steps are
        capped so that steps x rows per batch x tokens per row x encoder blocks stays
        within 4 million (an image token counts 2.5 times for ``"conv"``, whose 3 x 3
        kernel costs more than a window's 3 taps). The steps are then rounded up to whole
        epochs, at least 5 and at most 500.
    batch_size : int or "auto", default="auto"
        Rows per optimisation step; ``"auto"`` is 256 (all rows when fewer), and with a
        positive ``latent_weight`` or ``view_weight`` ``n_samples // 64`` rows, at least
        16 and at most 256: many small steps show each row in many masks and crops.
    learning_rate_init : float, default=1e-3
        Peak learning rate of AdamW, reached after a warm-up and followed by cosine decay
        (``partial_fit`` keeps it constant).
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their ``score`` (the
        masked training objective) stops improving; the best weights are kept. ``partial_fit``
        holds no rows out.
    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping`` is set.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (of the training loss, or of the
        validation score with ``early_stopping``) before training stops.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that resets the count.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``. ``transform``, ``inverse_transform`` and ``score`` compute where the
        fitted model is: on this device, or on the CPU after unpickling.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the training steps: ``"bfloat16"`` runs them in mixed precision
        (``torch.autocast``), faster on GPUs with bfloat16 units; weights, ``transform``
        and ``inverse_transform`` stay in float32 (or float64 for float64 input).
    n_threads : int or "auto", default="auto"
        Torch's CPU threads for this estimator's ``fit``, ``transform`` and ``predict``;
        torch's global setting is restored after each call. ``"auto"`` uses one thread
        unless a step's work is large enough to share and the machine's load leaves cores
        free, within the CPUs this process may use (its affinity and cgroup quota, and the
        limits of joblib's workers): on busy cores extra threads wait on each other. Set it
        to use more cores for large windows or images on an idle machine.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, masking, shuffling and the validation split.
    verbose : int, default=0
        Show a progress bar with the training and validation loss when positive.
    warm_start : bool, default=False
        Continue training the current model on ``fit`` instead of starting anew.
    log_dir : str or path-like, default=None
        Directory to write a TensorBoard log of the training to (needs
        ``pip install "simmim-sklearn[tensorboard]"``): per epoch the training loss, the
        validation loss with ``early_stopping`` and the learning rate, and for windows and
        images the first 4 rows with their hidden tokens and reconstructions, at the first
        epoch and every 10th after. No reconstructions are drawn for 1-channel windows
        with the ``"mlp"`` encoder, which the log takes for tabular rows. ``None`` writes
        nothing and costs nothing.
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
        The trained network (scaling, patching, encoder and decoder).
    n_iter_ : int
        Number of epochs run.
    world_size_ : int
        Number of processes that trained the model together in the last ``fit`` or
        ``partial_fit`` (1 without ``distributed`` training).
    loss_curve_ : list of float
        Training loss of each epoch: the weighted reconstruction error, plus the
        consistency, latent and view terms where their weights are not 0.
    best_loss_ : float
        Lowest training loss reached.
    validation_scores_ : list of float
        Validation score (negative masked error) of each epoch; only with
        ``early_stopping``.
    best_validation_score_ : float
        Best validation score; only with ``early_stopping``.
    mean_ : ndarray of shape (n_features,)
        Mean used for the internal standardisation (NaN ignored): per feature for tabular
        rows, per channel (repeated over its positions) for windows and images.
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
    average_shifts_ : bool
        Whether ``transform`` averages over shifts (``average_shifts`` with ``"auto"``
        resolved).
    kernel_features_ : int
        Number of kernel bank features ``transform`` appends (``kernel_features`` with
        ``"auto"`` resolved, rounded to what the bank gives; 0 without a bank).
    mask_span_ : int
        Length, in tokens, of the runs that training hides (``mask_ratio``'s spans).
    batch_size_ : int
        Rows per optimisation step (``batch_size`` with ``"auto"`` resolved).
    max_iter_ : int
        Epochs planned by the last ``fit`` (``max_iter`` with ``"auto"`` resolved; 1 for
        ``partial_fit``); early stopping may end training sooner (``n_iter_``).
    consistency_weight_ : float
        Weight of the consistency term (``consistency_weight`` with ``"auto"`` resolved).
    latent_weight_ : float
        Weight of the latent term (``latent_weight`` with ``"auto"`` resolved).
    view_weight_ : float
        Weight of the view term.
    device_ : str
        Device the model was trained on (``device`` with ``"auto"`` resolved);
        ``transform`` computes where the model is (on the CPU after unpickling).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear representation with an exact inverse.
    sklearn.neural_network.MLPRegressor : Supervised neural network.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from simmim_sklearn import SimMIMTransformer
    >>> X, _ = load_diabetes(return_X_y=True)
    >>> model = SimMIMTransformer(n_components=4, max_iter=5, random_state=0).fit(X)
    >>> Z = model.transform(X)
    >>> Z.shape
    (442, 4)
    >>> model.inverse_transform(Z).shape
    (442, 10)
    """

    _parameter_constraints: dict = {
        **BaseSimMIM._parameter_constraints,
        "average_shifts": ["boolean", StrOptions({"auto"})],
        "latent_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "view_weight": [Interval(Real, 0, None, closed="left")],
        "kernel_features": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        hidden_width=128,
        depth="auto",
        encoder="auto",
        input_shape=None,
        patch_size="auto",
        mask_ratio=0.5,
        unmasked_fraction=0.5,
        loss="l1",
        visible_loss_weight=0.5,
        consistency_weight="auto",
        average_shifts="auto",
        latent_weight="auto",
        view_weight=0.0,
        kernel_features="auto",
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        weight_decay=0.05,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        precision="float32",
        n_threads="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        log_dir=None,
        distributed="auto",
    ):
        store_parameters(self, locals())

    def transform(self, X):
        """Return the learned representation of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode; NaN entries are treated as hidden.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            Representation (``n_components_`` columns), followed for the ``"conv"`` and
            ``"transformer"`` encoders by the maxima of every encoder block
            (``hidden_width * max(1, depth_)`` more columns) and on windows by the kernel
            bank's features (``kernel_features_`` more), in the dtype of ``X`` (float32 or
            float64).
        """
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        return self._map_rows("forward", X, self._n_features_out)

    def inverse_transform(self, X):
        """Decode representations back to rows in input units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Representations, as returned by ``transform``; the block maxima and kernel bank
            features that follow the ``n_components`` columns, where there are any, are
            ignored.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed rows, in the dtype of the input.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        n_features_out = self._n_features_out
        if Z.shape[1] != n_features_out:
            maxima = n_features_out - self.n_components_ - self.kernel_features_
            block_maxima = f" plus {maxima} block maxima" if maxima else ""
            if self.kernel_features_:
                block_maxima += f" plus {self.kernel_features_} kernel bank features"
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"{n_features_out} features as input (n_components="
                f"{self.n_components_}{block_maxima})."
            )
        # The block maxima are functions of the same rows: the representation decodes alone.
        return self._map_rows("decode", Z[:, :self.n_components_], self.n_features_in_)

    def reconstruct(self, X, mask_ratio=None, random_state=None):
        """Hide random tokens of ``X``, as training does, and reconstruct them.

        Tokens are hidden in runs of ``mask_span_`` tokens, as in training. Meant for
        inspecting a few rows (e.g. plotting masked inputs beside their reconstructions);
        all rows are processed in one block.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to mask and reconstruct.
        mask_ratio : float in (0, 1), default=None
            Fraction of each row's tokens to hide; ``None`` uses the fitted ``mask_ratio``.
        random_state : int, RandomState instance or None, default=None
            Seeds the choice of hidden tokens.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            Reconstructed rows in input units, in the dtype of ``X``.
        hidden : ndarray of bool, shape (n_samples, n_features)
            The entries that were hidden from the model.

        Examples
        --------
        >>> import numpy as np
        >>> from simmim_sklearn import SimMIMTransformer
        >>> X = np.sin(np.linspace(0, 20, 400)).reshape(10, 40)
        >>> model = SimMIMTransformer(input_shape=(1, 40), encoder="conv", max_iter=5,
        ...                           random_state=0).fit(X)
        >>> X_rec, hidden = model.reconstruct(X[:2], mask_ratio=0.5, random_state=0)
        >>> X_rec.shape, hidden.shape, bool(hidden.any())
        ((2, 40), (2, 40), True)
        """
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        mask_ratio = self._plan.training.mask_ratio if mask_ratio is None else mask_ratio
        if not isinstance(mask_ratio, Real) or not 0 < mask_ratio < 1:
            raise ValueError(f"mask_ratio must be a float in (0, 1); got {mask_ratio!r}.")
        seed = int(check_random_state(random_state).randint(2**31 - 1))
        network = self.module_
        device = network.center.device
        with torch.inference_mode(), self._inference_threads(len(X)):
            x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            tokens = network.patcher.to_tokens(network.standardize(x))
            generator = torch.Generator(device=device).manual_seed(seed)
            hide = random_token_mask(torch.isnan(tokens).all(dim=-1), mask_ratio, generator,
                                     span=network.mask_span)
            X_reconstructed = network.reconstruct(x, hide).cpu().numpy().astype(X.dtype)
            hidden = network.patcher.tokens_to_entries(hide).cpu().numpy()
        return X_reconstructed, hidden

    def export_onnx(self, path):
        """Save the ``transform`` path as an ONNX graph, for serving without Python or torch.

        Needs the optional ``onnx`` and ``onnxscript`` packages; run the file with
        ``onnxruntime``. The graph maps float32 rows named ``"X"`` (any number of rows, NaN
        for missing values) to the float32 representation ``"Z"``.

        Parameters
        ----------
        path : str or path-like
            File to write.

        Returns
        -------
        path : str or path-like
            ``path``, as given.

        Examples
        --------
        >>> import numpy as np
        >>> from simmim_sklearn import SimMIMTransformer
        >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
        >>> model = SimMIMTransformer(n_components=2, max_iter=2, random_state=0).fit(X)
        >>> model.export_onnx("simmim.onnx")  # doctest: +SKIP
        'simmim.onnx'
        >>> import onnxruntime  # doctest: +SKIP
        >>> session = onnxruntime.InferenceSession("simmim.onnx")  # doctest: +SKIP
        >>> session.run(None, {"X": X})[0].shape  # doctest: +SKIP
        (100, 2)
        """
        check_is_fitted(self)
        return export_transform_onnx(self, path)

    @property
    def _n_features_out(self):
        # Read by ClassNamePrefixFeaturesOutMixin to name the output columns.
        return self.module_.n_features_out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
