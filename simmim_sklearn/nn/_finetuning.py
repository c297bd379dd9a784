"""Fine-tuning: a pretrained SimMIM network read by a task head, trained end to end on
labeled rows with layer-wise learning rates (``fit_epochs`` runs the loop)."""

import torch
import torch.nn.functional as F
from torch import nn

from ._parallel import summed
from ._training import fit_epochs

# Held-out rows scored per forward pass in validation: bounds its memory on large sets.
VALIDATION_BATCH_ROWS = 4096


class ColumnScaling(nn.Module):
    """Standardisation of each column of the representation by a fixed mean and scale (set
    by ``solve_head`` from every fit row), as a scaler in front of a linear model."""

    def __init__(self, width):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))

    def forward(self, z):
        return (z - self.mean) / self.scale


class TaskNetwork(nn.Module):
    """A SimMIM network's representation (``SimMIMTransformer.transform``'s columns) read by
    a head: a normalisation, then a linear map to the task's outputs (class scores or
    standardised targets).

    The normalisation is layer normalisation, or with ``column_scaling`` a fixed
    standardisation of each column (``ColumnScaling``), which the closed-form start of the
    head (``solve_head``) needs. The masked model's decoder stays in ``backbone`` untouched:
    it has no gradient when fine-tuning, so it is not trained.
    """

    def __init__(self, backbone, n_outputs, column_scaling=False):
        super().__init__()
        self.backbone = backbone
        width = backbone.n_features_out
        scaling = ColumnScaling(width) if column_scaling else nn.LayerNorm(width)
        self.head = nn.Sequential(scaling, nn.Linear(width, n_outputs))

    def features(self, x, bank_features=None):
        """What the head reads of rows ``x``; ``bank_features``, the rows' kernel bank
        features where the backbone has a bank, saves computing them again."""
        backbone = self.backbone
        return backbone.encode_standardized(backbone.standardize(x),
                                            block_maxima=backbone.over_tokens,
                                            bank_features=bank_features)

    def forward(self, x, bank_features=None):
        """Outputs for rows ``x`` (``bank_features`` as in ``features``)."""
        return self.head(self.features(x, bank_features))


class TokenTaskNetwork(TaskNetwork):
    """A ``MaskedTokenNetwork``'s representation of symbol ids
    (``SimMIMTokenTransformer.transform``'s columns) read by a ``TaskNetwork``'s head; the
    token head and the decoder stay in ``backbone`` untrained, as the decoder does there."""

    def features(self, ids):
        return self.backbone(ids)

    def forward(self, ids):
        return self.head(self.features(ids))


def layerwise_parameter_groups(network, layer_decay):
    """``fit_epochs``' parameter groups of a ``TaskNetwork``: the encoder's token embedding
    (and the linear path of raw values) at layer 0, its block ``i`` at layer ``i + 1``, the
    rest (the encoder's pooling, the projection, the head) at the top layer ``depth + 1``;
    layer ``l`` learns at ``layer_decay ** (depth + 1 - l)`` times the head's rate, as in
    BEiT's and SimMIM's fine-tuning: the layers nearest the input, which pretraining shaped
    most generally, move least."""
    depth = len(network.backbone.encoder.blocks)
    layers = {}
    for name, parameter in network.named_parameters():
        if parameter.requires_grad:
            layers.setdefault(_layer_of(name, depth), []).append(parameter)
    return [{"params": layers[layer], "lr_scale": layer_decay ** (depth + 1 - layer)}
            for layer in sorted(layers)]


def _layer_of(name, depth):
    parts = name.split(".")
    if parts[:2] == ["backbone", "encoder"]:
        if parts[2] == "blocks":
            return int(parts[3]) + 1
        if parts[2] in ("embedding", "token_projection", "mask_embedding"):
            return 0
    if parts[:2] in (["backbone", "linear_encoder"], ["backbone", "log_noise"]):
        return 0
    return depth + 1


def task_loss_terms(network, batch, classification):
    """Weighted loss sum and weight sum of a fine-tuning ``batch`` (a ``TaskBatch`` of rows,
    targets and weights): cross-entropy of the class index for classification; otherwise the
    squared error of each standardised target, NaN targets weighing 0."""
    targets, weight = batch.targets, batch.weight
    # Only a window network's batches carry kernel bank features.
    output = (network(batch.x) if batch.bank_features is None
              else network(batch.x, batch.bank_features))
    if classification:
        error = F.cross_entropy(output.float(), targets[:, 0].long(), reduction="none")
        return (error * weight).sum(), weight.sum()
    observed = ~torch.isnan(targets)
    weight = weight.unsqueeze(1) * observed
    error = (output.float() - targets.nan_to_num(0.0)).square()
    return (error * weight).sum(), weight.sum()


def finetune(network, rows, classification, layer_decay, config, generator, device,
             val_rows=None, optimizer_state=None, on_epoch=None):
    """Train the ``TaskNetwork`` in place on ``rows`` (a ``TaskRows`` of rows, targets and
    weights) by ``task_loss_terms``; the validation score is the negative loss of ``val_rows``,
    read in blocks of ``VALIDATION_BATCH_ROWS`` (``fit_epochs`` says when it stops and what
    it returns)."""

    def batch_loss(batch):
        return task_loss_terms(network, batch, classification)

    validation_score = None
    if val_rows is not None:
        @torch.no_grad()
        def validation_score():
            error_sum = weight_sum = 0.0
            for batch in val_rows.batches(VALIDATION_BATCH_ROWS):
                batch_error, batch_weight = task_loss_terms(network, batch, classification)
                # Summed on the device: no host synchronisation per block.
                error_sum, weight_sum = error_sum + batch_error, weight_sum + batch_weight
            # Over several processes, the sums of every process's share of the rows.
            error_sum, weight_sum = summed([error_sum, weight_sum], config.world)
            return -error_sum / max(weight_sum, 1e-12)

    return fit_epochs(
        network, layerwise_parameter_groups(network, layer_decay), config,
        lambda: rows.batches(config.batch_size, generator), rows.n_batches(config.batch_size),
        batch_loss, device, validation_score, optimizer_state, on_epoch=on_epoch,
    )
