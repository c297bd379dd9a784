"""Parameters, fitting and scoring shared by the SimMIM estimators."""

import copy
import os
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn import config_context
from sklearn.base import BaseEstimator, _fit_context
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._data import (
    ChunkedRows,
    check_flat_rows,
    is_out_of_core,
    row_blocks,
    training_rows,
    validate_rows,
)
from ._distributed import (
    check_same_data,
    combined_moments,
    failures_reported,
    resolve_world,
    shards,
    shared_random_state,
)
from ._plan import Data, make_plan, publish, published, threads
from ._tensorboard import logged_rows, tensorboard_log
from ._threads import torch_threads
from .nn._encoders import ENCODERS
from .nn._inference import inference_function
from .nn._network import SimMIMNetwork, inference_copy
from .nn._parallel import SINGLE, share_bounds
from .nn._training import evaluation_loss, train

# PCA that initialises the linear maps looks at no more rows than this.
PCA_INIT_MAX_ROWS = 20_000
# Rows per block in transform, inverse_transform and score: bounds their extra memory.
INFERENCE_BATCH_SIZE = 4096
# The plan's values that every masked model publishes, whether or not it has a parameter of
# that name.
LAYOUT_VALUES = ("input_shape", "patch_size", "encoder", "depth", "n_components", "mask_span")


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

    # What the model is for (``_plan.make_plan``'s purpose): imputation gives the network
    # the factor model's linear part (see SimMIMNetwork).
    _purpose = "representation"

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
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "log_dir": [None, str, os.PathLike],
        "distributed": [StrOptions({"auto"}), "boolean"],
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
        world = resolve_world(self.distributed)
        with restored_on_error(self), failures_reported(world):
            self._train_or_raise(X, continuing, incremental, world)

    def _train_or_raise(self, X, continuing, incremental, world):
        X = self._validate_training_rows(X, reset=not continuing)
        check_same_data(X, world)
        rng = self._rng_ if continuing else shared_random_state(self.random_state, world)
        train_indices, val_indices = validation_split(self, len(X), rng, incremental)
        n_rows = len(X) if train_indices is None else len(train_indices)
        # A continued model keeps its fitted network; only the training follows the
        # parameters as they are now.
        fitted = self._plan.network if continuing else None
        params = self.get_params()
        plan = make_plan(params, Data(n_rows, X.shape[1], incremental, fitted), self._purpose)
        with torch_threads(plan.n_threads):
            if continuing:
                network = copy.deepcopy(self.module_)
                optimizer_state = self._optimizer_state if incremental else None
            else:
                network, self.mean_, self.scale_ = new_network(plan.network, X, rng,
                                                               plan.world)
                optimizer_state = None
            network.average_shifts = plan.average_shifts
            first_epoch = self.n_iter_ if continuing and incremental else 0
            history = train_network(network, X, plan, rng, train_indices, val_indices,
                                    optimizer_state, self.log_dir, first_epoch)
        self.module_ = network
        self._plan = plan
        self._rng_ = rng
        self._optimizer_state = history.optimizer_state
        network_values, training_values = published(plan)
        values = {**network_values, **training_values}
        publish(self, {name: value for name, value in values.items()
                       if name in params or name in LAYOUT_VALUES})
        record_history(self, history, incremental and continuing)

    def _validate_training_rows(self, X, reset):
        """``validate_rows`` for in-memory ``X``; for out-of-core ``X`` (a memmap, HDF5...)
        only its shape and feature names, as its values are checked chunk by chunk when read.
        Either must have ``min_training_rows`` rows."""
        min_rows = min_training_rows(reset)
        if not is_out_of_core(X):
            return validate_rows(
                self, X, reset=reset, dtype=[np.float64, np.float32],
                ensure_all_finite="allow-nan", ensure_min_samples=min_rows,
            )
        check_flat_rows(X.shape)
        if len(X.shape) != 2:
            raise ValueError(f"X must be a 2-D array; got shape {tuple(X.shape)}.")
        if X.shape[0] < min_rows:
            # validate_data's own message for in-memory rows.
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) (shape={tuple(X.shape)}) while a "
                f"minimum of {min_rows} is required by {type(self).__name__}."
            )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    # -- scoring and batched inference -----------------------------------------------------

    def score(self, X, y=None):
        """Negative masked training objective of ``X`` (higher is better).

        Hidden tokens are chosen by a fixed evaluation mask at the fitted ``mask_ratio``, so
        the score is deterministic and unsupervised model selection (``GridSearchCV``) is
        repeatable. The objective is the one that trains the model: the mean ``loss`` over
        hidden, observed entries, in standardised units, plus the consistency, latent and
        view terms at their fitted weights (on windows the latent term is what trains the
        encoder).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Negative masked objective.
        """
        check_is_fitted(self)
        X = self._scored_rows(X)
        network = self.module_
        device = network.center.device
        with self._inference_threads(len(X)):
            return -evaluation_loss(network, ChunkedRows(X, device), self._plan.training,
                                    INFERENCE_BATCH_SIZE, device)

    def _inference_threads(self, n_rows):
        """Torch threads for inference on ``n_rows`` rows, in blocks, as the threads rule
        says for this call (``n_threads``)."""
        return torch_threads(threads(self.n_threads, self._plan.network,
                                     min(n_rows, INFERENCE_BATCH_SIZE)))

    def _scored_rows(self, X):
        """``X`` as ``score`` reads it: validated, NaN marking the hidden entries."""
        return validate_rows(self, X, reset=False, dtype=[np.float32, np.float64],
                             ensure_all_finite="allow-nan")

    def _map_rows(self, method, X, width):
        """Apply ``module_.<method>`` to ``X`` block by block, computing in ``X``'s dtype
        (through its folded inference form where there is one, see ``nn._inference``)."""
        with self._inference_threads(len(X)):
            network = in_dtype_of(X, self.module_)
            return map_row_blocks(inference_function(network, method), X, width,
                                  network.center.device)


