"""Cut flat rows into patch tokens and put them back, for 1-D and 2-D layouts."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def token_grid(shape, patch):
    """Tokens along each spatial axis of ``shape = (C, *spatial)`` cut into ``patch``."""
    return tuple(math.ceil(s / p) for s, p in zip(shape[1:], patch))


def one_step_shifts(x, shape):
    """Copies of the flat rows ``x``, laid out as ``shape = (C, *spatial)``, each shifted by
    one position either way along one spatial axis; positions shifted in are NaN (missing).
    Axes of length 1 have no shift."""
    rows = x.reshape(-1, *shape)
    for axis in range(2, rows.dim()):
        length = rows.shape[axis]
        if length < 2:
            continue
        gap = torch.full_like(rows.narrow(axis, 0, 1), float("nan"))
        yield torch.cat([gap, rows.narrow(axis, 0, length - 1)], dim=axis).reshape(x.shape)
        yield torch.cat([rows.narrow(axis, 1, length - 1), gap], dim=axis).reshape(x.shape)


class Patcher(nn.Module):
    """Reshape ``(B, n_features)`` rows laid out as ``shape = (C, *spatial)`` into
    ``(B, n_tokens, token_dim)`` patches of ``patch`` along the spatial axes, and back.

    Axes that the patch does not divide are padded with NaN: padding is then treated
    exactly like a missing value, always hidden and never scored.
    """

    def __init__(self, shape, patch):
        super().__init__()
        self.shape = tuple(shape)
        self.patch = tuple(patch)
        self.grid = token_grid(self.shape, self.patch)
        self.n_tokens = math.prod(self.grid)
        self.token_dim = self.shape[0] * math.prod(self.patch)

    def _padding(self):
        pads = []
        for size, patch, cells in reversed(list(zip(self.shape[1:], self.patch, self.grid))):
            pads += [0, cells * patch - size]
        return pads

    def to_tokens(self, x):
        batch = x.shape[0]
        x = x.reshape(batch, *self.shape)
        if any(self._padding()):
            x = F.pad(x, self._padding(), value=float("nan"))
        channels = self.shape[0]
        if len(self.grid) == 1:
            (cells,), (patch,) = self.grid, self.patch
            x = x.reshape(batch, channels, cells, patch).permute(0, 2, 1, 3)
        else:
            (rows, cols), (ph, pw) = self.grid, self.patch
            x = x.reshape(batch, channels, rows, ph, cols, pw).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(batch, self.n_tokens, self.token_dim)

    def from_tokens(self, tokens):
        batch = tokens.shape[0]
        channels = self.shape[0]
        if len(self.grid) == 1:
            (cells,), (patch,) = self.grid, self.patch
            x = tokens.reshape(batch, cells, channels, patch).permute(0, 2, 1, 3)
            x = x.reshape(batch, channels, cells * patch)[:, :, : self.shape[1]]
        else:
            (rows, cols), (ph, pw) = self.grid, self.patch
            x = tokens.reshape(batch, rows, cols, channels, ph, pw).permute(0, 3, 1, 4, 2, 5)
            x = x.reshape(batch, channels, rows * ph, cols * pw)
            x = x[:, :, : self.shape[1], : self.shape[2]]
        return x.reshape(batch, -1)

    def tokens_to_entries(self, token_flags):
        """Broadcast a ``(B, n_tokens)`` flag to every entry of the row, ``(B, n_features)``."""
        expanded = token_flags.unsqueeze(-1).expand(-1, -1, self.token_dim)
        return self.from_tokens(expanded)
