"""How a flat row is laid out (``input_shape``) and cut into tokens (``patch_size``), as given
by the user; ``_plan`` resolves their "auto"."""

import math
from numbers import Integral


def validated_input_shape(input_shape, n_features):
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


def validated_patch_size(patch_size, shape):
    """Return one patch length per spatial axis of ``shape`` (``(C, *spatial)``) from an int
    or a tuple of ints."""
    spatial = shape[1:]
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
