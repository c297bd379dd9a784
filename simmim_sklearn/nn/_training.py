"""Training loop: masked reconstruction loss, AdamW with warm-up and cosine decay,
early stopping."""

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._masking import random_token_mask
from ._objectives import self_supervised_terms, teacher_momentum, update_teacher
from ._optimizer import AdamW
from ._parallel import (
    SINGLE,
    World,
    broadcast_state,
    data_parallel,
    mean_loss_backward,
    summed,
)

# The fixed seed of the evaluation mask, so that validation and ``score`` are deterministic.
EVALUATION_SEED = 0
WARMUP_FRACTION = 0.05
FINAL_LR_FRACTION = 0.01
MAX_GRAD_NORM = 1.0


@dataclass(frozen=True, kw_only=True)
class LoopConfig:
    """What every training loop needs (``fit_epochs``)."""

    batch_size: int
    learning_rate: float
    weight_decay: float
    n_epochs: int
    tol: float
    n_iter_no_change: int
    verbose: int
    precision: str = "float32"  # "bfloat16": mixed precision through torch.autocast
    schedule: bool = True  # warm-up and cosine decay; False keeps a constant learning rate
    # The processes training the model together (data-parallel); one by default.
    world: World = SINGLE


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(LoopConfig):
    """The masked-modeling loop: the loop's settings and those of the masked loss."""

    mask_ratio: float
    unmasked_fraction: float
    loss: str
    visible_loss_weight: float
    consistency_weight: float
    latent_weight: float
    view_weight: float


@dataclass
class TrainingHistory:
    loss_curve: list
    validation_scores: list
    n_epochs: int
    optimizer_state: dict
    world_size: int = 1  # the processes that trained


def masked_loss_terms(
    network, xb, mask_ratio, loss, visible_loss_weight, generator, unmasked_fraction=0.0,
    consistency_weight=0.0, latent_weight=0.0, view_weight=0.0,
):
    """Weighted training loss sum and weight sum of one batch.

    The loss is the reconstruction error: entries of hidden tokens weigh 1, visible ones
    ``visible_loss_weight``; NaN entries (missing values and padding) weigh 0.
    ``unmasked_fraction`` of the rows keep every token visible. ``consistency_weight``,
    ``latent_weight`` and ``view_weight`` add those multiples of ``consistency_error`` and of
    the self-supervised terms (``nn._objectives``) per unit of weight. Where those terms
    train the encoder, the reconstruction trains only what reads its encoding (the linear
    path, the projection and the decoder), so that it keeps ``inverse_transform`` faithful
    without pulling the encoding towards pixel detail.
    """
    xs = network.standardize(xb)
    tokens, missing_entries, missing = network.tokens(xs)
    hide = random_token_mask(missing, mask_ratio, generator, unmasked_fraction,
                             span=network.mask_span)
    hidden = missing | hide
    self_supervised = network.over_tokens and (latent_weight or view_weight)
    if self_supervised:
        outputs = network.encoder.block_outputs(tokens, hidden, missing)
        encoded = network.encoder.pool(outputs, missing)
        read = encoded.detach()
    else:
        read = encoded = network.encoder(tokens, hidden, missing)
    z = network.representation(read, tokens, missing_entries, hidden)
    reconstruction = network.decode_standardized(z)
    observed = ~torch.isnan(xs)
    hidden_entries = network.patcher.tokens_to_entries(hide)
    weight = torch.where(hidden_entries, 1.0, visible_loss_weight) * observed
    error = reconstruction - xs.nan_to_num(0.0)
    error = error.abs() if loss == "l1" else error.square()
    error_sum, weight_sum = (error * weight).sum(), weight.sum()
    if consistency_weight > 0:
        consistency = consistency_error(network, xs, z, hide)
        error_sum = error_sum + consistency_weight * weight_sum.detach() * consistency
    if self_supervised:
        terms = self_supervised_terms(network, tokens, missing, hide, outputs, encoded,
                                      generator, mask_ratio, latent_weight, view_weight)
        error_sum = error_sum + weight_sum.detach() * terms
    return error_sum, weight_sum


