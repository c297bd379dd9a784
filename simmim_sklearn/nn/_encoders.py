"""Encoders: each maps patch tokens and their hidden/missing flags to one feature vector per row.

Every encoder is built as ``Encoder(grid, token_dim, width, depth)`` (``grid``: the token grid,
``(T,)`` for tabular rows and windows, ``(rows, cols)`` for images), is called as
``forward(tokens, hidden, missing)`` with ``tokens`` of shape (B, T, token_dim), ``hidden`` the
tokens to replace by the mask (missing ones included) and ``missing`` the tokens with no value at
all (NaN padding), and returns (B, ``out_features``): ``width`` features for the MLP, twice
that for the encoders over tokens.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class ResidualMLPBlock(nn.Module):
    """Pre-norm residual block: ``h + W2 gelu(W1 norm(h))``."""

    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.hidden = nn.Linear(width, 2 * width)
        self.activation = nn.GELU()
        self.out = nn.Linear(2 * width, width)

    def forward(self, h):
        return h + self.out(self.activation(self.hidden(self.norm(h))))


class MLPEncoder(nn.Module):
    """Residual MLP over the whole row of tokens.

    SimMIM's extractor projects each token, adds its position embedding and swaps hidden
    tokens for a learnable mask token; flattened into an MLP, every one of those steps is
    linear, so here they are one matmul on the zero-filled row (``token_projection``) plus
    one on the hidden flags (``mask_embedding``, a learned mask vector per position).
    Missing tokens are part of ``hidden`` and need no other treatment.
    """

    def __init__(self, grid, token_dim, width, depth):
        super().__init__()
        n_tokens = math.prod(grid)
        self.token_projection = nn.Linear(n_tokens * token_dim, width)
        self.mask_embedding = nn.Linear(n_tokens, width, bias=False)
        nn.init.normal_(self.mask_embedding.weight, std=0.02)
        self.blocks = nn.Sequential(*(ResidualMLPBlock(width) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.out_features = width

    def forward(self, tokens, hidden, missing=None):
        visible = tokens.masked_fill(hidden.unsqueeze(-1), 0.0).flatten(1)
        h = self.token_projection(visible) + self.mask_embedding(hidden.to(tokens.dtype))
        return self.norm(self.blocks(h))


class TokenEmbedding(nn.Module):
    """SimMIM's extractor input: a linear projection shared by all tokens, a learnable mask
    token in place of hidden ones, and a learned embedding of each position.

    Fewer tokens than the grid holds use the first position embeddings, so a window cut
    short before its padding is embedded exactly as its real tokens are in the padded one.
    """

    def __init__(self, n_tokens, token_dim, width):
        super().__init__()
        self.projection = nn.Linear(token_dim, width)
        self.mask_token = nn.Parameter(torch.zeros(width))
        self.position = nn.Parameter(torch.zeros(n_tokens, width))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward(self, tokens, hidden):
        h = self.projection(tokens)
        h = torch.where(hidden.unsqueeze(-1), self.mask_token.to(h.dtype), h)
        return h + self.position[: tokens.shape[1]]


def conv_dilations(grid):
    """Dilations of the conv blocks over ``grid``: 1, 2, 4, ... up to the first that spans
    the longest axis."""
    return [2 ** i for i in range(max(1, math.ceil(math.log2(max(grid)))))]


def max_present(h, missing):
    """Max of ``h`` (B, T, W) over the tokens that are not ``missing``: (B, W).

    Rows with no token at all pool to zeros.
    """
    present = ~missing.unsqueeze(-1)
    peak = h.masked_fill(~present, -torch.inf).amax(dim=1)
    return peak.masked_fill(~present.any(dim=1), 0.0)


def pool_present(h, missing):
    """Mean and max of ``h`` (B, T, W) over the tokens that are not ``missing``: (B, 2 W).

    Rows with no token at all pool to zeros.
    """
    present = ~missing.unsqueeze(-1)
    count = present.sum(dim=1).clamp(min=1)
    mean = h.masked_fill(~present, 0.0).sum(dim=1) / count
    return torch.cat([mean, max_present(h, missing)], dim=1)


class TokenGridEncoder(nn.Module):
    """Base of the encoders that keep one feature vector per token through their blocks
    (``"conv"``, ``"transformer"``); subclasses give every block's output in
    ``block_outputs``.

    The encoding is the mean and max of the last block's output, normalised, over the tokens
    present. ``block_maxima`` gives the max over the tokens present of every block's output,
    each normalised without learned scales (``width`` per block, the embedded tokens standing
    in for the blocks when there are none): the patterns each receptive field of the growing
    dilations finds wherever they occur, as MiniRocket's random kernels at many dilations
    do, here learnt.
    """

    def __init__(self, width, depth):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.out_features = 2 * width
        self.n_block_features = width * max(1, depth)

    def forward(self, tokens, hidden, missing):
        return self.pool(self.block_outputs(tokens, hidden, missing), missing)

    def pool(self, outputs, missing):
        """The encoding from ``block_outputs``' list of (B, T, W) outputs."""
        return pool_present(self.norm(outputs[-1]), missing)

    @staticmethod
    def block_maxima(outputs, missing):
        """Every block's maxima from ``block_outputs``' list of (B, T, W) outputs."""
        return torch.cat([max_present(F.layer_norm(h, h.shape[-1:]), missing)
                          for h in outputs], dim=1)


