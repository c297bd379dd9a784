"""Masked token modeling: symbols embedded, encoded by the package's encoders over tokens,
predicted back by a head over the vocabulary; BERT's masking; the training loop."""

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._encoders import ResidualMLPBlock, build_encoder, pool_present
from ._masking import random_token_mask
from ._parallel import SINGLE, global_batches, share_bounds, shared_batches, summed
from ._training import EVALUATION_SEED, LoopConfig, batch_indices, fit_epochs

# The symbol ids that no token has: padding (absent positions), unknown tokens and the mask.
PADDING_ID, UNKNOWN_ID, MASK_ID = 0, 1, 2
N_SPECIAL_IDS = 3
# BERT's corruption of the tokens chosen for prediction: 80% become the mask, 10% a random
# symbol, 10% stay as they are, so that the encoder cannot tell the predicted tokens from the
# mask alone and learns a representation of every token it sees.
MASK_SHARE = 0.8
RANDOM_SHARE = 0.1


@dataclass(frozen=True, kw_only=True)
class TokenTrainingConfig(LoopConfig):
    """The masked token modeling loop: the loop's settings and the share of tokens that each
    step predicts."""

    mask_ratio: float


class SymbolEmbedding(nn.Module):
    """The encoders' input for symbols: a learned vector per symbol id (the mask id in place
    of hidden tokens) plus a learned vector per position; padding embeds to zero."""

    def __init__(self, vocabulary_size, max_length, width):
        super().__init__()
        self.symbols = nn.Embedding(vocabulary_size, width, padding_idx=PADDING_ID)
        self.position = nn.Parameter(torch.zeros(max_length, width))
        nn.init.trunc_normal_(self.symbols.weight, std=0.02)
        nn.init.trunc_normal_(self.position, std=0.02)
        with torch.no_grad():
            self.symbols.weight[PADDING_ID] = 0.0

    def forward(self, ids, hidden):
        return self.symbols(ids.masked_fill(hidden, MASK_ID)) + self.position[: ids.shape[1]]


class MaskedTokenNetwork(nn.Module):
    """Symbol embedding, an encoder over tokens (``"conv"`` or ``"transformer"``) and a head
    from each token's last encoding to the vocabulary's logits.

    ``forward`` gives the representation: the mean and the max over the present tokens of
    every block's output, each layer-normalised without learned scales, so that the local
    patterns of the first blocks sit beside the context of the last. ``decode`` maps a
    representation back to logits at each position (a linear map, a position embedding, a
    residual MLP block and the shared head), trained on the representation held fixed so
    that it serves ``inverse_transform`` without shaping the representation.
    """

    def __init__(self, vocabulary_size, max_length, encoder, width, depth):
        super().__init__()
        self.encoder = build_encoder(encoder, (max_length,), 1, width, depth)
        # The encoders embed patches of values linearly; symbols are looked up instead.
        self.encoder.embedding = SymbolEmbedding(vocabulary_size, max_length, width)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, vocabulary_size))
        self.n_features_out = 2 * width * max(1, depth)
        self.decoder_input = nn.Linear(self.n_features_out, width)
        self.decoder_position = nn.Parameter(torch.zeros(max_length, width))
        nn.init.trunc_normal_(self.decoder_position, std=0.02)
        self.decoder_block = ResidualMLPBlock(width)

    def block_outputs(self, ids, hidden):
        """Every encoder block's output (B, T, width) and the padding flags (B, T)."""
        missing = ids == PADDING_ID
        with _attention_fast_path_off():
            return self.encoder.block_outputs(ids, hidden, missing), missing

    @staticmethod
    def pool(outputs, missing):
        """The representation from ``block_outputs``."""
        return torch.cat([pool_present(F.layer_norm(h, h.shape[-1:]), missing)
                          for h in outputs], dim=1)

    def forward(self, ids):
        outputs, missing = self.block_outputs(ids, torch.zeros_like(ids, dtype=torch.bool))
        return self.pool(outputs, missing)

    def decode(self, z, positions=None):
        """Logits of the symbol at each position (B, max_length, vocabulary_size) of the
        representations ``z``, or at the (B, k) ``positions`` only."""
        position = self.decoder_position
        position = position.expand(len(z), -1, -1) if positions is None else position[positions]
        return self.head(self.decoder_block(self.decoder_input(z).unsqueeze(1) + position))


