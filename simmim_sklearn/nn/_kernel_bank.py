"""A fixed bank of multi-dilation convolution kernels over windows, pooled as the proportion of
positive values (MiniRocket's features, Dempster et al., 2021).

The kernels are a linear map of each step's neighbourhood, as the package's extractors are;
they are not trained. What they give the representation is the share of each window's steps
where a kernel's response exceeds a bias drawn from the training windows' responses: a level-
and scale-free count of where each pattern occurs, at every dilation, which a masked model's
encoder must otherwise learn from few windows.
"""

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KERNEL_LENGTH = 9
# The 84 kernels: weight 2 at three of the nine taps, -1 at the others (each sums to zero, so
# a response ignores the window's level).
KERNEL_INDICES = list(itertools.combinations(range(KERNEL_LENGTH), 3))
MAX_DILATIONS_PER_KERNEL = 32
# Biases are quantiles of a training window's responses, spread by the golden ratio's
# low-discrepancy sequence so that any number of them covers (0, 1) evenly.
GOLDEN_RATIO = (1 + math.sqrt(5)) / 2
# Responses held at once, (rows, channels, kernels, steps) floats: bounds the memory of
# pooling long or many-channel windows (128 MiB in float32).
RESPONSES_PER_BLOCK = 2**25


def kernel_weights():
    weights = -torch.ones(len(KERNEL_INDICES), KERNEL_LENGTH)
    for kernel, taps in enumerate(KERNEL_INDICES):
        weights[kernel, list(taps)] = 2.0
    return weights