class DilatedConvBlock(nn.Module):
    """Pre-norm residual block of a dilated 3-tap (3 x 3 on images) convolution and a
    pointwise one over the token grid.

    Missing tokens are zeroed before the convolution, the value the convolution's own
    border padding has, so a window's padding acts as if the window simply ended there.
    """

    def __init__(self, width, n_axes, dilation):
        super().__init__()
        conv = nn.Conv1d if n_axes == 1 else nn.Conv2d
        self.norm = nn.LayerNorm(width)
        self.spatial = conv(width, width, kernel_size=3, dilation=dilation, padding=dilation)
        self.activation = nn.GELU()
        self.pointwise = conv(width, width, kernel_size=1)

    def forward(self, h, present, grid):
        batch, _, width = h.shape
        x = (self.norm(h) * present).transpose(1, 2).reshape(batch, width, *grid)
        x = self.pointwise(self.activation(self.spatial(x)))
        return h + x.reshape(batch, width, -1).transpose(1, 2) * present


class ConvEncoder(TokenGridEncoder):
    """Dilated residual convolutions over the token grid (1-D windows or 2-D images).

    Dilations double with depth (1, 2, 4, ...), wrapping before they outgrow the grid.
    """

    def __init__(self, grid, token_dim, width, depth):
        super().__init__(width, depth)
        self.grid = tuple(grid)
        self.embedding = TokenEmbedding(math.prod(grid), token_dim, width)
        dilations = conv_dilations(self.grid)
        self.blocks = nn.ModuleList(
            DilatedConvBlock(width, len(self.grid), dilations[i % len(dilations)])
            for i in range(depth)
        )

    def block_outputs(self, tokens, hidden, missing):
        # A 1-D grid may be given cut short (fewer tokens); an image grid is fixed.
        grid = (tokens.shape[1],) if len(self.grid) == 1 else self.grid
        present = (~missing).unsqueeze(-1).to(tokens.dtype)
        h = self.embedding(tokens, hidden) * present
        outputs = []
        for block in self.blocks:
            h = block(h, present, grid)
            outputs.append(h)
        return outputs or [h]


class AttentionBlock(nn.Module):
    """Pre-norm transformer block; missing tokens are masked out of the attention keys."""

    def __init__(self, width, n_heads):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, n_heads, batch_first=True)
        self.mlp = ResidualMLPBlock(width)

    def forward(self, h, key_padding):
        q = self.norm(h)
        h = h + self.attention(q, q, q, key_padding_mask=key_padding, need_weights=False)[0]
        return self.mlp(h)


class TransformerEncoder(TokenGridEncoder):
    """Pre-norm transformer over patch tokens with learned position embeddings.

    Uses 4 attention heads when ``width`` allows it (else 2, else 1).
    """

    def __init__(self, grid, token_dim, width, depth):
        super().__init__(width, depth)
        n_heads = next(n for n in (4, 2, 1) if width % n == 0)
        self.embedding = TokenEmbedding(math.prod(grid), token_dim, width)
        self.blocks = nn.ModuleList(AttentionBlock(width, n_heads) for _ in range(depth))

    def block_outputs(self, tokens, hidden, missing):
        # A row with no token present would attend to nothing (NaN); it pools to zeros anyway.
        key_padding = missing & ~missing.all(dim=1, keepdim=True)
        h = self.embedding(tokens, hidden)
        outputs = []
        for block in self.blocks:
            h = block(h, key_padding)
            outputs.append(h)
        return outputs or [h]


ENCODERS = {"mlp": MLPEncoder, "conv": ConvEncoder, "transformer": TransformerEncoder}


def build_encoder(name, grid, token_dim, width, depth):
    return ENCODERS[name](grid, token_dim, width, depth)
