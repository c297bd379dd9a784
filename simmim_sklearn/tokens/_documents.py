"""What ``SimMIMTokenTransformer`` accepts as documents: an iterable of strings, or a 2-D
integer array of token ids."""

import math

import numpy as np


def checked_documents(X):
    """``X`` as a list of strings, or as a 2-D integer ndarray of token ids.

    Raises a ``ValueError`` naming the first entry that is not a string (None, NaN, bytes,
    numbers...) and its position; a single string is rejected with the message of
    scikit-learn's text vectorizers, since iterating over it would read each character as a
    document.
    """
    if isinstance(X, (str, bytes)):
        raise ValueError(
            "Iterable over raw text documents expected, string object received."
        )
    if isinstance(X, np.ndarray) and X.dtype.kind in "iu":
        if X.ndim != 2:
            raise ValueError(
                f"Token ids must be a 2-D integer array (n_samples, n_tokens); got {X.ndim} "
                "dimension(s)."
            )
        return X
    if hasattr(X, "columns"):
        raise ValueError(
            "Documents must be a 1-D iterable of strings; got a DataFrame. Pass its text "
            "column (a Series), e.g. in a ColumnTransformer with the column name as a "
            "string rather than a list."
        )
    try:
        documents = list(X)
    except TypeError:
        raise ValueError(
            f"Iterable over raw text documents expected, {type(X).__name__} object received."
        ) from None
    for position, document in enumerate(documents):
        if not isinstance(document, str):
            raise ValueError(
                f"Document {position} is {_described(document)}; every document must be a "
                "string (empty strings are allowed)."
            )
    if not documents:
        raise ValueError("Found 0 documents; at least one is required.")
    return documents


def _described(value):
    if value is None:
        return "None (a missing value; fill it, e.g. with '')"
    if isinstance(value, float) and math.isnan(value):
        return "NaN (a missing value; fill it, e.g. with '')"
    if isinstance(value, bytes):
        return "bytes; decode it first, e.g. document.decode('utf-8')"
    return f"a {type(value).__name__} ({value!r:.40})"
