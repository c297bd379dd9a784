"""The closed-form start of a fine-tuning head: ridge regression on the standardised
representation, then fine-tuning from it (linear probing, then fine-tuning)."""

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

# Penalties RidgeCV chooses from by leave-one-out error (efficient generalised
# cross-validation): those of RidgeClassifierCV over MiniRocket features.
PROBE_ALPHAS = np.logspace(-3, 3, 10)
# Most rows the probe is solved on, drawn at random beyond: its cost grows with the square
# of the rows (leave-one-out over a Gram matrix); fine-tuning then reads every row.
PROBE_MAX_ROWS = 2048
# Columns whose spread over the fit rows is below this are left unscaled (constant ones).
MIN_SCALE = 1e-6


def solve_head(network, features, fit_rows, targets, weights, classification, rng):
    """Set the ``TaskNetwork``'s head (``ColumnScaling`` then a linear map) in closed form.

    ``features`` are what the head reads of every fit row, labeled or not: their mean and
    spread standardise each column. The linear map is then ridge regression, its penalty
    chosen by leave-one-out error, of the rows ``fit_rows`` (at most ``PROBE_MAX_ROWS``,
    drawn by ``rng``) on their ``targets`` weighted by ``weights``: for classification the
    class indices coded -1/+1 per class, as ``RidgeClassifierCV`` does, so that the head's
    logits start at the ridge classifier's decision values; otherwise each standardised
    target on the rows where it is known, with its own penalty.
    """
    scaling, linear = network.head
    features = np.asarray(features, dtype=np.float64)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < MIN_SCALE] = 1.0
    if len(fit_rows) > PROBE_MAX_ROWS:
        fit_rows = np.sort(rng.choice(fit_rows, PROBE_MAX_ROWS, replace=False))
    fit_rows = fit_rows[weights[fit_rows] > 0]
    standardized = (features[fit_rows] - mean) / scale
    targets, weights = targets[fit_rows], weights[fit_rows]
    coef = np.zeros((linear.out_features, features.shape[1]))
    intercept = np.zeros(linear.out_features)
    if classification:
        coded = -np.ones((len(fit_rows), linear.out_features))
        coded[np.arange(len(fit_rows)), targets[:, 0].astype(int)] = 1.0
        if len(fit_rows) > 1:
            ridge = RidgeCV(alphas=PROBE_ALPHAS).fit(standardized, coded, sample_weight=weights)
            coef, intercept = ridge.coef_, ridge.intercept_
    else:
        for output in range(linear.out_features):
            known = ~np.isnan(targets[:, output])
            if known.sum() > 1:
                ridge = RidgeCV(alphas=PROBE_ALPHAS).fit(
                    standardized[known], targets[known, output], sample_weight=weights[known])
                coef[output], intercept[output] = ridge.coef_, ridge.intercept_
    with torch.no_grad():
        for parameter, value in ((scaling.mean, mean), (scaling.scale, scale),
                                 (linear.weight, coef), (linear.bias, intercept)):
            parameter.copy_(torch.as_tensor(value, dtype=parameter.dtype))
