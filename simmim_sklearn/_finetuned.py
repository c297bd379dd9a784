"""Pretraining by masked modeling, then fine-tuning: what SimMIMClassifier and SimMIMRegressor
share."""

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    BaseSimMIM,
    TorchModelMixin,
    in_dtype_of,
    map_row_blocks,
    record_history,
    restored_on_error,
    validation_split,
)
from ._data import TaskRows
from ._device import inference_device, resolve_device
from ._tensorboard import tensorboard_log
from ._transformer import SimMIMTransformer
from .nn._finetuning import TaskNetwork, finetune
from .nn._training import LoopConfig

# max_iter="auto": about this many fine-tuning steps, within these epoch bounds.
AUTO_FINETUNE_STEPS = 600
AUTO_FINETUNE_MIN_EPOCHS = 5
AUTO_FINETUNE_MAX_EPOCHS = 300
AUTO_FINETUNE_BATCH_SIZE = 64
# What the pretraining shares with SimMIMTransformer, passed on to it as is.
PRETRAINING_PARAMETERS = ("hidden_width", "depth", "encoder", "input_shape", "patch_size",
                          "mask_ratio", "device", "precision", "verbose", "log_dir")


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
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "layer_decay": [Interval(Real, 0, 1, closed="right")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain on every row of ``X``, then fine-tune on the rows that have a target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, labeled and unlabeled; NaN marks missing values.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; see the class description for how unlabeled rows are marked.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continuing = self.warm_start and hasattr(self, "module_")
        with restored_on_error(self):
            self._fit(X, y, continuing=continuing, incremental=False)
        return self

    def _partial_fit(self, X, y, classes=None):
        """One epoch of fine-tuning at a constant learning rate on ``X``, continuing from the
        current model; a first call starts from the network untrained (``fit`` pretrains)."""
        with restored_on_error(self):
            self._fit(X, y, continuing=hasattr(self, "module_"), incremental=True,
                      classes=classes)
        return self

    def _fit(self, X, y, continuing, incremental, classes=None):
        X, y = self._validate_rows_and_targets(X, y, reset=not continuing)
        targets, weights, labeled = self._encode_targets(y, reset=not continuing,
                                                         classes=classes)
        device = resolve_device(self.device)
        rng = self._rng_ if continuing else check_random_state(self.random_state)
        labeled_rows = np.flatnonzero(labeled)
        _, val_labeled = validation_split(self, len(labeled_rows), rng, incremental)
        if continuing:
            network = copy.deepcopy(self.module_)
            optimizer_state = self._optimizer_state if incremental else None
        else:
            backbone = self._pretrained_network(X, rng, pretrain=not incremental)
            n_outputs = len(self.classes_) if self._classification else targets.shape[1]
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                network = TaskNetwork(backbone, n_outputs)
            optimizer_state = None
        network.to(device)

        # The validation rows are labeled rows held out of fine-tuning altogether.
        held_out = np.zeros(len(X), dtype=bool)
        val_rows = None
        if val_labeled is not None:
            held_out[labeled_rows[val_labeled]] = True
            val_rows = self._task_rows(X, targets, weights, np.flatnonzero(held_out), device)
        targets, weights, fine_tuned = self._unlabeled_targets(
            network, X, targets, weights, labeled & ~held_out, ~labeled, device)
        rows = self._task_rows(X, targets, weights, np.flatnonzero(fine_tuned), device)
        config = self._loop_config(len(rows), incremental)
        generator = torch.Generator(device=device).manual_seed(int(rng.randint(2**31 - 1)))
        first_epoch = self.n_iter_ if continuing and incremental else 0
        with tensorboard_log(self.log_dir, "finetune", first_epoch) as on_epoch:
            history = finetune(network, rows, self._classification,
                               self.layer_decay, config, generator, device, val_rows,
                               optimizer_state, on_epoch)
        self.module_ = network
        self._rng_ = rng
        self._optimizer_state = history.optimizer_state
        record_history(self, history, incremental and continuing)

    def _pretrained_network(self, X, rng, pretrain):
        """The masked model's network: a ``SimMIMTransformer`` with this estimator's shared
        parameters fitted on every row of ``X`` (``pretrain_iter`` epochs), or untrained
        where ``pretrain_iter=0`` or ``pretrain`` is false; sets the fitted layout."""
        transformer = SimMIMTransformer(
            **{name: getattr(self, name) for name in PRETRAINING_PARAMETERS},
            # pretrain_iter=0 never trains it: any valid max_iter will do.
            max_iter=self.pretrain_iter or "auto", random_state=int(rng.randint(2**31 - 1)),
        )
        if self.pretrain_iter == 0 or not pretrain:
            network = transformer._initialised(X)
            self.n_pretrain_iter_, self.pretrain_loss_curve_ = 0, []
        else:
            network = transformer.fit(X).module_
            self.n_pretrain_iter_ = transformer.n_iter_
            self.pretrain_loss_curve_ = transformer.loss_curve_
        for name in ("input_shape_", "patch_size_", "encoder_", "depth_"):
            setattr(self, name, getattr(transformer, name))
        return network

    def _validate_rows_and_targets(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan", ensure_min_samples=1)
        y = self._check_targets(y)
        if len(y) != len(X):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(X)} and {len(y)}."
            )
        return X, y

    def _unlabeled_targets(self, network, X, targets, weights, labeled, unlabeled, device):
        """Targets, weights and the flags of the rows to fine-tune on: by default the
        labeled rows only (unlabeled ones take part in pretraining)."""
        return targets, weights, labeled

    @staticmethod
    def _task_rows(X, targets, weights, indices, device):
        """The fine-tuning rows at ``indices``: each row, its targets and its weight."""
        return TaskRows(X[indices], targets[indices], weights[indices], device)

    def _loop_config(self, n_rows, incremental):
        batch_size = min(AUTO_FINETUNE_BATCH_SIZE if self.batch_size == "auto"
                         else self.batch_size, n_rows)
        if incremental:
            n_epochs = 1
        elif self.max_iter == "auto":
            steps_per_epoch = math.ceil(n_rows / batch_size)
            n_epochs = min(AUTO_FINETUNE_MAX_EPOCHS, max(
                AUTO_FINETUNE_MIN_EPOCHS, math.ceil(AUTO_FINETUNE_STEPS / steps_per_epoch)))
        else:
            n_epochs = self.max_iter
        return LoopConfig(
            batch_size=batch_size, learning_rate=self.learning_rate_init,
            weight_decay=self.weight_decay, n_epochs=n_epochs, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, verbose=self.verbose,
            precision=self.precision, schedule=not incremental,
        )

    def _outputs(self, X):
        """The head's outputs (class scores or standardised targets) for ``X``, computed in
        its dtype (float32 or float64)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        device = inference_device(self.device)
        network = in_dtype_of(X, self.module_.to(device))
        return map_row_blocks(network, X, network.head[-1].out_features, device)


def representation(network, X, device):
    """``SimMIMTransformer.transform``'s representation of ``X`` by the ``TaskNetwork``'s
    backbone, float32: on images averaged over one-pixel shifts, as ``transform`` does, which
    is what the labels spread over; the head reads the unshifted one, one encoding per row."""
    backbone = network.backbone.to(device)
    return map_row_blocks(backbone, np.asarray(X, dtype=np.float32),
                          network.head[0].normalized_shape[0], device)