def consistency_error(network, xs, z, hide):
    """Mean squared distance between the representations ``z`` of the rows with tokens
    hidden and those of the same rows whole, held fixed as targets; both layer-normalised,
    so that the distance cannot shrink by shrinking the representation."""
    masked_rows = hide.any(dim=1)
    if xs.device.type == "cpu":
        return _consistency_of_masked_rows(network, xs, z, masked_rows)
    return _consistency_weighted_over_rows(network, xs, z, masked_rows)


def _consistency_of_masked_rows(network, xs, z, masked_rows):
    # Encodes only the rows with tokens hidden: the CPU saves the pass over the others.
    if not masked_rows.any():
        return z.new_zeros(())
    with torch.no_grad():
        target = network.encode_standardized(xs[masked_rows])
    return _normalised_square_distance(z[masked_rows], target).mean()


def _consistency_weighted_over_rows(network, xs, z, masked_rows):
    # Encodes every row and weighs out those with nothing hidden: selecting rows would make
    # the host wait for the accelerator at every step, which costs a GPU more than the extra
    # rows do (benchmarks/bench_cuda.py).
    with torch.no_grad():
        target = network.encode_standardized(xs)
    per_row = _normalised_square_distance(z, target).mean(dim=1)
    weight = masked_rows.to(per_row.dtype)
    return (per_row * weight).sum() / weight.sum().clamp(min=1.0)


def _normalised_square_distance(predicted, target):
    width = predicted.shape[-1:]
    return (F.layer_norm(predicted, width) - F.layer_norm(target, width)).square()


@torch.inference_mode()
def evaluation_loss(network, rows, config, batch_size, device, world=SINGLE):
    """The training objective of ``config`` on ``rows`` (a batch source, see ``_data``) under
    the fixed evaluation mask: the mean error on the hidden entries plus the consistency,
    latent and view terms at their weights (no row shown whole, visible entries unscored).
    Over several processes (``world``), each scores its share of the rows and the sums are
    added up, so that all get the same value."""
    generator = torch.Generator(device=device).manual_seed(EVALUATION_SEED)
    total = weight = 0.0
    for xb in rows.batches(batch_size):
        error_sum, weight_sum = masked_loss_terms(
            network, xb, config.mask_ratio, config.loss, 0.0, generator,
            consistency_weight=config.consistency_weight, latent_weight=config.latent_weight,
            view_weight=config.view_weight,
        )
        # Accumulated on the device: no host synchronisation per batch.
        total, weight = total + error_sum, weight + weight_sum
    total, weight = summed([total, weight], world)
    return total / max(weight, np.finfo(np.float32).tiny)


def _schedule(total_steps):
    warmup = max(1, int(WARMUP_FRACTION * total_steps))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * cosine

    return factor


def train(network, rows, config, generator, device, val_rows=None, optimizer_state=None,
          on_epoch=None):
    """Train ``network`` in place on ``rows``, a batch source (see ``_data``) on ``device``,
    by the masked loss (``fit_epochs`` says when it stops and what it returns).

    The validation score is the negative masked error of ``val_rows`` under the fixed
    evaluation mask.
    """
    # The teacher is never trained directly: it follows the encoder, and only when the latent
    # term reads it (update_teacher).
    follows = network.teacher is not None and config.latent_weight > 0

    def batch_loss(xb):
        return masked_loss_terms(
            network, xb, config.mask_ratio, config.loss, config.visible_loss_weight,
            generator, config.unmasked_fraction, config.consistency_weight,
            config.latent_weight, config.view_weight,
        )

    def after_step(step, total_steps):
        if follows:
            update_teacher(network, teacher_momentum(step, total_steps))

    validation_score = None
    if val_rows is not None:
        def validation_score():
            return -evaluation_loss(network, val_rows, config, config.batch_size, device,
                                    config.world)

    return fit_epochs(
        network, [p for p in network.parameters() if p.requires_grad], config,
        lambda: rows.batches(config.batch_size, generator), rows.n_batches(config.batch_size),
        batch_loss, device, validation_score, optimizer_state, after_step, on_epoch,
    )