@contextmanager
def _attention_fast_path_off():
    """Inference through ``nn.MultiheadAttention``'s general path: on the CPU its fast path's
    masked softmax made ``transform`` two to three times slower on DNA and peptides."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def masked_token_terms(network, ids, mask_ratio, generator):
    """Cross-entropy sums of one batch of symbol ids (B, T): of the masked prediction of
    ``mask_ratio`` of each row's tokens (BERT's corruption), and of the decoding of as many
    positions, drawn among all, from the representation held fixed; and the number of
    tokens predicted."""
    missing = ids == PADDING_ID
    chosen = random_token_mask(missing, mask_ratio, generator)
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)
    hidden = chosen & (draw < MASK_SHARE)
    replaced = chosen & (draw >= MASK_SHARE) & (draw < MASK_SHARE + RANDOM_SHARE)
    vocabulary_size = network.head[-1].out_features
    random_ids = torch.randint(N_SPECIAL_IDS, max(N_SPECIAL_IDS + 1, vocabulary_size),
                               ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(replaced, random_ids.clamp(max=vocabulary_size - 1), ids)
    outputs, _ = network.block_outputs(inputs, hidden)
    predicted = F.cross_entropy(network.head(outputs[-1][chosen]), ids[chosen],
                                reduction="sum")
    n_rows, n_positions = ids.shape
    n_decoded = max(1, round(mask_ratio * n_positions))
    positions = torch.rand(ids.shape, generator=generator, device=ids.device).argsort(dim=1)
    positions = positions[:, :n_decoded]
    logits = network.decode(network.pool(outputs, missing).detach(), positions)
    decoded = F.cross_entropy(logits.flatten(0, 1), ids.gather(1, positions).flatten(),
                              reduction="mean")
    return predicted, decoded, chosen.sum()


def train_tokens(network, ids, config, generator, val_ids=None, optimizer_state=None,
                 shard=None):
    """Train ``network`` in place on the symbol ids ``ids`` (a tensor on the network's
    device) by masked token modeling plus the decoder's term, by ``fit_epochs``; the
    validation score is ``-evaluation_cross_entropy`` of ``val_ids``. With a ``shard``
    (several processes, ``config.world``), this process trains on its part of each global
    batch and scores its share of ``val_ids``."""
    device = ids.device

    def epoch_batches():
        rows = (batch_indices(len(ids), config.batch_size, generator, device) if shard is None
                else shared_batches(len(ids), config.batch_size, True, device, shard))
        for batch in rows:
            yield ids[batch]

    def batch_loss(batch):
        predicted, decoded, n_predicted = masked_token_terms(network, batch, config.mask_ratio,
                                                             generator)
        # The decoder's mean cross-entropy counts as much as the masked prediction's.
        weight = n_predicted.clamp(min=1).float()
        return predicted + decoded * weight, weight

    validation_score = None
    if val_ids is not None:
        def validation_score():
            return -evaluation_cross_entropy(network, val_ids, config.mask_ratio,
                                             config.batch_size, config.world)

    n_batches = len(global_batches(len(ids), config.batch_size, config.world))
    return fit_epochs(network, list(network.parameters()), config, epoch_batches, n_batches,
                      batch_loss, device, validation_score, optimizer_state)


@torch.inference_mode()
def evaluation_cross_entropy(network, ids, mask_ratio, batch_size, world=SINGLE):
    """Mean cross-entropy of the masked prediction of ``ids`` under the fixed evaluation
    mask and corruption (the same tokens at every call); over several processes
    (``world``), of each one's contiguous share of ``ids``, summed over all."""
    ids = ids[slice(*share_bounds(len(ids), world))]
    generator = torch.Generator(device=ids.device).manual_seed(EVALUATION_SEED)
    total = count = 0.0
    for start in range(0, len(ids), batch_size):
        predicted, _, n_predicted = masked_token_terms(network, ids[start:start + batch_size],
                                                       mask_ratio, generator)
        total, count = total + predicted, count + n_predicted
    total, count = summed([total, count], world)
    return total / max(count, 1.0)
