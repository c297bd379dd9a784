"""Parameters, fitting and scoring shared by the SimMIM estimators."""

import copy
import math
import os
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._data import ChunkedRows, check_rows, is_out_of_core, row_blocks, training_rows
from ._device import inference_device, resolve_device
from ._layout import resolve_input_shape, resolve_patch_size
from ._tensorboard import logged_rows, tensorboard_log
from .nn._encoders import ENCODERS, conv_dilations
from .nn._inference import inference_function
from .nn._network import SimMIMNetwork
from .nn._objectives import mask_span
from .nn._patching import token_grid
from .nn._training import TrainingConfig, evaluation_loss, train

# max_iter="auto": about this many optimisation steps, within the epoch bounds below, so that
# training cost follows the amount of data rather than a fixed number of epochs.
AUTO_STEPS = 2000
AUTO_MIN_EPOCHS = 5
AUTO_MAX_EPOCHS = 500
AUTO_BATCH_SIZE = 256
# batch_size="auto" with the self-supervised terms on (nn._objectives): at least this many rows,
# and more on large sets (see _resolve_batch_size).
SELF_SUPERVISED_MIN_BATCH = 16
# Encoders over patch tokens ("conv", "transformer") cost in proportion to the tokens they see
# and the blocks they pass through: "auto" also caps their steps so that
# steps x batch rows x tokens x blocks stays within this budget.
AUTO_TOKEN_BUDGET = 4_000_000
TOKEN_ENCODERS = ("conv", "transformer")
# The budget counts window tokens; "conv" spends 3 x 3 + 1 taps on an image token against
# 3 + 1 on a window token.
CONV_IMAGE_TOKEN_COST = 2.5
# PCA that initialises the linear maps looks at no more rows than this.
PCA_INIT_MAX_ROWS = 20_000
# n_components="auto": this many components for tabular rows and imputation. Images get as
# many as the encoder pools; windows (scaled per channel) get WINDOW_LINEAR_COMPONENTS with a
# PCA-started linear path, followed in transform by the encoder blocks' maxima: chosen by
# train-split CV (docs/defaults.md).
AUTO_COMPONENTS = 16
WINDOW_LINEAR_COMPONENTS = 8
# depth="auto": 2 residual blocks, except for "conv" on windows, which gets one block per
# doubling of the dilation until the dilations span the window, up to this many.
AUTO_DEPTH = 2
WINDOW_MAX_DEPTH = 6
# consistency_weight="auto": this weight on images, none on tabular rows and windows
# (docs/defaults.md).
IMAGE_CONSISTENCY_WEIGHT = 1.0
# Rows per block in transform, inverse_transform and score: bounds their extra memory.
INFERENCE_BATCH_SIZE = 4096


def store_parameters(estimator, arguments):
    """The body of a public estimator's ``__init__``: store each of its ``arguments`` (its
    ``locals()``) under the argument's name, as scikit-learn's ``get_params`` expects. The
    signature itself, which ``get_params`` reads, is written out in each estimator."""
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)


