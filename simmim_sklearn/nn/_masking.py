"""SimMIM's random token masking."""

import torch


def random_token_mask(unavailable, mask_ratio, generator, unmasked_fraction=0.0):
    """Hide ``mask_ratio`` of each row's available tokens, chosen uniformly at random.

    Parameters
    ----------
    unavailable : bool tensor of shape (B, T)
        Tokens that are missing anyway (all NaN); they are not counted as available and
        are not part of the returned mask.
    mask_ratio : float in (0, 1)
    generator : torch.Generator on the tensor's device
    unmasked_fraction : float in [0, 1)
        Probability that a row keeps all its tokens visible.

    Returns
    -------
    hide : bool tensor of shape (B, T)
        At least one token stays visible in rows with two or more available tokens.
    """
    n_available = (~unavailable).sum(dim=1, keepdim=True)
    n_hide = torch.round(n_available * mask_ratio).clamp(max=n_available - 1).clamp(min=0)
    # Unavailable tokens get noise 2 so that they sort after every available one.
    noise = torch.rand(unavailable.shape, generator=generator, device=unavailable.device)
    noise = noise.masked_fill(unavailable, 2.0)
    order = noise.argsort(dim=1)
    positions = torch.arange(unavailable.shape[1], device=unavailable.device)
    ranks = torch.empty_like(order).scatter_(1, order, positions.expand_as(order))
    if unmasked_fraction > 0:
        row_noise = torch.rand(
            (unavailable.shape[0], 1), generator=generator, device=unavailable.device
        )
        n_hide = n_hide.masked_fill(row_noise < unmasked_fraction, 0)
    return ranks < n_hide