def dilations_and_counts(length, n_features):
    """Exponentially spaced dilations whose kernels fit in ``length`` steps, and how many
    features (biases per kernel) each gets, for about ``n_features`` features in all."""
    per_kernel = max(1, n_features // len(KERNEL_INDICES))
    n_dilations = min(per_kernel, MAX_DILATIONS_PER_KERNEL)
    top = math.log2(max(1.0, (length - 1) / (KERNEL_LENGTH - 1)))
    slots = np.floor(2 ** np.linspace(0, top, n_dilations)).astype(int)
    per_slot = np.full(n_dilations, per_kernel // n_dilations)
    per_slot[: per_kernel % n_dilations] += 1
    # Short windows repeat a dilation: its slots' features merge.
    dilations = np.unique(slots)
    counts = [int(per_slot[slots == dilation].sum()) for dilation in dilations]
    return dilations.tolist(), counts


def kernel_bank_width(length, n_features):
    """How many features ``KernelBank`` gives for ``n_features`` asked on windows of
    ``length`` steps (a multiple of the 84 kernels)."""
    return len(KERNEL_INDICES) * sum(dilations_and_counts(length, n_features)[1])


class KernelBank(nn.Module):
    """Fixed multi-dilation kernels over ``(C, L)`` windows, pooled to proportions of positive
    values; ``fit_biases`` sets the biases from training windows before the first use.

    Each (dilation, kernel) pair sums its responses over a random subset of the channels
    (all of them for one channel) and pools either every step (the window zero-padded, as
    standardised values pad with their mean) or only the steps where the kernel fits
    (alternating, as MiniRocket does, so both views of the borders are kept).
    """

    def __init__(self, shape, n_features, seed):
        super().__init__()
        n_channels, length = shape
        generator = torch.Generator().manual_seed(seed)
        self.dilations, self.counts = dilations_and_counts(length, n_features)
        n_kernels = len(KERNEL_INDICES)
        self.register_buffer("weights", kernel_weights())
        subsets = torch.zeros(len(self.dilations), n_kernels, n_channels)
        for subset in subsets.view(-1, n_channels):
            size = 2 ** int(torch.rand(1, generator=generator) * math.log2(n_channels + 1))
            subset[torch.randperm(n_channels, generator=generator)[:size]] = 1.0
        self.register_buffer("channel_subsets", subsets)
        self.register_buffer("biases", torch.zeros(n_kernels, sum(self.counts)))
        self.n_features = n_kernels * sum(self.counts)
        self.seed = seed

    def responses(self, x, index):
        """Responses (B, kernels, steps) at dilation ``index`` of windows ``x`` (B, C, L)."""
        dilation = self.dilations[index]
        length = x.shape[-1]
        padded = F.pad(x, (dilation * (KERNEL_LENGTH // 2),) * 2)
        # The nine taps as shifted copies, then one matrix product for all 84 kernels: much
        # faster on a CPU than a one-channel dilated convolution.
        taps = torch.stack([padded[..., i * dilation:i * dilation + length]
                            for i in range(KERNEL_LENGTH)], dim=-2)
        out = torch.matmul(self.weights.to(x.dtype), taps)
        if x.shape[1] == 1:
            return out[:, 0]
        return torch.einsum("bckl,kc->bkl", out, self.channel_subsets[index].to(x.dtype))

    @torch.no_grad()
    def fit_biases(self, x):
        """Biases from the responses of training windows ``x`` (B, C, L), NaN as 0: each
        (dilation, kernel) pair takes quantiles of one randomly drawn window's responses."""
        generator = torch.Generator().manual_seed(self.seed)
        x = torch.nan_to_num(torch.as_tensor(x, dtype=torch.float32))
        n_kernels = len(KERNEL_INDICES)
        order = torch.arange(1, self.n_features + 1, dtype=torch.float64)
        quantiles = ((order * GOLDEN_RATIO) % 1).float().reshape(n_kernels, -1)
        kernels = torch.arange(n_kernels)
        start = 0
        for index, count in enumerate(self.counts):
            rows = torch.randint(len(x), (n_kernels,), generator=generator)
            # Kernel k's responses on the window drawn for it.
            per_kernel = self.responses(x[rows], index)[kernels, kernels]
            q = quantiles[:, start:start + count]
            self.biases[:, start:start + count] = torch.stack(
                [torch.quantile(per_kernel[k], q[k]) for k in range(n_kernels)])
            start += count

    @torch.no_grad()
    def forward(self, x):
        """Proportions of positive values (B, ``n_features``) of windows ``x`` (B, C, L),
        in ``x``'s dtype."""
        # Computed in float32, the precision the biases were drawn in, whatever the input's:
        # a bias is often a response itself (a quantile), and where windows repeat a value
        # (a run of zeros) every step ties with it; float64 arithmetic would break those
        # ties at random and move whole features between 0 and 1.
        dtype = x.dtype
        x = torch.nan_to_num(x).float()
        _, channels, length = x.shape
        rows = max(1, RESPONSES_PER_BLOCK // (channels * len(KERNEL_INDICES) * length))
        # An exported graph (ONNX) takes any number of rows: no loop over their count.
        if _exporting() or len(x) <= rows:
            return self._pooled(x).to(dtype)
        return torch.cat([self._pooled(x[i:i + rows])
                          for i in range(0, len(x), rows)]).to(dtype)

    def _pooled(self, x):
        per_dilation = []
        start = 0
        length = x.shape[-1]
        for index, count in enumerate(self.counts):
            responses = self.responses(x, index)
            margin = self.dilations[index] * (KERNEL_LENGTH // 2)
            biases = self.biases[:, start:start + count].to(x.dtype)
            shares = torch.empty(x.shape[0], len(KERNEL_INDICES), count, dtype=x.dtype,
                                 device=x.device)
            for parity in (0, 1):
                kernels = slice((index + parity) % 2, None, 2)
                steps = responses[:, kernels]
                if parity == 1 and length > 2 * margin:
                    steps = steps[..., margin:length - margin]
                shares[:, kernels] = share_above(steps, biases[kernels])
            per_dilation.append(shares.flatten(1))
            start += count
        return torch.cat(per_dilation, dim=1)


def _exporting():
    compiler = torch.compiler
    return compiler.is_compiling() or getattr(compiler, "is_exporting", lambda: False)()


def share_above(steps, biases):
    """Share of ``steps`` (B, K, T) above each of ``biases`` (K, N): (B, K, N)."""
    # One pass over the steps per bias: a (B, K, T, N) comparison would not fit in a cache.
    return torch.stack([(steps > biases[:, j, None]).to(steps.dtype).mean(dim=-1)
                        for j in range(biases.shape[-1])], dim=-1)
