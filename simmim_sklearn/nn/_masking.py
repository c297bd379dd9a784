"""SimMIM's random token masking, in single tokens or in spans, and random crops."""

import torch


def random_token_mask(unavailable, mask_ratio, generator, unmasked_fraction=0.0, span=1):
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
    span : int, default=1
        Tokens are hidden in runs of ``span`` consecutive tokens (the runs start at a
        random offset in each row), as SimMIM hides mask patches larger than its tokens:
        a hidden token is then rarely next to a visible one and cannot simply be filled
        in from its neighbours.

    Returns
    -------
    hide : bool tensor of shape (B, T)
        At least one token stays visible in rows with two or more available tokens.
    """
    n_rows, n_tokens = unavailable.shape
    device = unavailable.device
    n_available = (~unavailable).sum(dim=1, keepdim=True)
    n_hide = torch.round(n_available * mask_ratio).clamp(max=n_available - 1).clamp(min=0)
    if span > 1:
        offset = torch.randint(0, span, (n_rows, 1), generator=generator, device=device)
        run = (torch.arange(n_tokens, device=device) + offset) // span
        n_runs = (n_tokens - 1) // span + 2
        noise = torch.rand((n_rows, n_runs), generator=generator, device=device).gather(1, run)
    else:
        noise = torch.rand(unavailable.shape, generator=generator, device=device)
    # Unavailable tokens get noise 2 so that they sort after every available one.
    noise = noise.masked_fill(unavailable, 2.0)
    order = noise.argsort(dim=1)
    positions = torch.arange(n_tokens, device=device)
    ranks = torch.empty_like(order).scatter_(1, order, positions.expand_as(order))
    if unmasked_fraction > 0:
        row_noise = torch.rand((n_rows, 1), generator=generator, device=device)
        n_hide = n_hide.masked_fill(row_noise < unmasked_fraction, 0)
    return ranks < n_hide


def random_crop(unavailable, grid, generator):
    """Tokens outside a random crop of each row, as TS2Vec crops its views: along each axis
    of the token ``grid``, a run of at least half its length, at a random place.

    Parameters
    ----------
    unavailable : bool tensor of shape (B, T)
        Tokens with no value. A row whose crop would hold none of its available tokens
        keeps them all.
    grid : tuple of int
        The token grid, ``(T,)`` or ``(rows, cols)`` with ``T = rows * cols``.
    generator : torch.Generator on the tensor's device

    Returns
    -------
    outside : bool tensor of shape (B, T)
        Tokens outside the crop, unavailable ones included.
    """
    n_rows = unavailable.shape[0]
    device = unavailable.device
    inside = torch.ones((n_rows, *grid), dtype=torch.bool, device=device)
    for axis, length in enumerate(grid):
        low = (length + 1) // 2
        size = torch.randint(low, length + 1, (n_rows, 1), generator=generator, device=device)
        start = (torch.rand((n_rows, 1), generator=generator, device=device)
                 * (length - size + 1)).floor()
        position = torch.arange(length, device=device)
        along = (position >= start) & (position < start + size)
        shape = [n_rows] + [1] * len(grid)
        shape[axis + 1] = length
        inside = inside & along.reshape(shape)
    outside = ~inside.reshape(n_rows, -1) | unavailable
    empty = outside.all(dim=1, keepdim=True)
    return torch.where(empty, unavailable, outside)