class TorchModelMixin:
    """What the estimators holding a torch model (``module_``) share: the model pickles on the
    CPU, and NaN in ``X`` is allowed (a hidden token)."""

    def __getstate__(self):
        # The model is pickled on the CPU so that it loads on machines without the training
        # device.
        state = super().__getstate__()
        if "module_" in state:
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
            state["_optimizer_state"] = _to_cpu(state["_optimizer_state"])
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class BaseSimMIM(TorchModelMixin, BaseEstimator):
    """Masked-modeling estimator core: parameters, ``fit``, ``partial_fit`` and ``score``."""

    # The network's linear representation: a fixed linear map of the visible entries, or
    # (True) the factor model's posterior mean given them (see SimMIMNetwork).
    _conditional_linear = False

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "hidden_width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "encoder": [StrOptions({"auto", *ENCODERS})],
        "input_shape": [None, tuple, list],
        "patch_size": [Interval(Integral, 1, None, closed="left"), tuple, list,
                       StrOptions({"auto"})],
        "mask_ratio": [Interval(Real, 0, 1, closed="neither")],
        "unmasked_fraction": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions({"l1", "l2"})],
        "visible_loss_weight": [Interval(Real, 0, None, closed="left")],
        "consistency_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "log_dir": [None, str, os.PathLike],
    }

    # -- fitting ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the masked model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; NaN marks missing values, which are hidden and never scored.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continuing = self.warm_start and hasattr(self, "module_")
        self._train(X, continuing=continuing, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current model.

        The first call sets the scaling and the layout from its rows. A call that fails
        leaves the model of the last successful call in place.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        self._train(X, continuing=hasattr(self, "module_"), incremental=True)
        return self

    def _train(self, X, continuing, incremental):
        with restored_on_error(self):
            self._train_or_raise(X, continuing, incremental)

    def _train_or_raise(self, X, continuing, incremental):
        X = self._validate_training_rows(X, reset=not continuing)
        device = resolve_device(self.device)
        rng = self._rng_ if continuing else check_random_state(self.random_state)
        train_indices, val_indices = validation_split(self, len(X), rng, incremental)
        if continuing:
            network = copy.deepcopy(self.module_)
            optimizer_state = self._optimizer_state if incremental else None
        else:
            network = self._new_network(X, rng)
            optimizer_state = None
        self._configure_transform(network)
        network.to(device)

        rows = training_rows(X, device, train_indices)
        val_rows = None if val_indices is None else training_rows(X, device, val_indices)
        config = self._training_config(
            len(rows), incremental, network.patcher.grid, len(network.encoder.blocks)
        )
        generator = torch.Generator(device=device).manual_seed(int(rng.randint(2**31 - 1)))
        first_epoch = self.n_iter_ if continuing and incremental else 0
        shown_rows = None if self.log_dir is None else logged_rows(network, X)
        with tensorboard_log(self.log_dir, "pretrain", first_epoch, shown_rows,
                             self.mask_ratio) as on_epoch:
            history = train(network, rows, config, generator, device, val_rows,
                            optimizer_state, on_epoch)

        self.module_ = network
        self._rng_ = rng
        self._optimizer_state = history.optimizer_state
        record_history(self, history, incremental and continuing)

    def _validate_training_rows(self, X, reset):
        """``validate_data`` for in-memory ``X``; for out-of-core ``X`` (a memmap, HDF5...)
        only its shape and feature names, as its values are checked chunk by chunk when read.
        """
        if not is_out_of_core(X):
            return validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32],
                ensure_all_finite="allow-nan", ensure_min_samples=1,
            )
        if len(X.shape) != 2 or X.shape[0] < 1:
            raise ValueError(
                f"X must be a 2-D array with at least one row; got shape {tuple(X.shape)}."
            )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _initialised(self, X):
        """Validate the parameters and ``X``, set the fitted layout and scaling from ``X`` and
        return the network untrained: the start of estimators that train it by another
        objective (``SimMIMClassifier`` and ``SimMIMRegressor`` with ``pretrain_iter=0``)."""
        self._validate_params()
        X = self._validate_training_rows(X, reset=True)
        network = self._new_network(X, check_random_state(self.random_state))
        self._configure_transform(network)
        return network

    def _new_network(self, X, rng):
        shape = resolve_input_shape(self.input_shape, X.shape[1])
        patch = resolve_patch_size(self.patch_size, shape, tabular=self.input_shape is None)
        encoder = self.encoder
        if encoder == "auto":
            # Windows and images: "conv" matched "transformer" in train-split CV at a
            # fraction of the cost; tabular features have no order to convolve over.
            encoder = "mlp" if self.input_shape is None else "conv"
        image = len(shape) == 3
        window = len(shape) == 2 and self.input_shape is not None
        mean, scale = _scaling(X, channels=shape[0] if image or window else None)
        # Imputation always keeps its linear part: it fills gaps in images too.
        linear = "conditional" if self._conditional_linear else (None if image else "pca")
        grid = token_grid(shape, patch)
        depth = self._resolve_depth(encoder, window, grid)
        n_components, n_linear = self._component_split(
            window=window and linear == "pca", image=image and linear is None,
            encoded_features=(2 if encoder in TOKEN_ENCODERS else 1) * self.hidden_width,
            block_maxima=encoder in TOKEN_ENCODERS,
        )
        seed = int(rng.randint(2**31 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = SimMIMNetwork(
                shape, patch, encoder, n_components, self.hidden_width, depth,
                center=mean, scale=scale, linear=linear, n_linear=n_linear,
                # Windows hide spans of tokens; tabular rows, images and imputation single ones.
                mask_span=mask_span(grid) if window and linear == "pca" else 1,
            )
        first_rows = check_rows(X[:PCA_INIT_MAX_ROWS])
        network.init_linear_maps(
            *_principal_components((first_rows - mean) / scale, n_linear, seed)
        )
        self.input_shape_, self.patch_size_, self.encoder_ = shape, patch, encoder
        self.depth_, self.n_components_ = depth, n_components
        self.mean_, self.scale_ = mean, scale
        return network

    def _resolve_depth(self, encoder, window, grid):
        """Number of encoder blocks (``depth="auto"`` resolved) over the token ``grid``."""
        if self.depth != "auto":
            return self.depth
        if not (window and encoder == "conv"):
            return AUTO_DEPTH
        return min(WINDOW_MAX_DEPTH, max(AUTO_DEPTH, len(conv_dilations(grid))))

    def _component_split(self, window, image, encoded_features, block_maxima):
        """Width of the representation and how many of its components have a linear path.

        ``window``: a window with a PCA-started linear path; ``image``: an image whose
        representation is the encoder's alone; ``encoded_features``: how many features the
        encoder pools; ``block_maxima``: whether ``transform`` appends every encoder
        block's maxima. Windows keep at most ``WINDOW_LINEAR_COMPONENTS`` linear
        components: enough for ``inverse_transform(transform(X))`` to stay close to ``X``;
        with ``"auto"`` and block maxima they have no others, as those maxima hold the local
        patterns, wherever they occur, that PCA of a window misses; without them the pooled
        features are projected to as many components. On images ``"auto"`` projects the
        pooled features to as many components.
        """
        if self.n_components != "auto":
            n_linear = (min(self.n_components, WINDOW_LINEAR_COMPONENTS) if window
                        else self.n_components)
            return self.n_components, n_linear
        if window:
            extra = 0 if block_maxima else encoded_features
            return WINDOW_LINEAR_COMPONENTS + extra, WINDOW_LINEAR_COMPONENTS
        if image:
            return encoded_features, encoded_features
        return AUTO_COMPONENTS, AUTO_COMPONENTS

    def _training_config(self, n_rows, incremental, grid, n_blocks):
        weights = self._self_supervised_weights(grid)
        batch_size = min(self._resolve_batch_size(n_rows, any(weights.values())), n_rows)
        if incremental:
            n_epochs = 1
        elif self.max_iter == "auto":
            steps = AUTO_STEPS
            if self.encoder_ in TOKEN_ENCODERS:
                tokens = batch_size * math.prod(grid) * max(1, n_blocks)
                if self.encoder_ == "conv" and len(grid) == 2:
                    tokens *= CONV_IMAGE_TOKEN_COST
                steps = min(steps, int(AUTO_TOKEN_BUDGET // tokens))
            steps_per_epoch = math.ceil(n_rows / batch_size)
            n_epochs = min(AUTO_MAX_EPOCHS,
                           max(AUTO_MIN_EPOCHS, math.ceil(steps / steps_per_epoch)))
        else:
            n_epochs = self.max_iter
        return TrainingConfig(
            mask_ratio=self.mask_ratio, unmasked_fraction=self.unmasked_fraction,
            loss=self.loss,
            visible_loss_weight=self.visible_loss_weight,
            consistency_weight=self._resolve_consistency_weight(grid),
            **weights, batch_size=batch_size,
            learning_rate=self.learning_rate_init, weight_decay=self.weight_decay,
            n_epochs=n_epochs, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            verbose=self.verbose, precision=self.precision, schedule=not incremental,
        )

    def _configure_transform(self, network):
        """Set the options of ``network`` that change ``transform`` only (see
        ``SimMIMNetwork.forward``); only ``SimMIMTransformer`` offers any."""

    def _resolve_batch_size(self, n_rows, self_supervised):
        """``batch_size`` with ``"auto"`` resolved: up to ``AUTO_BATCH_SIZE`` rows, and with
        the self-supervised terms about a 64th of the rows, at least
        ``SELF_SUPERVISED_MIN_BATCH``: on small sets, many small steps let those terms see
        each row in many crops and masks, where few whole-set steps would not."""
        if self.batch_size != "auto":
            return self.batch_size
        if not self_supervised:
            return AUTO_BATCH_SIZE
        return min(AUTO_BATCH_SIZE, max(SELF_SUPERVISED_MIN_BATCH, n_rows // 64))

    def _self_supervised_weights(self, grid):
        """``latent_weight`` and ``view_weight`` of the training (``nn._objectives``), resolved
        for the token ``grid``; only ``SimMIMTransformer`` trains with those terms."""
        return {"latent_weight": 0.0, "view_weight": 0.0}

    def _resolve_consistency_weight(self, grid):
        """``consistency_weight`` with ``"auto"`` resolved for the token ``grid`` (2-D on
        images only)."""
        if self.consistency_weight != "auto":
            return self.consistency_weight
        return IMAGE_CONSISTENCY_WEIGHT if len(grid) == 2 else 0.0

    # -- scoring and batched inference -----------------------------------------------------

    def score(self, X, y=None):
        """Negative masked reconstruction error of ``X`` (higher is better).

        Hidden tokens are chosen by a fixed evaluation mask at ``mask_ratio``, so the score
        is deterministic and unsupervised model selection (``GridSearchCV``) is repeatable.
        The error is the mean ``loss`` over hidden, observed entries, in standardised units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Negative mean reconstruction error of the hidden entries.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64],
                          ensure_all_finite="allow-nan")
        device = inference_device(self.device)
        network = self.module_.to(device)
        return -evaluation_loss(
            network, ChunkedRows(X, device), self.mask_ratio, self.loss, INFERENCE_BATCH_SIZE,
            device,
        )

    def _map_rows(self, method, X, width):
        """Apply ``module_.<method>`` to ``X`` block by block, computing in ``X``'s dtype
        (through its folded inference form where there is one, see ``nn._inference``)."""
        device = inference_device(self.device)
        network = in_dtype_of(X, self.module_.to(device))
        return map_row_blocks(inference_function(network, method), X, width, device)


@contextmanager
def restored_on_error(estimator):
    """Leave ``estimator`` exactly as it was when the block raises: unfitted, or the last good
    model (``validate_data`` sets ``n_features_in_`` before training can fail)."""
    state = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


def validation_split(estimator, n_rows, rng, incremental):
    """Sorted indices of the training and validation rows among ``n_rows`` by the
    estimator's ``early_stopping`` and ``validation_fraction``; ``None, None`` for all rows
    and no validation."""
    if incremental or not estimator.early_stopping:
        return None, None
    n_val = max(1, round(estimator.validation_fraction * n_rows))
    if n_rows - n_val < 1:
        raise ValueError(
            f"early_stopping=True needs at least 2 samples to hold out a validation "
            f"set; got {n_rows} sample."
        )
    order = rng.permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def record_history(estimator, history, accumulate):
    """Set the fitted training record (``n_iter_``, ``loss_curve_``, ``best_loss_``, and the
    validation scores where there were any) from a ``TrainingHistory``; ``accumulate`` adds
    to the record of earlier calls (``partial_fit``)."""
    if accumulate:
        estimator.n_iter_ += history.n_epochs
        estimator.loss_curve_ = estimator.loss_curve_ + history.loss_curve
    else:
        estimator.n_iter_ = history.n_epochs
        estimator.loss_curve_ = history.loss_curve
    estimator.best_loss_ = min(estimator.loss_curve_)
    if history.validation_scores:
        estimator.validation_scores_ = history.validation_scores
        estimator.best_validation_score_ = max(history.validation_scores)
    else:
        for name in ("validation_scores_", "best_validation_score_"):
            estimator.__dict__.pop(name, None)


def in_dtype_of(X, network):
    """``network``, or a float64 copy of it for float64 ``X``: inference then computes in
    ``X``'s precision."""
    if X.dtype == np.float64:
        return copy.deepcopy(network).to(torch.float64)
    return network


@torch.inference_mode()
def map_row_blocks(apply, X, width, device):
    """``apply`` (rows to ``width`` outputs, in ``X``'s dtype) on ``X`` block by block:
    bounds the extra memory of inference."""
    out = np.empty((X.shape[0], width), dtype=X.dtype)
    for start in range(0, X.shape[0], INFERENCE_BATCH_SIZE):
        block = X[start:start + INFERENCE_BATCH_SIZE]
        # Torch shares writable memory as is; read-only blocks (memmaps) are copied.
        if not block.flags.writeable:
            block = block.copy()
        block = torch.from_numpy(block).to(device)
        out[start:start + INFERENCE_BATCH_SIZE] = apply(block).cpu().numpy()
    return out


def _scaling(X, channels):
    """Mean and standard deviation of each feature (``channels=None``) or of each channel,
    repeated over the channel's features, for the internal standardisation.

    Windows and images are scaled per channel: every position of a channel measures the same
    quantity, and per-position scaling would blow up near-constant pixels (the blank border
    of a digit) and erase the differences in level and spread between a window's parts.
    Fitted block by block: StandardScaler.fit would hold float64 copies of all of X.
    """
    scaler = StandardScaler()
    for block in row_blocks(X):
        if channels is not None:
            block = block.reshape(len(block), channels, -1).transpose(0, 2, 1)
            block = block.reshape(-1, channels)
        scaler.partial_fit(block)
    if channels is None:
        return scaler.mean_, scaler.scale_
    repeats = X.shape[1] // channels
    return np.repeat(scaler.mean_, repeats), np.repeat(scaler.scale_, repeats)


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_cpu(item) for item in value]
    return value


def _principal_components(X_std, n_components, seed):
    """PCA of the standardised rows that starts the linear maps."""
    X_std = np.nan_to_num(X_std, nan=0.0, copy=False)
    n_components = min(n_components, *X_std.shape)
    pca = PCA(n_components=n_components, random_state=seed).fit(X_std)
    return pca.components_, pca.mean_, pca.explained_variance_, pca.noise_variance_
