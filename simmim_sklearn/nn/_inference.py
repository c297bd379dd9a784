"""Inference-only forms of a trained SimMIMNetwork with its fixed scalings folded into its
linear layers.

At the widths used on tabular data, ``transform`` and ``inverse_transform`` spend part of their
time in element-wise passes around the matrix products: standardising the input, the
missing-value bookkeeping, adding the linear and MLP paths, rescaling the output. Once
training is over those are fixed affine maps, so they fold into the weights of the layers
next to them, leaving the same function in fewer passes over each block.
"""

import torch
from torch import nn

from ._encoders import MLPEncoder


class FoldedDecoder(nn.Module):
    """``network.decode``: rows in input units from representations, the output scaling and
    the sum of the linear and MLP paths folded into two matrix products."""

    def __init__(self, network):
        super().__init__()
        *hidden, out = network.decoder
        scale = network.scale.unsqueeze(1)
        self.hidden = nn.Sequential(*hidden)
        self.linear_weight = (network.linear_decoder.weight * scale).T.contiguous()
        self.out_weight = (out.weight * scale).T.contiguous()
        self.bias = (network.linear_decoder.bias + out.bias) * network.scale + network.center

    def forward(self, z):
        decoded = torch.addmm(self.bias, z, self.linear_weight)
        return decoded.addmm_(self.hidden(z), self.out_weight)


class FoldedMLPEncoding(nn.Module):
    """``network.forward`` for rows without missing values, when the encoder is the MLP over
    single-feature tokens: the standardisation folded into the input projections, and the
    mask embedding, which adds nothing when no token is hidden, left out."""

    def __init__(self, network):
        super().__init__()
        encoder = network.encoder
        self.blocks, self.norm = encoder.blocks, encoder.norm
        self.projection = network.projection
        self.input_weight, self.input_bias = _fold_standardization(
            encoder.token_projection, network.center, network.scale
        )
        self.linear = None
        if network.linear_encoder is not None:
            self.linear = _fold_standardization(
                network.linear_encoder, network.center, network.scale
            )

    def forward(self, x):
        h = self.norm(self.blocks(torch.addmm(self.input_bias, x, self.input_weight)))
        z = self.projection(h)
        if self.linear is not None:
            weight, bias = self.linear
            # The linear map feeds only the first components (see SimMIMNetwork.n_linear).
            z[:, : bias.shape[0]].addmm_(x, weight).add_(bias)
        return z


def _fold_standardization(layer, center, scale):
    """Weight (transposed) and bias of ``x -> layer((x - center) / scale)``."""
    weight = layer.weight / scale
    return weight.T.contiguous(), layer.bias - weight @ center


def folded_encoding(network):
    """A ``FoldedMLPEncoding`` of ``network``, or None where its layout does not allow one.

    Only the MLP over one-feature tokens (tabular rows) and a fixed linear representation,
    without shifts averaged, qualify: there the flat row is the token row itself, and no
    token is ever padding.
    """
    if not isinstance(network.encoder, MLPEncoder) or network.patcher.token_dim != 1:
        return None
    if network.linear not in (None, "pca") or network.average_shifts:
        return None
    return FoldedMLPEncoding(network)


def inference_function(network, method):
    """A function computing ``network.<method>`` on a block of rows, folded where it can be:
    ``"decode"`` always, ``"forward"`` on blocks without NaN where the layout allows it."""
    if method == "decode":
        return FoldedDecoder(network)
    general = getattr(network, method)
    complete = folded_encoding(network) if method == "forward" else None
    if complete is None:
        return general
    return lambda x: general(x) if torch.isnan(x).any() else complete(x)
