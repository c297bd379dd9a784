"""SimMIMRegressor: masked pretraining on every row, then fine-tuning on those with targets."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils import check_array

from ._base import store_parameters
from ._finetuned import BaseFineTuned, with_plan_attributes


@with_plan_attributes
class SimMIMRegressor(RegressorMixin, BaseFineTuned):
    """Regressor pretrained by masked modeling (SimMIM), then fine-tuned.

    ``fit`` trains the network of :class:`SimMIMTransformer` (same layouts, encoders, masking
    and NaN handling) by masked modeling on every row of ``X``, including those whose targets
    are all NaN (unlabeled rows), then trains it end to end with a head (layer normalisation
    and a linear map of the representation) by the squared error of the standardised targets
    on the rows that have them, the layers nearest the input at the lowest learning rates
    (``layer_decay``). With several targets, a NaN target is left out of the loss alone.

    On windows with a kernel bank (``input_shape=(C, L)``, see :class:`SimMIMTransformer`'s
    ``kernel_features``), the head standardises each column of the representation over
    every row of ``X`` and starts from ridge regression of each standardised target, its
    penalty chosen by leave-one-out error, as :class:`~sklearn.linear_model.RidgeCV` does.
    With ``max_iter="auto"`` that closed-form head is the fitted one: fine-tuning end to end
    from it raised the error on the window benchmarks' training splits.

    With ``analyzer`` set, ``X`` holds token sequences (strings, or a 2-D integer array of
    token ids), as for :class:`SimMIMClassifier`: pretraining is then
    :class:`SimMIMTokenTransformer`'s masked token modeling on every sequence.

    Parameters
    ----------
    %(token_parameters)s
    hidden_width : int or "auto", default="auto"
        Width of the encoder's hidden layers (see :class:`SimMIMTransformer`). ``"auto"``
        is the pretraining transformer's default: 128 for numeric rows, 64 for token
        sequences.
    depth : int or "auto", default="auto"
        Number of encoder blocks (see :class:`SimMIMTransformer`).
    encoder : {"auto", "mlp", "conv", "transformer"}, default="auto"
        Encoder architecture (see :class:`SimMIMTransformer`).
    input_shape : tuple of int, default=None
        Layout of a row: ``(C, L)`` for a window, ``(C, H, W)`` for an image, ``None`` for
        tabular features.
    patch_size : int, tuple of int or "auto", default="auto"
        Token size along each axis of ``input_shape`` (see :class:`SimMIMTransformer`).
    mask_ratio : float or "auto", default="auto"
        Fraction of each row's tokens hidden at every pretraining step, in spans on
        windows (see :class:`SimMIMTransformer`); in (0, 1). ``"auto"`` is the pretraining
        transformer's default: 0.5 for numeric rows, 0.15 for token sequences (BERT's
        share, see :class:`SimMIMTokenTransformer`).
    pretrain_iter : int or "auto", default="auto"
        Epochs of masked pretraining, as in :class:`SimMIMClassifier` (which lists the
        settings pretraining shares with this estimator, for numeric rows and for token
        sequences); 0 fine-tunes the network from its
        random start, which measures what pretraining is worth.
    max_iter : int or "auto", default="auto"
        Maximum number of fine-tuning epochs; ``"auto"`` is about 600 optimisation steps,
        between 5 and 300 epochs, but 0 on windows with a kernel bank, where the head is
        solved in closed form (see the class description). 0 keeps the head at its start
        without fine-tuning.
    batch_size : int or "auto", default="auto"
        Rows per fine-tuning step; ``"auto"`` is 64 (all fine-tuning rows when fewer).
    learning_rate_init : float, default=1e-3
        Peak fine-tuning learning rate of the head (AdamW, warm-up then cosine decay).
    layer_decay : float in (0, 1], default=0.75
        Each encoder layer below the head learns at this multiple of the rate of the layer
        above it; 1 fine-tunes every layer at ``learning_rate_init``.
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay in fine-tuning; pretraining keeps
        :class:`SimMIMTransformer`'s default, 0.05.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows with targets, stop fine-tuning when
        their loss stops improving and keep the best weights (on by default, unlike
        :class:`SimMIMClassifier`: see How the defaults were chosen). Pretraining is not
        affected. Turn it off when rows with targets are too few to spare
        ``validation_fraction`` of them.
    validation_fraction : float, default=0.1
        Fraction of the rows with targets held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Fine-tuning epochs without an improvement of at least ``tol`` before it stops.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation loss) that resets the count.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the training steps (see :class:`SimMIMTransformer`).
    n_threads : int or "auto", default="auto"
        Torch's CPU threads of each call, as for :class:`SimMIMClassifier`.
    random_state : int, RandomState instance or None, default=None
        Seeds pretraining, the head's initialisation, shuffling and the validation split.
    verbose : int, default=0
        Show progress bars of pretraining and fine-tuning when positive.
    warm_start : bool, default=False
        Make ``fit`` continue fine-tuning the current network instead of pretraining anew.
    log_dir : str or path-like, default=None
        Directory of a TensorBoard log of pretraining (``pretrain/``, see
        :class:`SimMIMTransformer`) and fine-tuning (``finetune/``: loss, validation loss
        with ``early_stopping`` and learning rate, no reconstructions); ``None`` writes
        nothing.
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
        The fine-tuned network: the masked model (``module_.backbone``) and its head.
    n_outputs_ : int
        Number of targets.
    target_mean_ : ndarray of shape (n_outputs,)
        Mean of each target (NaN ignored), which the head's outputs are centred on.
    target_scale_ : ndarray of shape (n_outputs,)
        Standard deviation of each target, the unit of the head's outputs.
    n_iter_ : int
        Number of fine-tuning epochs run.
    world_size_ : int
        Number of processes that trained the model together in the last ``fit`` or
        ``partial_fit`` (1 without ``distributed`` training).
    loss_curve_ : list of float
        Fine-tuning loss (mean squared error of the standardised targets) of each epoch.
    best_loss_ : float
        Lowest fine-tuning loss reached.
    validation_scores_ : list of float
        Negative validation loss of each epoch; only with ``early_stopping``.
    best_validation_score_ : float
        Best validation score; only with ``early_stopping``.
    n_pretrain_iter_ : int
        Number of pretraining epochs run (0 without pretraining).
    pretrain_loss_curve_ : list of float
        Masked-modeling loss of each pretraining epoch.
    input_shape_ : tuple of int
        Layout of a row as ``(C, *spatial)`` (numeric rows only).
    patch_size_ : tuple of int
        Patch size along each spatial axis (numeric rows only).
    encoder_ : str
        Encoder used.
    depth_ : int
        Number of encoder blocks.
    %(plan_attributes)s
    n_features_in_ : int
        Number of features seen during ``fit`` (numeric rows only).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    SimMIMClassifier : The same for class labels, with the labels spread to unlabeled rows.
    SimMIMTransformer : The pretrained representation, for any scikit-learn model.
    sklearn.neural_network.MLPRegressor : Supervised neural network.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from simmim_sklearn import SimMIMRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = SimMIMRegressor(pretrain_iter=2, max_iter=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        *,
        analyzer=None,
        kmer_size=3,
        lowercase=False,
        max_vocabulary="auto",
        max_length="auto",
        padding_id=0,
        hidden_width="auto",
        depth="auto",
        encoder="auto",
        input_shape=None,
        patch_size="auto",
        mask_ratio="auto",
        pretrain_iter="auto",
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        layer_decay=0.75,
        weight_decay=0.05,
        early_stopping=True,
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

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Fine-tune for one epoch on ``X``, continuing from the current model.

        The first call starts from the network untrained (``fit`` pretrains) and sets the
        targets' scaling. A call that fails leaves the model of the last successful call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            A chunk of rows (documents or token ids with ``analyzer`` set).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets, NaN where unknown.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._partial_fit(X, y)

    @staticmethod
    def _check_targets(y):
        return check_array(y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan",
                           input_name="y")

    def _encode_targets(self, y, reset, classes):
        Y = y.reshape(len(y), -1)
        labeled = ~np.isnan(Y).all(axis=1)
        if not labeled.any():
            raise ValueError("y has no rows with a target: every value is NaN.")
        if reset:
            self.n_outputs_ = Y.shape[1]
            self._single_output = y.ndim == 1
            self.target_mean_ = np.nanmean(Y[labeled], axis=0)
            scale = np.nanstd(Y[labeled], axis=0)
            self.target_scale_ = np.where(scale > 0, scale, 1.0)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} targets, but {type(self).__name__} was fitted with "
                f"{self.n_outputs_}."
            )
        return (Y - self.target_mean_) / self.target_scale_, labeled.astype(np.float64), labeled

    def predict(self, X):
        """Predicted targets of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Rows to predict (documents or token ids with ``analyzer`` set).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, one column per target when ``y`` had several.
        """
        Y = self._outputs(X).astype(np.float64) * self.target_scale_ + self.target_mean_
        return Y[:, 0] if self._single_output else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