def batch_indices(n_rows, batch_size, generator, device):
    """The rows of each batch of an epoch over ``n_rows`` in-memory rows: slices in order, or
    index tensors of one global shuffle (one ``randperm``) when a ``generator`` is given."""
    order = None
    if generator is not None:
        order = torch.randperm(n_rows, generator=generator, device=device)
    for start in range(0, n_rows, batch_size):
        rows = slice(start, start + batch_size)
        yield order[rows] if order is not None else rows


def fit_epochs(network, parameters, config, epoch_batches, n_batches, batch_loss, device,
               validation_score=None, optimizer_state=None, after_step=None, on_epoch=None):
    """The training loop shared by masked pretraining and fine-tuning.

    AdamW over ``parameters`` (tensors, or groups with an ``lr_scale`` that multiplies
    ``config.learning_rate``), warm-up and cosine decay when ``config.schedule``, gradient
    clipping. Each epoch runs ``batch_loss(batch)``, which gives a weighted loss sum and weight
    sum, on the ``n_batches`` batches of ``epoch_batches()``. Stops after ``config.n_epochs``
    epochs or when ``validation_score()`` (higher is better; given) or else the negative
    training loss has not improved by ``tol`` for ``n_iter_no_change`` epochs; with a
    validation score the best weights seen are restored. ``after_step(step, total_steps)``
    runs after every optimisation step; ``on_epoch(epoch, values, network)`` after every
    epoch with its loss, validation loss and learning rate (the TensorBoard log).

    Where ``config.world`` has several processes, each runs ``batch_loss`` on its share of
    every global batch through ``DistributedDataParallel``, which averages the gradients;
    the losses and ``validation_score`` are sums over all processes, so that every process
    takes the same steps and stops at the same epoch; only rank 0 shows the progress bar;
    and the fitted weights are rank 0's in every process.

    Raises
    ------
    ValueError
        When the loss becomes non-finite; ``network`` is then left half-trained, so callers
        train a copy.
    """
    steps = _EpochSteps(parameters, config, n_batches, device, optimizer_state, after_step)
    stopping = _EarlyStopping(config.tol, config.n_iter_no_change,
                              keep_best_weights=validation_score is not None)
    loss_curve, validation_scores = [], []
    world = config.world
    progress = tqdm(range(config.n_epochs), disable=not config.verbose or world.rank != 0,
                    unit="epoch")
    network.train()
    batch_loss = data_parallel(network, batch_loss, world, device)
    for epoch in progress:
        learning_rate = steps.learning_rate
        loss_curve.append(steps.run_epoch(epoch_batches(), batch_loss))
        if not math.isfinite(loss_curve[-1]):
            raise ValueError(
                f"The training loss became non-finite at epoch {epoch + 1}; "
                "lower learning_rate_init or check the input for extreme values."
            )
        values = {"loss": loss_curve[-1], "learning_rate": learning_rate}
        if validation_score is not None:
            network.eval()
            validation_scores.append(validation_score())
            network.train()
            values["validation_loss"] = -validation_scores[-1]
        progress.set_postfix({"loss": f"{values['loss']:.4f}", **(
            {"val_loss": f"{values['validation_loss']:.4f}"}
            if validation_score is not None else {})})
        if on_epoch is not None:
            on_epoch(epoch, values, network)
        score = validation_scores[-1] if validation_score is not None else -values["loss"]
        if stopping.should_stop(score, network):
            break
    network.eval()
    stopping.restore_best_weights(network)
    broadcast_state(network, world)
    return TrainingHistory(loss_curve, validation_scores, len(loss_curve),
                           steps.optimizer.state_dict(), world.size)


