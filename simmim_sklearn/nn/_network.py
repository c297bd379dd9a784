"""The SimMIM network: scaling, patching, encoder, representation and decoder in one module."""

import torch
from torch import nn

from ._encoders import build_encoder
from ._patching import Patcher


class SimMIMNetwork(nn.Module):
    """Masked-modeling autoencoder over flat rows.

    The decoder is linear plus a small MLP; the linear map starts at the principal
    components of the training data and the MLP's correction at zero. With
    ``linear_path`` (tabular rows and windows) the representation is likewise a linear map
    of the visible standardised values, starting at PCA, plus the encoder's features
    through a zero-initialised projection, so training starts from PCA's reconstruction and
    only has to improve on it (a masked model is otherwise never trained for the identity
    that ``inverse_transform(transform(X))`` asks for). Without it (images) the
    representation is the projection of the encoder's features alone: a linear path of raw
    pixels would dominate the representation and leave it little better than PCA.
    """

    def __init__(self, shape, patch, encoder, n_components, hidden_width, depth, center, scale,
                 linear_path=True):
        super().__init__()
        self.patcher = Patcher(shape, patch)
        n_features = int(center.shape[0])
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.encoder = build_encoder(
            encoder, self.patcher.grid, self.patcher.token_dim, hidden_width, depth
        )
        self.linear_encoder = nn.Linear(n_features, n_components) if linear_path else None
        self.projection = nn.Linear(self.encoder.out_features, n_components)
        self.linear_decoder = nn.Linear(n_components, n_features)
        self.decoder = nn.Sequential(
            nn.Linear(n_components, hidden_width), nn.GELU(), nn.Linear(hidden_width, n_features)
        )
        corrections = (self.projection, self.decoder[-1]) if linear_path else (self.decoder[-1],)
        for layer in corrections:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @torch.no_grad()
    def init_linear_maps(self, components, mean):
        """Start the linear decoder (and encoder) at PCA ``components`` (m x n_features,
        m <= k)."""
        m = components.shape[0]
        components = torch.as_tensor(components, dtype=self.linear_decoder.weight.dtype)
        mean = torch.as_tensor(mean, dtype=components.dtype)
        if self.linear_encoder is not None:
            nn.init.zeros_(self.linear_encoder.weight)
            self.linear_encoder.weight[:m] = components
            self.linear_encoder.bias.zero_()
            self.linear_encoder.bias[:m] = -components @ mean
        nn.init.zeros_(self.linear_decoder.weight)
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
        z = self.projection(self.encoder(tokens, hidden, missing))
        if self.linear_encoder is None:
            return z
        return z + self.linear_encoder(self.patcher.from_tokens(tokens))

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