def min_training_rows(reset):
    """The fewest rows a fit may train on: 2 where it starts a model (``reset``), whose
    standardisation and PCA start need a spread that one row does not have; 1 where it
    continues one, as IncrementalPCA takes later ``partial_fit`` batches of any size."""
    return 2 if reset else 1


def new_network(plan, X, rng, world=SINGLE):
    """A ``SimMIMNetwork`` built by the network ``plan`` for rows ``X``, its linear maps started
    at the PCA of ``X`` (a seed drawn from ``rng`` seeds both), with the mean and scale of its
    internal standardisation (over several processes, ``world``, from their shares of
    ``X``)."""
    shape = plan.input_shape
    per_channel = plan.layout != "tabular"
    mean, scale = _scaling(X, shape[0] if per_channel else None, world)
    seed = int(rng.randint(2**31 - 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = SimMIMNetwork(
            shape, plan.patch_size, plan.encoder, plan.n_components, plan.hidden_width,
            plan.depth, center=mean, scale=scale, linear=plan.linear,
            n_linear=plan.n_linear, mask_span=plan.mask_span,
            self_supervised=plan.self_supervised, kernel_features=plan.kernel_features,
            kernel_seed=seed,
        )
    # Images have no linear path of raw values, but their linear decoder starts at PCA too.
    pca_width = plan.n_components if plan.linear is None else plan.n_linear
    first_rows = next(row_blocks(X, PCA_INIT_MAX_ROWS))
    standardized = (first_rows - mean) / scale
    network.init_linear_maps(*_principal_components(standardized, pca_width, seed))
    if network.kernel_bank is not None:
        network.kernel_bank.fit_biases(standardized.reshape(len(standardized), *shape))
    return network, mean, scale


def train_network(network, X, plan, rng, train_indices=None, val_indices=None,
                  optimizer_state=None, log_dir=None, first_epoch=0):
    """Train ``network`` in place by masked modeling on the rows of ``X`` at ``train_indices``
    (all rows if None), as ``plan`` says; the rows at ``val_indices`` score early stopping. A
    seed drawn from ``rng`` seeds the masks and the shuffling. Over several processes
    (``plan.world``) each reads and trains on its share of the rows, and only rank 0 writes
    the log. Returns the ``TrainingHistory``."""
    device = plan.device
    network.to(device)
    shard, generator = shards(int(rng.randint(2**31 - 1)), plan.world, device)
    # Validation is not shuffled: each process scores its contiguous share.
    val_shard = None if shard is None else replace(shard, generator=None)
    rows = training_rows(X, device, train_indices, shard)
    val_rows = None if val_indices is None else training_rows(X, device, val_indices,
                                                              val_shard)
    if plan.world.rank != 0:
        log_dir = None
    shown_rows = None if log_dir is None else logged_rows(network, X)
    with tensorboard_log(log_dir, "pretrain", first_epoch, shown_rows,
                         plan.training.mask_ratio) as on_epoch:
        return train(network, rows, plan.training, generator, device, val_rows,
                     optimizer_state, on_epoch)


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
    """Set the fitted training record (``n_iter_``, ``loss_curve_``, ``best_loss_``, the
    validation scores where there were any, and ``world_size_``, the processes that trained)
    from a ``TrainingHistory``; ``accumulate`` adds to the record of earlier calls
    (``partial_fit``)."""
    estimator.world_size_ = history.world_size
    if accumulate:
        estimator.n_iter_ += history.n_epochs
        estimator.loss_curve_ = estimator.loss_curve_ + history.loss_curve
    else:
        estimator.n_iter_ = history.n_epochs
        estimator.loss_curve_ = history.loss_curve
    # No epoch at all (max_iter=0 fine-tuning) leaves no training loss to report.
    estimator.best_loss_ = min(estimator.loss_curve_, default=None)
    if history.validation_scores:
        estimator.validation_scores_ = history.validation_scores
        estimator.best_validation_score_ = max(history.validation_scores)
    else:
        for name in ("validation_scores_", "best_validation_score_"):
            estimator.__dict__.pop(name, None)


def in_dtype_of(X, network):
    """``network``, or a float64 copy of what inference reads of it for float64 ``X``:
    inference then computes in ``X``'s precision, and the fitted network is left as it is."""
    if X.dtype == np.float64:
        return inference_copy(network, torch.float64)
    return network


@torch.inference_mode()
def map_row_blocks(apply, X, width, device, dtype=None):
    """``apply`` (rows to ``width`` outputs, in ``X``'s dtype unless ``dtype`` is given) on
    ``X`` block by block: bounds the extra memory of inference."""
    out = np.empty((X.shape[0], width), dtype=X.dtype if dtype is None else dtype)
    for start in range(0, X.shape[0], INFERENCE_BATCH_SIZE):
        block = X[start:start + INFERENCE_BATCH_SIZE]
        # Torch shares writable memory as is; read-only blocks (memmaps) are copied.
        if not block.flags.writeable:
            block = block.copy()
        block = torch.from_numpy(block).to(device)
        out[start:start + INFERENCE_BATCH_SIZE] = apply(block).cpu().numpy()
    return out


def _scaling(X, channels, world=SINGLE):
    """Mean and standard deviation of each feature (``channels=None``) or of each channel,
    repeated over the channel's features, for the internal standardisation.

    Windows and images are scaled per channel: every position of a channel measures the same
    quantity, and per-position scaling would blow up near-constant pixels (the blank border
    of a digit) and erase the differences in level and spread between a window's parts.
    Fitted block by block: StandardScaler.fit would hold float64 copies of all of X. Over
    several processes (``world``), each reads its contiguous share of the rows and the
    processes combine their moments.
    """
    scaler = StandardScaler()
    start, stop = share_bounds(len(X), world)
    for block in row_blocks(X, start=start, stop=stop):
        if channels is not None:
            block = block.reshape(len(block), channels, -1).transpose(0, 2, 1)
            block = block.reshape(-1, channels)
        # row_blocks has validated the rows: the scaler need not scan them again.
        with config_context(assume_finite=True):
            scaler.partial_fit(block)
    if world.distributed:
        # A share without rows fitted nothing: it adds no count.
        width = X.shape[1] if channels is None else channels
        moments = ((scaler.n_samples_seen_, scaler.mean_, scaler.var_) if stop > start
                   else (0, np.full(width, np.nan), np.full(width, np.nan)))
        mean, scale = combined_moments(*moments, world)
    else:
        mean, scale = scaler.mean_, scaler.scale_
    if channels is None:
        return mean, scale
    repeats = X.shape[1] // channels
    return np.repeat(mean, repeats), np.repeat(scale, repeats)


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
    with config_context(assume_finite=True):  # standardised from validated rows
        pca = PCA(n_components=n_components, random_state=seed).fit(X_std)
    return pca.components_, pca.mean_, pca.explained_variance_, pca.noise_variance_
