"""SimMIMClassifier: masked pretraining on every row, then fine-tuning on the labeled ones."""

from numbers import Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import store_parameters
from ._finetuned import BaseFineTuned, representation, with_plan_attributes
from ._plan import probe_start

# Label spreading over the pretrained representation: each row's neighbours in its graph.
PROPAGATION_NEIGHBORS = 7
UNLABELED = -1
# unlabeled_weight="auto": the spread labels weigh as much as given ones on tabular rows
# and images; on token sequences and windows they lowered the accuracy (see the
# parameter), so they weigh nothing there.
NUMERIC_UNLABELED_WEIGHT = 1.0
TOKEN_UNLABELED_WEIGHT = 0.0
WINDOW_UNLABELED_WEIGHT = 0.0


@with_plan_attributes
class SimMIMClassifier(ClassifierMixin, BaseFineTuned):
    """Classifier pretrained by masked modeling (SimMIM), then fine-tuned with unlabeled rows.

    ``fit`` works in three steps. The network of :class:`SimMIMTransformer` (same layouts,
    encoders, masking and NaN handling) is first trained by masked modeling on every row of
    ``X``, labeled or not. The labels are then spread to the unlabeled rows (marked ``-1``,
    as in :mod:`sklearn.semi_supervised`) over a nearest-neighbour graph of that
    representation (:class:`~sklearn.semi_supervised.LabelSpreading`), each such row weighing
    its spread label's probability times ``unlabeled_weight`` (by default on numeric rows
    only). Last, the network and a head (layer normalisation and a linear map of the
    representation) are trained end to end by cross-entropy, the layers nearest the input at
    the lowest learning rates (``layer_decay``).

    On windows with a kernel bank (``input_shape=(C, L)``, see :class:`SimMIMTransformer`'s
    ``kernel_features``), the head standardises each column of the representation over
    every row of ``X`` and starts from ridge regression of the labeled rows' classes coded
    -1/+1, its penalty chosen by leave-one-out error, as
    :class:`~sklearn.linear_model.RidgeClassifierCV` does. With ``max_iter="auto"`` that
    closed-form head is the fitted one: fine-tuning end to end from it lowered the accuracy
    on the window benchmarks' training splits. Its scores are the ridge's decision values,
    so ``predict_proba`` spreads probability more evenly than a head trained by
    cross-entropy.

    With ``analyzer`` set, ``X`` holds token sequences instead of rows of numbers: an
    iterable of strings (DNA, proteins, text), as scikit-learn's text vectorizers take, or a
    2-D integer array of token ids. The network is then :class:`SimMIMTokenTransformer`'s,
    pretrained by masked token modeling on every sequence, and the head reads its
    representation (the mean and max of every block's output over the tokens).

    As ``-1`` marks unlabeled rows, it cannot be a class: ``fit`` raises on labels such as
    ``{-1, 1}``, which it would read as one class and unlabeled rows; recode them (to
    ``{0, 1}``).

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
        Epochs of masked pretraining (``SimMIMTransformer``'s ``max_iter``, whose
        ``"auto"`` it follows); 0 fine-tunes the network from its random start, which
        measures what pretraining is worth. Pretraining takes ``hidden_width``, ``depth``,
        ``encoder``, ``input_shape``, ``patch_size``, ``mask_ratio``, ``device``,
        ``precision``, ``verbose`` and ``log_dir`` from this estimator and every other
        setting (``n_components``, ``batch_size``, ``learning_rate_init``,
        ``weight_decay``, ``early_stopping``, ...) from :class:`SimMIMTransformer`'s
        defaults. With ``analyzer`` set, pretraining is :class:`SimMIMTokenTransformer`'s
        (whose ``max_iter`` ``"auto"`` it follows), with ``hidden_width``, ``depth``,
        ``encoder``, ``mask_ratio``, ``device``, ``precision``, ``n_threads``, ``verbose``
        and the tokenising parameters from this estimator, its other settings at their
        defaults.
    max_iter : int or "auto", default="auto"
        Maximum number of fine-tuning epochs; ``"auto"`` is about 600 optimisation steps,
        between 5 and 300 epochs, but 0 on windows (``input_shape=(C, L)`` with a kernel
        bank), where the head is solved in closed form and fine-tuning end to end from it
        lowered the accuracy, with few labels and with all (see the class description).
        0 keeps the head at its start without fine-tuning.
    batch_size : int or "auto", default="auto"
        Rows per fine-tuning step; ``"auto"`` is 64 (all fine-tuning rows when fewer).
    learning_rate_init : float, default=1e-3
        Peak fine-tuning learning rate of the head (AdamW, warm-up then cosine decay).
    layer_decay : float in (0, 1], default=0.75
        Each encoder layer below the head learns at this multiple of the rate of the layer
        above it; 1 fine-tunes every layer at ``learning_rate_init``. Lower it when labels
        are few and pretraining should be kept.
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay in fine-tuning; pretraining keeps
        :class:`SimMIMTransformer`'s default, 0.05.
    unlabeled_weight : float or "auto", default="auto"
        Weight of the unlabeled rows' spread labels in fine-tuning, relative to a labeled
        row's; 0 fine-tunes on the labeled rows alone (the unlabeled ones still take part in
        pretraining). ``"auto"`` is 1 for tabular rows and images, and 0 for token
        sequences and windows, where labels spread over the pretrained representation were
        wrong too often: on the splice junctions' training part with 5% of the labels,
        fine-tuning on them lowered the held-out accuracy from 0.829 to 0.740; on the
        window sets' training splits they lowered the closed-form head's accuracy too (see
        How the defaults were chosen).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the fine-tuning loss, as in
        :class:`~sklearn.linear_model.LogisticRegression`: a dict maps class labels to
        weights (classes left out weigh 1).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labeled rows, stop fine-tuning when their
        loss stops improving and keep the best weights. Pretraining is not affected.
    validation_fraction : float, default=0.1
        Fraction of the labeled rows held out with ``early_stopping``.
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
        Torch's CPU threads for pretraining, fine-tuning and prediction, chosen per call as in
        :class:`SimMIMTransformer`; torch's global setting is restored after each call.
    random_state : int, RandomState instance or None, default=None
        Seeds pretraining, the head's initialisation, shuffling and the validation split.
    verbose : int, default=0
        Show progress bars of pretraining and fine-tuning when positive.
    warm_start : bool, default=False
        Make ``fit`` continue fine-tuning the current network (spreading the labels over
        its current representation) instead of pretraining anew.
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
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    unlabeled_weight_ : float
        Weight of the unlabeled rows' spread labels (``unlabeled_weight`` with ``"auto"``
        resolved).
    module_ : torch.nn.Module
        The fine-tuned network: the masked model (``module_.backbone``) and its head.
    n_iter_ : int
        Number of fine-tuning epochs run.
    world_size_ : int
        Number of processes that trained the model together in the last ``fit`` or
        ``partial_fit`` (1 without ``distributed`` training).
    loss_curve_ : list of float
        Fine-tuning loss of each epoch.
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
    SimMIMRegressor : The same for continuous targets.
    SimMIMTransformer : The pretrained representation, for any scikit-learn model.
    sklearn.semi_supervised.SelfTrainingClassifier : Self-training of a given classifier.
    sklearn.neural_network.MLPClassifier : Supervised neural network.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from simmim_sklearn import SimMIMClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> y_few = np.where(np.arange(len(y)) < 100, y, -1)  # 100 labels, the rest unlabeled
    >>> clf = SimMIMClassifier(input_shape=(1, 8, 8), pretrain_iter=2, max_iter=5,
    ...                        random_state=0).fit(X, y_few)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:3]).shape
    (3, 10)
    """

    _classification = True

    _parameter_constraints: dict = {
        **BaseFineTuned._parameter_constraints,
        "unlabeled_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

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
        unlabeled_weight="auto",
        class_weight=None,
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

    def fit(self, X, y):
        """Pretrain on every row of ``X``, then fine-tune on the labeled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Training rows, labeled and unlabeled; NaN marks missing values. With
            ``analyzer`` set: documents, or token ids padded with ``padding_id``.
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for unlabeled rows.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            When ``y`` has ``-1`` and a single class besides, such as the labels
            ``{-1, 1}``: ``-1`` marks unlabeled rows, so recode the labels (to ``{0, 1}``).
        """
        # Overridden for the docstring alone: BaseFineTuned.fit validates and fits.
        return super().fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Fine-tune for one epoch on ``X``, continuing from the current model.

        The first call needs ``classes`` and starts from the network untrained: ``fit``
        pretrains. A call that fails leaves the model of the last successful call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            A chunk of rows (documents or token ids with ``analyzer`` set). The first call
            builds the vocabulary from its documents; later ones read tokens outside it
            as unknown.
        y : array-like of shape (n_samples,)
            Their labels, ``-1`` for unlabeled rows.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem, without ``-1``; needed on the first call only, and
            the same classes (in any order) on later calls that pass it.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            When ``classes`` differ from those of the last call, or contain ``-1``.
        """
        # The checks of sklearn.utils.multiclass._check_partial_fit_first_call, made before
        # anything is set: classes_ is set by a successful call alone.
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (classes is not None and hasattr(self, "classes_")
                and not np.array_equal(self.classes_, np.unique(classes))):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                f"was: {self.classes_!r}"
            )
        return self._partial_fit(X, y, classes)

    @staticmethod
    def _check_targets(y):
        return column_or_1d(y, warn=True)

    def _encode_targets(self, y, reset, classes):
        labeled = ~_is_unlabeled(y)
        check_classification_targets(y[labeled])
        if not labeled.any():
            raise ValueError(
                "y has no labeled rows: every value is -1, which marks an unlabeled row."
            )
        if reset:
            _check_minus_one_is_no_class(y, labeled, classes)
            self.classes_ = np.unique(y[labeled] if classes is None else np.asarray(classes))
        unknown = np.setdiff1d(y[labeled], self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that are not in classes_ "
                f"{self.classes_.tolist()}."
            )
        index = np.full(len(y), UNLABELED)
        index[labeled] = np.searchsorted(self.classes_, y[labeled])
        # Keyed by class label, as in LogisticRegression; an unknown key raises there.
        class_weight = compute_class_weight(
            self.class_weight, classes=self.classes_, y=y[labeled]
        ) if self.class_weight is not None else np.ones(len(self.classes_))
        weights = np.where(labeled, class_weight[index], 0.0)
        return index[:, None].astype(np.float64), weights, labeled

    def _unlabeled_targets(self, network, X, targets, weights, labeled, unlabeled, device):
        """Spread the labels over a nearest-neighbour graph of the network's current
        representation of the labeled and unlabeled rows: each unlabeled row takes its spread
        label, weighing its probability times ``unlabeled_weight_``."""
        self.unlabeled_weight_ = self.unlabeled_weight
        if self.unlabeled_weight == "auto":
            self.unlabeled_weight_ = (
                TOKEN_UNLABELED_WEIGHT if self._coder is not None
                else WINDOW_UNLABELED_WEIGHT if probe_start(self._network_plan)
                else NUMERIC_UNLABELED_WEIGHT)
        if self.unlabeled_weight_ == 0 or not unlabeled.any():
            return targets, weights, labeled
        graph_rows = np.flatnonzero(labeled | unlabeled)
        features = StandardScaler().fit_transform(representation(network, X[graph_rows], device))
        seeds = np.where(labeled[graph_rows], targets[graph_rows, 0], UNLABELED).astype(int)
        spreading = LabelSpreading(
            kernel="knn", n_neighbors=min(PROPAGATION_NEIGHBORS, len(graph_rows) - 1)
        ).fit(features, seeds)
        spread = np.flatnonzero(unlabeled[graph_rows])
        targets, weights = targets.copy(), weights.copy()
        rows = graph_rows[spread]
        targets[rows, 0] = spreading.transduction_[spread]
        weights[rows] = self.unlabeled_weight_ * spreading.label_distributions_[spread].max(axis=1)
        return targets, weights, labeled | unlabeled

    def decision_function(self, X):
        """Class scores of ``X``: the head's logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Rows to score (documents or token ids with ``analyzer`` set).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of each class; for two classes, that of ``classes_[1]`` minus that of
            ``classes_[0]``.
        """
        logits = self._outputs(X).astype(np.float64)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Rows to classify (documents or token ids with ``analyzer`` set).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``.
        """
        return softmax(self._outputs(X).astype(np.float64), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Rows to classify (documents or token ids with ``analyzer`` set).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``.
        """
        logits = torch.from_numpy(self._outputs(X).astype(np.float64))
        return torch.log_softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Predicted class of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or iterable of str
            Rows to classify (documents or token ids with ``analyzer`` set).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of highest probability.
        """
        scores = self._outputs(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _check_minus_one_is_no_class(y, labeled, classes):
    """Raise where ``-1``, which marks unlabeled rows, must be meant as a class: given in
    ``classes``, or in a ``y`` that has a single class besides (the labels ``{-1, 1}``)."""
    recode = "if -1 is a class, recode the labels (for example -1 to 0)."
    if classes is not None and _is_unlabeled(np.asarray(classes)).any():
        raise ValueError(f"classes contains -1, which marks unlabeled rows; {recode}")
    if classes is None and not labeled.all() and len(np.unique(y[labeled])) < 2:
        raise ValueError(
            f"y has a single class, {np.unique(y[labeled]).tolist()}, besides -1, which marks "
            f"unlabeled rows (as in sklearn.semi_supervised); {recode}"
        )


def _is_unlabeled(y):
    """Rows marked ``-1`` (compared element-wise, so string labels never match)."""
    if y.dtype.kind in "biuf":
        return y == UNLABELED
    return np.array([isinstance(v, (int, np.integer)) and v == UNLABELED for v in y],
                    dtype=bool)
