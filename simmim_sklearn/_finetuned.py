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
from ._plan import Data, make_plan, publish, published, resolve_device, threads
from ._tensorboard import tensorboard_log
from ._threads import torch_threads
from ._transformer import SimMIMTransformer
from .nn._finetuning import TaskNetwork, finetune
from .nn._parallel import SINGLE

# What the pretraining shares with SimMIMTransformer, passed on to it as is; the other
# pretraining parameters are SimMIMTransformer's defaults.
PRETRAINING_PARAMETERS = ("hidden_width", "depth", "encoder", "input_shape", "patch_size",
                          "mask_ratio", "device", "precision", "verbose", "log_dir",
                          "distributed")


# The fitted attributes that publish the plan of SimMIMClassifier and SimMIMRegressor: their
# docstrings hold "%(plan_attributes)s" where ``with_plan_attributes`` puts this text.
PLAN_ATTRIBUTES = """\
n_components_ : int
        Width of the pretrained representation that the head reads, before the encoder's
        block maxima (see :class:`SimMIMTransformer`).
    mask_span_ : int
        Length, in tokens, of the runs that pretraining hides.
    average_shifts_ : bool
        Whether the pretrained representation is averaged over one-position shifts
        (images; see :class:`SimMIMTransformer`); ``SimMIMClassifier`` spreads its labels
        over it, while the head reads the unshifted representation.
    kernel_features_ : int
        Number of kernel bank features that follow the pretrained representation on
        windows (see :class:`SimMIMTransformer`'s ``kernel_features``); the head reads them,
        computed once per row for fine-tuning. 0 without a bank.
    pretrain_batch_size_ : int
        Rows per pretraining step.
    pretrain_max_iter_ : int
        Pretraining epochs planned (``pretrain_iter`` with ``"auto"`` resolved; 0 without
        pretraining).
    pretrain_consistency_weight_ : float
        Weight of pretraining's consistency term (SimMIMTransformer's ``"auto"`` resolved).
    pretrain_latent_weight_ : float
        Weight of pretraining's latent term (SimMIMTransformer's ``"auto"`` resolved).
    pretrain_view_weight_ : float
        Weight of pretraining's view term.
    batch_size_ : int
        Rows per fine-tuning step (``batch_size`` with ``"auto"`` resolved).
    max_iter_ : int
        Fine-tuning epochs planned by the last ``fit`` (``max_iter`` with ``"auto"``
        resolved; 1 for ``partial_fit``).
    device_ : str
        Device the model was trained on (``device`` with ``"auto"`` resolved); ``predict``
        computes where the model is (on the CPU after unpickling).
"""


def with_plan_attributes(cls):
    """Put ``PLAN_ATTRIBUTES`` in the Attributes section of ``cls``'s docstring."""
    cls.__doc__ = cls.__doc__.replace("%(plan_attributes)s\n", PLAN_ATTRIBUTES)
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
        else:
            backbone, self._network_plan = self._pretrained_network(X, rng,
                                                                    pretrain=not incremental)
            n_outputs = len(self.classes_) if self._classification else targets.shape[1]
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                network = TaskNetwork(backbone, n_outputs)
            optimizer_state = None
        device = training_device(device, world, self.device)
        network.to(device)

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
        with self._inference_threads(len(X)):
            rows = self._task_rows(network, X, targets, weights, np.flatnonzero(fine_tuned),
                                   device)
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
        """The masked model's network, as ``SimMIMTransformer`` with this estimator's shared
        parameters builds it, trained on every row of ``X`` (``pretrain_iter`` epochs), or
        untrained where ``pretrain_iter=0`` or ``pretrain`` is false; publishes its plan:
        the layout unprefixed, the training as ``pretrain_*``. Returns the network and its
        plan."""
        params = {**SimMIMTransformer().get_params(),
                  **{name: getattr(self, name) for name in PRETRAINING_PARAMETERS},
                  "max_iter": self.pretrain_iter or "auto"}
        pretraining_rng = check_random_state(int(rng.randint(2**31 - 1)))
        plan = make_plan(params, Data(len(X), X.shape[1]))
        trained = pretrain and self.pretrain_iter != 0
        network_plan = plan.network
        if not trained:
            network_plan = replace(network_plan, self_supervised=False)
        self.n_pretrain_iter_, self.pretrain_loss_curve_ = 0, []
        with torch_threads(plan.n_threads):
            network, _, _ = new_network(network_plan, X, pretraining_rng, plan.world)
            network.average_shifts = plan.average_shifts
            if trained:
                history = train_network(network, X, plan, pretraining_rng,
                                        log_dir=self.log_dir)
                self.n_pretrain_iter_, self.pretrain_loss_curve_ = (history.n_epochs,
                                                                    history.loss_curve)
            # Fine-tuning trains the encoder by the task alone.
            network.drop_self_supervised_heads()
        layout_values, training_values = published(plan)
        training_values["max_iter"] = training_values["max_iter"] if trained else 0
        publish(self, layout_values)
        publish(self, training_values, prefix="pretrain_")
        return network, network_plan

    def _validate_rows_and_targets(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = validate_rows(self, X, reset=reset, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan",
                          ensure_min_samples=min_training_rows(reset))
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
    def _task_rows(network, X, targets, weights, indices, device):
        """The fine-tuning rows at ``indices``: each row, its targets, its weight and, where
        the ``network``'s backbone has a kernel bank, its bank features, computed once here
        rather than at every epoch (they have no parameter to train)."""
        backbone = network.backbone
        bank = None
        if backbone.kernel_bank is not None:
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


def representation(network, X, device):
    """``SimMIMTransformer.transform``'s representation of ``X`` by the ``TaskNetwork``'s
    backbone, float32: on images averaged over one-pixel shifts, as ``transform`` does, which
    is what the labels spread over; the head reads the unshifted one, one encoding per row."""
    backbone = network.backbone.to(device)
    return map_row_blocks(backbone, np.asarray(X, dtype=np.float32),
                          network.head[0].normalized_shape[0], device)
