"""The SimMIM network: scaling, patching, encoder, representation and decoder in one module."""

import torch
from torch import nn

from ._encoders import build_encoder
from ._patching import Patcher


class SimMIMNetwork(nn.Module):
    """Masked-modeling autoencoder over flat rows.

    The representation is a linear map of the visible standardised values plus a learned
    nonlinear correction from the encoder; the decoder is likewise linear plus a small MLP.
    Both linear maps start at the principal components of the training data and both
    corrections start at zero, so training starts from PCA's reconstruction and only has to
    improve on it (a masked model is otherwise never trained for the identity that
    ``inverse_transform(transform(X))`` asks for).
    """

    def __init__(self, shape, patch, encoder, n_components, hidden_width, depth, center, scale):
        super().__init__()
        self.patcher = Patcher(shape, patch)
        n_features = int(center.shape[0])
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.encoder = build_encoder(
            encoder, self.patcher.grid, self.patcher.token_dim, hidden_width, depth
        )
        self.linear_encoder = nn.Linear(n_features, n_components)
        self.projection = nn.Linear(self.encoder.out_features, n_components)
        self.linear_decoder = nn.Linear(n_components, n_features)
        self.decoder = nn.Sequential(
            nn.Linear(n_components, hidden_width), nn.GELU(), nn.Linear(hidden_width, n_features)
        )
        for corrections in (self.projection, self.decoder[-1]):
            nn.init.zeros_(corrections.weight)
            nn.init.zeros_(corrections.bias)

    @torch.no_grad()
    def init_linear_maps(self, components, mean):
        """Start the linear encoder/decoder at PCA ``components`` (m x n_features, m <= k)."""
        m = components.shape[0]
        components = torch.as_tensor(components, dtype=self.linear_encoder.weight.dtype)
        mean = torch.as_tensor(mean, dtype=components.dtype)
        for layer in (self.linear_encoder, self.linear_decoder):
            nn.init.zeros_(layer.weight)
        self.linear_encoder.weight[:m] = components
        self.linear_encoder.bias.zero_()
        self.linear_encoder.bias[:m] = -components @ mean
        self.linear_decoder.weight[:, :m] = components.T
        self.linear_decoder.bias.copy_(mean)

    def standardize(self, x):
        return (x - self.center) / self.scale

    def encode_standardized(self, xs, hide=None):
        """Representation of standardised rows; NaN entries and ``hide`` tokens are hidden."""
        tokens = self.patcher.to_tokens(xs)
        missing_entries = torch.isnan(tokens)
        missing = missing_entries.all(dim=-1)
        hidden = missing if hide is None else missing | hide
        tokens = tokens.masked_fill(missing_entries | hidden.unsqueeze(-1), 0.0)
        visible = self.patcher.from_tokens(tokens)
        features = self.encoder(tokens, hidden, missing)
        return self.linear_encoder(visible) + self.projection(features)

    def decode_standardized(self, z):
        return self.linear_decoder(z) + self.decoder(z)

    def forward(self, x):
        """Representation of raw rows (the ``transform`` path)."""
        return self.encode_standardized(self.standardize(x))

    def reconstruct(self, x, hide=None):
        """Rows in input units rebuilt from ``x`` with its NaN entries and the tokens flagged
        in ``hide`` masked (``inverse_transform(transform(x))`` when ``hide`` is None)."""
        return self.decode(self.encode_standardized(self.standardize(x), hide))

    def decode(self, z):
        """Rows in input units (the ``inverse_transform`` path)."""
        return self.decode_standardized(z) * self.scale + self.center