class _EpochSteps:
    """The optimisation steps of ``fit_epochs``: AdamW over ``parameters`` (restored from
    ``optimizer_state`` where given) at the learning rates of the schedule when
    ``config.schedule``, gradient clipping, and the ``after_step`` hook."""

    def __init__(self, parameters, config, n_batches, device, optimizer_state, after_step):
        groups = _parameter_groups(parameters, config.learning_rate)
        # The fused kernel updates every parameter in one call, far cheaper per step than
        # the per-tensor loop; it exists for CPU and CUDA.
        self.optimizer = AdamW(groups, config.weight_decay,
                               fused=device.type in ("cpu", "cuda"), state=optimizer_state)
        self.schedule = self.total_steps = None
        if config.schedule:
            self.total_steps = config.n_epochs * n_batches
            self.schedule = _schedule(self.total_steps)
        self.trained = [p for group in groups for p in group["params"]]
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16,
                                       enabled=config.precision == "bfloat16")
        self.after_step = after_step
        self.world = config.world
        self.step = 0

    @property
    def learning_rate_factor(self):
        """What the schedule multiplies the groups' rates by at the next step."""
        return 1.0 if self.schedule is None else self.schedule(self.step)

    @property
    def learning_rate(self):
        """The learning rate of the last group at the next step: the full rate (the head's
        when fine-tuning)."""
        return self.optimizer.groups[-1]["lr"] * self.learning_rate_factor

    def run_epoch(self, batches, batch_loss):
        """One step on each of ``batches``; the epoch's training loss (weighted mean, over
        all processes)."""
        epoch_loss = epoch_weight = 0.0
        for batch in batches:
            with self.autocast:
                error_sum, weight_sum = batch_loss(batch)
            self.optimizer.zero_grad()
            mean_loss_backward(error_sum, weight_sum, self.world, self.trained)
            torch.nn.utils.clip_grad_norm_(self.trained, MAX_GRAD_NORM)
            self.optimizer.step(self.learning_rate_factor)
            self.step += 1
            if self.after_step is not None:
                self.after_step(self.step, self.total_steps)
            # Summed on the device and read once per epoch: no host synchronisation per step.
            epoch_loss += error_sum.detach()
            epoch_weight += weight_sum.detach()
        epoch_loss, epoch_weight = summed([epoch_loss, epoch_weight], self.world)
        return epoch_loss / max(epoch_weight, 1.0)


class _EarlyStopping:
    """``fit_epochs``' stopping rule: the best score (higher is better), the epochs since it
    last improved by ``tol``, and a copy of the weights that reached it where
    ``keep_best_weights``."""

    def __init__(self, tol, n_iter_no_change, keep_best_weights):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.keep_best_weights = keep_best_weights
        self.best, self.best_state, self.epochs_no_improvement = -np.inf, None, 0

    def should_stop(self, score, network):
        """Record an epoch's ``score``; whether it leaves ``n_iter_no_change`` epochs without
        an improvement of at least ``tol``."""
        if score > self.best + self.tol:
            self.epochs_no_improvement = 0
        else:
            self.epochs_no_improvement += 1
        if score > self.best:
            self.best = score
            if self.keep_best_weights:
                self.best_state = copy.deepcopy(network.state_dict())
        return self.epochs_no_improvement >= self.n_iter_no_change

    def restore_best_weights(self, network):
        """Load the best weights kept, if any, into ``network``."""
        if self.best_state is not None:
            network.load_state_dict(self.best_state)


def _parameter_groups(parameters, learning_rate):
    """The optimizer's parameter groups: one of all ``parameters`` (tensors), or one per given group
    with its ``lr`` set to ``learning_rate`` times its ``lr_scale``."""
    parameters = list(parameters)
    if not parameters or isinstance(parameters[0], torch.Tensor):
        return [{"params": parameters, "lr": learning_rate}]
    return [{"params": group["params"], "lr": learning_rate * group["lr_scale"]}
            for group in parameters]
