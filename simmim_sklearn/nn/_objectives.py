"""Self-supervised terms of encoders over tokens, beside SimMIM's reconstruction.

Pixel-target masked modeling probes linearly far worse than masked modeling whose targets are
the features of an exponential-moving-average teacher (data2vec, iBOT, I-JEPA). Two terms
follow that design:

- the latent term: for each hidden token, a light head predicts from the encoder's output
  the teacher's features of the whole row at that token (data2vec's target: the last
  blocks' outputs, each normalised per feature over the row, averaged, then normalised
  over features); a smooth L1 error, on hidden tokens only;
- the view term: two views of each row, the row with its tokens hidden and a random crop
  of it with other tokens hidden (TS2Vec's cropping), must encode alike and unlike the
  other rows of the batch (InfoNCE, as SimCLR and TS2Vec): it shapes the very encoding that
  ``transform`` returns, which masked modeling alone leaves to the architecture.
"""

import math

import torch
import torch.nn.functional as F

from ._masking import random_crop, random_token_mask

# How many of the teacher's last blocks average into the latent target (data2vec: the top 8
# of 12).
TARGET_BLOCKS = 3
# The teacher's momentum rises from this to 1 over training along a cosine (data2vec, BYOL).
START_MOMENTUM = 0.996
# Temperature of the view term's InfoNCE.
VIEW_TEMPERATURE = 0.2


def teacher_momentum(step, total_steps):
    """Momentum of the teacher's update after ``step`` of ``total_steps`` (None: constant,
    as ``partial_fit`` trains with no schedule)."""
    if total_steps is None:
        return START_MOMENTUM
    progress = min(1.0, step / max(1, total_steps))
    return 1 - (1 - START_MOMENTUM) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def update_teacher(network, momentum):
    """Move the teacher's weights towards the encoder's: ``teacher <- m teacher + (1 - m)
    encoder``."""
    teacher = list(network.teacher.parameters())
    student = [p.detach() for p in network.encoder.parameters()]
    torch._foreach_lerp_(teacher, student, 1 - momentum)


def self_supervised_terms(network, tokens, missing, hide, outputs, encoded, generator,
                          mask_ratio, latent_weight, view_weight):
    """``latent_weight`` times the latent term plus ``view_weight`` times the view term, for
    the rows whose ``tokens`` (zero-filled, with ``missing`` flags) were encoded with ``hide``
    hidden into the per-block ``outputs`` and the encoding ``encoded``; the crops of the
    view term hide ``mask_ratio`` of their tokens."""
    total = encoded.new_zeros(())
    if latent_weight > 0:
        total = total + latent_weight * latent_error(network, tokens, missing, hide, outputs)
    if view_weight > 0:
        features = torch.cat([encoded, network.encoder.block_maxima(outputs, missing)], dim=1)
        total = total + view_weight * view_error(network, tokens, missing, features, generator,
                                                 mask_ratio)
    return total


def latent_error(network, tokens, missing, hide, outputs):
    """Smooth L1 error of the latent head's prediction of the teacher's targets, on the
    hidden tokens."""
    with torch.no_grad():
        target = latent_targets(network.teacher, tokens, missing)
    predicted = network.latent_head(network.encoder.norm(outputs[-1]))
    error = F.smooth_l1_loss(predicted, target.to(predicted.dtype), reduction="none").mean(-1)
    weight = hide.to(error.dtype)
    return (error * weight).sum() / weight.sum().clamp(min=1.0)


def latent_targets(teacher, tokens, missing):
    """The teacher's features of whole rows at every token: its last ``TARGET_BLOCKS``
    blocks' outputs, each normalised per feature over the tokens present, averaged and
    normalised over features."""
    outputs = teacher.block_outputs(tokens, missing, missing)[-TARGET_BLOCKS:]
    present = (~missing).unsqueeze(-1).to(tokens.dtype)
    count = present.sum(dim=1, keepdim=True).clamp(min=1.0)
    normalised = []
    for h in outputs:
        mean = (h * present).sum(dim=1, keepdim=True) / count
        variance = ((h - mean).square() * present).sum(dim=1, keepdim=True) / count
        normalised.append((h - mean) * torch.rsqrt(variance + 1e-5))
    average = torch.stack(normalised).mean(dim=0)
    return F.layer_norm(average, average.shape[-1:])


def view_error(network, tokens, missing, features, generator, mask_ratio):
    """InfoNCE between the encoder's ``features`` (encoding and block maxima) of the rows as
    the reconstruction saw them and those of a random crop of each row with ``mask_ratio``
    of its tokens hidden."""
    if len(tokens) < 2:
        return features.new_zeros(())
    outside = random_crop(missing, network.patcher.grid, generator)
    hide = random_token_mask(outside, mask_ratio, generator, span=network.mask_span)
    outputs = network.encoder.block_outputs(tokens, outside | hide, outside)
    cropped = torch.cat([network.encoder.pool(outputs, outside),
                         network.encoder.block_maxima(outputs, outside)], dim=1)
    first = F.normalize(network.view_head(features), dim=1)
    second = F.normalize(network.view_head(cropped), dim=1)
    return info_nce(first, second, VIEW_TEMPERATURE)


def info_nce(first, second, temperature):
    """NT-Xent: each row of ``first`` must pick its own row of ``second`` (and the other way
    round) among all the other rows of both."""
    n = len(first)
    both = torch.cat([first, second])
    similarity = (both @ both.T) / temperature
    similarity = similarity.masked_fill(
        torch.eye(2 * n, dtype=torch.bool, device=both.device), -torch.inf)
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(both.device)
    return F.cross_entropy(similarity, positives)
