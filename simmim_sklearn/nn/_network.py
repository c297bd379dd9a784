"""The SimMIM network: scaling, patching, encoder, representation and decoder in one module."""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from ._encoders import TokenGridEncoder, build_encoder
from ._kernel_bank import KernelBank
from ._patching import Patcher, one_step_shifts

# Floor of the factor model's initial noise variance (standardised units): with as many
# components as features, PCA leaves none, and the posterior would then trust every entry fully.
MIN_NOISE_VARIANCE = 0.05
# With ``average_shifts``, the weight of a row's own representation; its one-position
# shifts share the rest.
UNSHIFTED_WEIGHT = 0.5
# Width of the space where the view term compares the encodings of two views of a row
# (SimCLR's projection head output).
VIEW_FEATURES = 128


class SimMIMNetwork(nn.Module):
    """Masked-modeling autoencoder over flat rows.

    The decoder is linear plus a small MLP; the linear map starts at the principal
    components of the training data and the MLP's correction at zero. The representation
    is the encoder's features through ``projection`` plus, with ``linear="pca"`` (tabular
    rows and windows), a linear map of the visible standardised values that starts at PCA,
    the projection then starting at zero: training starts from PCA's reconstruction and only
    has to improve on it (a masked model is otherwise never trained for the identity that
    ``inverse_transform(transform(X))`` asks for). Only the first ``n_linear`` components
    (all by default) have that linear path; the others are the projection of the encoder's
    features alone, from a random start. With ``linear=None`` (images) it is
    the projection of the encoder's features alone: a linear path of raw pixels would
    dominate the representation and leave it little better than PCA.

    With ``linear="conditional"``, the linear representation is instead the posterior mean of
    a factor model (probabilistic PCA: ``x = W z + mean + noise``, ``z ~ N(0, I)``) given the
    visible entries, ``W`` being the linear decoder. Unlike a fixed linear map of the
    zero-filled row, this weighs each visible entry by what is hidden alongside it, as the
    conditional mean of a Gaussian does: the linear part of imputation.

    Encoders over tokens (``"conv"``, ``"transformer"``) add to what ``forward`` returns,
    after the representation, every block's maxima (``TokenGridEncoder.block_maxima``). With
    ``self_supervised`` they also get what the latent and view terms train with
    (``nn._objectives``): a ``teacher``, a
    copy of the encoder that follows it as an exponential moving average and is never
    trained directly; a ``latent_head`` predicting the teacher's per-token features from the
    encoder's; and a ``view_head`` mapping the encoder's features of a view of a row to the
    space where views are compared.
    """

    def __init__(self, shape, patch, encoder, n_components, hidden_width, depth, center, scale,
                 linear="pca", n_linear=None, mask_span=1, self_supervised=False,
                 kernel_features=0, kernel_seed=0):
        super().__init__()
        self.patcher = Patcher(shape, patch)
        # Run length, in tokens, of the spans that training hides.
        self.mask_span = mask_span
        n_features = int(center.shape[0])
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.encoder = build_encoder(
            encoder, self.patcher.grid, self.patcher.token_dim, hidden_width, depth
        )
        self.linear = linear
        self.n_components = n_components
        # Set by the estimator at every fit: it changes ``forward`` only, not training.
        self.average_shifts = False
        self.n_linear = 0 if linear is None else n_components if n_linear is None else n_linear
        self.linear_encoder = None
        if linear == "conditional":
            # Log of each feature's noise variance in the factor model.
            self.log_noise = nn.Parameter(torch.zeros(n_features))
        elif linear == "pca":
            self.linear_encoder = nn.Linear(n_features, self.n_linear)
        self.projection = nn.Linear(self.encoder.out_features, n_components)
        self.linear_decoder = nn.Linear(n_components, n_features)
        self.decoder = nn.Sequential(
            nn.Linear(n_components, hidden_width), nn.GELU(), nn.Linear(hidden_width, n_features)
        )
        self.teacher = self.latent_head = self.view_head = None
        self.over_tokens = isinstance(self.encoder, TokenGridEncoder)
        # The plan gives a width only to windows with an encoder over tokens.
        self.kernel_bank = (KernelBank(shape, kernel_features, kernel_seed) if kernel_features
                            else None)
        if self.over_tokens and self_supervised:
            self.teacher = copy.deepcopy(self.encoder).requires_grad_(False)
            self.latent_head = nn.Linear(hidden_width, hidden_width)
            viewed = self.encoder.out_features + self.encoder.n_block_features
            self.view_head = nn.Sequential(
                nn.Linear(viewed, viewed), nn.GELU(), nn.Linear(viewed, VIEW_FEATURES)
            )
        with torch.no_grad():
            # Corrections of the linear components start at zero; the encoder's own
            # components keep their random start.
            for corrections in (self.projection.weight[:self.n_linear],
                                self.projection.bias[:self.n_linear],
                                self.decoder[-1].weight, self.decoder[-1].bias):
                corrections.zero_()

    @property
    def n_features_out(self):
        """Width of ``forward``'s output: the representation, then the encoder's block
        maxima for encoders over tokens."""
        if not self.over_tokens:
            return self.n_components
        bank = 0 if self.kernel_bank is None else self.kernel_bank.n_features
        return self.n_components + self.encoder.n_block_features + bank

    def drop_self_supervised_heads(self):
        """Remove the teacher and heads that only the latent and view terms train."""
        self.teacher = self.latent_head = self.view_head = None

    @torch.no_grad()
    def init_linear_maps(self, components, mean, variances, noise_variance):
        """Start the linear maps at PCA: ``components`` (m x n_features, m <= k), their
        ``variances`` and the ``noise_variance`` left outside them (probabilistic PCA's
        maximum-likelihood solution for ``linear="conditional"``)."""
        m = components.shape[0]
        dtype = self.linear_decoder.weight.dtype
        components = torch.as_tensor(components, dtype=dtype)
        mean = torch.as_tensor(mean, dtype=dtype)
        nn.init.zeros_(self.linear_decoder.weight)
        self.linear_decoder.bias.copy_(mean)
        if self.linear == "conditional":
            noise = max(float(noise_variance), MIN_NOISE_VARIANCE)
            loadings = (torch.as_tensor(variances, dtype=dtype) - noise).clamp(min=0).sqrt()
            self.linear_decoder.weight[:, :m] = components.T * loadings
            self.log_noise.fill_(math.log(noise))
            return
        self.linear_decoder.weight[:, :m] = components.T
        if self.linear_encoder is not None:
            nn.init.zeros_(self.linear_encoder.weight)
            self.linear_encoder.weight[:m] = components
            self.linear_encoder.bias.zero_()
            self.linear_encoder.bias[:m] = -components @ mean

    def standardize(self, x):
        return (x - self.center) / self.scale

    def encode_standardized(self, xs, hide=None, block_maxima=False, bank_features=None):
        """Representation of standardised rows; NaN entries and ``hide`` tokens are hidden.

        With ``block_maxima`` (encoders over tokens), the encoder's maxima of every block
        (``TokenGridEncoder.block_maxima``) follow the representation's columns, then the
        kernel bank's features where there is a bank: ``bank_features`` where given (they
        depend on the rows alone), else computed from ``xs``.
        """
        tokens, missing_entries, missing = self.tokens(xs)
        hidden = missing if hide is None else missing | hide
        if not block_maxima:
            encoded = self.encoder(tokens, hidden, missing)
            return self.representation(encoded, tokens, missing_entries, hidden)
        outputs = self.encoder.block_outputs(tokens, hidden, missing)
        z = self.representation(self.encoder.pool(outputs, missing), tokens, missing_entries,
                                hidden)
        pooled = [z, self.encoder.block_maxima(outputs, missing)]
        if self.kernel_bank is not None:
            pooled.append(self.bank_features(xs) if bank_features is None
                          else bank_features.to(z.dtype))
        return torch.cat(pooled, dim=1)

    def bank_features(self, xs):
        """The kernel bank's features of standardised rows ``xs``."""
        return self.kernel_bank(xs.reshape(-1, *self.patcher.shape))

    def tokens(self, xs):
        """Standardised rows as tokens with NaN entries zeroed, the flags of those entries,
        and those of the tokens with no value at all."""
        tokens = self.patcher.to_tokens(xs)
        missing_entries = torch.isnan(tokens)
        return (tokens.masked_fill(missing_entries, 0.0), missing_entries,
                missing_entries.all(dim=-1))

    def representation(self, encoded, tokens, missing_entries, hidden):
        """The representation from the encoder's features ``encoded`` and the linear path of
        ``tokens`` with ``hidden`` ones (and NaN entries) left out."""
        return self.projection(encoded) + self.linear_path(tokens, missing_entries, hidden)

    def linear_path(self, tokens, missing_entries, hidden):
        """The representation's linear part, from the visible values of ``tokens`` (see the
        class docstring); 0 without one."""
        if self.linear is None:
            return 0.0
        visible = self.patcher.from_tokens(tokens.masked_fill(hidden.unsqueeze(-1), 0.0))
        if self.linear == "conditional":
            seen = ~self.patcher.from_tokens(missing_entries | hidden.unsqueeze(-1))
            return self.factor_posterior(visible, seen)
        return F.pad(self.linear_encoder(visible), (0, self.n_components - self.n_linear))

    def factor_posterior(self, visible, seen):
        """Posterior mean of the factors given the ``seen`` entries of ``visible`` rows."""
        # Solved in the weights' precision: bfloat16 has no Cholesky factorisation.
        with torch.autocast(visible.device.type, enabled=False):
            loadings = self.linear_decoder.weight
            precision = seen.to(loadings.dtype) * torch.exp(-self.log_noise)
            residual = (visible.to(loadings.dtype) - self.linear_decoder.bias) * precision
            gram = torch.einsum("fk,bf,fl->bkl", loadings, precision, loadings)
            gram = gram + torch.eye(loadings.shape[1], dtype=loadings.dtype,
                                    device=loadings.device)
            factor = torch.linalg.cholesky(gram)
            return torch.cholesky_solve((residual @ loadings).unsqueeze(-1), factor).squeeze(-1)

    def decode_standardized(self, z):
        return self.linear_decoder(z) + self.decoder(z)

    def forward(self, x):
        """Representation of raw rows (the ``transform`` path), followed for encoders over
        tokens by the encoder's maxima of every block; with ``average_shifts``, the weighted
        mean of those of each row and of its one-position shifts (``one_step_shifts``)."""
        xs = self.standardize(x)
        block_maxima = self.over_tokens
        z = self.encode_standardized(xs, block_maxima=block_maxima)
        if not self.average_shifts:
            return z
        # Each copy is encoded on its own: the peak memory stays that of one encoding.
        shifted = [self.encode_standardized(rows, block_maxima=block_maxima)
                   for rows in one_step_shifts(xs, self.patcher.shape)]
        if not shifted:
            return z
        return UNSHIFTED_WEIGHT * z + (1 - UNSHIFTED_WEIGHT) * torch.stack(shifted).mean(dim=0)

    def reconstruct(self, x, hide=None):
        """Rows in input units rebuilt from ``x`` with its NaN entries and the tokens flagged
        in ``hide`` masked (``inverse_transform(transform(x))`` when ``hide`` is None and
        ``average_shifts`` is off)."""
        return self.decode(self.encode_standardized(self.standardize(x), hide))

    def decode(self, z):
        """Rows in input units (the ``inverse_transform`` path)."""
        return self.decode_standardized(z) * self.scale + self.center



def inference_copy(module, dtype):
    """A copy of ``module`` in ``dtype`` without the teacher and heads of the SimMIM networks in
    it, which only training reads: inference in another precision leaves the fitted module as
    it is and copies no more than it reads."""
    training_only = [head for network in module.modules() if isinstance(network, SimMIMNetwork)
                     for head in (network.teacher, network.latent_head, network.view_head)
                     if head is not None]
    # deepcopy takes what its memo holds for an object as that object's copy.
    return copy.deepcopy(module, memo={id(head): None for head in training_only}).to(dtype)
