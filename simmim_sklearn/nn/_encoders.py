"""Encoders: each maps patch tokens and their hidden flags to one feature vector per row."""

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
    """

    def __init__(self, n_tokens, token_dim, width, depth):
        super().__init__()
        self.token_projection = nn.Linear(n_tokens * token_dim, width)
        self.mask_embedding = nn.Linear(n_tokens, width, bias=False)
        nn.init.normal_(self.mask_embedding.weight, std=0.02)
        self.blocks = nn.Sequential(*(ResidualMLPBlock(width) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.out_features = width

    def forward(self, tokens, hidden):
        visible = tokens.masked_fill(hidden.unsqueeze(-1), 0.0).flatten(1)
        h = self.token_projection(visible) + self.mask_embedding(hidden.to(tokens.dtype))
        return self.norm(self.blocks(h))


ENCODERS = {"mlp": MLPEncoder}


def build_encoder(name, n_tokens, token_dim, width, depth):
    return ENCODERS[name](n_tokens, token_dim, width, depth)
