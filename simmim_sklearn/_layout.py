"""How a flat row is laid out (``input_shape``) and cut into tokens (``patch_size``)."""

import math
from numbers import Integral


def resolve_input_shape(input_shape, n_features):
    """Return ``input_shape`` as a ``(C, *spatial)`` tuple; ``None`` is ``(1, n_features)``."""
    if input_shape is None:
        return (1, n_features)
    shape = tuple(input_shape)
    if len(shape) not in (2, 3) or not all(
        isinstance(d, Integral) and not isinstance(d, bool) and d >= 1 for d in shape
    ):
        raise ValueError(
            "input_shape must be None, (C, L) or (C, H, W) with positive integers; "
            f"got {input_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape={shape} describes {math.prod(shape)} values per row, but X has "
            f"{n_features} features."
        )
    return tuple(int(d) for d in shape)


# patch_size="auto" on a window: patches just long enough to keep at most this many tokens.
WINDOW_MAX_TOKENS = 128


def auto_patch_size(spatial):
    """Patch length per spatial axis, grown with the axis.

    A window is cut as finely as ``WINDOW_MAX_TOKENS`` tokens allow: the encoder's
    convolutions then see each time step's own shape, and the patch only grows where a
    longer window would make the encoder's cost grow with it. An image axis gets the square
    root of its length (floored): neighbouring pixels are strongly correlated, so a small
    hidden patch is nearly given by its neighbours and teaches the encoder little.
    """
    if len(spatial) == 2:
        return tuple(math.isqrt(length) for length in spatial)
    return tuple(math.ceil(length / WINDOW_MAX_TOKENS) for length in spatial)


def resolve_patch_size(patch_size, shape, tabular):
    """Return one patch length per spatial axis of ``shape`` (``(C, *spatial)``)."""
    spatial = shape[1:]
    if isinstance(patch_size, str):
        # Tabular features are heterogeneous: each one is its own token.
        return (1,) if tabular else auto_patch_size(spatial)
    if isinstance(patch_size, Integral):
        patch = (int(patch_size),) * len(spatial)
    else:
        patch = tuple(patch_size)
        if len(patch) != len(spatial) or not all(
            isinstance(p, Integral) and not isinstance(p, bool) and p >= 1 for p in patch
        ):
            raise ValueError(
                f"patch_size must be 'auto', a positive int or {len(spatial)} positive ints "
                f"for input_shape={shape}; got {patch_size!r}."
            )
    too_big = [(p, s) for p, s in zip(patch, spatial) if p > s]
    if too_big:
        raise ValueError(
            f"patch_size={patch_size!r} does not fit input_shape={shape}: a patch of "
            f"{too_big[0][0]} is longer than the axis of {too_big[0][1]}."
        )
    return tuple(int(p) for p in patch)

